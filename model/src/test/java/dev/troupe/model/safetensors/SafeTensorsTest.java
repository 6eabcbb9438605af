package dev.troupe.model.safetensors;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
  @TempDir Path dir;
  NDManager manager;

  @BeforeEach
  void openManager() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void closeManager() {
    manager.close();
  }

  // ---- round trips ----------------------------------------------------------------------------

  @Test
  void everyEngineDtypeRoundTripsExactly() throws IOException {
    float[] f32 = {1.5f, -0.0f, 3.4028235e38f, 1.4e-45f, Float.NEGATIVE_INFINITY};
    float[] f16 = {0.5f, -2f, 65504f, 6.1035156e-5f}; // all exact in half precision
    double[] f64 = {0.1, -1e308, Math.PI};
    byte[] i8 = {-128, -1, 0, 127};
    byte[] u8 = {0, (byte) 200, (byte) 255};
    int[] i32 = {Integer.MIN_VALUE, 7, Integer.MAX_VALUE};
    long[] i64 = {Long.MIN_VALUE, 1L << 40, Long.MAX_VALUE, -3};
    boolean[] bool = {true, false, true, true};
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    tensors.put("f32", manager.create(f32));
    tensors.put("f16", manager.create(f16, new Shape(2, 2)).toType(DataType.FLOAT16, false));
    tensors.put("f64", manager.create(f64));
    tensors.put("i8", manager.create(i8, new Shape(2, 2)));
    tensors.put("u8", manager.create(ByteBuffer.wrap(u8), new Shape(3), DataType.UINT8));
    tensors.put("i32", manager.create(i32));
    tensors.put("i64", manager.create(i64, new Shape(2, 2)));
    tensors.put("bool", manager.create(bool, new Shape(4, 1)));
    Path file = dir.resolve("all.safetensors");

    SafeTensors.write(file, tensors, Map.of());
    Map<String, NDArray> back = SafeTensors.read(file, manager, null);

    Map<String, TensorInfo> header = SafeTensors.header(file);
    assertEquals("F16", header.get("f16").dtype());
    assertEquals("U8", header.get("u8").dtype());
    assertEquals("BOOL", header.get("bool").dtype());
    for (Map.Entry<String, NDArray> entry : tensors.entrySet()) {
      NDArray read = back.get(entry.getKey());
      assertEquals(entry.getValue().getDataType(), read.getDataType(), entry.getKey());
      assertEquals(entry.getValue().getShape(), read.getShape(), entry.getKey());
    }
    assertArrayEquals(f32, back.get("f32").toFloatArray());
    assertArrayEquals(f16, back.get("f16").toType(DataType.FLOAT32, false).toFloatArray());
    assertArrayEquals(f64, back.get("f64").toDoubleArray());
    assertArrayEquals(i8, back.get("i8").toByteArray());
    assertArrayEquals(u8, back.get("u8").toByteArray());
    assertArrayEquals(i32, back.get("i32").toIntArray());
    assertArrayEquals(i64, back.get("i64").toLongArray());
    assertArrayEquals(bool, back.get("bool").toBooleanArray());
  }

  @Test
  void bf16RoundTripsExactlyForValuesItCanRepresent() throws IOException {
    // 8 significant bits: 1 + 2^-7 is the next bf16 after 1.
    float[] values = {1.5f, -2f, 0.15625f, 256f, 1.0078125f, 0x1p100f, -0x1p-120f, 0f};
    Path file = dir.resolve("bf16.safetensors");

    SafeTensors.write(
        file, Map.of("w", manager.create(values, new Shape(2, 4))), Map.of(), DataType.BFLOAT16);

    TensorInfo info = SafeTensors.header(file).get("w");
    assertEquals("BF16", info.dtype());
    assertEquals(16, info.end() - info.begin());
    NDArray back = SafeTensors.read(file, manager, null).get("w");
    assertEquals(DataType.FLOAT32, back.getDataType(), "the PyTorch engine holds bf16 as f32");
    assertEquals(new Shape(2, 4), back.getShape());
    assertArrayEquals(values, back.toFloatArray());
    NDArray half = SafeTensors.read(file, manager, DataType.FLOAT16).get("w");
    assertEquals(DataType.FLOAT16, half.getDataType());
    assertArrayEquals(
        new float[] {1.5f, -2f, 0.15625f, 256f},
        half.get(0).toType(DataType.FLOAT32, false).toFloatArray());
  }

  @Test
  void bf16WritingRoundsToNearestEvenLikeTorch() throws IOException {
    float[] values = {
      1 + 0x1p-8f, // halfway between 1 and 1 + 2^-7: to even, 1
      1 + 3 * 0x1p-8f, // halfway between 1 + 2^-7 and 1 + 2^-6: to even, 1 + 2^-6
      1 + 0x1p-8f + 0x1p-20f, // just above halfway: up
      Float.NaN,
      Float.POSITIVE_INFINITY
    };
    Path file = dir.resolve("rounding.safetensors");

    SafeTensors.write(file, Map.of("w", manager.create(values)), Map.of(), DataType.BFLOAT16);

    float[] back = SafeTensors.read(file, manager, DataType.FLOAT32).get("w").toFloatArray();
    assertArrayEquals(
        new float[] {1f, 1 + 0x1p-6f, 1 + 0x1p-7f, Float.NaN, Float.POSITIVE_INFINITY}, back);
  }

  @Test
  void scalarsAndZeroSizeTensorsRoundTrip() throws IOException {
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    tensors.put("scalar", manager.create(3.25f));
    tensors.put("step", manager.create(41L));
    tensors.put("empty_rows", manager.create(new Shape(0, 3), DataType.FLOAT32));
    tensors.put("empty_cols", manager.create(new Shape(2, 0), DataType.INT64));
    Path file = dir.resolve("edge.safetensors");

    SafeTensors.write(file, tensors, Map.of());
    Map<String, NDArray> back = SafeTensors.read(file, manager, null);

    assertArrayEquals(new long[0], SafeTensors.header(file).get("scalar").shape());
    assertEquals(new Shape(), back.get("scalar").getShape());
    assertEquals(3.25f, back.get("scalar").getFloat());
    assertEquals(41L, back.get("step").getLong());
    assertEquals(new Shape(0, 3), back.get("empty_rows").getShape());
    assertEquals(DataType.FLOAT32, back.get("empty_rows").getDataType());
    assertEquals(new Shape(2, 0), back.get("empty_cols").getShape());
    assertEquals(DataType.INT64, back.get("empty_cols").getDataType());
  }

  @Test
  void metadataRoundTripsAndIsLeftOutWhenEmpty() throws IOException {
    Path withMetadata = dir.resolve("meta.safetensors");
    Path without = dir.resolve("plain.safetensors");
    NDArray w = manager.create(new float[] {1, 2});

    SafeTensors.write(withMetadata, Map.of("w", w), Map.of("format", "pt", "step", "1200"));
    SafeTensors.write(without, Map.of("w", w), Map.of());

    assertEquals(Map.of("format", "pt", "step", "1200"), SafeTensors.metadata(withMetadata));
    assertEquals(List.of("w"), List.copyOf(SafeTensors.header(withMetadata).keySet()));
    assertEquals(Map.of(), SafeTensors.metadata(without));
    assertTrue(!new String(Files.readAllBytes(without), UTF_8).contains("__metadata__"));
  }

  @Test
  void floatTargetConvertsFloatingTensorsAndLeavesIntegersAlone() throws IOException {
    Path file = dir.resolve("mixed.safetensors");
    SafeTensors.write(
        file,
        Map.of(
            "w",
            manager.create(new double[] {0.5, -1.25}),
            "ids",
            manager.create(new long[] {3, 9})),
        Map.of());

    Map<String, NDArray> back = SafeTensors.read(file, manager, DataType.FLOAT32);

    assertEquals(DataType.FLOAT32, back.get("w").getDataType());
    assertArrayEquals(new float[] {0.5f, -1.25f}, back.get("w").toFloatArray());
    assertEquals(DataType.INT64, back.get("ids").getDataType());
    assertArrayEquals(new long[] {3, 9}, back.get("ids").toLongArray());
    assertThrows(
        IllegalArgumentException.class, () -> SafeTensors.read(file, manager, DataType.BFLOAT16));
  }

  @Test
  void tensorsLargerThanOneChunkAreCopiedInSlices() throws IOException {
    float[] rows = new float[5 * 3];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = i * 0.5f - 3;
    }
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    tensors.put("rows", manager.create(rows, new Shape(5, 3)));
    tensors.put("ids", manager.create(new long[] {5, 6, 7}));
    tensors.put("scalar", manager.create(2.5f));
    int before = manager.getManagedArrays().size();
    Path f32 = dir.resolve("f32.safetensors");
    Path bf16 = dir.resolve("bf16.safetensors");

    // 16-byte chunks: one row of "rows" (12 bytes) or two of "ids" at a time.
    SafeTensors.write(f32, tensors, Map.of(), null, 16);
    SafeTensors.write(bf16, tensors, Map.of(), DataType.BFLOAT16, 16);

    assertEquals(before, manager.getManagedArrays().size(), "writing leaves no arrays behind");
    try (NDManager reading = NDManager.newBaseManager()) {
      Map<String, NDArray> back = SafeTensors.read(f32, reading, null, 16);
      assertArrayEquals(rows, back.get("rows").toFloatArray());
      assertEquals(new Shape(5, 3), back.get("rows").getShape());
      assertArrayEquals(new long[] {5, 6, 7}, back.get("ids").toLongArray());
      assertEquals(2.5f, back.get("scalar").getFloat());
      Map<String, NDArray> widened = SafeTensors.read(bf16, reading, null, 16);
      assertArrayEquals(rows, widened.get("rows").toFloatArray(), "these values are exact in bf16");
      assertEquals(6, reading.getManagedArrays().size(), "reading leaves only the returned arrays");
    }
  }

  // ---- the format itself, independent of our writer -------------------------------------------

  @Test
  void readsAHandBuiltFile() throws IOException {
    // Header order b, a but data order a, b (readers must go by the offsets), metadata, space
    // padding.
    String json =
        "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
            + "\"a\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[0,8]}}   ";
    ByteBuffer data = le(12);
    data.putLong(0, -123456789012L);
    data.putShort(8, (short) 0x3FC0); // bf16 1.5
    data.putShort(10, (short) 0xC040); // bf16 -3
    Path file = dir.resolve("hand.safetensors");
    Files.write(file, fileBytes(json, data.array()));

    assertEquals(List.of("b", "a"), List.copyOf(SafeTensors.header(file).keySet()));
    TensorInfo a = SafeTensors.header(file).get("a");
    assertEquals("I64", a.dtype());
    assertArrayEquals(new long[] {1, 1}, a.shape());
    assertEquals(0, a.begin());
    assertEquals(8, a.end());
    assertEquals(Map.of("format", "pt"), SafeTensors.metadata(file));
    Map<String, NDArray> tensors = SafeTensors.read(file, manager, null);
    assertArrayEquals(new float[] {1.5f, -3f}, tensors.get("b").toFloatArray());
    assertArrayEquals(new long[] {-123456789012L}, tensors.get("a").toLongArray());
    assertEquals(new Shape(1, 1), tensors.get("a").getShape());
  }

  @Test
  void writesTheSameBytesAsTheReferenceImplementation() throws IOException {
    // The cases of test_serialization and test_empty in huggingface/safetensors (tensor.rs).
    Path tensor = dir.resolve("attn.safetensors");
    Path empty = dir.resolve("empty.safetensors");
    Path framework = dir.resolve("framework.safetensors");

    SafeTensors.write(tensor, Map.of("attn.0", manager.arange(6f).reshape(1, 2, 3)), Map.of());
    SafeTensors.write(empty, Map.of(), Map.of());
    SafeTensors.write(framework, Map.of(), Map.of("framework", "pt"));

    ByteBuffer data = le(24);
    for (int i = 0; i < 6; i++) {
      data.putFloat(4 * i, i);
    }
    assertArrayEquals(
        fileBytes(
            "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
            data.array()),
        Files.readAllBytes(tensor));
    assertArrayEquals(fileBytes("{}      ", new byte[0]), Files.readAllBytes(empty));
    assertArrayEquals(
        fileBytes("{\"__metadata__\":{\"framework\":\"pt\"}}     ", new byte[0]),
        Files.readAllBytes(framework));
  }

  @Test
  void writerLaysTensorsOutByDescendingDtypeThenNameSoEachIsAligned() throws IOException {
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    tensors.put("a_mask", manager.create(new boolean[] {true, false, true}));
    tensors.put("b_half", manager.create(new float[] {1, 2, 3}).toType(DataType.FLOAT16, false));
    tensors.put("c_weight", manager.create(new float[] {1, 2, 3}));
    tensors.put("d_step", manager.create(new long[] {4}));
    tensors.put("a_weight", manager.create(new float[] {4}));
    Path file = dir.resolve("layout.safetensors");

    SafeTensors.write(file, tensors, Map.of());

    Map<String, TensorInfo> header = SafeTensors.header(file);
    assertEquals(
        List.of("d_step", "a_weight", "c_weight", "b_half", "a_mask"),
        List.copyOf(header.keySet()));
    long headerLength =
        ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerLength % 8);
    for (TensorInfo info : header.values()) {
      int size = Map.of("I64", 8, "F32", 4, "F16", 2, "BOOL", 1).get(info.dtype());
      assertEquals(0, info.begin() % size, info.dtype() + " at " + info.begin());
    }
  }

  // ---- checkpoints ----------------------------------------------------------------------------

  @Test
  void shardedCheckpointIsReadThroughItsIndex() throws IOException {
    String first = "model-00001-of-00002.safetensors";
    String second = "model-00002-of-00002.safetensors";
    SafeTensors.write(
        dir.resolve(first),
        Map.of(
            "model.embed_tokens.weight", manager.create(new float[] {1, 2, 3, 4}, new Shape(2, 2)),
            "model.layers.0.mlp.up_proj.weight", manager.create(new float[] {5, 6})),
        Map.of("format", "pt"));
    SafeTensors.write(
        dir.resolve(second),
        Map.of(
            "lm_head.weight",
            manager.create(new float[] {0.5f, -0.25f}).toType(DataType.FLOAT16, false)),
        Map.of("format", "pt"));
    Files.writeString(
        dir.resolve("model.safetensors.index.json"),
        "{\"metadata\": {\"total_size\": 28}, \"weight_map\": {"
            + "\"lm_head.weight\": \""
            + second
            + "\", "
            + "\"model.embed_tokens.weight\": \""
            + first
            + "\", "
            + "\"model.layers.0.mlp.up_proj.weight\": \""
            + first
            + "\"}}");

    int before = manager.getManagedArrays().size();

    Map<String, NDArray> tensors = SafeTensors.readCheckpoint(dir, manager, DataType.FLOAT32);

    assertEquals(
        before + 3, manager.getManagedArrays().size(), "the three tensors and nothing else");
    assertEquals(
        List.of("lm_head.weight", "model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight"),
        List.copyOf(tensors.keySet()));
    assertEquals(DataType.FLOAT32, tensors.get("lm_head.weight").getDataType());
    assertArrayEquals(new float[] {0.5f, -0.25f}, tensors.get("lm_head.weight").toFloatArray());
    assertArrayEquals(
        new float[] {1, 2, 3, 4}, tensors.get("model.embed_tokens.weight").toFloatArray());
    assertEquals(new Shape(2, 2), tensors.get("model.embed_tokens.weight").getShape());
    assertArrayEquals(
        new float[] {5, 6}, tensors.get("model.layers.0.mlp.up_proj.weight").toFloatArray());
  }

  @Test
  void singleFileCheckpointIsRead() throws IOException {
    SafeTensors.write(
        dir.resolve("model.safetensors"),
        Map.of("w", manager.create(new float[] {7, 8})),
        Map.of());

    Map<String, NDArray> tensors = SafeTensors.readCheckpoint(dir, manager, null);

    assertArrayEquals(new float[] {7, 8}, tensors.get("w").toFloatArray());
  }

  // ---- atomic writes --------------------------------------------------------------------------

  @Test
  void writeReplacesTheFileAndLeavesNoTempFileBehind() throws IOException {
    Path file = dir.resolve("adapter_model.safetensors");

    SafeTensors.write(file, Map.of("w", manager.create(new float[] {1})), Map.of());
    SafeTensors.write(file, Map.of("w", manager.create(new float[] {2})), Map.of());

    assertEquals(List.of(file), listing());
    assertArrayEquals(
        new float[] {2}, SafeTensors.read(file, manager, null).get("w").toFloatArray());
  }

  @Test
  void failedWriteKeepsThePreviousFileAndLeavesNoTempFile() throws IOException {
    Path file = dir.resolve("adapter_model.safetensors");
    SafeTensors.write(file, Map.of("w", manager.create(new float[] {1, 2})), Map.of());
    byte[] before = Files.readAllBytes(file);
    NDArray gone = manager.create(new float[] {3, 4});
    gone.getDataType(); // cached, so the header is written and the failure comes with the data
    gone.getShape();
    gone.close();

    assertThrows(
        RuntimeException.class, () -> SafeTensors.write(file, Map.of("w", gone), Map.of()));

    assertEquals(List.of(file), listing());
    assertArrayEquals(before, Files.readAllBytes(file));
  }

  // ---- bad files ------------------------------------------------------------------------------

  @Test
  void headerLengthBeyondTheFileIsRejected() throws IOException {
    Path file = dir.resolve("truncated.safetensors");
    byte[] bytes = fileBytes("{}      ", new byte[4]);
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 999_999_999L);
    Files.write(file, bytes);

    assertRejected(
        file, "header length 999999999 exceeds file size 20", () -> SafeTensors.header(file));
  }

  @Test
  void fileShorterThanTheLengthFieldIsRejected() throws IOException {
    Path file = dir.resolve("tiny.safetensors");
    Files.write(file, new byte[] {1, 2, 3});

    assertRejected(file, "file is 3 bytes, too short", () -> SafeTensors.read(file, manager, null));
  }

  @Test
  void headerThatIsNotJsonIsRejected() throws IOException {
    Path file = dir.resolve("garbled.safetensors");
    Files.write(file, fileBytes("{\"w\": {\"dtype\": \"F32\",", new byte[0]));

    assertRejected(file, "header is not valid JSON: ", () -> SafeTensors.header(file));
  }

  @Test
  void headerNamingATensorTwiceIsRejected() throws IOException {
    Path file = dir.resolve("twice.safetensors");
    String entry = "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}";
    Files.write(file, fileBytes("{" + entry + "," + entry + "}", new byte[1]));

    assertRejected(
        file, "header is not valid JSON: Duplicate field 'w'", () -> SafeTensors.header(file));
  }

  @Test
  void offsetsThatDisagreeWithDtypeAndShapeAreRejected() throws IOException {
    Path file = dir.resolve("short.safetensors");
    Files.write(
        file,
        fileBytes(
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", new byte[16]));

    assertRejected(
        file,
        "tensor 'x' has data_offsets [0, 12] but dtype F32 and shape [2, 2] need 16 bytes",
        () -> SafeTensors.read(file, manager, null));
  }

  @Test
  void offsetsOutsideTheDataBufferAreRejected() throws IOException {
    Path file = dir.resolve("outside.safetensors");
    Files.write(
        file,
        fileBytes(
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", new byte[12]));

    assertRejected(
        file,
        "tensor 'x' data_offsets [8, 24] lie outside the data buffer of 12 bytes",
        () -> SafeTensors.read(file, manager, null));
  }

  @Test
  void malformedTensorEntryIsRejected() throws IOException {
    Path file = dir.resolve("malformed.safetensors");
    Files.write(
        file,
        fileBytes(
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]));

    assertRejected(file, "tensor 'x' should be {\"dtype\": str", () -> SafeTensors.header(file));
  }

  @Test
  void unsupportedDtypeIsRejectedAndNothingIsLeftLoaded() throws IOException {
    Path file = dir.resolve("fp8.safetensors");
    Files.write(
        file,
        fileBytes(
            "{\"ok\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[4,8]}}",
            new byte[8]));

    assertEquals("F8_E4M3", SafeTensors.header(file).get("x").dtype(), "the header still lists it");
    assertRejected(
        file,
        "unsupported dtype 'F8_E4M3' for tensor 'x'",
        () -> SafeTensors.read(file, manager, null));
    assertEquals(List.of(), manager.getManagedArrays());
  }

  @Test
  void unknownDtypeIsRejected() throws IOException {
    Path file = dir.resolve("f4.safetensors");
    Files.write(
        file,
        fileBytes("{\"x\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]}}", new byte[1]));

    assertRejected(file, "unsupported dtype 'F4' for tensor 'x'", () -> SafeTensors.header(file));
  }

  @Test
  void folderWithNeitherCheckpointFileIsRejected() {
    assertRejected(
        dir,
        "holds neither model.safetensors nor model.safetensors.index.json",
        () -> SafeTensors.readCheckpoint(dir, manager, null));
  }

  @Test
  void indexNamingAMissingShardIsRejected() throws IOException {
    Path index = dir.resolve("model.safetensors.index.json");
    Files.writeString(index, "{\"weight_map\": {\"w\": \"model-00001-of-00002.safetensors\"}}");

    assertRejected(
        index,
        "weight_map names shard model-00001-of-00002.safetensors, but",
        () -> SafeTensors.readCheckpoint(dir, manager, null));
  }

  @Test
  void indexPointingToATensorTheShardLacksIsRejected() throws IOException {
    SafeTensors.write(
        dir.resolve("model-00001-of-00001.safetensors"),
        Map.of("w", manager.create(new float[] {1})),
        Map.of());
    int written = manager.getManagedArrays().size();
    Path index = dir.resolve("model.safetensors.index.json");
    Files.writeString(
        index,
        "{\"weight_map\": {\"w\": \"model-00001-of-00001.safetensors\","
            + " \"lm_head.weight\": \"model-00001-of-00001.safetensors\"}}");

    assertRejected(
        index,
        "weight_map puts 'lm_head.weight' in model-00001-of-00001.safetensors, which has no such"
            + " tensor",
        () -> SafeTensors.readCheckpoint(dir, manager, null));
    assertEquals(written, manager.getManagedArrays().size());
  }

  @Test
  void indexNamingAShardOutsideItsFolderIsRejected() throws IOException {
    Path index = dir.resolve("model.safetensors.index.json");
    Files.writeString(index, "{\"weight_map\": {\"w\": \"../elsewhere.safetensors\"}}");

    assertRejected(
        index, "which is not a file name", () -> SafeTensors.readCheckpoint(dir, manager, null));
  }

  @Test
  void indexWithoutWeightMapIsRejected() throws IOException {
    Path index = dir.resolve("model.safetensors.index.json");
    Files.writeString(index, "{\"metadata\": {}}");

    assertRejected(
        index,
        "has no \"weight_map\" object",
        () -> SafeTensors.readCheckpoint(dir, manager, null));
  }

  // ---- helpers --------------------------------------------------------------------------------

  interface Action {
    void run() throws IOException;
  }

  private static void assertRejected(Path file, String problem, Action action) {
    ModelFormatException e = assertThrows(ModelFormatException.class, action::run);
    assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
    assertTrue(e.getMessage().contains(problem), e.getMessage());
  }

  /** 8-byte little-endian header length, the header, the data: a safetensors file by hand. */
  private static byte[] fileBytes(String header, byte[] data) {
    byte[] json = header.getBytes(UTF_8);
    return le(8 + json.length + data.length).putLong(json.length).put(json).put(data).array();
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  private List<Path> listing() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.toList();
    }
  }
}
