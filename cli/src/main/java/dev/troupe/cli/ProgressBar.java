package dev.troupe.cli;

import java.io.PrintStream;

/** A one-line progress bar on stderr: label, bar, count, rate and a metric the caller updates. */
final class ProgressBar implements AutoCloseable {
  private static final int WIDTH = 30;
  private final PrintStream out;
  private final String label;
  private final long total;
  private final long start = System.nanoTime();
  private long done;
  private String note = "";
  private long lastDraw;

  ProgressBar(String label, long total) {
    this(label, total, System.err);
  }

  ProgressBar(String label, long total, PrintStream out) {
    this.label = label;
    this.total = Math.max(1, total);
    this.out = out;
    draw(true);
  }

  void step(String note) {
    done++;
    this.note = note;
    draw(done == total);
  }

  private void draw(boolean force) {
    long now = System.nanoTime();
    if (!force && now - lastDraw < 100_000_000L) {
      return;
    }
    lastDraw = now;
    int filled = (int) Math.min(WIDTH, WIDTH * done / total); // an estimated total may be passed
    double seconds = (now - start) / 1e9;
    String rate = seconds > 0 ? String.format("%.1f/s", done / seconds) : "";
    out.printf("\r%-18s [%s%s] %d/%d %s %s", label, "#".repeat(filled), ".".repeat(WIDTH - filled),
        done, total, rate, note);
    out.flush();
  }

  @Override
  public void close() {
    draw(true);
    out.println();
  }
}
