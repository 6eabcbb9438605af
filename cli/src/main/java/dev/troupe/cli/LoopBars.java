package dev.troupe.cli;

import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.protocol.LoopStatus;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One progress bar per loop of a running campaign (step, reward, KL), redrawn in place on a terminal;
 * elsewhere (a log file, CI) a line per loop at every tenth of its steps.
 */
final class LoopBars {
  private static final int WIDTH = 24;
  private final PrintStream out;
  private final boolean terminal;
  private final Map<String, String> lines = new LinkedHashMap<>();
  private final Map<String, Long> lastTenth = new LinkedHashMap<>();
  private final long start = System.nanoTime();
  private int drawn;
  private long lastDraw;

  LoopBars(PrintStream out, boolean terminal) {
    this.out = out;
    this.terminal = terminal;
  }

  synchronized void update(LoopStatus s, boolean force) {
    lines.put(s.getLoop(), line(s));
    if (terminal) {
      long now = System.nanoTime();
      if (force || now - lastDraw > 150_000_000L) {
        lastDraw = now;
        redraw();
      }
    } else {
      long tenth = s.getSteps() == 0 ? 10 : 10 * s.getStep() / s.getSteps();
      if (force || tenth > lastTenth.getOrDefault(s.getLoop(), -1L)) {
        lastTenth.put(s.getLoop(), tenth);
        out.printf("[%5.0f s] %s%n", (System.nanoTime() - start) / 1e9, lines.get(s.getLoop()));
        out.flush();
      }
    }
  }

  synchronized void notice(String message) {
    if (terminal && drawn > 0) {
      out.printf("\033[%dA\r\033[2K", drawn);
      drawn = 0;
    }
    out.println("troupe: " + message);
    if (terminal) {
      redraw();
    }
  }

  private void redraw() {
    if (drawn > 0) {
      out.printf("\033[%dA", drawn);
    }
    for (String line : lines.values()) {
      out.print("\r\033[2K" + line + "\n");
    }
    drawn = lines.size();
    out.flush();
  }

  static String line(LoopStatus s) {
    long steps = Math.max(1, s.getSteps());
    int filled = (int) Math.min(WIDTH, WIDTH * s.getStep() / steps);
    Map<String, Double> m = s.getMetricsMap();
    String figures;
    if (m.containsKey(MetricNames.OBJECTIVE_SCORES)) {
      Double kl = m.containsKey(MetricNames.OBJECTIVE_KL) ? m.get(MetricNames.OBJECTIVE_KL) : m.get(MetricNames.KL);
      figures = String.format("reward %+.3f kl %.3f", m.get(MetricNames.OBJECTIVE_SCORES), kl == null ? 0.0 : kl);
    } else if (m.containsKey(MetricNames.REWARDS_MARGINS)) {
      figures = String.format("margin %+.3f acc %.2f", m.get(MetricNames.REWARDS_MARGINS),
          m.getOrDefault(MetricNames.REWARDS_ACCURACIES, 0.0));
    } else {
      figures = "";
    }
    String state = s.getState().name().substring("LOOP_STATE_".length()).toLowerCase(java.util.Locale.ROOT);
    String note = s.getMessage().isEmpty() ? "" : " (" + s.getMessage() + ")";
    return String.format("%-8s %-4s/%-12s [%s%s] %d/%d %s %s%s", s.getLoop(), s.getAlgorithm(), s.getFeedback(),
        "#".repeat(filled), ".".repeat(WIDTH - filled), s.getStep(), s.getSteps(), figures,
        state.equals("running") ? "" : state, note);
  }
}
