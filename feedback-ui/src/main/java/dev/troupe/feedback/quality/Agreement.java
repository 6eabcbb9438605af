package dev.troupe.feedback.quality;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Chance-corrected agreement between raters on nominal answers (a chosen response, tie, both bad). */
public final class Agreement {
  private Agreement() {}

  /**
   * Cohen's kappa (Cohen 1960) of two raters over the units both answered: (p_o − p_e) / (1 − p_e),
   * p_o the share of units they agree on, p_e the agreement expected from each rater's own category
   * frequencies. Null when they share no unit, or when p_e = 1 (both always give one same answer).
   */
  public static Double cohensKappa(Map<String, String> first, Map<String, String> second) {
    List<String> shared = first.keySet().stream().filter(second::containsKey).sorted().toList();
    if (shared.isEmpty()) {
      return null;
    }
    int n = shared.size();
    int agree = 0;
    Map<String, Integer> a = new HashMap<>();
    Map<String, Integer> b = new HashMap<>();
    for (String unit : shared) {
      String x = first.get(unit);
      String y = second.get(unit);
      if (x.equals(y)) {
        agree++;
      }
      a.merge(x, 1, Integer::sum);
      b.merge(y, 1, Integer::sum);
    }
    double po = (double) agree / n;
    double pe = 0;
    for (Map.Entry<String, Integer> e : a.entrySet()) {
      pe += (double) e.getValue() / n * b.getOrDefault(e.getKey(), 0) / n;
    }
    return pe >= 1 ? null : (po - pe) / (1 - pe);
  }

  /**
   * Krippendorff's alpha for nominal data (Krippendorff 2011, "Computing Krippendorff's alpha-reliability"):
   * 1 − D_o / D_e from the coincidence matrix of the units with two or more answers; {@code units} maps a
   * unit to its answers (one per rater). Null when fewer than two such answers exist or they never vary.
   */
  public static Double krippendorffAlpha(Map<String, List<String>> units) {
    Map<String, Map<String, Double>> o = new HashMap<>();
    Set<String> categories = new HashSet<>();
    for (List<String> values : units.values()) {
      int m = values.size();
      if (m < 2) {
        continue;
      }
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < m; j++) {
          if (i != j) {
            o.computeIfAbsent(values.get(i), k -> new HashMap<>()).merge(values.get(j), 1.0 / (m - 1), Double::sum);
            categories.add(values.get(i));
          }
        }
      }
    }
    Map<String, Double> nc = new HashMap<>();
    double n = 0;
    for (String c : categories) {
      double sum = o.getOrDefault(c, Map.of()).values().stream().mapToDouble(Double::doubleValue).sum();
      nc.put(c, sum);
      n += sum;
    }
    if (n < 2) {
      return null;
    }
    double disagreeObserved = 0;
    double disagreeExpected = 0;
    List<String> cs = new ArrayList<>(categories);
    for (String c : cs) {
      for (String k : cs) {
        if (!c.equals(k)) {
          disagreeObserved += o.getOrDefault(c, Map.of()).getOrDefault(k, 0.0);
          disagreeExpected += nc.get(c) * nc.get(k);
        }
      }
    }
    if (disagreeExpected == 0) {
      return null;
    }
    return 1 - (n - 1) * disagreeObserved / disagreeExpected;
  }
}
