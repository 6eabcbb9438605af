package dev.troupe.feedback.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The store's labels as a training dataset: TRL preference rows ({prompt, chosen, rejected}),
 * Anthropic HH-RLHF rows ({chosen, rejected} transcripts) or KTO rows ({prompt, completion, label}),
 * one JSON object per line, with a dataset version (the sha-256 of the bytes) and the count of
 * labels per source that went into it.
 */
public final class LabelExport {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The three formats. */
  public enum Format {
    TRL, HH, KTO;

    public static Format parse(String name) {
      for (Format f : values()) {
        if (f.name().equalsIgnoreCase(name)) {
          return f;
        }
      }
      throw new IllegalArgumentException("format: '" + name + "' is not a format (trl, hh or kto)");
    }
  }

  /** The exported bytes, their version ("sha256:" + hex) and the labels used per source ("human", "ai", ...). */
  public record Result(byte[] jsonl, String version, Map<String, Long> labelsPerSource, long rows) {}

  private LabelExport() {}

  /** Every source's name as the export and the CLI write it. */
  public static String sourceName(FeedbackSource source) {
    return source.name().substring("FEEDBACK_SOURCE_".length()).toLowerCase(Locale.ROOT);
  }

  public static FeedbackSource parseSource(String name) {
    for (FeedbackSource s : FeedbackSource.values()) {
      if (s != FeedbackSource.UNRECOGNIZED && s != FeedbackSource.FEEDBACK_SOURCE_UNSPECIFIED && sourceName(s).equals(name)) {
        return s;
      }
    }
    throw new IllegalArgumentException("source: '" + name + "' is not a source (human, ai, gold or dataset)");
  }

  public static Set<FeedbackSource> allSources() {
    return EnumSet.of(FeedbackSource.FEEDBACK_SOURCE_HUMAN, FeedbackSource.FEEDBACK_SOURCE_AI,
        FeedbackSource.FEEDBACK_SOURCE_GOLD, FeedbackSource.FEEDBACK_SOURCE_DATASET);
  }

  public static Result export(CampaignStore store, Format format, Set<FeedbackSource> sources) {
    List<PreferencePair> labelled = store.labelled(sources, false, Integer.MAX_VALUE);
    StringBuilder out = new StringBuilder();
    Map<String, Long> perSource = new TreeMap<>();
    long rows = 0;
    for (PreferencePair p : labelled) {
      int written = write(format, p.getComparison(), p.getLabel(), out);
      if (written > 0) {
        rows += written;
        perSource.merge(sourceName(p.getLabel().getSource()), 1L, Long::sum);
      }
    }
    byte[] bytes = out.toString().getBytes(StandardCharsets.UTF_8);
    return new Result(bytes, "sha256:" + HexFormat.of().formatHex(sha256(bytes)), perSource, rows);
  }

  /** The rows of one label; 0 when the label gives none in this format (a tie; a middling rating for KTO). */
  private static int write(Format format, Comparison comparison, Label label, StringBuilder out) {
    String prompt = comparison.getPrompt().getText();
    if (label.getLikert() > 0) {
      if (format != Format.KTO || label.getLikert() == 4) {
        return 0;
      }
      return row(out, kto(prompt, comparison.getResponses(0).getText(), label.getLikert() >= 5));
    }
    if (label.getChosenResponseId().isEmpty()) {
      return 0;
    }
    Response chosen = comparison.getResponsesList().stream().filter(r -> r.getId().equals(label.getChosenResponseId()))
        .findFirst().orElse(null);
    if (chosen == null) {
      return 0;
    }
    int rows = 0;
    if (format == Format.KTO) {
      rows += row(out, kto(prompt, chosen.getText(), true));
    }
    for (Response rejected : comparison.getResponsesList()) {
      if (rejected == chosen) {
        continue;
      }
      ObjectNode row = JSON.createObjectNode();
      switch (format) {
        case TRL -> row.put("prompt", prompt).put("chosen", chosen.getText()).put("rejected", rejected.getText());
        case HH -> row.put("chosen", transcript(prompt, chosen.getText())).put("rejected", transcript(prompt, rejected.getText()));
        case KTO -> row = kto(prompt, rejected.getText(), false);
      }
      rows += row(out, row);
    }
    return rows;
  }

  private static ObjectNode kto(String prompt, String completion, boolean desirable) {
    return JSON.createObjectNode().put("prompt", prompt).put("completion", completion).put("label", desirable);
  }

  /**
   * An HH-RLHF transcript: the prompt as the human's turn and the response as the assistant's, unless
   * the prompt is already a transcript ending in "Assistant:" (the quickstart's are).
   */
  static String transcript(String prompt, String response) {
    String trimmed = prompt.stripTrailing();
    if (trimmed.contains("Human:") && trimmed.endsWith("Assistant:")) {
      return trimmed + " " + response;
    }
    return "\n\nHuman: " + prompt + "\n\nAssistant: " + response;
  }

  private static int row(StringBuilder out, ObjectNode row) {
    try {
      out.append(JSON.writeValueAsString(row)).append('\n');
      return 1;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("writing an export row failed: " + e.getMessage(), e);
    }
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
