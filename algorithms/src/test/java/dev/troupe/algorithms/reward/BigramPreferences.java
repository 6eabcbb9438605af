package dev.troupe.algorithms.reward;

import dev.troupe.algorithms.Fixtures;
import dev.troupe.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * A synthetic preference task only a model that reads word order can learn: the two responses of
 * a pair are permutations of the same letters (so any bag-of-bytes feature is equal on both sides)
 * and the rater prefers the one with more "ab" bigrams. Lengths vary from 6 to 16 bytes, so
 * right-padded batches mix lengths.
 */
final class BigramPreferences {
  static final String ALPHABET = "abcd";

  private final Tokenizer tokenizer;
  private final Random random;
  private final Set<String> used = new HashSet<>();

  BigramPreferences(Tokenizer tokenizer, long seed) {
    this.tokenizer = tokenizer;
    this.random = new Random(seed);
  }

  static int abCount(String s) {
    int n = 0;
    for (int i = 0; i + 1 < s.length(); i++) {
      n += s.charAt(i) == 'a' && s.charAt(i + 1) == 'b' ? 1 : 0;
    }
    return n;
  }

  /** {@code n} fresh pairs; no response of one call's pairs appears in an earlier call's. */
  List<TokenPair> pairs(int n) {
    List<TokenPair> out = new ArrayList<>();
    Set<String> fresh = new HashSet<>();
    while (out.size() < n) {
      String x = randomString(ALPHABET, 6 + random.nextInt(11));
      String y = shuffled(x);
      if (abCount(x) == abCount(y) || used.contains(x) || used.contains(y)) {
        continue;
      }
      fresh.add(x);
      fresh.add(y);
      String chosen = abCount(x) > abCount(y) ? x : y;
      String rejected = chosen == x ? y : x;
      out.add(TokenPair.of(Fixtures.document(tokenizer, chosen), Fixtures.document(tokenizer, rejected)));
    }
    used.addAll(fresh);
    return out;
  }

  /** {@code n} documents over other bytes, never seen in training. */
  List<long[]> outOfDistribution(String alphabet, int n) {
    List<long[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(Fixtures.document(tokenizer, randomString(alphabet, 6 + random.nextInt(11))));
    }
    return out;
  }

  static List<long[]> chosen(List<TokenPair> pairs) {
    return pairs.stream().map(TokenPair::chosen).toList();
  }

  private String randomString(String alphabet, int length) {
    char[] c = new char[length];
    for (int i = 0; i < length; i++) {
      c[i] = alphabet.charAt(random.nextInt(alphabet.length()));
    }
    return new String(c);
  }

  private String shuffled(String s) {
    List<Character> c = new ArrayList<>();
    for (char ch : s.toCharArray()) {
      c.add(ch);
    }
    Collections.shuffle(c, random);
    char[] out = new char[c.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = c.get(i);
    }
    return new String(out);
  }

  static double meanStd(List<RewardModel.Score> scores) {
    return scores.stream().mapToDouble(RewardModel.Score::std).average().orElseThrow();
  }
}
