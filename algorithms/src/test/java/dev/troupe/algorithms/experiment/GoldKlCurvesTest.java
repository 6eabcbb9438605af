package dev.troupe.algorithms.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The curves' three files: a CSV row and a JSON object per point, and a picture that shows them. */
class GoldKlCurvesTest {
  @TempDir Path dir;

  @Test
  void writesEveryPointAsACsvRowAJsonObjectAndALineOfThePicture() throws Exception {
    List<GoldKlCurves.Point> points = List.of(
        new GoldKlCurves.Point("ppo", 0, 0, 0.70, 0.0, Map.of("count", 0.5, "sort", 0.9)),
        new GoldKlCurves.Point("ppo", 30, 0.25, 0.76, 0.4, Map.of("count", 0.55, "sort", 0.97)),
        new GoldKlCurves.Point(GoldKlCurves.BEST_OF_N, 4, BestOfN.kl(4), 0.79, 0.8, Map.of()));
    Map<String, Path> files = GoldKlCurves.write(points, "test", dir);
    assertEquals(List.of("csv", "json", "png"), List.copyOf(files.keySet()));

    List<String> csv = Files.readAllLines(files.get("csv"));
    assertEquals("method,step,kl,sqrt_kl,gold,proxy,gold_count,gold_sort", csv.get(0));
    assertEquals("ppo,30,0.25000,0.50000,0.76000,0.40000,0.55000,0.97000", csv.get(2));
    assertEquals("best-of-n,4,0.63629,0.79768,0.79000,0.80000,,", csv.get(3)); // log 4 − 3/4

    JsonNode json = new ObjectMapper().readTree(files.get("json").toFile()).get("points");
    assertEquals(3, json.size());
    assertEquals(0.76, json.get(1).get("gold").asDouble(), 0);
    assertEquals(0.97, json.get(1).get("goldByKind").get("sort").asDouble(), 0);

    BufferedImage png = ImageIO.read(files.get("png").toFile());
    assertEquals(900, png.getWidth());
    assertEquals(600, png.getHeight());
    // Each series is drawn in its own colour: PPO's line (the first method's blue) and best-of-n's (dark grey).
    assertTrue(pixels(png, 0x1f77b4) > 50, "PPO's line is missing");
    assertTrue(pixels(png, java.awt.Color.DARK_GRAY.getRGB()) > 50, "best-of-n's line is missing");
  }

  private static long pixels(BufferedImage image, int rgb) {
    long n = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        n += (image.getRGB(x, y) & 0xffffff) == (rgb & 0xffffff) ? 1 : 0;
      }
    }
    return n;
  }
}
