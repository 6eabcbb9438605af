package dev.troupe.algorithms.experiment;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Gold score against KL to the SFT policy, one curve per method and one for best-of-n, as Gao et al.
 * 2022 plot them (their figure 1: gold score against √KL): the quickstart writes them as
 * {@value #CSV}, {@value #JSON} and {@value #PNG}.
 */
public final class GoldKlCurves {
  public static final String CSV = "curves.csv";
  public static final String JSON = "curves.json";
  public static final String PNG = "curves.png";
  /** The method name of best-of-n's points, whose step is n. */
  public static final String BEST_OF_N = "best-of-n";

  /**
   * One point of a curve: a method's policy after {@code step} steps (best-of-n: n samples), its KL to
   * the SFT policy in nats, its gold score (overall and by kind) and the normalised reward model's
   * score (the proxy it was trained on), on the same held-out prompts.
   */
  public record Point(String method, int step, double kl, double gold, double proxy, Map<String, Double> goldByKind) {}

  private GoldKlCurves() {}

  /** Writes the three files into {@code dir}; returns their paths by kind (csv, json, png). */
  public static Map<String, Path> write(List<Point> points, String title, Path dir) throws IOException {
    Files.createDirectories(dir);
    Map<String, Path> files = new LinkedHashMap<>();
    files.put("csv", Files.writeString(dir.resolve(CSV), csv(points)));
    files.put("json", dir.resolve(JSON));
    new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve(JSON).toFile(), Map.of("points", points));
    files.put("png", dir.resolve(PNG));
    ChartUtils.saveChartAsPNG(dir.resolve(PNG).toFile(), chart(points, title), 900, 600);
    return files;
  }

  /** One row per point: method, step, kl, sqrt_kl, gold, proxy, then gold_&lt;kind&gt; for every kind seen. */
  static String csv(List<Point> points) {
    TreeSet<String> kinds = new TreeSet<>();
    points.forEach(p -> kinds.addAll(p.goldByKind().keySet()));
    StringBuilder out = new StringBuilder("method,step,kl,sqrt_kl,gold,proxy");
    kinds.forEach(k -> out.append(",gold_").append(k));
    out.append('\n');
    for (Point p : points) {
      out.append(p.method()).append(',').append(p.step()).append(',').append(number(p.kl())).append(',')
          .append(number(Math.sqrt(Math.max(0, p.kl())))).append(',').append(number(p.gold())).append(',')
          .append(number(p.proxy()));
      for (String k : kinds) {
        Double v = p.goldByKind().get(k);
        out.append(',').append(v == null ? "" : number(v));
      }
      out.append('\n');
    }
    return out.toString();
  }

  /**
   * Gold score against √KL, a line per method in the order the points list them. A KL estimate a little
   * below 0 (sampling noise near the start) is drawn at 0.
   */
  static JFreeChart chart(List<Point> points, String title) {
    Map<String, XYSeries> series = new LinkedHashMap<>();
    for (Point p : points) {
      series.computeIfAbsent(p.method(), m -> new XYSeries(m, false, true))
          .add(Math.sqrt(Math.max(0, p.kl())), p.gold());
    }
    XYSeriesCollection data = new XYSeriesCollection();
    series.values().forEach(data::addSeries);
    JFreeChart chart = ChartFactory.createXYLineChart(title, "√KL to the SFT policy (√nats)",
        "gold score (held-out prompts)", data, PlotOrientation.VERTICAL, true, false, false);
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
    List<String> names = new ArrayList<>(series.keySet());
    Color[] palette = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd),
        new Color(0xff7f0e)};
    for (int i = 0; i < names.size(); i++) {
      boolean bestOfN = names.get(i).equals(BEST_OF_N);
      renderer.setSeriesPaint(i, bestOfN ? Color.DARK_GRAY : palette[i % palette.length]);
      renderer.setSeriesStroke(i, bestOfN
          ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f)
          : new BasicStroke(2f));
      renderer.setSeriesShapesVisible(i, !bestOfN);
    }
    plot.setRenderer(renderer);
    ((org.jfree.chart.axis.NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
    return chart;
  }

  private static String number(double v) {
    return String.format(Locale.ROOT, "%.5f", v);
  }
}
