package dev.troupe.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.troupe.model.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real GPT-2 tokenizer.json (shared fixture) through {@link Tokenizer}: OpenAI's ids, lossless decoding. */
class Gpt2TokenizerTest {
  private static Tokenizer gpt2;

  @BeforeAll
  static void loadGpt2() throws Exception {
    gpt2 = Tokenizer.load(Fixtures.require("models/gpt2-tokenizer/tokenizer.json"));
  }

  @AfterAll
  static void closeGpt2() {
    if (gpt2 != null) {
      gpt2.close();
    }
  }

  @Test
  void encodesKnownSentencesToOpenAiGpt2Ids() {
    assertArrayEquals(new long[] {15496, 995}, gpt2.encode("Hello world"));
    assertArrayEquals(
        new long[] {464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13},
        gpt2.encode("The quick brown fox jumps over the lazy dog."));
  }

  @Test
  void endOfTextIsBosAndEosAndThereIsNoPad() {
    assertEquals(OptionalLong.of(50256), gpt2.eosId());
    assertEquals(OptionalLong.of(50256), gpt2.bosId());
    assertEquals(OptionalLong.empty(), gpt2.padId());
    assertEquals(50257, gpt2.vocabSize());
    assertEquals(OptionalLong.of(262), gpt2.tokenId("Ġthe"));
    assertEquals(OptionalLong.empty(), gpt2.tokenId("<pad>"));
  }

  @Test
  void loadsFromTheModelFolderToo() throws Exception {
    Path folder = Fixtures.require("models/gpt2-tokenizer/tokenizer.json").getParent();
    try (Tokenizer fromFolder = Tokenizer.load(folder)) {
      assertArrayEquals(new long[] {15496, 995}, fromFolder.encode("Hello world"));
    }
  }

  @Test
  void longTextIsNeitherTruncatedNorPadded() {
    // DJL's builder truncates to 512 tokens and pads batches unless told not to.
    String text = "word ".repeat(3000);
    long[] ids = gpt2.encode(text);
    assertEquals(3000 + 1, ids.length, "3000 x ' word' tokens, the first without the space, plus a trailing ' '");
    List<long[]> batch = gpt2.encodeBatch(List.of("Hello world", text));
    assertArrayEquals(new long[] {15496, 995}, batch.get(0));
    assertArrayEquals(ids, batch.get(1));
  }

  @Test
  void decodeLeavesSpecialTokensOutUnlessAsked() {
    long[] ids = gpt2.encode("Hello<|endoftext|> world");
    assertArrayEquals(new long[] {15496, 50256, 995}, ids);
    assertEquals("Hello world", gpt2.decode(ids));
    assertEquals("Hello<|endoftext|> world", gpt2.decode(ids, false));
  }

  @Test
  void decodeOfEncodeIsTheTextForEveryHhHarmlessTestTranscript() throws Exception {
    HhRlhfRows rows = HhRlhfRows.load();
    assertEquals(HhRlhfRows.ROWS, rows.size());
    List<String> problems = new ArrayList<>();
    for (var side : List.of("chosen", "rejected")) {
      List<String> texts = side.equals("chosen") ? rows.chosen() : rows.rejected();
      List<long[]> encoded = gpt2.encodeBatch(texts);
      for (int row = 0; row < texts.size(); row++) {
        String back = gpt2.decode(encoded.get(row));
        int at = HhRlhfRows.firstDifference(texts.get(row), back);
        if (at >= 0) {
          // Row text is red-team content: report where, never what.
          problems.add("row " + row + " " + side + " differs at char " + at);
        }
      }
    }
    if (!problems.isEmpty()) {
      fail(problems.size() + " transcripts do not round-trip: " + problems.subList(0, Math.min(20, problems.size())));
    }
    assertTrue(problems.isEmpty());
  }
}
