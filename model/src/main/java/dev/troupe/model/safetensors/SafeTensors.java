package dev.troupe.model.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.model.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Hugging Face safetensors files and checkpoint folders, read into and written from DJL NDArrays.
 *
 * <p>A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON ({@code {"name":
 * {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}}), then the
 * data buffer the offsets point into (https://github.com/huggingface/safetensors).
 */
public final class SafeTensors {
  static final String SINGLE_FILE = "model.safetensors";
  static final String INDEX_FILE = "model.safetensors.index.json";

  /**
   * Tensors move between file and engine a slice of whole rows of about this many bytes at a time:
   * no Java buffer nears its 2 GiB limit (Qwen2.5-7B's embedding is 2.2 GB in F32), and the staging
   * buffers stay small.
   */
  static final long CHUNK_BYTES = 64L << 20;

  private SafeTensors() {}

  /** The header of a .safetensors file: tensor name -> info, in file order; metadata excluded. */
  public static Map<String, TensorInfo> header(Path file) throws IOException {
    return Header.read(file).tensors();
  }

  /** The "__metadata__" map (empty if none). */
  public static Map<String, String> metadata(Path file) throws IOException {
    return Header.read(file).metadata();
  }

  /**
   * Every tensor of the file as an NDArray owned by manager, in file order. Floating tensors are
   * converted to {@code target} (FLOAT32, FLOAT16 or FLOAT64; null keeps the stored dtype, except
   * that BF16 becomes FLOAT32, as DJL's PyTorch engine has no BFLOAT16); integer and bool tensors
   * keep theirs, as with {@code model.to(dtype)} in PyTorch.
   */
  public static Map<String, NDArray> read(Path file, NDManager manager, DataType target)
      throws IOException {
    return read(file, manager, target, CHUNK_BYTES);
  }

  static Map<String, NDArray> read(Path file, NDManager manager, DataType target, long chunkBytes)
      throws IOException {
    checkTarget(target);
    Header header = Header.read(file);
    checkLoadable(file, header.tensors());
    Map<String, NDArray> out = new LinkedHashMap<>();
    // Arrays are made in a sub-manager and handed over only once all are in: a failure half-way
    // closes what was made instead of returning or leaking part of a checkpoint.
    try (NDManager loading = manager.newSubManager()) {
      load(file, header, header.tensors().keySet(), target, chunkBytes, loading, out);
      out.values().forEach(array -> array.attach(manager));
    }
    return out;
  }

  /**
   * Writes tensors (each in its own NDArray dtype: F32, F16, BF16, I8, U8, I32, I64, BOOL, F64)
   * with keys sorted, like HF; metadata may be empty. Writes to a temp file in the same folder then
   * atomically renames (a crash never leaves a half-written checkpoint).
   */
  public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata)
      throws IOException {
    write(file, tensors, metadata, null, CHUNK_BYTES);
  }

  /**
   * {@link #write(Path, Map, Map)}, storing every floating tensor as {@code floatType} (FLOAT32,
   * FLOAT16, BFLOAT16 or FLOAT64; null keeps each one's own). BFLOAT16 is how HF ships Llama
   * weights, and the only way to write BF16 here: the PyTorch engine has no BFLOAT16 arrays, so the
   * rounding (to nearest, ties to even, as torch does) happens in Java.
   */
  public static void write(
      Path file, Map<String, NDArray> tensors, Map<String, String> metadata, DataType floatType)
      throws IOException {
    write(file, tensors, metadata, floatType, CHUNK_BYTES);
  }

  static void write(
      Path file,
      Map<String, NDArray> tensors,
      Map<String, String> metadata,
      DataType floatType,
      long chunkBytes)
      throws IOException {
    if (floatType != null && (!floatType.isFloating() || Dtype.storing(floatType) == null)) {
      throw new IllegalArgumentException(
          "floatType must be null, FLOAT32, FLOAT16, BFLOAT16 or FLOAT64, not " + floatType);
    }
    record Entry(String name, NDArray array, Dtype dtype) {}
    List<Entry> entries = new ArrayList<>();
    for (Map.Entry<String, NDArray> tensor : tensors.entrySet()) {
      String name = tensor.getKey();
      DataType type = tensor.getValue().getDataType();
      Dtype dtype = Dtype.storing(floatType != null && type.isFloating() ? floatType : type);
      if (name.equals(Header.METADATA)) {
        throw new IllegalArgumentException("'" + name + "' is reserved by the format");
      }
      if (dtype == null) {
        throw new IllegalArgumentException(
            "tensor '" + name + "' has dtype " + type + ", which safetensors cannot store");
      }
      entries.add(new Entry(name, tensor.getValue(), dtype));
    }
    // HF's layout (prepare() in safetensors): descending dtype, then name. Each tensor then starts
    // at a multiple of its element size, which readers that map the file rely on.
    entries.sort(Comparator.comparing(Entry::dtype).reversed().thenComparing(Entry::name));

    ObjectNode header = Header.JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = header.putObject(Header.METADATA);
      new TreeMap<>(metadata).forEach(meta::put);
    }
    long offset = 0;
    for (Entry entry : entries) {
      long bytes = entry.array().size() * entry.dtype().bytes;
      ObjectNode info = header.putObject(entry.name());
      info.put("dtype", entry.dtype().name());
      ArrayNode shape = info.putArray("shape");
      Arrays.stream(entry.array().getShape().getShape()).forEach(shape::add);
      info.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] json = Header.JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8; // spaces to a multiple of 8: the data starts aligned
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(json);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    head.flip();

    Path target = file.toAbsolutePath();
    // Not Files.createTempFile: its owner-only permissions would carry over to the checkpoint.
    String random = Long.toHexString(ThreadLocalRandom.current().nextLong());
    Path temp = target.resolveSibling("." + target.getFileName() + "." + random + ".tmp");
    try {
      try (FileChannel channel =
          FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        writeFully(channel, head);
        for (Entry entry : entries) {
          writeData(channel, entry.array(), entry.dtype(), chunkBytes);
        }
        channel.force(true); // the bytes are on disk before the name points at them
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  /**
   * A Hugging Face checkpoint folder: model.safetensors, or a sharded one through
   * model.safetensors.index.json ({"metadata":..., "weight_map": {name: shard file}}). Returns all
   * tensors, converted as {@link #read} does; a sharded one's in weight_map order.
   */
  public static Map<String, NDArray> readCheckpoint(Path dir, NDManager manager, DataType target)
      throws IOException {
    Path single = dir.resolve(SINGLE_FILE);
    if (Files.isRegularFile(single)) {
      return read(single, manager, target); // transformers, too, prefers it to an index
    }
    Path index = dir.resolve(INDEX_FILE);
    if (!Files.isRegularFile(index)) {
      throw new ModelFormatException(dir, "holds neither " + SINGLE_FILE + " nor " + INDEX_FILE);
    }
    return readSharded(index, manager, target, CHUNK_BYTES);
  }

  static Map<String, NDArray> readSharded(
      Path index, NDManager manager, DataType target, long chunkBytes) throws IOException {
    checkTarget(target);
    Map<String, String> weightMap = weightMap(index);
    Map<String, List<String>> namesByShard = new LinkedHashMap<>();
    weightMap.forEach(
        (name, shard) -> namesByShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(name));

    // Every shard is found and its header checked against the index before a tensor is loaded.
    record Shard(Path file, Header header, List<String> names) {}
    List<Shard> shards = new ArrayList<>();
    for (Map.Entry<String, List<String>> entry : namesByShard.entrySet()) {
      Path file = shardFile(index, entry.getKey());
      Header header = Header.read(file);
      Map<String, TensorInfo> wanted = new LinkedHashMap<>();
      for (String name : entry.getValue()) {
        TensorInfo info = header.tensors().get(name);
        if (info == null) {
          throw new ModelFormatException(
              index,
              "weight_map puts '" + name + "' in " + entry.getKey() + ", which has no such tensor");
        }
        wanted.put(name, info);
      }
      checkLoadable(file, wanted);
      shards.add(new Shard(file, header, entry.getValue()));
    }

    Map<String, NDArray> loaded = new HashMap<>();
    Map<String, NDArray> out = new LinkedHashMap<>();
    try (NDManager loading = manager.newSubManager()) {
      for (Shard shard : shards) {
        load(shard.file(), shard.header(), shard.names(), target, chunkBytes, loading, loaded);
      }
      for (String name : weightMap.keySet()) {
        NDArray array = loaded.get(name);
        array.attach(manager);
        out.put(name, array);
      }
    }
    return out;
  }

  private static Map<String, String> weightMap(Path index) throws IOException {
    JsonNode root;
    try {
      root = Header.JSON.readTree(Files.readAllBytes(index));
    } catch (JsonProcessingException e) {
      throw new ModelFormatException(index, "is not valid JSON: " + e.getOriginalMessage(), e);
    }
    JsonNode weightMap = root == null ? null : root.get("weight_map");
    if (weightMap == null || !weightMap.isObject()) {
      throw new ModelFormatException(index, "has no \"weight_map\" object");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
      if (!entry.getValue().isTextual()) {
        throw new ModelFormatException(
            index,
            "weight_map entry for '"
                + entry.getKey()
                + "' is not a file name: "
                + entry.getValue());
      }
      out.put(entry.getKey(), entry.getValue().asText());
    }
    return out;
  }

  private static Path shardFile(Path index, String shard) throws ModelFormatException {
    // A downloaded index must not send us reading outside its folder.
    if (shard.isEmpty()
        || shard.contains("/")
        || shard.contains("\\")
        || shard.equals(".")
        || shard.equals("..")) {
      throw new ModelFormatException(
          index, "weight_map names shard '" + shard + "', which is not a file name");
    }
    Path file = index.resolveSibling(shard);
    if (!Files.isRegularFile(file)) {
      throw new ModelFormatException(
          index, "weight_map names shard " + shard + ", but " + file + " does not exist");
    }
    return file;
  }

  private static void checkLoadable(Path file, Map<String, TensorInfo> tensors)
      throws ModelFormatException {
    for (Map.Entry<String, TensorInfo> entry : tensors.entrySet()) {
      String dtype = entry.getValue().dtype();
      if (Dtype.named(dtype).held == null) {
        throw new ModelFormatException(
            file,
            "unsupported dtype '"
                + dtype
                + "' for tensor '"
                + entry.getKey()
                + "' (DJL's PyTorch"
                + " engine loads BOOL, U8, I8, I32, I64, F16, BF16 as F32, F32 and F64)");
      }
    }
  }

  private static void checkTarget(DataType target) {
    if (target == DataType.BFLOAT16) {
      throw new IllegalArgumentException(
          "DJL's PyTorch engine has no BFLOAT16 arrays; load BF16 weights as FLOAT32 or FLOAT16");
    }
    if (target != null
        && target != DataType.FLOAT32
        && target != DataType.FLOAT16
        && target != DataType.FLOAT64) {
      throw new IllegalArgumentException(
          "target must be null, FLOAT32, FLOAT16 or FLOAT64, not " + target);
    }
  }

  // ---- data -----------------------------------------------------------------------------------

  private static void load(
      Path file,
      Header header,
      Iterable<String> names,
      DataType target,
      long chunkBytes,
      NDManager manager,
      Map<String, NDArray> out)
      throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      Loader loader = new Loader(file, channel, header.dataStart(), target, chunkBytes, manager);
      for (String name : names) {
        NDArray array = loader.load(name, header.tensors().get(name));
        array.setName(name);
        out.put(name, array);
      }
    }
  }

  /** Copies the tensors of one open file into arrays, a slice of rows at a time. */
  private static final class Loader {
    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final DataType target;
    private final long chunkBytes;
    private final NDManager manager;
    private ByteBuffer stored = ByteBuffer.allocateDirect(0);
    private ByteBuffer widened = ByteBuffer.allocateDirect(0);

    Loader(
        Path file,
        FileChannel channel,
        long dataStart,
        DataType target,
        long chunkBytes,
        NDManager manager) {
      this.file = file;
      this.channel = channel;
      this.dataStart = dataStart;
      this.target = target;
      this.chunkBytes = chunkBytes;
      this.manager = manager;
    }

    NDArray load(String name, TensorInfo info) throws IOException {
      Dtype dtype = Dtype.named(info.dtype());
      DataType wanted = target != null && dtype.held.isFloating() ? target : dtype.held;
      long[] shape = info.shape();
      long bytes = info.end() - info.begin();
      if (bytes == 0) {
        return manager.create(new Shape(shape), wanted);
      }
      long rows = shape.length == 0 ? 1 : shape[0];
      long rowBytes = bytes / rows;
      long heldRowBytes = rowBytes / dtype.bytes * dtype.held.getNumOfBytes();
      if (heldRowBytes > Integer.MAX_VALUE) {
        throw new ModelFormatException(
            file,
            "tensor '"
                + name
                + "' has rows of "
                + heldRowBytes
                + " bytes, more than a Java buffer");
      }
      long rowsPerChunk = Math.max(1, chunkBytes / heldRowBytes);
      List<NDArray> parts = new ArrayList<>();
      for (long row = 0; row < rows; row += rowsPerChunk) {
        long n = Math.min(rowsPerChunk, rows - row);
        ByteBuffer data = read(dataStart + info.begin() + row * rowBytes, (int) (n * rowBytes));
        if (dtype == Dtype.BF16) {
          data = widenBf16(data);
        }
        long[] partShape = shape.clone();
        if (partShape.length > 0) {
          partShape[0] = n;
        }
        // On the CPU an array made from a direct buffer aliases it (torch::from_blob): copy it out
        // before the buffer is refilled. The copy lives in torch's allocator, not in Java's.
        try (NDArray view = manager.create(data, new Shape(partShape), dtype.held)) {
          parts.add(dtype.held == wanted ? view.duplicate() : view.toType(wanted, false));
        }
      }
      if (parts.size() == 1) {
        return parts.get(0);
      }
      NDArray whole = NDArrays.concat(new NDList(parts), 0);
      parts.forEach(NDArray::close);
      return whole;
    }

    private ByteBuffer read(long position, int length) throws IOException {
      if (stored.capacity() < length) {
        stored = ByteBuffer.allocateDirect(length).order(ByteOrder.LITTLE_ENDIAN);
      }
      stored.clear().limit(length);
      readFully(file, channel, stored, position);
      return stored;
    }

    private ByteBuffer widenBf16(ByteBuffer bf16) {
      int n = bf16.remaining() / 2;
      if (widened.capacity() < 4 * n) {
        widened = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.LITTLE_ENDIAN);
      }
      widened.clear().limit(4 * n);
      for (int i = 0; i < n; i++) {
        widened.putFloat(4 * i, Dtype.bf16ToFloat(bf16.getShort(2 * i)));
      }
      return widened;
    }
  }

  private static void writeData(FileChannel channel, NDArray array, Dtype dtype, long chunkBytes)
      throws IOException {
    long size = array.size();
    if (size == 0) {
      return;
    }
    long[] shape = array.getShape().getShape();
    long rows = shape.length == 0 ? 1 : shape[0];
    long rowsPerChunk = Math.max(1, chunkBytes / (size / rows * dtype.held.getNumOfBytes()));
    // Slices get a manager of their own: toByteBuffer() leaves its CPU and contiguous copies
    // attached to the slice's manager, and those must not pile up in the caller's.
    try (NDManager slicing = array.getManager().newSubManager()) {
      for (long row = 0; row < rows; row += rowsPerChunk) {
        long end = Math.min(row + rowsPerChunk, rows);
        NDArray part =
            shape.length == 0 ? array.reshape(1) : array.get(new NDIndex().addSliceDim(row, end));
        part.attach(slicing);
        // Native order: little-endian, as the format is, on every platform PyTorch runs on.
        ByteBuffer bytes = part.toType(dtype.held, false).toByteBuffer();
        writeFully(channel, dtype == Dtype.BF16 ? narrowToBf16(bytes) : bytes);
      }
    }
  }

  private static ByteBuffer narrowToBf16(ByteBuffer f32) {
    int n = f32.remaining() / 4;
    ByteBuffer out = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      out.putShort(2 * i, Dtype.floatToBf16(f32.getFloat(f32.position() + 4 * i)));
    }
    return out;
  }

  /** Fills {@code into} from {@code position} and flips it; a short file is a format error. */
  static void readFully(Path file, FileChannel channel, ByteBuffer into, long position)
      throws IOException {
    while (into.hasRemaining()) {
      int n = channel.read(into, position);
      if (n < 0) {
        throw new ModelFormatException(
            file, "file ends at byte " + position + ", before the data it declares");
      }
      position += n;
    }
    into.flip();
  }

  private static void writeFully(FileChannel channel, ByteBuffer bytes) throws IOException {
    while (bytes.hasRemaining()) {
      channel.write(bytes);
    }
  }
}
