package dev.troupe.cli;

import java.io.PrintStream;

/**
 * A one-line progress bar on stderr: label, bar, count, rate and a metric the caller updates; redrawn in
 * place on a terminal, a plain line at every tenth elsewhere (a log, CI), so a log is not one endless line.
 */
final class ProgressBar implements AutoCloseable {
  private static final int WIDTH = 30;
  private final PrintStream out;
  private final String label;
  private final long total;
  private final long start = System.nanoTime();
  private long done;
  private String note = "";
  private long lastDraw;
  private final boolean terminal;
  private long lastTenth = -1;

  ProgressBar(String label, long total) {
    this(label, total, System.err, System.console() != null);
  }

  ProgressBar(String label, long total, PrintStream out, boolean terminal) {
    this.label = label;
    this.total = Math.max(1, total);
    this.out = out;
    this.terminal = terminal;
    draw(true);
  }

  void step(String note) {
    done++;
    this.note = note;
    draw(done == total);
  }

  private void draw(boolean force) {
    long now = System.nanoTime();
    if (!terminal) {
      long tenth = 10 * done / total;
      if (tenth == lastTenth && !(force && done == total)) {
        return;
      }
      lastTenth = tenth;
    } else if (!force && now - lastDraw < 100_000_000L) {
      return;
    }
    lastDraw = now;
    int filled = (int) Math.min(WIDTH, WIDTH * done / total); // an estimated total may be passed
    double seconds = (now - start) / 1e9;
    String rate = seconds > 0 ? String.format("%.1f/s", done / seconds) : "";
    out.printf("%s%-18s [%s%s] %d/%d %s %s%s", terminal ? "\r" : "", label, "#".repeat(filled),
        ".".repeat(WIDTH - filled), done, total, rate, note, terminal ? "" : "\n");
    out.flush();
  }

  @Override
  public void close() {
    if (terminal) {
      draw(true);
      out.println();
    } else if (lastTenth < 10 * done / total || done < total) {
      lastTenth = -1;
      draw(true);
    }
  }
}
