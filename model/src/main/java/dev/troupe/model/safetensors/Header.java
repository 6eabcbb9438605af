package dev.troupe.model.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.troupe.model.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A checked safetensors header: tensors in file order, metadata, and where the data starts. */
record Header(Map<String, TensorInfo> tensors, Map<String, String> metadata, long dataStart) {
  static final String METADATA = "__metadata__";

  /**
   * The format's own cap (MAX_HEADER_SIZE in safetensors); it also bounds what a corrupt length
   * makes us allocate.
   */
  private static final long MAX_BYTES = 100_000_000L;

  static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  /**
   * Reads and checks the header of {@code file}: every tensor has a known dtype, a shape whose size
   * matches its data_offsets, and data inside the file. The data itself is not read.
   */
  static Header read(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size < 8) {
        throw new ModelFormatException(
            file, "file is " + size + " bytes, too short for the 8-byte header length");
      }
      ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      SafeTensors.readFully(file, channel, length, 0);
      long n = length.getLong(0); // a u64: negative here means above 2^63
      if (n < 0 || n > size - 8) {
        throw new ModelFormatException(
            file, "header length " + Long.toUnsignedString(n) + " exceeds file size " + size);
      }
      if (n > MAX_BYTES) {
        throw new ModelFormatException(
            file, "header length " + n + " exceeds the format's limit of " + MAX_BYTES + " bytes");
      }
      ByteBuffer json = ByteBuffer.allocate((int) n);
      SafeTensors.readFully(file, channel, json, 8);
      return parse(file, json.array(), size - 8 - n, 8 + n);
    }
  }

  private static Header parse(Path file, byte[] json, long bufferBytes, long dataStart)
      throws ModelFormatException {
    JsonNode root;
    try {
      root = JSON.readTree(json); // the space padding is JSON whitespace
    } catch (JsonProcessingException e) {
      throw new ModelFormatException(
          file, "header is not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new ModelFormatException(file, "header is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelFormatException(file, "header is not a JSON object");
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = Map.of();
    for (Map.Entry<String, JsonNode> entry : root.properties()) {
      if (entry.getKey().equals(METADATA)) {
        metadata = metadata(file, entry.getValue());
      } else {
        tensors.put(entry.getKey(), tensor(file, entry.getKey(), entry.getValue(), bufferBytes));
      }
    }
    return new Header(Collections.unmodifiableMap(tensors), metadata, dataStart);
  }

  private static Map<String, String> metadata(Path file, JsonNode node)
      throws ModelFormatException {
    if (!node.isObject()) {
      throw new ModelFormatException(
          file, METADATA + " is not a map of strings: " + abbreviate(node));
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : node.properties()) {
      if (!entry.getValue().isTextual()) {
        throw new ModelFormatException(
            file,
            METADATA
                + " value for '"
                + entry.getKey()
                + "' is not a string: "
                + abbreviate(entry.getValue()));
      }
      metadata.put(entry.getKey(), entry.getValue().asText());
    }
    return Collections.unmodifiableMap(metadata);
  }

  private static TensorInfo tensor(Path file, String name, JsonNode node, long bufferBytes)
      throws ModelFormatException {
    JsonNode dtypeNode = node.get("dtype");
    long[] shape = naturals(node.get("shape"));
    long[] offsets = naturals(node.get("data_offsets"));
    if (!node.isObject()
        || dtypeNode == null
        || !dtypeNode.isTextual()
        || shape == null
        || offsets == null
        || offsets.length != 2) {
      throw new ModelFormatException(
          file,
          "tensor '"
              + name
              + "' should be {\"dtype\": str, \"shape\": [int, ...], \"data_offsets\":"
              + " [begin, end]} but is "
              + abbreviate(node));
    }
    Dtype dtype = Dtype.named(dtypeNode.asText());
    if (dtype == null) {
      throw new ModelFormatException(
          file, "unsupported dtype '" + dtypeNode.asText() + "' for tensor '" + name + "'");
    }
    long begin = offsets[0];
    long end = offsets[1];
    String where = "data_offsets " + Arrays.toString(offsets);
    if (end < begin) {
      throw new ModelFormatException(
          file, "tensor '" + name + "' has " + where + " that end before they begin");
    }
    long need = dtype.bytes;
    try {
      for (long dim : shape) {
        need = Math.multiplyExact(need, dim);
      }
    } catch (ArithmeticException e) {
      throw new ModelFormatException(
          file,
          "tensor '"
              + name
              + "' has shape "
              + Arrays.toString(shape)
              + ", more bytes than a file holds");
    }
    if (end - begin != need) {
      throw new ModelFormatException(
          file,
          "tensor '"
              + name
              + "' has "
              + where
              + " but dtype "
              + dtype
              + " and shape "
              + Arrays.toString(shape)
              + " need "
              + need
              + " bytes");
    }
    if (end > bufferBytes) {
      throw new ModelFormatException(
          file,
          "tensor '"
              + name
              + "' "
              + where
              + " lie outside the data buffer of "
              + bufferBytes
              + " bytes");
    }
    return new TensorInfo(dtype.name(), shape, begin, end);
  }

  /** The array's non-negative integers, or null if it is not such an array. */
  private static long[] naturals(JsonNode node) {
    if (node == null || !node.isArray()) {
      return null;
    }
    long[] values = new long[node.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode value = node.get(i);
      if (!value.isIntegralNumber() || !value.canConvertToLong() || value.asLong() < 0) {
        return null;
      }
      values[i] = value.asLong();
    }
    return values;
  }

  private static String abbreviate(JsonNode node) {
    String text = node.toString();
    return text.length() <= 200 ? text : text.substring(0, 200) + "...";
  }
}
