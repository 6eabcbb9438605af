package dev.troupe.algorithms.task;

import dev.troupe.algorithms.task.TaskPrompt.Count;
import dev.troupe.algorithms.task.TaskPrompt.Polite;
import dev.troupe.algorithms.task.TaskPrompt.Repeat;
import dev.troupe.algorithms.task.TaskPrompt.Reverse;
import dev.troupe.algorithms.task.TaskPrompt.Sort;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The hidden gold scorer of the quickstart task, standing in for true human preference as in Gao et al. 2022
 * ("Scaling Laws for Reward Model Overoptimization"): learners see it only through rater labels, a reward
 * model or a judge, and the run reports it on held-out prompts.
 *
 * <p>Every score is in [0, 1], 1 for the ideal response, and graded: a response that is a little wrong scores
 * a little less, because a tiny policy improves by RL only where the reward moves when its sample changes a
 * little. The response is trimmed first; empty, null or unrelated text scores 0, and nothing throws. Rubrics:
 * <ul>
 *   <li>sort: (letters in common, as a multiset, / the longer of answer and prompt, counted in
 *       space-separated items) × (fraction of adjacent items in ascending order; 1 for one item). One adjacent
 *       swap of k letters scores (k−2)/(k−1): 0.5, 0.667, 0.75 for k = 3, 4, 5.
 *   <li>count: the answer must be a bare number; 1 − |answer − truth| / 3, at least 0. Off by one: 0.667.
 *   <li>reverse: 1 − Levenshtein(answer, reversed word) / the longer length. Two neighbours swapped in a word
 *       of k letters: 1 − 2/k, so 0.5, 0.6, 0.667 for k = 4, 5, 6.
 *   <li>repeat: (copies of the word, at most the times asked) / max(items in the answer, times asked). One
 *       copy short: (n−1)/n; one copy too many: n/(n+1).
 *   <li>polite: 0.5 for the word "please", 0.25 for the name, 0.25 for the verb (whole words, any case), times
 *       min(1, 24 / answer bytes) so that padding a request out does not pay. Without "please": 0.5.
 * </ul>
 */
public final class GoldScorer {
  private static final double COUNT_TOLERANCE = 3;

  /** The gold score of {@code response} to {@code prompt}, in [0, 1]. */
  public double score(TaskPrompt prompt, String response) {
    String answer = response == null ? "" : response.strip();
    if (answer.isEmpty()) {
      return 0;
    }
    if (prompt instanceof Sort sort) {
      return sort(sort, answer);
    } else if (prompt instanceof Count count) {
      return count(count, answer);
    } else if (prompt instanceof Reverse reverse) {
      return reverse(reverse, answer);
    } else if (prompt instanceof Repeat repeat) {
      return repeat(repeat, answer);
    } else if (prompt instanceof Polite polite) {
      return polite(polite, answer);
    }
    throw new IllegalArgumentException("unknown prompt " + prompt);
  }

  /** The mean gold score of {@code responses.get(i)} to {@code prompts.get(i)}. */
  public double mean(List<? extends TaskPrompt> prompts, List<String> responses) {
    if (prompts.size() != responses.size() || prompts.isEmpty()) {
      throw new IllegalArgumentException(
          "need as many responses as prompts, at least one: " + prompts.size() + " vs " + responses.size());
    }
    double sum = 0;
    for (int i = 0; i < prompts.size(); i++) {
      sum += score(prompts.get(i), responses.get(i));
    }
    return sum / prompts.size();
  }

  private static double sort(Sort prompt, String answer) {
    String[] items = answer.split("\\s+");
    Map<String, Integer> wanted = new HashMap<>();
    for (char letter : prompt.letters().toCharArray()) {
      wanted.merge(String.valueOf(letter), 1, Integer::sum);
    }
    int common = 0;
    for (String item : items) {
      Integer left = wanted.get(item);
      if (left != null && left > 0) {
        wanted.put(item, left - 1);
        common++;
      }
    }
    double content = (double) common / Math.max(items.length, prompt.letters().length());
    int ascending = 0;
    for (int i = 0; i + 1 < items.length; i++) {
      ascending += items[i].compareTo(items[i + 1]) < 0 ? 1 : 0;
    }
    double order = items.length < 2 ? 1 : (double) ascending / (items.length - 1);
    return content * order;
  }

  private static double count(Count prompt, String answer) {
    // Three digits at most: no overflow, and no count here comes near it.
    if (!answer.matches("[0-9]{1,3}")) {
      return 0;
    }
    int truth = (int) prompt.word().chars().filter(c -> c == prompt.letter()).count();
    return Math.max(0, 1 - Math.abs(Integer.parseInt(answer) - truth) / COUNT_TOLERANCE);
  }

  private static double reverse(Reverse prompt, String answer) {
    String reversed = new StringBuilder(prompt.word()).reverse().toString();
    return 1 - (double) dev.troupe.algorithms.text.EditDistance.between(answer, reversed) / Math.max(answer.length(), reversed.length());
  }

  private static double repeat(Repeat prompt, String answer) {
    String[] items = answer.split("\\s+");
    int copies = 0;
    for (String item : items) {
      copies += item.equals(prompt.word()) ? 1 : 0;
    }
    return (double) Math.min(copies, prompt.times()) / Math.max(items.length, prompt.times());
  }

  private static double polite(Polite prompt, String answer) {
    List<String> words = new ArrayList<>();
    for (String word : answer.toLowerCase(Locale.ROOT).split("[^a-z]+")) {
      if (!word.isEmpty()) {
        words.add(word);
      }
    }
    double score = (words.contains("please") ? 0.5 : 0)
        + (words.contains(prompt.name()) ? 0.25 : 0)
        + (words.contains(prompt.verb()) ? 0.25 : 0);
    int bytes = answer.getBytes(StandardCharsets.UTF_8).length;
    return score * Math.min(1, (double) QuickstartTask.MAX_RESPONSE_BYTES / bytes);
  }
}
