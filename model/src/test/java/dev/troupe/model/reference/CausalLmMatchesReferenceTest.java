package dev.troupe.model.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.reference.ReferenceConfig.RopeScaling;
import dev.troupe.model.reference.ReferenceModel.Mistake;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.model.transformer.KvCache;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CausalLm against the independent reference on checkpoints the reference wrote itself (its own
 * safetensors writer, HF names and shapes, one file or shards with an index), read through
 * HfModel.load: the plain forward of a left-padded batch and the KV-cached decode both match the
 * reference within {@link LogitsComparison#TOLERANCE} relative (the issue asks 1e-4), for every family
 * and rope convention, from fp32, fp16 and bf16 files.
 */
@SuppressWarnings("try")
class CausalLmMatchesReferenceTest {
  private static final Logger LOG = LoggerFactory.getLogger(CausalLmMatchesReferenceTest.class);
  @TempDir Path dir;

  /** A checkpoint to write: the model, how its file stores floats, into how many shards, and under which names. */
  record Checkpoint(String name, ReferenceConfig config, StoredType stored, int shards, boolean hubGpt2Names) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> checkpoints() {
    return Stream.of(
        new Checkpoint("llama GQA, untied, fp32", ReferenceConfig.llama(), StoredType.F32, 1, false),
        new Checkpoint("llama tied, rope linear x2, bf16 in 3 shards",
            ReferenceConfig.llama().withTiedEmbeddings(true).withRopeScaling(RopeScaling.linear(2)),
            StoredType.BF16, 3, false),
        new Checkpoint("llama 3.1 rope (theta 5e5, llama3 scaling), attention and mlp biases, fp16 in 2 shards",
            ReferenceConfig.llama().withRopeTheta(500000).withRopeScaling(RopeScaling.llama3(8, 1, 4, 256))
                .withBiases(true, true),
            StoredType.F16, 2, false),
        new Checkpoint("mistral, 4 heads over 1 kv head, theta 1e6, fp32 in 2 shards", ReferenceConfig.mistral(),
            StoredType.F32, 2, false),
        new Checkpoint("qwen2 q/k/v bias, tied, fp16", ReferenceConfig.qwen2(), StoredType.F16, 1, false),
        new Checkpoint("gpt2 as the hub stores it (no prefix, attn.bias buffers), fp32", ReferenceConfig.gpt2(),
            StoredType.F32, 1, true),
        new Checkpoint("gpt2 bf16 in 2 shards", ReferenceConfig.gpt2(), StoredType.BF16, 2, false))
        .map(Arguments::of);
  }

  /** Writes the checkpoint and returns the reference over exactly the values the file stores. */
  static ReferenceModel write(Checkpoint c, Path folder) throws IOException {
    Map<String, ReferenceTensor> weights = ReferenceWeights.random(c.config(), 17);
    Map<String, ReferenceTensor> onDisk = c.hubGpt2Names() ? ReferenceWeights.asHubGpt2(weights, c.config()) : weights;
    ReferenceSafetensors.writeCheckpoint(folder, c.config(), onDisk, c.stored(), c.shards());
    return new ReferenceModel(c.config(), ReferenceWeights.roundedTo(weights, c.stored()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("checkpoints")
  void forwardOfALeftPaddedBatchMatchesTheReference(Checkpoint c) throws IOException {
    ReferenceModel reference = write(c, dir);
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = HfModel.load(dir, HfModel.LoadOptions.defaults(), root)) {
      List<long[]> rows = LogitsComparison.rows(c.config().vocab(), 3, 11, 4, 7);
      double error = LogitsComparison.relativeError(model, null, reference, rows);
      LOG.info("{}: forward relative error {}", c, error);
      assertTrue(error <= LogitsComparison.TOLERANCE, c + ": relative error " + error);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("checkpoints")
  void kvCachedDecodeMatchesTheReferenceFullForward(Checkpoint c) throws IOException {
    ReferenceModel reference = write(c, dir);
    List<long[]> prompts = LogitsComparison.rows(c.config().vocab(), 5, 6, 2, 4);
    List<long[]> continuations = LogitsComparison.rows(c.config().vocab(), 6, 5, 5, 5);
    int steps = 5;
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = HfModel.load(dir, HfModel.LoadOptions.defaults(), root);
        GradMode ignored = GradMode.disabled();
        NDManager step = root.newSubManager()) {
      Batch prompt = Batch.leftPadded(step, prompts);
      int width = prompt.length();
      int vocab = c.config().vocab();
      KvCache cache = new KvCache(model.config(), prompts.size(), width + steps, DataType.FLOAT32, step);
      float[] prefill = model.logits(model.hidden(prompt.ids(), prompt.mask(), cache, null, false)).toFloatArray();
      float[][] decoded = new float[steps][];
      for (int i = 0; i < steps; i++) {
        long[] next = new long[prompts.size()];
        for (int b = 0; b < next.length; b++) {
          next[b] = continuations.get(b)[i];
        }
        NDArray ids = step.create(next, new Shape(next.length, 1));
        decoded[i] = model.logits(model.hidden(ids, null, cache, null, false)).toFloatArray();
      }
      assertEquals(width + steps, cache.length());

      double maxDiff = 0;
      double maxRef = 0;
      for (int b = 0; b < prompts.size(); b++) {
        long[] full = java.util.stream.LongStream.concat(java.util.Arrays.stream(prompts.get(b)),
            java.util.Arrays.stream(continuations.get(b))).toArray();
        double[][] expected = reference.logits(full);
        int length = prompts.get(b).length;
        for (int t = 0; t < length + steps; t++) {
          for (int v = 0; v < vocab; v++) {
            double actual = t < length
                ? prefill[(b * width + width - length + t) * vocab + v]
                : decoded[t - length][b * vocab + v];
            maxDiff = Math.max(maxDiff, Math.abs(actual - expected[t][v]));
            maxRef = Math.max(maxRef, Math.abs(expected[t][v]));
          }
        }
      }
      double error = maxDiff / maxRef;
      LOG.info("{}: cached decode relative error {}", c, error);
      assertTrue(error <= LogitsComparison.TOLERANCE, c + ": cached decode relative error " + error);
    }
  }

  /**
   * The point of the realistic spread: each convention error a loader could make moves these
   * models' logits by more than four times the tolerance (measured: 0.23 to 1.3 relative for the
   * rotary, grouped-query and bias errors, 9.6e-5 for GPT-2's GELU), so none could pass the tests above.
   */
  @Test
  void everyConventionMistakeMovesTheLogitsBeyondFourTimesTheTolerance() {
    record Case(ReferenceConfig config, Mistake mistake) {}
    List<Case> cases = List.of(
        new Case(ReferenceConfig.llama(), Mistake.INTERLEAVED_ROPE),
        new Case(ReferenceConfig.llama(), Mistake.KV_HEAD_BY_MODULO),
        new Case(ReferenceConfig.mistral(), Mistake.DEFAULT_ROPE_THETA),
        new Case(ReferenceConfig.llama().withRopeScaling(RopeScaling.linear(2)), Mistake.NO_ROPE_SCALING),
        new Case(ReferenceConfig.llama().withRopeTheta(500000).withRopeScaling(RopeScaling.llama3(8, 1, 4, 256)),
            Mistake.NO_ROPE_SCALING),
        new Case(ReferenceConfig.qwen2(), Mistake.NO_QKV_BIAS),
        new Case(ReferenceConfig.gpt2(), Mistake.ERF_GELU));
    long[] ids = LogitsComparison.rows(64, 3, 11).get(0);
    for (Case c : cases) {
      ReferenceModel right = new ReferenceModel(c.config(), ReferenceWeights.random(c.config(), 17));
      double moved = LogitsComparison.relativeDifference(right.with(c.mistake()).logits(ids), right.logits(ids));
      LOG.info("{} on {}: logits move by {} relative", c.mistake(), c.config().family(), moved);
      assertTrue(moved > 4 * LogitsComparison.TOLERANCE, c.mistake() + " on " + c.config().family()
          + " moves the logits by only " + moved);
    }
  }
}
