package dev.troupe.algorithms.experiment;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.sft.SftConfig;
import dev.troupe.algorithms.sft.SftSample;
import dev.troupe.algorithms.sft.SftTrainer;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A reproduction of an open bug, not part of the suite (runs only with {@code -Dprobe=1}): the
 * quickstart's SFT, trained twice from the same seed in one JVM, sometimes diverges. Measured
 * 2026-11-23, 100 steps: 2 runs in 8 diverged, each first at a gradient norm (e.g. step 42: 1.129
 * vs 1.028) while the loss of that step's forward pass was bit-identical, so a backward pass or the
 * reading of its gradients saw different memory. It happens with every PyTorch thread count at 1
 * ({@code -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1},
 * OMP_NUM_THREADS=1), so it is not reduction order; with {@code -Dgc=true} (System.gc() after every
 * step) 4 runs in 4 agreed. The one CI failure of TinyModelMemorisesTextTest (a non-finite gradient
 * never seen locally) may be the same bug. Command:
 * <pre>
 * ./mvnw -q -o test -pl algorithms -Dtest=DeterminismProbe -Dsurefire.failIfNoSpecifiedTests=false -Dprobe=1 -Dsteps=100
 * </pre>
 */
@EnabledIfSystemProperty(named = "probe", matches = ".+")
class DeterminismProbe {
  private static final Logger LOG = LoggerFactory.getLogger(DeterminismProbe.class);

  @Test
  void run() throws Exception {
    Path dir = Files.createTempDirectory("probe");
    QuickstartTask task = new QuickstartTask(1);
    try (Tokenizer tok = Tokenizer.load(QuickstartTask.tokenizer(dir)); NDManager root = NDManager.newBaseManager()) {
    LOG.info("threads {} interop {}", ai.djl.pytorch.jni.JniUtils.getNumThreads(), ai.djl.pytorch.jni.JniUtils.getNumInteropThreads());
      long bos = tok.bosId().orElseThrow();
      long eos = tok.eosId().orElseThrow();
      List<SftSample> sft = new ArrayList<>();
      for (QuickstartTask.SftExample e : task.sftSet(3000, 0.4).examples()) {
        sft.add(new SftSample(Rollouts.join(new long[] {bos}, tok.encode(task.promptText(e.prompt()))),
            Rollouts.join(tok.encode(e.response()), new long[] {eos})));
      }
      for (int run = 0; run < 2; run++) {
        ModelConfig config = ModelConfig.llama(tok.vocabSize(), 96, 3, 4, 2, 96 * 8 / 3 / 16 * 16, 64).withEos(List.of(eos));
        try (CausalLm model = CausalLm.random(config, 1, root)) {
          long t0 = System.nanoTime();
          List<Double> losses = new ArrayList<>();
          new SftTrainer(model, null, SftConfig.defaults(Integer.getInteger("steps", 100), 3e-3).withBatchSize(32).withMaskPrompt(false)
              .withSeed(1)).train(sft, List.of(), m -> { losses.add(m.get("loss")); losses.add(m.get("grad_norm")); if (Boolean.getBoolean("gc")) { System.gc(); } });
          double sum = 0;
          for (NDArray p : model.baseParameters()) {
            sum += p.abs().sum().getFloat();
          }
          LOG.info("PROBE run {}: {} s, first differing? losses[0]={} last={} paramAbsSum={}", run, (System.nanoTime() - t0) / 1e9,
              losses.get(0), losses.get(losses.size() - 1), sum);
          System.setProperty("probe.losses." + run, losses.toString());
        }
      }
      String a = System.getProperty("probe.losses.0");
      String b = System.getProperty("probe.losses.1");
      String[] la = a.substring(1, a.length() - 1).split(", ");
      String[] lb = b.substring(1, b.length() - 1).split(", ");
      int first = -1;
      for (int i = 0; i < la.length; i++) {
        if (!la[i].equals(lb[i])) { first = i; break; }
      }
      LOG.info("PROBE first differing entry: {} (even = loss of step i/2, odd = grad norm): {} vs {}", first, first >= 0 ? la[first] : "", first >= 0 ? lb[first] : "");
    }
  }
}
