package dev.troupe.model.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/** How a conversation becomes the text a causal LM sees: Anthropic's HH transcripts, ChatML, or plain text. */
public enum PromptFormat {
  /**
   * Anthropic HH-RLHF transcripts (Bai et al. 2022): {@code "\n\nHuman: {user}\n\nAssistant: {reply}"}. The
   * generation prompt ends at {@code "\n\nAssistant:"}, so the response starts with a space, as in hh-rlhf.
   * A system message may only come first and is written as is, before the first turn.
   */
  HH,
  /**
   * {@code "<|im_start|>{role}\n{content}<|im_end|>\n"} per message; the generation prompt is
   * {@code "<|im_start|>assistant\n"}.
   */
  CHATML,
  /** The contents concatenated as they are, no roles, nothing added for generation. */
  PLAIN;

  private static final String HUMAN = "\n\nHuman:";
  private static final String ASSISTANT = "\n\nAssistant:";

  /** One turn; {@code role} is system, user or assistant. */
  public record Message(String role, String content) {
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");

    public Message {
      if (!ROLES.contains(role)) {
        throw new IllegalArgumentException("unknown message role '" + role + "' (expected system, user or assistant)");
      }
      Objects.requireNonNull(content, "content");
    }

    public static Message system(String content) {
      return new Message("system", content);
    }

    public static Message user(String content) {
      return new Message("user", content);
    }

    public static Message assistant(String content) {
      return new Message("assistant", content);
    }
  }

  /** Parses the config value ({@code hh | chatml | plain}); the message lists the accepted values. */
  public static PromptFormat parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown prompt format '" + value + "' (expected one of: hh, chatml, plain)", e);
    }
  }

  /**
   * The text of {@code messages}; with {@code addGenerationPrompt} it ends where the model's next assistant
   * turn begins.
   */
  public String render(List<Message> messages, boolean addGenerationPrompt) {
    StringBuilder text = new StringBuilder();
    switch (this) {
      case HH -> {
        for (int i = 0; i < messages.size(); i++) {
          Message m = messages.get(i);
          switch (m.role()) {
            case "user" -> text.append(HUMAN).append(' ').append(m.content());
            case "assistant" -> text.append(ASSISTANT).append(' ').append(m.content());
            default -> {
              if (i > 0) {
                throw new IllegalArgumentException("HH transcripts have no place for a system message after the first");
              }
              text.append(m.content());
            }
          }
        }
        if (addGenerationPrompt) {
          text.append(ASSISTANT);
        }
      }
      case CHATML -> {
        for (Message m : messages) {
          text.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
        }
        if (addGenerationPrompt) {
          text.append("<|im_start|>assistant\n");
        }
      }
      case PLAIN -> messages.forEach(m -> text.append(m.content()));
    }
    return text.toString();
  }

  /**
   * Splits an hh-rlhf transcript at each {@code "\n\nHuman:"} / {@code "\n\nAssistant:"} into user and
   * assistant messages (the one space after the colon is dropped; text before the first turn becomes a system
   * message), so that {@code HH.render(parseHh(t), false)} gives {@code t} back. Turns need not alternate;
   * hh-rlhf has a few with two Human or two Assistant turns in a row.
   */
  public static List<Message> parseHh(String transcript) {
    List<Message> messages = new ArrayList<>();
    int start = nextTurn(transcript, 0);
    if (start > 0) {
      messages.add(Message.system(transcript.substring(0, start)));
    }
    while (start < transcript.length()) {
      boolean human = transcript.startsWith(HUMAN, start);
      int contentStart = start + (human ? HUMAN : ASSISTANT).length();
      int end = nextTurn(transcript, contentStart);
      String content = transcript.substring(contentStart, end);
      // Rendering writes one space after the colon; a turn without it would not round-trip.
      content = content.startsWith(" ") ? content.substring(1) : content;
      messages.add(human ? Message.user(content) : Message.assistant(content));
      start = end;
    }
    return messages;
  }

  private static int nextTurn(String transcript, int from) {
    int human = transcript.indexOf(HUMAN, from);
    int assistant = transcript.indexOf(ASSISTANT, from);
    int next = Math.min(human < 0 ? Integer.MAX_VALUE : human, assistant < 0 ? Integer.MAX_VALUE : assistant);
    return next == Integer.MAX_VALUE ? transcript.length() : next;
  }
}
