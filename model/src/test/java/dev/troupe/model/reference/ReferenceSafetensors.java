package dev.troupe.model.reference;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal safetensors writer of the reference side, from the format's description
 * (huggingface/safetensors README): an 8-byte little-endian header length, the JSON header padded
 * with spaces to a multiple of 8, then the little-endian data in header order. Sharded folders follow
 * transformers' layout: model-0000i-of-0000n.safetensors and model.safetensors.index.json.
 */
public final class ReferenceSafetensors {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ReferenceSafetensors() {}

  /** Writes {@code tensors} (in map order) stored as {@code type}; returns the data bytes written. */
  public static long write(Path file, Map<String, ReferenceTensor> tensors, StoredType type) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    long offset = 0;
    for (Map.Entry<String, ReferenceTensor> e : tensors.entrySet()) {
      long bytes = (long) e.getValue().values().length * type.bytes;
      ObjectNode info = header.putObject(e.getKey());
      info.put("dtype", type.name());
      var shape = info.putArray("shape");
      for (long d : e.getValue().shape()) {
        shape.add(d);
      }
      info.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(padded);
    out.put(json);
    for (int i = json.length; i < padded; i++) {
      out.put((byte) ' ');
    }
    for (ReferenceTensor t : tensors.values()) {
      for (double v : t.values()) {
        type.put(out, v);
      }
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.write(file, out.array());
    return offset;
  }

  /**
   * Writes a checkpoint folder's weights as {@code shards} files of consecutive tensors plus the index
   * ({"metadata": {"total_size": data bytes}, "weight_map": {tensor: file}}), as save_pretrained does
   * past max_shard_size.
   */
  public static void writeSharded(Path dir, Map<String, ReferenceTensor> tensors, StoredType type, int shards)
      throws IOException {
    List<String> names = new ArrayList<>(tensors.keySet());
    ObjectNode index = JSON.createObjectNode();
    ObjectNode weightMap = JSON.createObjectNode();
    long total = 0;
    int from = 0;
    for (int s = 0; s < shards; s++) {
      int to = names.size() * (s + 1) / shards;
      String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
      Map<String, ReferenceTensor> part = new LinkedHashMap<>();
      for (String name : names.subList(from, to)) {
        part.put(name, tensors.get(name));
        weightMap.put(name, file);
      }
      total += write(dir.resolve(file), part, type);
      from = to;
    }
    index.putObject("metadata").put("total_size", total);
    index.set("weight_map", weightMap);
    JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
  }

  /** Writes a whole HF model folder: config.json and the weights, in one file or {@code shards} files. */
  public static void writeCheckpoint(Path dir, ReferenceConfig config, Map<String, ReferenceTensor> weights,
      StoredType type, int shards) throws IOException {
    config.writeJson(dir.resolve("config.json"));
    if (shards <= 1) {
      write(dir.resolve("model.safetensors"), weights, type);
    } else {
      writeSharded(dir, weights, type, shards);
    }
  }
}
