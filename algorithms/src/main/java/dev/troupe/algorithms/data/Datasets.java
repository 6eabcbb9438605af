package dev.troupe.algorithms.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.troupe.algorithms.data.JsonlFile.BadRow;
import dev.troupe.model.tokenizer.PromptFormat;
import dev.troupe.model.tokenizer.PromptFormat.Message;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Readers for JSON-lines datasets (one object a line, UTF-8, gzip read transparently, blank lines ignored,
 * unknown fields ignored). Message lists ({@code [{"role": "user", "content": "..."}, ...]}) are rendered with
 * a {@link PromptFormat}: the prompt with the generation prompt, a reply as the text the rendered conversation
 * continues with after it, so that prompt + reply is always the rendered conversation (in HH a reply starts
 * with a space, as in hh-rlhf; in ChatML it ends with {@code <|im_end|>\n}). A reply is one or more assistant
 * messages. Bad rows: see {@link BadRowPolicy}; a bad row is never dropped silently.
 */
public final class Datasets {
  private static final String ASSISTANT = "\n\nAssistant:";
  private static final String HUMAN = "\n\nHuman:";

  private Datasets() {}

  /** {@link #trlPreferences(Path, PromptFormat, BadRowPolicy)} in the HH format, failing on a bad row. */
  public static Loaded<PreferencePair> trlPreferences(Path file) throws IOException {
    return trlPreferences(file, PromptFormat.HH, BadRowPolicy.FAIL);
  }

  /**
   * TRL preference rows, in one of three forms:
   * <ul>
   *   <li>{@code {"prompt": str, "chosen": str, "rejected": str}}, taken as they are;
   *   <li>{@code {"prompt": [messages], "chosen": [messages], "rejected": [messages]}};
   *   <li>{@code {"chosen": [messages], "rejected": [messages]}}: the prompt is their longest common prefix of
   *       messages, after which each must go on with assistant messages only.
   * </ul>
   * An optional {@code strength} or {@code margin} number sets {@link PreferencePair#strength()}.
   */
  public static Loaded<PreferencePair> trlPreferences(Path file, PromptFormat format, BadRowPolicy policy)
      throws IOException {
    return JsonlFile.read(file, policy, (row, source) -> trlPreference(row, format, source));
  }

  /** {@link #hhRlhf(Path, BadRowPolicy)}, failing on a bad row. */
  public static Loaded<PreferencePair> hhRlhf(Path file) throws IOException {
    return hhRlhf(file, BadRowPolicy.FAIL);
  }

  /**
   * Anthropic hh-rlhf rows {@code {"chosen": transcript, "rejected": transcript}}. The prompt is the longest
   * prefix the two share that ends with {@code "\n\nAssistant:"}; chosen and rejected are the rest of each
   * transcript (usually starting with a space). The rest must hold no {@code "\n\nHuman:"} turn; it may hold
   * further {@code "\n\nAssistant:"} turns (a few hh-rlhf transcripts have two in a row).
   */
  public static Loaded<PreferencePair> hhRlhf(Path file, BadRowPolicy policy) throws IOException {
    return JsonlFile.read(file, policy, Datasets::hhRlhfPair);
  }

  /** {@link #sft(Path, PromptFormat, BadRowPolicy)} in the HH format, failing on a bad row. */
  public static Loaded<SftExample> sft(Path file) throws IOException {
    return sft(file, PromptFormat.HH, BadRowPolicy.FAIL);
  }

  /**
   * SFT rows: {@code {"prompt": str, "completion": str}} as they are; {@code {"prompt": [messages],
   * "completion": [assistant messages]}}; or {@code {"messages": [...]}}, which must end with an assistant
   * message: the completion is that last message, the prompt everything before it.
   */
  public static Loaded<SftExample> sft(Path file, PromptFormat format, BadRowPolicy policy) throws IOException {
    return JsonlFile.read(file, policy, (row, source) -> sftExample(row, format, source));
  }

  /** {@link #prompts(Path, PromptFormat, BadRowPolicy)} in the HH format, failing on a bad row. */
  public static Loaded<PromptRow> prompts(Path file) throws IOException {
    return prompts(file, PromptFormat.HH, BadRowPolicy.FAIL);
  }

  /**
   * Prompt rows: {@code {"prompt": str}} as it is, or {@code {"prompt": [messages]}} / {@code {"messages":
   * [messages]}} rendered with the generation prompt.
   */
  public static Loaded<PromptRow> prompts(Path file, PromptFormat format, BadRowPolicy policy) throws IOException {
    return JsonlFile.read(file, policy, (row, source) -> {
      if (row.has("messages") || !row.has("prompt")) {
        return new PromptRow(render(format, messages(only(row, "messages", "prompt"), "messages"), true), source);
      }
      JsonNode prompt = textOrMessages(row, "prompt");
      return new PromptRow(prompt.isTextual() ? prompt.asText() : render(format, messages(prompt, "prompt"), true),
          source);
    });
  }

  private static PreferencePair trlPreference(JsonNode row, PromptFormat format, String source) throws BadRow {
    JsonNode chosen = textOrMessages(row, "chosen");
    JsonNode rejected = textOrMessages(row, "rejected");
    JsonNode prompt = row.get("prompt");
    String promptText;
    String chosenText;
    String rejectedText;
    if (prompt == null) {
      if (chosen.isTextual() || rejected.isTextual()) {
        throw new BadRow("missing field 'prompt' (string transcripts without one are hh-rlhf rows: read them with"
            + " Datasets.hhRlhf)");
      }
      List<Message> c = messages(chosen, "chosen");
      List<Message> r = messages(rejected, "rejected");
      if (c.equals(r)) {
        throw new BadRow("chosen and rejected are identical");
      }
      int shared = 0;
      while (shared < Math.min(c.size(), r.size()) && c.get(shared).equals(r.get(shared))) {
        shared++;
      }
      if (shared == 0) {
        throw new BadRow("chosen and rejected differ from their first message: no shared prompt");
      }
      List<Message> head = c.subList(0, shared);
      promptText = render(format, head, true);
      chosenText = reply(format, head, c.subList(shared, c.size()), "chosen", shared);
      rejectedText = reply(format, head, r.subList(shared, r.size()), "rejected", shared);
    } else {
      textOrMessages(row, "prompt");
      sameKind(prompt, chosen, "chosen");
      sameKind(prompt, rejected, "rejected");
      if (prompt.isTextual()) {
        promptText = prompt.asText();
        chosenText = chosen.asText();
        rejectedText = rejected.asText();
      } else {
        List<Message> head = messages(prompt, "prompt");
        promptText = render(format, head, true);
        chosenText = reply(format, head, messages(chosen, "chosen"), "chosen", 0);
        rejectedText = reply(format, head, messages(rejected, "rejected"), "rejected", 0);
      }
    }
    if (chosenText.equals(rejectedText)) {
      throw new BadRow("chosen and rejected are identical");
    }
    return new PreferencePair(promptText, chosenText, rejectedText, strength(row), source);
  }

  private static PreferencePair hhRlhfPair(JsonNode row, String source) throws BadRow {
    String chosen = string(row, "chosen");
    String rejected = string(row, "rejected");
    if (chosen.equals(rejected)) {
      throw new BadRow("chosen and rejected are identical");
    }
    requireTurn(chosen, "chosen");
    requireTurn(rejected, "rejected");
    int common = 0;
    int max = Math.min(chosen.length(), rejected.length());
    while (common < max && chosen.charAt(common) == rejected.charAt(common)) {
      common++;
    }
    int turn = chosen.lastIndexOf(ASSISTANT, common - ASSISTANT.length());
    if (turn < 0) {
      throw new BadRow("chosen and rejected share no prefix ending with \"\\n\\nAssistant:\"");
    }
    int end = turn + ASSISTANT.length();
    String chosenReply = chosen.substring(end);
    String rejectedReply = rejected.substring(end);
    requireNoHumanTurn(chosenReply, "chosen");
    requireNoHumanTurn(rejectedReply, "rejected");
    return new PreferencePair(chosen.substring(0, end), chosenReply, rejectedReply, strength(row), source);
  }

  private static void requireTurn(String transcript, String field) throws BadRow {
    if (!transcript.contains(ASSISTANT)) {
      throw new BadRow("HH transcript '" + field + "' has no \"\\n\\nAssistant:\" turn");
    }
  }

  private static void requireNoHumanTurn(String reply, String field) throws BadRow {
    if (reply.contains(HUMAN)) {
      throw new BadRow("chosen and rejected differ before their final Assistant turn ('" + field
          + "' goes on with a \"\\n\\nHuman:\" turn after the shared prompt)");
    }
  }

  private static SftExample sftExample(JsonNode row, PromptFormat format, String source) throws BadRow {
    if (row.has("messages") || !row.has("prompt")) {
      List<Message> all = messages(only(row, "messages", "prompt"), "messages");
      int last = all.size() - 1;
      if (!all.get(last).role().equals("assistant")) {
        throw new BadRow("field 'messages' must end with an assistant message (the completion), not a "
            + all.get(last).role() + " message");
      }
      List<Message> head = all.subList(0, last);
      return new SftExample(render(format, head, true), reply(format, head, all.subList(last, all.size()),
          "messages", last), source);
    }
    JsonNode prompt = textOrMessages(row, "prompt");
    JsonNode completion = textOrMessages(row, "completion");
    sameKind(prompt, completion, "completion");
    if (prompt.isTextual()) {
      return new SftExample(prompt.asText(), completion.asText(), source);
    }
    List<Message> head = messages(prompt, "prompt");
    return new SftExample(render(format, head, true), reply(format, head, messages(completion, "completion"),
        "completion", 0), source);
  }

  /**
   * What {@code prompt + reply} renders as after the rendered prompt (with its generation prompt); the reply
   * must be assistant messages. {@code offset} is the index of the reply's first message in {@code field}.
   */
  private static String reply(PromptFormat format, List<Message> prompt, List<Message> reply, String field,
      int offset) throws BadRow {
    if (reply.isEmpty()) {
      throw new BadRow("field '" + field + "' has no reply after the prompt");
    }
    for (int i = 0; i < reply.size(); i++) {
      if (!reply.get(i).role().equals("assistant")) {
        throw new BadRow("field '" + field + "'[" + (offset + i) + "] is a " + reply.get(i).role()
            + " message where the reply should be (a reply is assistant messages only)");
      }
    }
    List<Message> whole = new ArrayList<>(prompt);
    whole.addAll(reply);
    String head = render(format, prompt, true);
    String text = render(format, whole, false);
    if (!text.startsWith(head)) {
      throw new IllegalStateException(format + " renders a conversation that does not start with its prompt");
    }
    return text.substring(head.length());
  }

  private static String render(PromptFormat format, List<Message> messages, boolean generationPrompt)
      throws BadRow {
    try {
      return format.render(messages, generationPrompt);
    } catch (IllegalArgumentException e) {
      throw new BadRow(e.getMessage());
    }
  }

  private static List<Message> messages(JsonNode node, String field) throws BadRow {
    if (!node.isArray() || node.isEmpty()) {
      throw new BadRow("field '" + field + "' must be a non-empty message list");
    }
    List<Message> messages = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      JsonNode m = node.get(i);
      String where = "field '" + field + "'[" + i + "]";
      JsonNode role = m.get("role");
      JsonNode content = m.get("content");
      if (!m.isObject() || role == null || !role.isTextual() || content == null || !content.isTextual()) {
        throw new BadRow(where + " must be a message {\"role\": string, \"content\": string}");
      }
      try {
        messages.add(new Message(role.asText(), content.asText()));
      } catch (IllegalArgumentException e) {
        throw new BadRow(where + ": " + e.getMessage());
      }
    }
    return messages;
  }

  private static JsonNode field(JsonNode row, String name) throws BadRow {
    JsonNode value = row.get(name);
    if (value == null) {
      throw new BadRow("missing field '" + name + "'");
    }
    return value;
  }

  private static String string(JsonNode row, String name) throws BadRow {
    JsonNode value = field(row, name);
    if (!value.isTextual()) {
      throw new BadRow("field '" + name + "' must be a string");
    }
    return value.asText();
  }

  private static JsonNode textOrMessages(JsonNode row, String name) throws BadRow {
    JsonNode value = field(row, name);
    if (!value.isTextual() && !value.isArray()) {
      throw new BadRow("field '" + name + "' must be a string or a message list");
    }
    return value;
  }

  private static void sameKind(JsonNode prompt, JsonNode other, String name) throws BadRow {
    if (prompt.isTextual() != other.isTextual()) {
      throw new BadRow("fields 'prompt' and '" + name + "' must both be strings or both message lists");
    }
  }

  /** The value of exactly one of two alternative fields. */
  private static JsonNode only(JsonNode row, String name, String alternative) throws BadRow {
    if (row.has(name) && row.has(alternative)) {
      throw new BadRow("fields '" + name + "' and '" + alternative + "' are alternatives: give one");
    }
    if (!row.has(name) && !row.has(alternative)) {
      throw new BadRow("missing field '" + name + "' (or '" + alternative + "')");
    }
    return row.has(name) ? row.get(name) : row.get(alternative);
  }

  private static double strength(JsonNode row) throws BadRow {
    JsonNode strength = row.get("strength");
    JsonNode margin = row.get("margin");
    if (strength != null && margin != null) {
      throw new BadRow("fields 'strength' and 'margin' are alternatives: give one");
    }
    JsonNode value = strength != null ? strength : margin;
    if (value == null) {
      return 1.0;
    }
    if (!value.isNumber() || !Double.isFinite(value.doubleValue())) {
      throw new BadRow("field '" + (strength != null ? "strength" : "margin") + "' must be a finite number");
    }
    return value.doubleValue();
  }
}
