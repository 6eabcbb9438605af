package dev.troupe.actors.judge;

import dev.troupe.actors.config.JudgeSettings;
import dev.troupe.protocol.Comparison;
import java.nio.file.Path;
import java.util.List;

/**
 * An AI judge for RLAIF (DESIGN.md, "Data flow"): says which of two responses to a prompt is better, by a
 * written rubric, so that a loop can label fresh samples of its policy without a human.
 *
 * <p>Implementations are thread-safe: several loops may ask one judge at once.
 */
public interface Judge extends AutoCloseable {

  /**
   * Who judged, as stored in every label's rater id: "simulated-gold(error=0.10)", "local:&lt;folder name&gt;",
   * "openai:&lt;model&gt;@&lt;url&gt;".
   */
  String id();

  /** sha-256 of the rubric, lower-case hex, stored with every AI label. */
  String rubricSha256();

  /**
   * A verdict per comparison, in order. Each comparison must hold exactly two responses.
   *
   * @throws JudgeUnavailableException when the judge cannot answer (an endpoint that stays unreachable after
   *     its bounded retries); a bad comparison is an {@link IllegalArgumentException} instead
   */
  List<Verdict> judge(List<Comparison> comparisons) throws JudgeUnavailableException;

  /** Frees the judge's model or connections. */
  @Override
  default void close() {}

  /**
   * The judge a loop's settings describe (feedback = ai-judge): simulated, local or openai.
   *
   * @param seed decides which of a simulated judge's verdicts are flipped
   */
  static Judge create(JudgeSettings settings, long seed) {
    return switch (settings.kind()) {
      case "simulated" -> new SimulatedJudge(settings.rubric(), settings.errorRate(), seed);
      case "local" -> LocalJudge.load(Path.of(settings.model()), settings.rubric());
      case "openai" -> new OpenAiJudge(settings, System::getenv);
      default -> throw new IllegalArgumentException("unknown judge kind '" + settings.kind()
          + "' (expected one of: simulated, local, openai)");
    };
  }
}
