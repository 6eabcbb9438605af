package dev.troupe.algorithms;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.algorithms.sft.NextTokenLoss;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** Tiny real models, a real byte-level tokenizer and the next-token loss shared by the algorithms tests. */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
public final class Fixtures {
  private Fixtures() {}

  /** Bytes 0..255, then {@code <s>} = 256 and {@code </s>} = 257. */
  public static Tokenizer byteTokenizer(Path dir) throws IOException, ModelFormatException {
    return Tokenizer.load(Tokenizer.writeByteLevel(dir, List.of("<s>", "</s>")));
  }

  /** A Llama with grouped-query attention (4 heads over 2 kv heads): hidden 64, 2 layers, MLP 128. */
  public static ModelConfig tinyLlama(int vocab) {
    return ModelConfig.llama(vocab, 64, 2, 4, 2, 128, 128);
  }

  /** {@code <s>} text {@code </s>} as ids. */
  public static long[] document(Tokenizer tokenizer, String text) {
    long[] body = tokenizer.encode(text);
    long[] ids = new long[body.length + 2];
    ids[0] = tokenizer.bosId().orElseThrow();
    System.arraycopy(body, 0, ids, 1, body.length);
    ids[ids.length - 1] = tokenizer.eosId().orElseThrow();
    return ids;
  }

  /** Right-pads rows into {ids, mask} owned by {@code manager}. */
  public static NDArray[] rightPadded(NDManager manager, List<long[]> rows) {
    Batch batch = Batch.rightPadded(manager, rows);
    return new NDArray[] {batch.ids(), batch.mask()};
  }

  /** Mean next-token cross-entropy in nats over real tokens (right-padded rows). */
  public static NDArray nextTokenLoss(NDArray logits, NDArray ids, NDArray mask) {
    return NextTokenLoss.mean(logits, ids, mask);
  }

  /** The loss of {@code rows} under {@code model} (and {@code adapter}, may be null), in {@code manager}. */
  public static NDArray loss(CausalLm model, Adapter adapter, List<long[]> rows, NDManager manager) {
    NDArray[] batch = rightPadded(manager, rows);
    return nextTokenLoss(model.forward(batch[0], batch[1], adapter, true), batch[0], batch[1]);
  }

  /**
   * Greedy decoding by repeated full forwards (no KV cache): appends the argmax token until
   * {@code stopId} or {@code maxNew} new tokens; returns only the new tokens, stop token excluded.
   */
  public static long[] greedy(CausalLm model, Adapter adapter, long[] prompt, int maxNew, long stopId,
      NDManager parent) {
    long[] seq = Arrays.copyOf(prompt, prompt.length + maxNew);
    int length = prompt.length;
    try (GradMode ignored = GradMode.disabled()) {
      while (length < seq.length) {
        try (NDManager step = parent.newSubManager()) {
          NDArray ids = step.create(Arrays.copyOf(seq, length), new Shape(1, length));
          NDArray logits = model.forward(ids, null, adapter, false);
          long next = logits.get(new NDIndex("0, -1, :")).argMax().getLong();
          if (next == stopId) {
            break;
          }
          seq[length++] = next;
        }
      }
    }
    return Arrays.copyOfRange(seq, prompt.length, length);
  }

  public static float maxAbsDiff(NDArray a, NDArray b) {
    return a.sub(b).abs().max().getFloat();
  }
}
