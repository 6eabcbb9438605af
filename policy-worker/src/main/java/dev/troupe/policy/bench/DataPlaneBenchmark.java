package dev.troupe.policy.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.GenerationRow;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.LoraLayer;
import dev.troupe.model.lora.RowAdapters;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.policy.PolicyService;
import dev.troupe.policy.grpc.PolicyClient;
import dev.troupe.policy.grpc.PolicyGrpcService;
import dev.troupe.protocol.AdapterChunk;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.grpc.ClientSettings;
import dev.troupe.protocol.grpc.GrpcServer;
import dev.troupe.protocol.grpc.ServerSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Speed of the policy worker's data plane, each figure a ratio of two speeds measured in the same run
 * (shared machines make absolute numbers noisy): a batch whose rows use three adapters against one
 * with a single adapter, gRPC against in-process generation, and what an adapter publish costs in
 * bytes and milliseconds over gRPC on loopback.
 */
public final class DataPlaneBenchmark {

  /**
   * What to measure on.
   *
   * @param config the model shape (bench-15m: llama2.c's stories15M)
   * @param rows rows of the generation batches (split evenly over {@code adapters} in the mixed one)
   * @param newTokens tokens decoded per row (greedy, no stop token)
   * @param repeats measurements of each batch kind, interleaved; the median counts
   * @param publishes adapter versions published over gRPC for the latency percentiles
   * @param requests generate requests sent in-process and over gRPC, each of 4 prompts x 2 samples
   */
  public record Settings(ModelConfig config, int rows, int adapters, int newTokens, int repeats, int publishes,
      int requests, int requestTokens) {

    /** The bench-15m shape (Llama, dim 288, 6 layers, vocab 32000), 24 rows over 3 adapters. */
    public static Settings bench15m() {
      return new Settings(ModelConfig.llama(32000, 288, 6, 6, 6, 768, 512), 24, 3, 128, 7, 30, 6, 32);
    }

    /** A seconds-long run on a tiny shape, for tests of the benchmark itself. */
    public static Settings tiny() {
      return new Settings(ModelConfig.llama(500, 64, 2, 4, 2, 128, 128), 6, 3, 8, 1, 4, 2, 4);
    }
  }

  /** The adapter every figure uses: LoRA rank 8 on q and v, as in the model benchmark. */
  static final LoraConfig ADAPTER = LoraConfig.of(8, 16, "q", "v");

  private final Settings settings;
  private final Consumer<String> progress;

  public DataPlaneBenchmark(Settings settings, Consumer<String> progress) {
    if (settings.rows() % settings.adapters() != 0) {
      throw new IllegalArgumentException("rows (" + settings.rows() + ") must split evenly over "
          + settings.adapters() + " adapters");
    }
    this.settings = settings;
    this.progress = progress;
  }

  /** Runs every measurement and returns the figures by their stable names. */
  public Map<String, Object> run() {
    Map<String, Object> out = new LinkedHashMap<>();
    ModelConfig c = settings.config();
    out.put("shape", String.format("llama dim %d, %d layers, %d heads, vocab %d", c.hiddenSize(), c.numLayers(),
        c.numHeads(), c.vocabSize()));
    out.put("adapter", "LoRA rank 8 on q, v");
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(c, 1, root)) {
      mixedAdapterBatches(model, out);
      publishing(model, out);
    }
    return out;
  }

  /** A trained-looking version of adapter {@code name}: B moved off zero (speed does not depend on the values). */
  @SuppressWarnings("try") // the GradMode scope is opened for its effect
  static Adapter trained(CausalLm model, String name, long seed) {
    Adapter adapter = model.createAdapter(name, ADAPTER, seed);
    SplittableRandom random = new SplittableRandom(seed);
    try (GradMode ignored = GradMode.disabled()) {
      for (LoraLayer layer : adapter.layers().values()) {
        Shape shape = layer.b().getShape();
        float[] b = new float[(int) shape.size()];
        for (int i = 0; i < b.length; i++) {
          b[i] = (float) random.nextGaussian() * 0.01f;
        }
        layer.b().set(b);
      }
    }
    return adapter;
  }

  private void mixedAdapterBatches(CausalLm model, Map<String, Object> out) {
    List<Adapter> adapters = new ArrayList<>();
    for (int a = 0; a < settings.adapters(); a++) {
      adapters.add(trained(model, "bench-" + a, 10 + a));
    }
    SamplingParams greedy = SamplingParams.greedy(settings.newTokens()).withStopTokens(List.of(-1L));
    int rows = settings.rows();
    int perAdapter = rows / settings.adapters();
    List<GenerationRow> single = new ArrayList<>();
    List<GenerationRow> mixed = new ArrayList<>();
    List<List<GenerationRow>> separate = new ArrayList<>();
    for (int a = 0; a < settings.adapters(); a++) {
      separate.add(new ArrayList<>());
    }
    for (int r = 0; r < rows; r++) {
      long[] prompt = {1, 2 + r % 7, 3 + r % 11, 4};
      single.add(new GenerationRow(prompt, adapters.get(0), greedy, r));
      int a = r / perAdapter;
      mixed.add(new GenerationRow(prompt, adapters.get(a), greedy, r % perAdapter));
      separate.get(a).add(new GenerationRow(prompt, adapters.get(a), greedy, r % perAdapter));
    }
    Generator segmented = new Generator(model, null, RowAdapters.Strategy.SEGMENTED);
    Generator gathered = new Generator(model, null, RowAdapters.Strategy.GATHERED);
    progress.accept("warming up");
    segmented.generateRows(single.subList(0, Math.min(4, rows)));
    gathered.generateRows(mixed.subList(0, Math.min(2 * perAdapter, rows)));
    double[] singleS = new double[settings.repeats()];
    double[] segmentedS = new double[settings.repeats()];
    double[] gatheredS = new double[settings.repeats()];
    double[] separateS = new double[settings.repeats()];
    for (int i = 0; i < settings.repeats(); i++) {
      progress.accept("generation batches, round " + (i + 1) + " of " + settings.repeats());
      singleS[i] = seconds(() -> segmented.generateRows(single));
      segmentedS[i] = seconds(() -> segmented.generateRows(mixed));
      gatheredS[i] = seconds(() -> gathered.generateRows(mixed));
      separateS[i] = seconds(() -> separate.forEach(segmented::generateRows));
    }
    double tokens = (double) rows * settings.newTokens();
    double singleTps = tokens / median(singleS);
    double segmentedTps = tokens / median(segmentedS);
    double gatheredTps = tokens / median(gatheredS);
    double separateTps = tokens / median(separateS);
    RowAdapters.Strategy best = segmentedTps >= gatheredTps ? RowAdapters.Strategy.SEGMENTED
        : RowAdapters.Strategy.GATHERED;
    out.put("batch_rows", rows);
    out.put("batch_new_tokens", settings.newTokens());
    out.put("single_adapter_tokens_per_s", round(singleTps));
    out.put("mixed_adapter_segmented_tokens_per_s", round(segmentedTps));
    out.put("mixed_adapter_gathered_tokens_per_s", round(gatheredTps));
    out.put("per_adapter_batches_tokens_per_s", round(separateTps));
    // Ratios are medians of each round's own ratio: a round's batches ran seconds apart, so the load
    // of the machine, which drifts over the minutes of the whole measurement, divides out.
    double segmentedRatio = pairedRatio(singleS, segmentedS);
    double gatheredRatio = pairedRatio(singleS, gatheredS);
    out.put("mixed_adapter_batch_ratio",
        round(Generator.DEFAULT_STRATEGY == RowAdapters.Strategy.SEGMENTED ? segmentedRatio : gatheredRatio));
    out.put("mixed_adapter_batch_ratio_segmented", round(segmentedRatio));
    out.put("mixed_adapter_batch_ratio_gathered", round(gatheredRatio));
    out.put("mixed_over_per_adapter_batches", round(pairedRatio(separateS, segmentedS)));
    out.put("faster_strategy", best.name().toLowerCase());
    out.put("default_strategy", Generator.DEFAULT_STRATEGY.name().toLowerCase());
    adapters.forEach(a -> model.removeAdapter(a.name()));
  }

  private void publishing(CausalLm model, Map<String, Object> out) {
    ExecutorService tensors = Executors.newFixedThreadPool(2);
    try (PolicyService service = new PolicyService(model, null, "bench", "bench/", 3)) {
      GrpcServer server = PolicyGrpcService.serve(ServerSettings.loopback(), service, tensors, null);
      try (PolicyClient client = new PolicyClient(ClientSettings.loopback(server.port()))) {
        List<AdapterVersion> versions = new ArrayList<>();
        Adapter learner = trained(model, "bench-learner", 99);
        for (int v = 1; v <= settings.publishes() + 1; v++) {
          versions.add(AdapterVersions.snapshot(learner, model, "rlhf", v));
        }
        model.removeAdapter("bench-learner");
        List<AdapterChunk> chunks = AdapterVersions.chunks(versions.get(0), client.settings().chunkBytes());
        long sent = chunks.stream().mapToLong(AdapterChunk::getSerializedSize).sum();
        long baseBytes = model.parameterCount(true) * 4; // fp32, embeddings included
        out.put("adapter_bytes_per_publish", sent);
        out.put("base_model_bytes", baseBytes);
        out.put("adapter_bytes_fraction", round(sent / (double) baseBytes));

        progress.accept("publishing " + settings.publishes() + " adapter versions over gRPC");
        client.publish(versions.get(0)); // warm-up: connection, class loading
        double[] ms = new double[settings.publishes()];
        for (int i = 0; i < ms.length; i++) {
          AdapterVersion version = versions.get(i + 1);
          ms[i] = 1000 * seconds(() -> client.publish(version));
        }
        Arrays.sort(ms);
        out.put("adapter_publish_p50_ms", round(percentile(ms, 0.50)));
        out.put("adapter_publish_p95_ms", round(percentile(ms, 0.95)));

        progress.accept("generate requests in-process and over gRPC");
        List<GenerateRequest> requests = new ArrayList<>();
        for (int i = 0; i < settings.requests(); i++) {
          requests.add(request("bench/" + i, settings.requestTokens()));
        }
        service.generate(requests.get(0)); // warm-up
        client.generate(requests.get(0));
        double inProcess = 0;
        double overGrpc = 0;
        long rollouts = 0;
        for (int round = 0; round < 3; round++) {
          for (GenerateRequest r : requests) {
            inProcess += seconds(() -> service.generate(r));
            overGrpc += seconds(() -> client.generate(r));
            rollouts += r.getPromptsCount() * (long) r.getSamplesPerPrompt();
          }
        }
        out.put("rollouts_per_s_inprocess", round(rollouts / inProcess));
        out.put("rollouts_per_s_grpc", round(rollouts / overGrpc));
        out.put("rollouts_per_s_grpc_over_inprocess", round(inProcess / overGrpc));
      } finally {
        server.close();
      }
    } finally {
      tensors.shutdownNow();
      try {
        tensors.awaitTermination(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The rlhf adapter's newest version: 4 prompts, 2 samples each, sampled at temperature 1. */
  private static GenerateRequest request(String id, int newTokens) {
    GenerateRequest.Builder r = GenerateRequest.newBuilder().setRequestId(id).setAdapter("rlhf")
        .setAdapterVersion(Long.MAX_VALUE).setSamplesPerPrompt(2)
        .setSampling(dev.troupe.protocol.SamplingParams.newBuilder().setMaxNewTokens(newTokens).setTemperature(1.0)
            .setTopP(1.0).setSeed(id.hashCode()).addStopTokenIds(-1));
    for (int p = 0; p < 4; p++) {
      r.addPrompts(Prompt.newBuilder().setId(id + "/" + p).addTokenIds(1).addTokenIds(5 + p).addTokenIds(9));
    }
    return r.build();
  }

  private static double seconds(Runnable work) {
    long start = System.nanoTime();
    work.run();
    return (System.nanoTime() - start) / 1e9;
  }

  /** The median over rounds of {@code numerator[i] / denominator[i]} (seconds over seconds: a speed ratio). */
  static double pairedRatio(double[] numerator, double[] denominator) {
    double[] ratios = new double[numerator.length];
    for (int i = 0; i < ratios.length; i++) {
      ratios[i] = numerator[i] / denominator[i];
    }
    return median(ratios);
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** The nearest-rank percentile of sorted values. */
  private static double percentile(double[] sorted, double p) {
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  private static double round(double x) {
    return Math.round(x * 10000) / 10000.0;
  }

  /** Runs the bench-15m measurements ({@code --tiny}: the tiny shape) and prints the figures as JSON. */
  public static void main(String[] args) throws Exception {
    Settings settings = Arrays.asList(args).contains("--tiny") ? Settings.tiny() : Settings.bench15m();
    Map<String, Object> figures = new DataPlaneBenchmark(settings, step -> System.err.println("... " + step)).run();
    System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(figures));
  }
}
