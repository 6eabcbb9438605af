package dev.troupe.algorithms.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.algorithms.SharedFixtures;
import dev.troupe.model.tokenizer.PromptFormat;
import dev.troupe.model.tokenizer.PromptFormat.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class DatasetsTest {
  private static final Logger LOG = LoggerFactory.getLogger(DatasetsTest.class);
  private static final String HH_FIXTURE = "data/hh-rlhf/harmless-base/test.jsonl.gz";

  @TempDir Path dir;

  /** JSON with ' for " so rows read well here; JSON escapes (\\n) pass through. */
  private static String j(String singleQuoted) {
    return singleQuoted.replace('\'', '"');
  }

  private Path write(String name, String... lines) throws IOException {
    Path file = dir.resolve(name);
    byte[] bytes = (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
    if (name.endsWith(".gz")) {
      try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
        out.write(bytes);
      }
    } else {
      Files.write(file, bytes);
    }
    return file;
  }

  @Test
  void trlStringRowsWithStrengthAndBlankLines() throws IOException {
    Path file = write("prefs.jsonl",
        j("{'prompt': 'Q?', 'chosen': ' yes', 'rejected': ' no', 'id': 7}"),
        "",
        "   ",
        j("{'prompt': 'Q2', 'chosen': 'a', 'rejected': 'b', 'margin': 0.25}"),
        j("{'prompt': 'Q3', 'chosen': 'a', 'rejected': 'b', 'strength': 3}"));
    Loaded<PreferencePair> loaded = Datasets.trlPreferences(file);
    assertEquals(List.of(
        new PreferencePair("Q?", " yes", " no", 1.0, "prefs.jsonl:1"),
        new PreferencePair("Q2", "a", "b", 0.25, "prefs.jsonl:4"),
        new PreferencePair("Q3", "a", "b", 3.0, "prefs.jsonl:5")), loaded.rows());
    assertEquals(0, loaded.skipped());
  }

  @Test
  void trlMessageListsRenderInTheChosenFormat() throws IOException {
    Path file = write("conv.jsonl", j("{'prompt': [{'role': 'system', 'content': 'Be kind.'},"
        + " {'role': 'user', 'content': 'Hi'}],"
        + " 'chosen': [{'role': 'assistant', 'content': 'Hello'}],"
        + " 'rejected': [{'role': 'assistant', 'content': 'Go away'}]}"));
    assertEquals(new PreferencePair("Be kind.\n\nHuman: Hi\n\nAssistant:", " Hello", " Go away", 1.0, "conv.jsonl:1"),
        Datasets.trlPreferences(file).rows().get(0));
    String prompt = "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
    assertEquals(new PreferencePair(prompt, "Hello<|im_end|>\n", "Go away<|im_end|>\n", 1.0, "conv.jsonl:1"),
        Datasets.trlPreferences(file, PromptFormat.CHATML, BadRowPolicy.FAIL).rows().get(0));
    assertEquals(new PreferencePair("Be kind.Hi", "Hello", "Go away", 1.0, "conv.jsonl:1"),
        Datasets.trlPreferences(file, PromptFormat.PLAIN, BadRowPolicy.FAIL).rows().get(0));
  }

  @Test
  void trlImplicitPromptIsTheSharedMessagePrefix() throws IOException {
    String shared = "{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello'},"
        + " {'role': 'user', 'content': 'Joke?'}";
    Path file = write("implicit.jsonl", j("{'chosen': [" + shared + ", {'role': 'assistant', 'content': 'Knock knock'},"
        + " {'role': 'assistant', 'content': 'Who is there?'}],"
        + " 'rejected': [" + shared + ", {'role': 'assistant', 'content': 'No.'}]}"));
    assertEquals(new PreferencePair("\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Joke?\n\nAssistant:",
        " Knock knock\n\nAssistant: Who is there?", " No.", 1.0, "implicit.jsonl:1"),
        Datasets.trlPreferences(file).rows().get(0));
  }

  @Test
  void gzipIsReadTransparently() throws IOException {
    String[] rows = {j("{'prompt': 'Q', 'chosen': 'a', 'rejected': 'b'}"),
        j("{'chosen': '\\n\\nHuman: q\\n\\nAssistant: a', 'rejected': '\\n\\nHuman: q\\n\\nAssistant: b'}")};
    assertEquals(new PreferencePair("Q", "a", "b", 1.0, "p.jsonl.gz:1"),
        Datasets.trlPreferences(write("p.jsonl.gz", rows[0])).rows().get(0));
    assertEquals(new PreferencePair("\n\nHuman: q\n\nAssistant:", " a", " b", 1.0, "hh.jsonl.gz:1"),
        Datasets.hhRlhf(write("hh.jsonl.gz", rows[1])).rows().get(0));
    assertEquals(new SftExample("p", "c", "s.jsonl.gz:1"),
        Datasets.sft(write("s.jsonl.gz", j("{'prompt': 'p', 'completion': 'c'}"))).rows().get(0));
  }

  @Test
  void hhRlhfSplitsTheSharedPrefixFromTheFinalAssistantTurns() throws IOException {
    String head = "\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: And you?\\n\\nAssistant:";
    Path file = write("hh.jsonl",
        j("{'chosen': '" + head + " Fine', 'rejected': '" + head + " Fine, sadly'}"),
        j("{'chosen': '" + head + " A\\n\\nAssistant: B', 'rejected': '" + head + " C'}"),
        j("{'chosen': '" + head + " A', 'rejected': '" + head + "A'}"));
    String prompt = "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: And you?\n\nAssistant:";
    assertEquals(List.of(
        new PreferencePair(prompt, " Fine", " Fine, sadly", 1.0, "hh.jsonl:1"),
        new PreferencePair(prompt, " A\n\nAssistant: B", " C", 1.0, "hh.jsonl:2"),
        new PreferencePair(prompt, " A", "A", 1.0, "hh.jsonl:3")), Datasets.hhRlhf(file).rows());
  }

  @Test
  void sftRows() throws IOException {
    Path file = write("sft.jsonl",
        j("{'prompt': 'Translate: chat', 'completion': ' cat'}"),
        j("{'messages': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello'},"
            + " {'role': 'user', 'content': 'Bye'}, {'role': 'assistant', 'content': 'Bye!'}]}"),
        j("{'prompt': [{'role': 'user', 'content': 'Hi'}], 'completion': [{'role': 'assistant', 'content': 'Yo'}]}"));
    assertEquals(List.of(
        new SftExample("Translate: chat", " cat", "sft.jsonl:1"),
        new SftExample("\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant:", " Bye!", "sft.jsonl:2"),
        new SftExample("\n\nHuman: Hi\n\nAssistant:", " Yo", "sft.jsonl:3")), Datasets.sft(file).rows());
    assertEquals(new SftExample("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n"
            + "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n", "Bye!<|im_end|>\n", "sft.jsonl:2"),
        Datasets.sft(file, PromptFormat.CHATML, BadRowPolicy.FAIL).rows().get(1));
  }

  @Test
  void promptRows() throws IOException {
    Path file = write("prompts.jsonl",
        "\uFEFF" + j("{'prompt': 'Once upon a time'}\r"),
        j("{'messages': [{'role': 'user', 'content': 'Hi'}]}\r"),
        j("{'prompt': [{'role': 'user', 'content': 'Hé ☃ 𝄞'}]}"));
    assertEquals(List.of(
        new PromptRow("Once upon a time", "prompts.jsonl:1"),
        new PromptRow("\n\nHuman: Hi\n\nAssistant:", "prompts.jsonl:2"),
        new PromptRow("\n\nHuman: Hé ☃ 𝄞\n\nAssistant:", "prompts.jsonl:3")), Datasets.prompts(file).rows());
  }

  interface Reader {
    Loaded<?> read(Path file, BadRowPolicy policy) throws IOException;
  }

  private static final Reader TRL = (f, p) -> Datasets.trlPreferences(f, PromptFormat.HH, p);
  private static final Reader HH = Datasets::hhRlhf;
  private static final Reader SFT = (f, p) -> Datasets.sft(f, PromptFormat.HH, p);
  private static final Reader PROMPTS = (f, p) -> Datasets.prompts(f, PromptFormat.HH, p);
  private static final String GOOD_TRL = "{'prompt': 'p', 'chosen': 'a', 'rejected': 'b'}";
  private static final String HH_A = "\\n\\nHuman: q\\n\\nAssistant: a";
  private static final String GOOD_HH = "{'chosen': '" + HH_A + "', 'rejected': '\\n\\nHuman: q\\n\\nAssistant: b'}";
  private static final String GOOD_SFT = "{'prompt': 'p', 'completion': 'c'}";
  private static final String GOOD_PROMPT = "{'prompt': 'p'}";
  private static final String USER = "{'role': 'user', 'content': 'u'}";
  private static final String BOT = "{'role': 'assistant', 'content': 'x'}";

  static Stream<Arguments> badRows() {
    return Stream.of(
        bad(TRL, GOOD_TRL, "{'prompt': 'p', 'chosen': ", "invalid JSON at column 27: Unexpected end-of-input"),
        bad(TRL, GOOD_TRL, "{'prompt': 'p', 'chosen': 'a', 'rejected': 'b'} {}", "invalid JSON at column 49: a second value after the row's object"),
        bad(TRL, GOOD_TRL, "{'prompt': 'p', 'prompt': 'q'}", "invalid JSON at column 25: Duplicate field 'prompt'"),
        bad(TRL, GOOD_TRL, "['p', 'a', 'b']", "a row must be a JSON object, not array"),
        bad(TRL, GOOD_TRL, "{'prompt': 'p', 'chosen': 'a'}", "missing field 'rejected'"),
        bad(TRL, GOOD_TRL, "{'prompt': 'p', 'chosen': 1, 'rejected': 'b'}",
            "field 'chosen' must be a string or a message list"),
        bad(TRL, GOOD_TRL, "{'prompt': 'p', 'chosen': 'a', 'rejected': 'a'}", "chosen and rejected are identical"),
        bad(TRL, GOOD_TRL, "{'prompt': 'p', 'chosen': [" + BOT + "], 'rejected': 'b'}",
            "fields 'prompt' and 'chosen' must both be strings or both message lists"),
        bad(TRL, GOOD_TRL, "{'chosen': 'a', 'rejected': 'b'}",
            "missing field 'prompt' (string transcripts without one are hh-rlhf rows: read them with Datasets.hhRlhf)"),
        bad(TRL, GOOD_TRL, "{'prompt': [], 'chosen': [" + BOT + "], 'rejected': [" + BOT + "]}",
            "field 'prompt' must be a non-empty message list"),
        bad(TRL, GOOD_TRL, "{'prompt': [" + USER + "], 'chosen': [{'role': 'bot', 'content': 'x'}], 'rejected': []}",
            "field 'chosen'[0]: unknown message role 'bot' (expected system, user or assistant)"),
        bad(TRL, GOOD_TRL, "{'prompt': [" + USER + "], 'chosen': [{'role': 'assistant', 'content': ['x']}],"
            + " 'rejected': [" + BOT + "]}", "field 'chosen'[0] must be a message {\"role\": string, \"content\": string}"),
        bad(TRL, GOOD_TRL, "{'prompt': [" + USER + "], 'chosen': [" + BOT + "], 'rejected': [" + USER + "]}",
            "field 'rejected'[0] is a user message where the reply should be (a reply is assistant messages only)"),
        bad(TRL, GOOD_TRL, "{'prompt': [" + USER + ", {'role': 'system', 'content': 's'}], 'chosen': [" + BOT
            + "], 'rejected': [{'role': 'assistant', 'content': 'y'}]}",
            "HH transcripts have no place for a system message after the first"),
        bad(TRL, GOOD_TRL, "{'chosen': [" + USER + ", " + BOT + "], 'rejected': [" + USER + ", " + BOT + "]}",
            "chosen and rejected are identical"),
        bad(TRL, GOOD_TRL, "{'chosen': [" + BOT + "], 'rejected': [" + USER + "]}",
            "chosen and rejected differ from their first message: no shared prompt"),
        bad(TRL, GOOD_TRL, "{'chosen': [" + USER + ", " + BOT + "], 'rejected': [" + USER + ", " + BOT + ", " + USER
            + "]}", "field 'chosen' has no reply after the prompt"),
        bad(TRL, GOOD_TRL, "{'chosen': [" + USER + ", " + BOT + "], 'rejected': [" + USER + ", " + USER + ", " + BOT
            + "]}", "field 'rejected'[1] is a user message where the reply should be (a reply is assistant messages only)"),
        bad(TRL, GOOD_TRL, "{'prompt': 'p', 'chosen': 'a', 'rejected': 'b', 'margin': '1'}",
            "field 'margin' must be a finite number"),
        bad(TRL, GOOD_TRL, "{'prompt': 'p', 'chosen': 'a', 'rejected': 'b', 'margin': 1, 'strength': 1}",
            "fields 'strength' and 'margin' are alternatives: give one"),
        bad(HH, GOOD_HH, "{'chosen': '" + HH_A + "'}", "missing field 'rejected'"),
        bad(HH, GOOD_HH, "{'chosen': ['" + HH_A + "'], 'rejected': 'b'}", "field 'chosen' must be a string"),
        bad(HH, GOOD_HH, "{'chosen': '" + HH_A + "', 'rejected': '" + HH_A + "'}", "chosen and rejected are identical"),
        bad(HH, GOOD_HH, "{'chosen': '" + HH_A + "', 'rejected': '\\n\\nHuman: q\\n\\nHuman: b'}",
            "HH transcript 'rejected' has no \"\\n\\nAssistant:\" turn"),
        bad(HH, GOOD_HH, "{'chosen': '" + HH_A + "', 'rejected': '\\n\\nHuman: r\\n\\nAssistant: a'}",
            "chosen and rejected share no prefix ending with \"\\n\\nAssistant:\""),
        bad(HH, GOOD_HH, "{'chosen': '" + HH_A + "', 'rejected': '" + HH_A + "x\\n\\nHuman: more\\n\\nAssistant: b'}",
            "chosen and rejected differ before their final Assistant turn ('rejected' goes on with a"
                + " \"\\n\\nHuman:\" turn after the shared prompt)"),
        bad(SFT, GOOD_SFT, "{'prompt': 'p'}", "missing field 'completion'"),
        bad(SFT, GOOD_SFT, "{'text': 'p'}", "missing field 'messages' (or 'prompt')"),
        bad(SFT, GOOD_SFT, "{'prompt': 'p', 'messages': []}", "fields 'messages' and 'prompt' are alternatives: give one"),
        bad(SFT, GOOD_SFT, "{'messages': [" + BOT + ", " + USER + "]}",
            "field 'messages' must end with an assistant message (the completion), not a user message"),
        bad(SFT, GOOD_SFT, "{'prompt': [" + USER + "], 'completion': 'c'}",
            "fields 'prompt' and 'completion' must both be strings or both message lists"),
        bad(PROMPTS, GOOD_PROMPT, "{'query': 'p'}", "missing field 'messages' (or 'prompt')"),
        bad(PROMPTS, GOOD_PROMPT, "{'prompt': 3}", "field 'prompt' must be a string or a message list"),
        bad(PROMPTS, GOOD_PROMPT, "{'messages': 'p'}", "field 'messages' must be a non-empty message list"));
  }

  private static Arguments bad(Reader reader, String good, String row, String problem) {
    return Arguments.of(reader, j(good), j(row), problem);
  }

  @ParameterizedTest
  @MethodSource("badRows")
  void aBadRowFailsNamingFileAndLine(Reader reader, String good, String row, String problem) throws IOException {
    Path file = write("rows.jsonl", good, "", row, good);
    DatasetException e = assertThrows(DatasetException.class, () -> reader.read(file, BadRowPolicy.FAIL));
    assertEquals(file, e.file());
    assertEquals(3, e.line());
    assertTrue(e.getMessage().startsWith(file + ":3: " + problem), e.getMessage());
    Loaded<?> skipped = reader.read(file, BadRowPolicy.SKIP);
    assertEquals(2, skipped.rows().size());
    assertEquals(List.of(e.getMessage()), skipped.problems());
  }

  @Test
  void skipPolicyCountsEveryBadRowAndKeepsTheRest() throws IOException {
    Path file = dir.resolve("mixed.jsonl");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (String line : List.of(GOOD_TRL, "{oops", "", GOOD_TRL, "{'prompt': 'p'}", "")) {
      bytes.writeBytes((j(line) + "\n").getBytes(StandardCharsets.UTF_8));
    }
    bytes.writeBytes(new byte[] {'{', '"', (byte) 0xC3, '"', '}', '\n'}); // line 7: a lone UTF-8 lead byte
    bytes.writeBytes(j(GOOD_TRL).getBytes(StandardCharsets.UTF_8)); // line 8, no final newline
    Files.write(file, bytes.toByteArray());

    Loaded<PreferencePair> loaded = Datasets.trlPreferences(file, PromptFormat.HH, BadRowPolicy.SKIP);
    assertEquals(List.of("mixed.jsonl:1", "mixed.jsonl:4", "mixed.jsonl:8"),
        loaded.rows().stream().map(PreferencePair::source).toList());
    assertEquals(3, loaded.skipped());
    assertTrue(loaded.problems().get(0).startsWith(file + ":2: invalid JSON"), loaded.problems().get(0));
    assertEquals(List.of(file + ":5: missing field 'chosen'", file + ":7: invalid UTF-8"),
        loaded.problems().subList(1, 3));
    DatasetException e = assertThrows(DatasetException.class, () -> Datasets.trlPreferences(file));
    assertEquals(2, e.line());
  }

  @Test
  void aTruncatedGzipFailsUnderEitherPolicy() throws IOException {
    Path whole = write("whole.jsonl.gz", Stream.generate(() -> j(GOOD_TRL)).limit(2000).toArray(String[]::new));
    byte[] bytes = Files.readAllBytes(whole);
    Path file = dir.resolve("cut.jsonl.gz");
    Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
    DatasetException e = assertThrows(DatasetException.class,
        () -> Datasets.trlPreferences(file, PromptFormat.HH, BadRowPolicy.SKIP));
    assertTrue(e.getMessage().startsWith(file + ":"), e.getMessage());
    assertTrue(e.problem().startsWith("corrupt or truncated gzip data"), e.getMessage());
    assertTrue(e.line() > 1, e.getMessage());
  }

  @Test
  void everyHhHarmlessTestRowSplitsIntoPromptAndReplies() throws IOException {
    Path file = SharedFixtures.require(HH_FIXTURE);
    Loaded<PreferencePair> loaded = Datasets.hhRlhf(file);
    List<PreferencePair> pairs = loaded.rows();
    assertEquals(2312, pairs.size());

    ObjectMapper json = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(
        new java.util.zip.GZIPInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8))) {
      in.lines().forEach(lines::add);
    }
    assertEquals(pairs.size(), lines.size());
    int consecutiveAssistantTurns = 0;
    List<String> problems = new ArrayList<>(); // row numbers only: red-team content is never printed
    Path asMessages = dir.resolve("implicit.jsonl");
    try (var out = Files.newBufferedWriter(asMessages)) {
      for (int i = 0; i < pairs.size(); i++) {
        JsonNode row = json.readTree(lines.get(i));
        PreferencePair pair = pairs.get(i);
        String chosen = row.get("chosen").asText();
        String rejected = row.get("rejected").asText();
        if (!(pair.prompt() + pair.chosen()).equals(chosen) || !(pair.prompt() + pair.rejected()).equals(rejected)
            || !pair.prompt().endsWith("\n\nAssistant:") || !pair.source().equals("test.jsonl.gz:" + (i + 1))) {
          problems.add("row " + (i + 1));
        }
        if (pair.chosen().contains("\n\nAssistant:") || pair.rejected().contains("\n\nAssistant:")) {
          consecutiveAssistantTurns++;
        }
        ObjectNode implicit = json.createObjectNode();
        implicit.set("chosen", messages(json, PromptFormat.parseHh(chosen)));
        implicit.set("rejected", messages(json, PromptFormat.parseHh(rejected)));
        out.write(json.writeValueAsString(implicit) + "\n");
      }
    }
    assertEquals(List.of(), problems, "prompt + chosen / rejected give back the transcripts");
    LOG.info("hh-rlhf harmless-base test: {} pairs, {} skipped, {} with a reply of two Assistant turns in a row",
        pairs.size(), loaded.skipped(), consecutiveAssistantTurns);
    // Observed: 5 rows (lines 1255, 1689, 1951, 1953, 2037) where one side answers with two Assistant turns.
    assertEquals(5, consecutiveAssistantTurns);

    // The same rows as TRL implicit-prompt message lists give the same split.
    List<PreferencePair> fromMessages = Datasets.trlPreferences(asMessages).rows();
    for (int i = 0; i < pairs.size(); i++) {
      if (!texts(fromMessages.get(i)).equals(texts(pairs.get(i)))) {
        problems.add("row " + (i + 1));
      }
    }
    assertEquals(List.of(), problems, "message-list rows split like the transcripts");
  }

  private static List<String> texts(PreferencePair pair) {
    return List.of(pair.prompt(), pair.chosen(), pair.rejected());
  }

  private static ArrayNode messages(ObjectMapper json, List<Message> messages) {
    ArrayNode list = json.createArrayNode();
    messages.forEach(m -> list.addObject().put("role", m.role()).put("content", m.content()));
    return list;
  }
}
