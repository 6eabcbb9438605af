package dev.troupe.reward;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.state.TensorCodec;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.RewardModelChunk;
import dev.troupe.protocol.RewardModelVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A trained reward model as the protocol's {@link RewardModelVersion} (its trunk's adapter and its
 * head's files, never the base), back into a {@link RewardModel} over a worker's own base, and in
 * checksummed chunks for size-limited transports.
 */
public final class RewardModelVersions {
  private RewardModelVersions() {}

  /** A copy of {@code model}'s adapter (if any) and head as {@code name} at {@code version}. */
  public static RewardModelVersion snapshot(RewardModel model, String name, long version) {
    RewardModelVersion.Builder out = RewardModelVersion.newBuilder().setName(name).setVersion(version);
    if (model.adapter() != null) {
      out.setAdapter(AdapterVersions.snapshot(model.adapter(), model.base(), name, version));
    }
    Path dir = null;
    try {
      dir = Files.createTempDirectory("troupe-reward-head");
      model.head().save(dir);
      out.setHeadConfigJson(Files.readString(dir.resolve(RewardHead.CONFIG_FILE), StandardCharsets.UTF_8));
      out.setHeadSafetensors(ByteString.copyFrom(Files.readAllBytes(dir.resolve(RewardHead.WEIGHTS_FILE))));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write reward model " + name + "@" + version + "'s head: " + e.getMessage(), e);
    } finally {
      delete(dir);
    }
    return out.build();
  }

  /**
   * The version as a reward model over {@code base}: its adapter and head in managers of their own
   * (close both with {@link Loaded#close}); a bad checksum, shape or file throws naming it.
   */
  public static Loaded load(RewardModelVersion version, CausalLm base) {
    String what = "reward model " + version.getName() + "@" + version.getVersion();
    Adapter adapter = version.hasAdapter()
        ? AdapterVersions.load(version.getAdapter(), base, what + "/adapter") : null;
    Path dir = null;
    try {
      dir = Files.createTempDirectory("troupe-reward-head");
      Files.writeString(dir.resolve(RewardHead.CONFIG_FILE), version.getHeadConfigJson(), StandardCharsets.UTF_8);
      Files.write(dir.resolve(RewardHead.WEIGHTS_FILE), version.getHeadSafetensors().toByteArray());
      RewardHead head = RewardHead.load(dir, base.manager());
      try {
        return new Loaded(new RewardModel(base, adapter, head), adapter, head);
      } catch (RuntimeException e) {
        head.close();
        throw e;
      }
    } catch (ModelFormatException e) {
      closeQuietly(adapter);
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    } catch (IOException e) {
      closeQuietly(adapter);
      throw new UncheckedIOException(what + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(adapter);
      throw e instanceof IllegalArgumentException ? e : new IllegalArgumentException(what + ": " + e.getMessage(), e);
    } finally {
      delete(dir);
    }
  }

  /** A reward model loaded from a version, with what it owns. */
  public record Loaded(RewardModel model, Adapter adapter, RewardHead head) implements AutoCloseable {
    @Override
    public void close() {
      head.close();
      closeQuietly(adapter);
    }
  }

  /** The version's serialized bytes in chunks of at most {@code maxBytes}, each naming the whole's sha-256. */
  public static List<RewardModelChunk> chunks(RewardModelVersion version, int maxBytes) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes must be positive, got " + maxBytes);
    }
    byte[] bytes = version.toByteArray();
    String sha = TensorCodec.sha256(bytes);
    int count = Math.max(1, (bytes.length + maxBytes - 1) / maxBytes);
    List<RewardModelChunk> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int from = i * maxBytes;
      int to = Math.min(bytes.length, from + maxBytes);
      out.add(RewardModelChunk.newBuilder().setName(version.getName()).setVersion(version.getVersion()).setIndex(i)
          .setCount(count).setData(ByteString.copyFrom(bytes, from, to - from)).setSha256(sha)
          .setTotalBytes(bytes.length).build());
    }
    return out;
  }

  /**
   * The version the chunks carry; throws naming what is wrong when one is missing, doubled, of
   * another version, or the whole does not match its sha-256.
   */
  public static RewardModelVersion join(List<RewardModelChunk> chunks) {
    if (chunks.isEmpty()) {
      throw new IllegalArgumentException("no reward-model chunks");
    }
    RewardModelChunk first = chunks.get(0);
    String what = "reward model " + first.getName() + "@" + first.getVersion();
    List<RewardModelChunk> sorted = new ArrayList<>(chunks);
    sorted.sort(Comparator.comparingInt(RewardModelChunk::getIndex));
    if (sorted.size() != first.getCount()) {
      throw new IllegalArgumentException(what + ": " + sorted.size() + " of " + first.getCount() + " chunks");
    }
    ByteString whole = ByteString.EMPTY;
    for (int i = 0; i < sorted.size(); i++) {
      RewardModelChunk c = sorted.get(i);
      if (c.getIndex() != i || !c.getName().equals(first.getName()) || c.getVersion() != first.getVersion()
          || !c.getSha256().equals(first.getSha256()) || c.getCount() != first.getCount()) {
        throw new IllegalArgumentException(what + ": chunk " + c.getIndex() + " does not belong to this transfer");
      }
      whole = whole.concat(c.getData());
    }
    byte[] bytes = whole.toByteArray();
    if (bytes.length != first.getTotalBytes() || !TensorCodec.sha256(bytes).equals(first.getSha256())) {
      throw new IllegalArgumentException(what + ": the joined " + bytes.length + " bytes do not match the sha-256 "
          + first.getSha256());
    }
    try {
      return RewardModelVersion.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(what + ": malformed: " + e.getMessage(), e);
    }
  }

  private static void closeQuietly(Adapter adapter) {
    if (adapter != null) {
      adapter.close();
    }
  }

  private static void delete(Path dir) {
    if (dir == null) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary folder left behind is harmless
    }
  }
}
