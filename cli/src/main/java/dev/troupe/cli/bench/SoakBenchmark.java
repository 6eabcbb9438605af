package dev.troupe.cli.bench;

import dev.troupe.actors.campaign.Campaign;
import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.protocol.LoopStatus;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * A campaign left running for a while: JVM heap (after a full collection) and the process's resident
 * memory (which holds PyTorch's native tensors) sampled as its loops take thousands of steps, so a
 * leak shows as growth between the first sample after warm-up and the last.
 */
public final class SoakBenchmark {
  private final CampaignConfig config;
  private final Path runDir;
  private final double minutes;
  private final Consumer<String> progress;

  public SoakBenchmark(CampaignConfig config, Path runDir, double minutes, Consumer<String> progress) {
    this.config = config;
    this.runDir = runDir;
    this.minutes = minutes;
    this.progress = progress;
  }

  public Map<String, Object> run() throws Exception {
    Map<String, Long> steps = new ConcurrentHashMap<>();
    CampaignEvents events = new CampaignEvents() {
      @Override
      public void loopStep(LoopStatus status) {
        steps.put(status.getLoop(), status.getStep());
      }
    };
    List<double[]> samples = new ArrayList<>(); // {seconds, heap MB, rss MB, steps}
    long start = System.nanoTime();
    long firstLoopStep = -1;
    try (Campaign.Running running = Campaign.start(config, runDir, events)) {
      long end = start + (long) (minutes * 60e9);
      while (System.nanoTime() < end) {
        Thread.sleep(Math.min(30_000, Math.max(1_000, (end - System.nanoTime()) / 1_000_000)));
        long total = steps.values().stream().mapToLong(Long::longValue).sum();
        if (total == 0) {
          continue; // still in the setup phase
        }
        if (firstLoopStep < 0) {
          firstLoopStep = System.nanoTime();
        }
        System.gc();
        double heap = (ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed()) / 1048576.0;
        double[] sample = {(System.nanoTime() - start) / 1e9, heap, residentMegabytes(), total};
        samples.add(sample);
        progress.accept(String.format("%.0f s: %d steps, heap %.1f MB, resident %.1f MB", sample[0], total, heap,
            sample[2]));
      }
      running.stop();
    }
    if (samples.size() < 3) {
      throw new IllegalStateException("too few samples after the setup phase: run for longer (--minutes)");
    }
    // The first samples include warm-up (allocator pools, JIT); start from the first third.
    double[] first = samples.get(samples.size() / 3);
    double[] last = samples.get(samples.size() - 1);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("minutes", minutes);
    r.put("loops", String.join(",", config.loops().keySet()));
    r.put("steps_at_start", (long) first[3]);
    r.put("steps_at_end", (long) last[3]);
    r.put("heap_mb_start", first[1]);
    r.put("heap_mb_end", last[1]);
    r.put("resident_mb_start", first[2]);
    r.put("resident_mb_end", last[2]);
    double steps1000 = (last[3] - first[3]) / 1000.0;
    r.put("heap_mb_per_1000_steps", steps1000 > 0 ? (last[1] - first[1]) / steps1000 : null);
    r.put("resident_mb_per_1000_steps", steps1000 > 0 ? (last[2] - first[2]) / steps1000 : null);
    r.put("samples", samples.stream().map(s -> String.format("%.0fs:%.0fsteps:%.1fMB:%.1fMB", s[0], s[3], s[1], s[2]))
        .toList().toString());
    return r;
  }

  /** VmRSS of this process (Linux), in MB. */
  static double residentMegabytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    return Double.NaN;
  }
}
