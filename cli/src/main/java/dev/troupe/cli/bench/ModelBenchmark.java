package dev.troupe.cli.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.optim.AdamW;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Speed and memory of the model core, each figure next to a machine ceiling measured in the same
 * run (matmul roofline, copy bandwidth), because absolute numbers on shared machines mean little.
 */
public final class ModelBenchmark {

  /**
   * What to measure on.
   *
   * @param config the model shape (bench-15m: llama2.c's stories15M)
   * @param trainBatch sequences per training step, each {@code seqLen} long
   * @param newTokens tokens decoded per row in the decode measurements
   */
  public record Settings(ModelConfig config, int trainBatch, int seqLen, int trainSteps, int newTokens,
      int rooflineSize) {

    /** Llama, dim 288, 6 layers, 6 heads, vocab 32000, seq 256: the llama2.c stories15M shape. */
    public static Settings bench15m() {
      return new Settings(ModelConfig.llama(32000, 288, 6, 6, 6, 768, 512), 4, 256, 4, 256, 1536);
    }

    /** A seconds-long run on a tiny shape, for tests of the benchmark itself. */
    public static Settings tiny() {
      return new Settings(ModelConfig.llama(500, 64, 2, 4, 2, 128, 128), 2, 32, 2, 16, 256);
    }
  }

  private final Settings settings;
  private final Consumer<String> progress;

  public ModelBenchmark(Settings settings, Consumer<String> progress) {
    this.settings = settings;
    this.progress = progress;
  }

  /** Runs every measurement and returns the figures by their stable names. */
  public Map<String, Object> run() {
    Map<String, Object> r = new LinkedHashMap<>();
    ModelConfig c = settings.config();
    r.put("shape", String.format("llama dim %d, %d layers, %d heads, vocab %d, seq %d", c.hiddenSize(),
        c.numLayers(), c.numHeads(), c.vocabSize(), settings.seqLen()));
    ai.djl.engine.Engine.getEngine("PyTorch");
    r.put("intra_op_threads", ai.djl.pytorch.jni.JniUtils.getNumThreads());
    try (NDManager root = NDManager.newBaseManager()) {
      progress.accept("matmul roofline");
      double roofline = Roofline.matmulGflops(root, settings.rooflineSize());
      r.put("roofline_gflops", roofline);
      progress.accept("copy bandwidth");
      double bandwidth = Roofline.copyBandwidthGbs(root, 256L << 20);
      r.put("mem_bandwidth_gbs", bandwidth);

      try (CausalLm model = CausalLm.random(c, 1, root)) {
        long nonEmbedding = model.parameterCount(false);
        r.put("params_total", model.parameterCount(true));
        r.put("params_non_embedding", nonEmbedding);
        Adapter lora = model.createAdapter("bench", LoraConfig.of(8, 16, "q", "v"), 2);
        r.put("lora_trainable_fraction", (double) lora.parameterCount() / nonEmbedding);

        progress.accept("train (LoRA r=8 on q,v)");
        double loraSeconds = trainStepSeconds(model, lora, root);
        double tokens = (double) settings.trainBatch() * settings.seqLen();
        double loraFlops = tokens * Flops.loraTrainPerToken(c, settings.seqLen());
        r.put("train_tokens_per_s", tokens / loraSeconds);
        r.put("train_gflops", loraFlops / loraSeconds / 1e9);
        r.put("train_mfu", loraFlops / loraSeconds / 1e9 / roofline);
        model.removeAdapter("bench");

        progress.accept("train (full fine-tune)");
        double fullSeconds = trainStepSeconds(model, null, root);
        double fullFlops = tokens * Flops.fullTrainPerToken(c, settings.seqLen());
        r.put("full_train_tokens_per_s", tokens / fullSeconds);
        r.put("full_train_mfu", fullFlops / fullSeconds / 1e9 / roofline);
        for (NDArray p : model.baseParameters()) {
          p.setRequiresGradient(false);
        }

        progress.accept("decode batch 1");
        double b1 = decodeTokensPerSecond(model, 1);
        progress.accept("decode batch 16");
        double b16 = decodeTokensPerSecond(model, 16);
        r.put("decode_b1_tokens_per_s", b1);
        r.put("decode_b16_tokens_per_s", b16);
        r.put("decode_b16_over_b1", b16 / b1);
        progress.accept("decode without cache");
        r.put("kv_cache_speedup", b1 / recomputeTokensPerSecond(model));
        double weightBytesPerToken = 4.0 * Flops.matmulParams(c);
        r.put("decode_b1_weight_gbs", b1 * weightBytesPerToken / 1e9);
        r.put("decode_b1_bw_fraction", b1 * weightBytesPerToken / 1e9 / bandwidth);

        progress.accept("nf4 base");
        try (CausalLm nf4 = CausalLm.random(c, 1, root, DataType.FLOAT32, Quantization.NF4)) {
          r.put("nf4_base_bytes_fraction", (double) nf4.storedBytes() / model.storedBytes());
        }
      }
    }
    return r;
  }

  /** Median seconds of one forward + backward + AdamW step (adapter null: full fine-tuning). */
  private double trainStepSeconds(CausalLm model, Adapter adapter, NDManager root) {
    List<NDArray> params = adapter != null ? adapter.parameters() : model.baseParameters();
    params.forEach(p -> p.setRequiresGradient(true));
    SplittableRandom random = new SplittableRandom(3);
    int b = settings.trainBatch();
    int t = settings.seqLen();
    long vocab = settings.config().vocabSize();
    List<Double> times = new ArrayList<>();
    try (AdamW optimizer = new AdamW(params, AdamW.AdamWConfig.defaults().withLr(1e-4))) {
      for (int step = 0; step < settings.trainSteps() + 1; step++) {
        long[] ids = new long[b * (t + 1)];
        for (int i = 0; i < ids.length; i++) {
          ids[i] = random.nextLong(vocab);
        }
        long start = System.nanoTime();
        try (NDManager stepManager = root.newSubManager()) {
          NDArray all = stepManager.create(ids, new Shape(b, t + 1));
          NDArray inputs = all.get(new NDIndex(":, :-1"));
          NDArray targets = all.get(new NDIndex(":, 1:"));
          try (GradMode ignored = GradMode.enabled()) {
            NDArray logits = model.forward(inputs, null, adapter, true);
            NDArray loss = LogProbs.ofTargets(logits, targets, 1.0).mean().neg();
            GradMode.backward(loss);
          }
          optimizer.step();
        }
        if (step > 0) { // the first step warms up kernels and allocators
          times.add((System.nanoTime() - start) / 1e9);
        }
      }
    }
    if (adapter != null) {
      params.forEach(p -> p.setRequiresGradient(false));
    }
    return median(times);
  }

  private double decodeTokensPerSecond(CausalLm model, int batch) {
    Generator generator = new Generator(model, null);
    List<long[]> prompts = new ArrayList<>();
    for (int i = 0; i < batch; i++) {
      prompts.add(new long[] {1, 10 + i, 20 + i, 30 + i});
    }
    // No stop tokens: every row decodes exactly newTokens.
    SamplingParams params = SamplingParams.greedy(settings.newTokens()).withStopTokens(List.of(-1L));
    generator.generateIds(prompts, null, params.withStopTokens(List.of(-1L)));
    long start = System.nanoTime();
    generator.generateIds(prompts, null, params);
    double seconds = (System.nanoTime() - start) / 1e9;
    return batch * (double) settings.newTokens() / seconds;
  }

  /** Batch-1 greedy decoding that re-runs the whole sequence every step: what the cache saves. */
  private double recomputeTokensPerSecond(CausalLm model) {
    long[] seq = new long[4 + settings.newTokens()];
    seq[0] = 1;
    seq[1] = 10;
    seq[2] = 20;
    seq[3] = 30;
    long start = System.nanoTime();
    try (GradMode ignored = GradMode.disabled()) {
      for (int len = 4; len < seq.length; len++) {
        try (NDManager step = model.manager().newSubManager()) {
          long[] prefix = java.util.Arrays.copyOf(seq, len);
          NDArray hidden = model.hidden(step.create(prefix, new Shape(1, len)), null, null, null, false);
          seq[len] = model.logits(hidden.get(new NDIndex(":, -1, :"))).argMax(1).getLong(0);
        }
      }
    }
    return settings.newTokens() / ((System.nanoTime() - start) / 1e9);
  }

  static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(Double::compare);
    return sorted.get(sorted.size() / 2);
  }
}
