package dev.troupe.algorithms.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.troupe.algorithms.state.TensorCodec;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.AdapterChunk;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A learner's adapter as the protocol's {@link AdapterVersion}: a copy of its LoRA / DoRA tensors (the
 * optimizer goes on updating the original in place, so a worker never reads half-updated weights),
 * and back into an {@link Adapter} on a worker's copy of the base; in chunks for size-limited transports.
 */
public final class AdapterVersions {
  private AdapterVersions() {}

  /** A copy of {@code adapter}'s tensors and PEFT config as {@code name} at {@code version}. */
  public static AdapterVersion snapshot(Adapter adapter, CausalLm model, String name, long version) {
    AdapterVersion.Builder out = AdapterVersion.newBuilder().setAdapter(name).setVersion(version)
        .setPeftConfigJson(PeftAdapters.configJson(adapter, model, "troupe"));
    for (Map.Entry<String, NDArray> e : PeftAdapters.tensors(adapter).entrySet()) {
      out.addTensors(TensorCodec.encode(e.getKey(), e.getValue()));
    }
    return out.build();
  }

  /**
   * The version as an adapter over {@code model} named {@code registeredName} (not registered), in a
   * manager of its own; every tensor's checksum and shape is checked first, and a mismatch throws
   * naming the tensor, so a worker keeps its previous version.
   */
  public static Adapter load(AdapterVersion version, CausalLm model, String registeredName) {
    Path source = Path.of("adapter " + version.getAdapter() + "@" + version.getVersion());
    NDManager manager = model.manager().newSubManager();
    try {
      LoraConfig config = PeftAdapters.parseConfig(version.getPeftConfigJson(), source);
      Map<String, NDArray> tensors = new LinkedHashMap<>();
      for (Tensor t : version.getTensorsList()) {
        NDArray array = TensorCodec.decode(t, manager);
        tensors.put(t.getName(), array.getDataType() == model.dtype() ? array : array.toType(model.dtype(), false));
      }
      return PeftAdapters.fromTensors(registeredName, config, tensors, model, manager, source);
    } catch (ModelFormatException | RuntimeException e) {
      manager.close();
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** The bytes this version takes on the wire. */
  public static long bytes(AdapterVersion version) {
    return version.getSerializedSize();
  }

  /** The version's serialized bytes cut into chunks of at most {@code maxBytes}, each naming the whole's sha-256. */
  public static List<AdapterChunk> chunks(AdapterVersion version, int maxBytes) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes must be positive, got " + maxBytes);
    }
    byte[] bytes = version.toByteArray();
    String sha = TensorCodec.sha256(bytes);
    int count = Math.max(1, (bytes.length + maxBytes - 1) / maxBytes);
    List<AdapterChunk> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int from = i * maxBytes;
      int to = Math.min(bytes.length, from + maxBytes);
      out.add(AdapterChunk.newBuilder().setAdapter(version.getAdapter()).setVersion(version.getVersion()).setIndex(i)
          .setCount(count).setData(ByteString.copyFrom(bytes, from, to - from)).setSha256(sha)
          .setTotalBytes(bytes.length).build());
    }
    return out;
  }

  /**
   * The version the chunks carry; throws naming what is wrong when one is missing, doubled, of
   * another version, or the whole does not match its sha-256.
   */
  public static AdapterVersion join(List<AdapterChunk> chunks) {
    if (chunks.isEmpty()) {
      throw new IllegalArgumentException("no adapter chunks");
    }
    AdapterChunk first = chunks.get(0);
    String what = "adapter " + first.getAdapter() + "@" + first.getVersion();
    List<AdapterChunk> sorted = new ArrayList<>(chunks);
    sorted.sort(Comparator.comparingInt(AdapterChunk::getIndex));
    if (sorted.size() != first.getCount()) {
      throw new IllegalArgumentException(what + ": " + sorted.size() + " of " + first.getCount() + " chunks");
    }
    ByteString whole = ByteString.EMPTY;
    for (int i = 0; i < sorted.size(); i++) {
      AdapterChunk c = sorted.get(i);
      if (c.getIndex() != i || !c.getAdapter().equals(first.getAdapter()) || c.getVersion() != first.getVersion()
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
      return AdapterVersion.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(what + ": malformed: " + e.getMessage(), e);
    }
  }
}
