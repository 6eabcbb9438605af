package dev.troupe.feedback.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.TaskQueue;
import dev.troupe.feedback.export.LabelExport;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.MetricsReport;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the admin dashboard shows, read from the store (so it works beside a running campaign and
 * alone): the campaign's loops and their progress, the queue and label counts, and the series the
 * browser plots (per loop: reward, KL, gold, reward-model accuracy by step; labels per hour; raters'
 * agreement with the AI judge and the reward model over time).
 */
public final class Dashboard {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Each plotted figure and the metric names it is read from, first present wins (PPO's, then DPO's). */
  static final Map<String, List<String>> SERIES = Map.of(
      "reward", List.of("objective/scores", "rewards/margins"),
      "kl", List.of("objective/kl", "kl"),
      "gold", List.of("eval/gold"),
      "rm_accuracy", List.of("rewards/accuracies", "accuracy"));
  private static final long HOUR_MS = 3_600_000L;

  private final CampaignStore store;
  private final CampaignConfig config;

  /** {@code config} may be null (a run folder whose campaign has not started yet): loops then come from the store. */
  public Dashboard(CampaignStore store, CampaignConfig config) {
    this.store = store;
    this.config = config;
  }

  public ObjectNode status() {
    ObjectNode out = JSON.createObjectNode();
    out.put("campaign", config == null ? null : config.name());
    Map<String, Long> versions = store.latestAdapterVersions();
    ArrayNode loops = out.putArray("loops");
    for (String loop : loopNames()) {
      List<MetricsReport> metrics = store.metrics(loop);
      ObjectNode l = loops.addObject().put("loop", loop);
      LoopConfig lc = config == null ? null : config.loops().get(loop);
      if (lc != null) {
        l.put("algorithm", lc.algorithm().configName()).put("feedback", lc.feedback().configName()).put("steps", lc.steps());
      }
      l.put("step", metrics.isEmpty() ? 0 : metrics.get(metrics.size() - 1).getStep());
      l.put("adapter_version", versions.getOrDefault(loop, 0L));
      l.put("updated_ms", metrics.isEmpty() ? 0 : metrics.get(metrics.size() - 1).getTimeMs());
    }
    TaskQueue.Counts q = store.tasks().counts(System.currentTimeMillis());
    out.putObject("queue").put("open", q.open()).put("gold", q.gold()).put("leased", q.leased()).put("labelled", q.labelled())
        .put("skipped", q.skipped()).put("retired", q.retired());
    ObjectNode labels = out.putObject("labels");
    for (FeedbackSource s : LabelExport.allSources()) {
      labels.put(LabelExport.sourceName(s), store.countLabels(s));
    }
    out.put("users", store.users().count());
    return out;
  }

  public ObjectNode metrics() {
    ObjectNode out = JSON.createObjectNode();
    ObjectNode loops = out.putObject("loops");
    for (String loop : loopNames()) {
      ObjectNode l = loops.putObject(loop);
      List<MetricsReport> reports = store.metrics(loop);
      for (Map.Entry<String, List<String>> series : new TreeMap<>(SERIES).entrySet()) {
        ArrayNode steps = JSON.createArrayNode();
        ArrayNode values = JSON.createArrayNode();
        for (MetricsReport r : reports) {
          for (String name : series.getValue()) {
            if (r.getValuesMap().containsKey(name) && Double.isFinite(r.getValuesMap().get(name))) {
              steps.add(r.getStep());
              values.add(r.getValuesMap().get(name));
              break;
            }
          }
        }
        if (!values.isEmpty()) {
          ObjectNode s = l.putObject(series.getKey());
          s.set("step", steps);
          s.set("value", values);
        }
      }
    }
    List<Label> human = store.labels(FeedbackSource.FEEDBACK_SOURCE_HUMAN);
    TreeMap<Long, Integer> perHour = new TreeMap<>();
    for (Label l : human) {
      perHour.merge(l.getCreatedMs() / HOUR_MS * HOUR_MS, 1, Integer::sum);
    }
    ObjectNode hours = out.putObject("labels_per_hour");
    ArrayNode hourTimes = hours.putArray("hour_ms");
    ArrayNode hourCounts = hours.putArray("count");
    perHour.forEach((h, n) -> {
      hourTimes.add(h);
      hourCounts.add(n);
    });
    out.set("agreement", agreement(store.tasks().answers()));
    return out;
  }

  /** Raters' running agreement with the AI judge and with the reward model, one point per pairwise answer. */
  private static ObjectNode agreement(List<TaskQueue.Answer> answers) {
    ObjectNode out = JSON.createObjectNode();
    ArrayNode times = out.putArray("time_ms");
    ArrayNode ai = out.putArray("ai_judge");
    ArrayNode rm = out.putArray("reward_model");
    int aiN = 0;
    int aiAgree = 0;
    int rmN = 0;
    int rmAgree = 0;
    for (TaskQueue.Answer a : answers) {
      String chosen = a.label().getChosenResponseId();
      if (chosen.isEmpty() || a.comparison().getResponsesCount() != 2) {
        continue;
      }
      boolean point = false;
      if (a.task().aiChoice() != null) {
        aiN++;
        aiAgree += a.task().aiChoice().equals(chosen) ? 1 : 0;
        point = true;
      }
      Double margin = a.task().rewardMargin();
      if (margin != null && margin != 0) {
        rmN++;
        rmAgree += a.comparison().getResponses(margin > 0 ? 0 : 1).getId().equals(chosen) ? 1 : 0;
        point = true;
      }
      if (point) {
        times.add(a.label().getCreatedMs());
        if (aiN == 0) {
          ai.addNull();
        } else {
          ai.add((double) aiAgree / aiN);
        }
        if (rmN == 0) {
          rm.addNull();
        } else {
          rm.add((double) rmAgree / rmN);
        }
      }
    }
    return out;
  }

  private List<String> loopNames() {
    Set<String> names = new LinkedHashSet<>();
    if (config != null) {
      names.addAll(config.loops().keySet());
    }
    names.addAll(store.latestAdapterVersions().keySet());
    return new ArrayList<>(names);
  }
}
