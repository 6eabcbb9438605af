package dev.troupe.model.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.model.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A Hugging Face tokenizer read from a local tokenizer.json (Rust {@code tokenizers} through DJL), plus the
 * bos/eos/pad ids a causal LM needs.
 *
 * <p>Encoding is exactly what the file describes: no padding ever (batches are padded by the collator, which
 * owns the pad id, the side and the attention mask), no truncation unless the file has a {@code truncation}
 * block, and special tokens only where the file's post-processor adds them (GPT-2's ByteLevel adds none, a
 * Llama TemplateProcessing adds {@code <s>}), as with {@code add_special_tokens=True} in transformers.
 */
public final class Tokenizer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Names tried, in order, among the file's added_tokens when no config file names the token. */
  private static final List<String> EOS_NAMES = List.of("</s>", "<|endoftext|>", "<|im_end|>");
  private static final List<String> BOS_NAMES = List.of("<s>", "<|endoftext|>");
  private static final List<String> PAD_NAMES = List.of("<pad>", "<|pad|>");

  private final HuggingFaceTokenizer hf;
  private final Map<String, Long> ids;
  private final int vocabSize;
  private final OptionalLong bosId;
  private final OptionalLong eosId;
  private final OptionalLong padId;

  private Tokenizer(
      HuggingFaceTokenizer hf, Map<String, Long> ids, int vocabSize, OptionalLong bosId, OptionalLong eosId,
      OptionalLong padId) {
    this.hf = hf;
    this.ids = ids;
    this.vocabSize = vocabSize;
    this.bosId = bosId;
    this.eosId = eosId;
    this.padId = padId;
  }

  /**
   * Loads {@code fileOrDir} (a tokenizer.json, or a model folder holding one). Nothing is downloaded.
   *
   * <p>bos/eos/pad come from tokenizer_config.json, else special_tokens_map.json, next to the file (a
   * {@code "bos_token"} given as a string or as {@code {"content": ...}}); a token neither file names is
   * looked up by common names among the file's added_tokens: eos {@code </s>, <|endoftext|>, <|im_end|>},
   * bos {@code <s>, <|endoftext|>}, pad {@code <pad>, <|pad|>}.
   */
  public static Tokenizer load(Path fileOrDir) throws ModelFormatException {
    Path file = Files.isDirectory(fileOrDir) ? fileOrDir.resolve("tokenizer.json") : fileOrDir;
    if (!Files.isRegularFile(file)) {
      throw new ModelFormatException(file, "tokenizer.json not found");
    }
    JsonNode root = readJson(file);
    if (!root.path("model").isObject()) {
      throw new ModelFormatException(file, "not a tokenizer.json: no \"model\" object");
    }

    Map<String, Long> ids = new HashMap<>();
    long maxId = -1;
    JsonNode vocab = root.path("model").path("vocab");
    if (vocab.isObject()) { // BPE, WordPiece, WordLevel: {"token": id}
      for (var it = vocab.fields(); it.hasNext(); ) {
        var entry = it.next();
        ids.put(entry.getKey(), entry.getValue().asLong());
        maxId = Math.max(maxId, entry.getValue().asLong());
      }
    } else if (vocab.isArray()) { // Unigram: [["piece", score], ...], the id is the index
      for (int i = 0; i < vocab.size(); i++) {
        ids.put(vocab.get(i).path(0).asText(), (long) i);
      }
      maxId = vocab.size() - 1;
    }
    List<String> addedSpecial = new ArrayList<>();
    for (JsonNode added : root.path("added_tokens")) {
      String content = added.path("content").asText();
      ids.put(content, added.path("id").asLong());
      maxId = Math.max(maxId, added.path("id").asLong());
      if (added.path("special").asBoolean(false)) {
        addedSpecial.add(content);
      }
    }
    if (maxId < 0) {
      throw new ModelFormatException(file, "empty vocabulary");
    }

    Path dir = file.toAbsolutePath().getParent();
    Map<Path, JsonNode> configs = new LinkedHashMap<>();
    for (String name : List.of("tokenizer_config.json", "special_tokens_map.json")) {
      Path config = dir.resolve(name);
      if (Files.isRegularFile(config)) {
        configs.put(config, readJson(config));
      }
    }
    OptionalLong bos = specialId("bos_token", configs, BOS_NAMES, addedSpecial, ids);
    OptionalLong eos = specialId("eos_token", configs, EOS_NAMES, addedSpecial, ids);
    OptionalLong pad = specialId("pad_token", configs, PAD_NAMES, addedSpecial, ids);

    HuggingFaceTokenizer hf = build(file, root.path("truncation"));
    return new Tokenizer(hf, ids, Math.toIntExact(maxId + 1), bos, eos, pad);
  }

  private static HuggingFaceTokenizer build(Path file, JsonNode truncation) throws ModelFormatException {
    keepDjlOffline();
    // DJL's defaults are not the file's: with options present it truncates to modelMaxLength (512) and
    // pads to the longest in a batch unless told otherwise, so both are set explicitly.
    HuggingFaceTokenizer.Builder builder =
        HuggingFaceTokenizer.builder()
            .optTokenizerPath(file)
            .optAddSpecialTokens(true) // = "whatever the post-processor adds"; GPT-2's adds nothing
            .optPadding(false);
    if (truncation.isObject()) {
      if (!"Right".equals(truncation.path("direction").asText("Right"))) {
        throw new ModelFormatException(
            file, "truncation direction " + truncation.path("direction").asText() + " is not supported");
      }
      int maxLength = truncation.path("max_length").asInt();
      builder.configure(Map.of("modelMaxLength", maxLength)); // else DJL caps max_length at 512
      builder.optMaxLength(maxLength).optStride(truncation.path("stride").asInt(0));
      switch (truncation.path("strategy").asText("LongestFirst")) {
        case "OnlyFirst" -> builder.optTruncateFirstOnly();
        case "OnlySecond" -> builder.optTruncateSecondOnly();
        default -> builder.optTruncation(true);
      }
    } else {
      builder.optTruncation(false);
    }
    try {
      return builder.build();
    } catch (IOException | RuntimeException e) {
      throw new ModelFormatException(file, "Hugging Face tokenizers cannot load it: " + e.getMessage(), e);
    }
  }

  /**
   * DJL pings the EC2 metadata service and an S3 telemetry URL whenever a tokenizer is created
   * ({@code ai.djl.util.Ec2Utils.callHome}); opt out unless the user chose otherwise.
   */
  private static void keepDjlOffline() {
    if (System.getenv("OPT_OUT_TRACKING") == null && System.getProperty("OPT_OUT_TRACKING") == null) {
      System.setProperty("OPT_OUT_TRACKING", "true");
    }
  }

  private static OptionalLong specialId(
      String key, Map<Path, JsonNode> configs, List<String> names, List<String> addedSpecial,
      Map<String, Long> ids) throws ModelFormatException {
    for (var config : configs.entrySet()) {
      JsonNode value = config.getValue().path(key);
      String token = value.isTextual() ? value.asText() : value.path("content").asText(null);
      if (token != null) {
        Long id = ids.get(token);
        if (id == null) {
          throw new ModelFormatException(
              config.getKey(), key + " '" + token + "' is not in the vocabulary of the tokenizer.json beside it");
        }
        return OptionalLong.of(id);
      }
    }
    for (String name : names) {
      if (addedSpecial.contains(name)) {
        return OptionalLong.of(ids.get(name));
      }
    }
    return OptionalLong.empty();
  }

  private static JsonNode readJson(Path file) throws ModelFormatException {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new ModelFormatException(file, "not valid JSON: " + e.getMessage(), e);
    }
  }

  public long[] encode(String text) {
    return hf.encode(text).getIds();
  }

  /** Encodes each text on its own (in parallel in Rust): unpadded, so the arrays differ in length. */
  public List<long[]> encodeBatch(List<String> texts) {
    Encoding[] encodings = hf.batchEncode(texts);
    List<long[]> out = new ArrayList<>(encodings.length);
    for (Encoding encoding : encodings) {
      out.add(encoding.getIds());
    }
    return out;
  }

  /** The text of {@code ids}, special tokens (bos, eos, pad, ...) left out. */
  public String decode(long[] ids) {
    return decode(ids, true);
  }

  public String decode(long[] ids, boolean skipSpecial) {
    return hf.decode(ids, skipSpecial);
  }

  /** One more than the largest id in the vocabulary or the added tokens: the embedding's row count. */
  public int vocabSize() {
    return vocabSize;
  }

  public OptionalLong bosId() {
    return bosId;
  }

  public OptionalLong eosId() {
    return eosId;
  }

  public OptionalLong padId() {
    return padId;
  }

  /** The id of a vocabulary entry as spelled in tokenizer.json (GPT-2 writes " the" as "Ġthe"). */
  public OptionalLong tokenId(String token) {
    Long id = ids.get(token);
    return id == null ? OptionalLong.empty() : OptionalLong.of(id);
  }

  @Override
  public void close() {
    hf.close();
  }

  /**
   * Writes a byte-level tokenizer.json with no merges: ids 0..255 are the bytes (spelled as GPT-2's
   * byte-to-unicode symbols), then {@code specialTokens} from 256 on. Every text round-trips, one token per
   * UTF-8 byte; tiny test and quickstart models get a real tokenizer without a download.
   *
   * @param file the tokenizer.json to write, or a folder to write one into
   * @return the file written
   */
  public static Path writeByteLevel(Path file, List<String> specialTokens) throws IOException {
    Path target = Files.isDirectory(file) ? file.resolve("tokenizer.json") : file;
    String[] symbols = byteSymbols();
    ObjectNode vocab = JSON.createObjectNode();
    for (int b = 0; b < 256; b++) {
      vocab.put(symbols[b], b);
    }
    ArrayNode added = JSON.createArrayNode();
    Set<String> seen = new HashSet<>();
    for (String token : specialTokens) {
      if (token.isEmpty() || vocab.has(token) || !seen.add(token)) {
        throw new IllegalArgumentException("special token '" + token + "' is empty, a byte symbol or repeated");
      }
      added.addObject()
          .put("id", 256 + seen.size() - 1)
          .put("content", token)
          .put("single_word", false)
          .put("lstrip", false)
          .put("rstrip", false)
          .put("normalized", false)
          .put("special", true);
    }

    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    root.set("added_tokens", added);
    root.putNull("normalizer");
    root.set("pre_tokenizer", byteLevel());
    root.putNull("post_processor");
    root.set("decoder", byteLevel());
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    model.set("vocab", vocab);
    model.putArray("merges");

    if (target.toAbsolutePath().getParent() != null) {
      Files.createDirectories(target.toAbsolutePath().getParent());
    }
    JSON.writerWithDefaultPrettyPrinter().writeValue(target.toFile(), root);
    return target;
  }

  private static ObjectNode byteLevel() {
    ObjectNode node = JSON.createObjectNode();
    node.put("type", "ByteLevel");
    node.put("add_prefix_space", false);
    node.put("trim_offsets", true);
    node.put("use_regex", true);
    return node;
  }

  /**
   * GPT-2's bytes_to_unicode (openai/gpt-2 encoder.py): printable bytes stand for themselves, the other 68
   * are shifted to U+0100 onward, so every byte is one visible character.
   */
  private static String[] byteSymbols() {
    String[] symbols = new String[256];
    int shifted = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      symbols[b] = String.valueOf((char) (printable ? b : 256 + shifted++));
    }
    return symbols;
  }
}
