package dev.troupe.feedback.quality;

import dev.troupe.actors.store.TaskQueue.Answer;
import dev.troupe.protocol.Label;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How well each rater does, from their answers: accuracy on gold items, agreement with the other raters
 * (Cohen's kappa per pair, Krippendorff's alpha for the campaign), agreement with the reward model and
 * with the AI judge, and median seconds per label; raters far faster than the rest, or below chance on
 * gold, are flagged.
 */
public final class RaterQuality {
  /** A rater is "fast" when their median time is under this share of the other raters' median. */
  static final double FAST_SHARE = 0.25;
  /** Labels a rater needs before their speed is judged. */
  static final int MIN_LABELS_FOR_SPEED = 5;
  /** Gold answers a rater needs before their gold accuracy is judged. */
  static final int MIN_GOLD_FOR_FLAG = 4;
  /** Two choices: a coin toss is right half the time. */
  static final double CHANCE = 0.5;

  /** One rater's figures; a null figure had nothing to measure it on. */
  public record Rater(String rater, int labels, int goldAnswers, Double goldAccuracy, Double rewardModelAgreement,
      Double aiJudgeAgreement, Double medianSeconds, List<String> flags) {}

  public record PairKappa(String first, String second, int shared, Double kappa) {}

  public record Report(List<Rater> raters, List<PairKappa> kappas, Double krippendorffAlpha) {}

  private RaterQuality() {}

  public static Report of(List<Answer> answers) {
    Map<String, List<Answer>> byRater = new TreeMap<>();
    Map<String, Map<String, String>> choices = new TreeMap<>();
    Map<String, List<String>> units = new TreeMap<>();
    for (Answer a : answers) {
      byRater.computeIfAbsent(a.raterId(), k -> new ArrayList<>()).add(a);
      String category = category(a.label());
      if (category != null && !a.task().gold()) {
        choices.computeIfAbsent(a.raterId(), k -> new LinkedHashMap<>()).put(a.task().id(), category);
        units.computeIfAbsent(a.task().id(), k -> new ArrayList<>()).add(category);
      }
    }
    Map<String, Double> medians = new TreeMap<>();
    byRater.forEach((rater, list) -> {
      if (list.size() >= MIN_LABELS_FOR_SPEED) {
        medians.put(rater, median(list.stream().mapToDouble(RaterQuality::seconds).toArray()));
      }
    });
    List<Rater> raters = new ArrayList<>();
    byRater.forEach((rater, list) -> {
      int gold = 0;
      int goldRight = 0;
      int rm = 0;
      int rmAgree = 0;
      int ai = 0;
      int aiAgree = 0;
      for (Answer a : list) {
        String chosen = a.label().getChosenResponseId();
        if (a.task().gold()) {
          gold++;
          goldRight += a.task().goldResponseId().equals(chosen) ? 1 : 0;
        }
        if (chosen.isEmpty() || a.comparison().getResponsesCount() != 2) {
          continue;
        }
        Double margin = a.task().rewardMargin();
        if (margin != null && margin != 0) {
          rm++;
          String preferred = a.comparison().getResponses(margin > 0 ? 0 : 1).getId();
          rmAgree += preferred.equals(chosen) ? 1 : 0;
        }
        if (a.task().aiChoice() != null) {
          ai++;
          aiAgree += a.task().aiChoice().equals(chosen) ? 1 : 0;
        }
      }
      Double goldAccuracy = gold == 0 ? null : (double) goldRight / gold;
      Double median = list.isEmpty() ? null : median(list.stream().mapToDouble(RaterQuality::seconds).toArray());
      List<String> flags = new ArrayList<>();
      if (goldAccuracy != null && gold >= MIN_GOLD_FOR_FLAG && goldAccuracy < CHANCE) {
        flags.add("below_chance_on_gold");
      }
      double[] others = medians.entrySet().stream().filter(e -> !e.getKey().equals(rater))
          .mapToDouble(Map.Entry::getValue).toArray();
      if (medians.containsKey(rater) && others.length >= 2 && medians.get(rater) < FAST_SHARE * median(others)) {
        flags.add("far_faster_than_the_rest");
      }
      raters.add(new Rater(rater, list.size(), gold, goldAccuracy, rm == 0 ? null : (double) rmAgree / rm,
          ai == 0 ? null : (double) aiAgree / ai, median, List.copyOf(flags)));
    });
    List<PairKappa> kappas = new ArrayList<>();
    List<String> names = new ArrayList<>(choices.keySet());
    for (int i = 0; i < names.size(); i++) {
      for (int j = i + 1; j < names.size(); j++) {
        Map<String, String> x = choices.get(names.get(i));
        Map<String, String> y = choices.get(names.get(j));
        int shared = (int) x.keySet().stream().filter(y::containsKey).count();
        if (shared > 0) {
          kappas.add(new PairKappa(names.get(i), names.get(j), shared, Agreement.cohensKappa(x, y)));
        }
      }
    }
    return new Report(List.copyOf(raters), List.copyOf(kappas), Agreement.krippendorffAlpha(units));
  }

  /** A label's nominal answer: the chosen response's id, "tie" or "both_bad" (null for a rating). */
  static String category(Label label) {
    if (label.getTie()) {
      return "tie";
    }
    if (label.getBothBad()) {
      return "both_bad";
    }
    return label.getChosenResponseId().isEmpty() ? null : label.getChosenResponseId();
  }

  private static double seconds(Answer a) {
    return Math.max(0, a.label().getCreatedMs() - a.leasedMs()) / 1000.0;
  }

  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
}
