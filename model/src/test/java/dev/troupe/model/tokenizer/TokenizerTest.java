package dev.troupe.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.model.ModelFormatException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading errors and the byte-level tokenizer written by {@link Tokenizer#writeByteLevel}; no fixtures needed. */
class TokenizerTest {
  @TempDir Path dir;

  @Test
  void missingTokenizerFileIsAModelFormatErrorNamingThePath() {
    Path missing = dir.resolve("no-such-model");
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizer.load(missing));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("tokenizer.json not found"), e.getMessage());
  }

  @Test
  void unparsableTokenizerFileIsAModelFormatErrorNamingTheFile() throws Exception {
    Path broken = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", ");
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizer.load(broken));
    assertTrue(e.getMessage().startsWith(broken.toString()), e.getMessage());

    String unknownModel = "{\"model\": {\"type\": \"Nonsense\", \"vocab\": {\"a\": 0}}}";
    Path wrong = Files.writeString(dir.resolve("wrong.json"), unknownModel);
    e = assertThrows(ModelFormatException.class, () -> Tokenizer.load(wrong));
    assertTrue(e.getMessage().startsWith(wrong.toString()), e.getMessage());
  }

  @Test
  void byteLevelTokenizerRoundTripsAsciiAndUtf8() throws Exception {
    Path file = Tokenizer.writeByteLevel(dir, List.of("<|endoftext|>"));
    assertEquals(dir.resolve("tokenizer.json"), file);
    try (Tokenizer tokenizer = Tokenizer.load(file)) {
      for (String text : List.of("Hello, world!\n\ttabs  and  spaces ", "héllo wörld ✓", "emoji 🙂 and 漢字", "")) {
        long[] ids = tokenizer.encode(text);
        assertEquals(text.getBytes(StandardCharsets.UTF_8).length, ids.length, "one token per UTF-8 byte");
        assertEquals(text, tokenizer.decode(ids));
      }
      assertArrayEquals(new long[] {'H', 'i', 0xC3, 0xA9}, tokenizer.encode("Hié"));
    }
  }

  @Test
  void byteLevelVocabularyIs256BytesThenTheSpecialTokens() throws Exception {
    Path file = Tokenizer.writeByteLevel(dir.resolve("tiny/tokenizer.json"), List.of("<|endoftext|>", "<pad>"));
    try (Tokenizer tokenizer = Tokenizer.load(file.getParent())) {
      assertEquals(256 + 2, tokenizer.vocabSize());
      assertEquals(OptionalLong.of(256), tokenizer.eosId());
      assertEquals(OptionalLong.of(256), tokenizer.bosId());
      assertEquals(OptionalLong.of(257), tokenizer.padId());
      assertEquals(OptionalLong.of('a'), tokenizer.tokenId("a"));
      assertEquals(OptionalLong.of(' '), tokenizer.tokenId("Ġ"));
      long[] ids = tokenizer.encode("ok<|endoftext|>");
      assertArrayEquals(new long[] {'o', 'k', 256}, ids);
      assertEquals("ok", tokenizer.decode(ids));
      assertEquals("ok<|endoftext|>", tokenizer.decode(ids, false));
    }
  }

  @Test
  void truncationIsAppliedOnlyWhenTheFileAsksForIt() throws Exception {
    Path file = Tokenizer.writeByteLevel(dir, List.of());
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = (ObjectNode) json.readTree(file.toFile());
    root.putObject("truncation")
        .put("direction", "Right").put("max_length", 4).put("strategy", "LongestFirst").put("stride", 0);
    Path truncating = dir.resolve("truncating.json");
    json.writeValue(truncating.toFile(), root);
    try (Tokenizer plain = Tokenizer.load(file);
        Tokenizer truncated = Tokenizer.load(truncating)) {
      assertEquals(1000, plain.encode("x".repeat(1000)).length);
      assertArrayEquals(new long[] {'a', 'b', 'c', 'd'}, truncated.encode("abcdefgh"));
    }
  }

  @Test
  void byteLevelWithoutSpecialTokensHasNoBosEosOrPad() throws Exception {
    try (Tokenizer tokenizer = Tokenizer.load(Tokenizer.writeByteLevel(dir, List.of()))) {
      assertEquals(256, tokenizer.vocabSize());
      assertEquals(OptionalLong.empty(), tokenizer.eosId());
      assertEquals(OptionalLong.empty(), tokenizer.bosId());
      assertEquals(OptionalLong.empty(), tokenizer.padId());
    }
  }
}
