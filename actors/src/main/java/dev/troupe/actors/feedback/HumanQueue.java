package dev.troupe.actors.feedback;

import dev.troupe.actors.config.FeedbackQueueSettings;
import dev.troupe.actors.config.FeedbackQueueSettings.Selection;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.LabelDeletion;
import dev.troupe.actors.store.StoredLabel;
import dev.troupe.actors.store.TaskQueue;
import dev.troupe.actors.store.TaskQueue.Kind;
import dev.troupe.actors.store.TaskQueue.Task;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.HumanTask;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.LabelReceipt;
import dev.troupe.protocol.LabelSubmission;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.RefusalKind;
import dev.troupe.protocol.Response;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.Score;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;
import dev.troupe.protocol.TaskAck;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The raters' task queue as plain code over the store (the {@link FeedbackCollector} runs it on its
 * I/O threads): which comparisons become tasks and in what order (active selection), gold items,
 * leases, and what a rater's answer becomes. Raters see a task's responses as "a", "b", ... in an
 * order shuffled per task and rater, so neither an id nor a position tells them anything.
 */
public final class HumanQueue {
  private static final Logger log = LoggerFactory.getLogger(HumanQueue.class);
  /** What a rater may flag a response for. */
  public static final Set<String> FLAGS = Set.of("unsafe", "factually_wrong", "needless_refusal");
  static final String REWRITE_RESPONSE_ID = "rewrite";

  private final CampaignStore store;
  private final FeedbackQueueSettings settings;
  private final Map<String, Integer> maxStaleness;
  private final Function<String, long[]> tokenizer;
  private final long seed;

  public HumanQueue(CampaignStore store, FeedbackQueueSettings settings, Map<String, Integer> maxStaleness,
      Function<String, long[]> tokenizer, long seed) {
    this.store = store;
    this.settings = settings;
    this.maxStaleness = Map.copyOf(maxStaleness);
    this.tokenizer = tokenizer;
    this.seed = seed;
  }

  // ---------------------------------------------------------------- filling the queue

  /** Queues up to gold-items gold items: stored gold- or dataset-labelled pairs, whose label is the known answer. */
  public int addGoldItems() {
    if (settings.goldShare() <= 0 || settings.goldItems() == 0) {
      return 0;
    }
    List<Task> tasks = new ArrayList<>();
    for (PreferencePair p : store.labelled(Set.of(FeedbackSource.FEEDBACK_SOURCE_GOLD, FeedbackSource.FEEDBACK_SOURCE_DATASET),
        true, settings.goldItems())) {
      if (p.getComparison().getResponsesCount() == 2) {
        tasks.add(new Task(taskId("g", p.getComparison().getId()), p.getComparison().getId(), Kind.PAIRWISE, null, null,
            null, 0, 1, p.getLabel().getChosenResponseId(), null, null, System.currentTimeMillis(), null));
      }
    }
    int added = store.tasks().enqueue(tasks);
    if (added > 0) {
      log.info("{} gold item(s) queued for raters", added);
    }
    return added;
  }

  /** What the reward model should score to order a batch of comparisons: each response as a rollout "<comparison>#<index>". */
  static ScoreRequest scoreRequest(String loop, List<Comparison> comparisons, String rewardModel) {
    ScoreRequest.Builder request = ScoreRequest.newBuilder().setRequestId("raters/" + loop + "/" + comparisons.get(0).getId())
        .setRewardModel(rewardModel);
    for (Comparison c : comparisons) {
      for (int i = 0; i < c.getResponsesCount(); i++) {
        Response r = c.getResponses(i);
        request.addRollouts(Rollout.newBuilder().setId(c.getId() + "#" + i).setPrompt(c.getPrompt())
            .addAllResponseTokenIds(r.getTokenIdsList()).setText(r.getText()).setAdapter(r.getAdapter())
            .setAdapterVersion(r.getAdapterVersion()));
      }
    }
    return request.build();
  }

  /**
   * Queues a loop's judged comparisons as tasks, each with its priority under the queue's selection
   * ({@code scores}: the reward model's scores of {@link #scoreRequest}, or null), while the queue holds
   * fewer than max-open open tasks.
   */
  public int enqueueJudged(String loop, List<Comparison> comparisons, ScoreBatch scores) {
    long open = store.tasks().counts(System.currentTimeMillis()).open();
    Map<String, Score> byId = new java.util.HashMap<>();
    if (scores != null) {
      scores.getScoresList().forEach(s -> byId.put(s.getRolloutId(), s));
    }
    List<Task> tasks = new ArrayList<>();
    for (Comparison c : comparisons) {
      if (open + tasks.size() >= settings.maxOpen()) {
        break;
      }
      String aiChoice = store.labelsOfComparison(c.getId()).stream()
          .filter(l -> l.getSource() == FeedbackSource.FEEDBACK_SOURCE_AI && !l.getChosenResponseId().isEmpty())
          .map(Label::getChosenResponseId).findFirst().orElse(null);
      Double margin = null;
      Double memberSpread = null;
      Score first = byId.get(c.getId() + "#0");
      Score second = byId.get(c.getId() + "#1");
      if (c.getResponsesCount() == 2 && first != null && second != null) {
        margin = first.getValue() - second.getValue();
        memberSpread = memberSpread(first, second);
      }
      Boolean aiPrefersFirst = aiChoice == null ? null : aiChoice.equals(c.getResponses(0).getId());
      String id = taskId("t", c.getId());
      long version = c.getResponsesList().stream().mapToLong(Response::getAdapterVersion).min().orElse(0);
      tasks.add(new Task(id, c.getId(), c.getResponsesCount() == 2 ? Kind.PAIRWISE : Kind.RANKING, loop, version,
          (long) maxStaleness.getOrDefault(loop, 1), priority(settings.selection(), margin, memberSpread, aiPrefersFirst,
              id, seed), settings.overlap(), null, margin, aiChoice, System.currentTimeMillis(), null));
    }
    return store.tasks().enqueue(tasks);
  }

  /**
   * A task's priority, higher first, in [0, 1]. uncertainty: with an ensemble, its members' spread of the
   * margin s/(1+s); with one head, 1 − |2σ(m) − 1| for the margin m (1 when the reward model cannot tell
   * the two apart). disagreement: 1 − σ(±m), the reward model's probability that the AI judge's choice is
   * the worse one (above 0.5 when they disagree); without a verdict, half the uncertainty, so disagreements
   * come first. random: a uniform draw from (seed, task id). No scores at all: 0.5 (oldest first).
   */
  public static double priority(Selection selection, Double margin, Double memberSpread, Boolean aiPrefersFirst,
      String taskId, long seed) {
    if (selection == Selection.RANDOM) {
      return new Random(seed * 31 + taskId.hashCode()).nextDouble();
    }
    if (margin == null) {
      return 0.5;
    }
    double uncertainty = memberSpread != null ? memberSpread / (1 + memberSpread)
        : 1 - Math.abs(2 * sigmoid(margin) - 1);
    if (selection == Selection.UNCERTAINTY) {
      return uncertainty;
    }
    if (aiPrefersFirst == null) {
      return uncertainty / 2;
    }
    return 1 - sigmoid(aiPrefersFirst ? margin : -margin);
  }

  /** The standard deviation over an ensemble's members of (first − second), or null with fewer than two members. */
  private static Double memberSpread(Score first, Score second) {
    int n = Math.min(first.getMemberValuesCount(), second.getMemberValuesCount());
    if (n < 2) {
      return null;
    }
    double[] d = new double[n];
    double mean = 0;
    for (int i = 0; i < n; i++) {
      d[i] = first.getMemberValues(i) - second.getMemberValues(i);
      mean += d[i] / n;
    }
    double var = 0;
    for (double x : d) {
      var += (x - mean) * (x - mean) / (n - 1);
    }
    return Math.sqrt(var);
  }

  private static double sigmoid(double x) {
    return 1 / (1 + Math.exp(-x));
  }

  // ---------------------------------------------------------------- serving raters

  /** The rater's task now (leased to them), with its responses under aliases; empty when none is due. */
  public Optional<HumanTask> next(String rater, long nowMs) {
    boolean goldDue = settings.goldDue(store.tasks().doneBy(rater));
    return store.tasks().lease(rater, nowMs, settings.lease().toMillis(), goldDue).map(lease -> HumanTask.newBuilder()
        .setId(lease.task().id())
        .setKind(lease.task().kind().configName())
        .setComparison(aliased(lease.comparison(), lease.task().id(), rater))
        .setGuidelines(settings.guidelines())
        .setLeaseExpiresMs(lease.expiresMs())
        .build());
  }

  /**
   * Stores a rater's answer: checks it against the task's kind (errors name the field), maps the
   * response aliases back, adds the rewrite's comparison and label, and commits it all before returning.
   */
  public LabelReceipt submit(LabelSubmission submission, long nowMs) {
    Label given = submission.getLabel();
    String rater = given.getRaterId();
    Optional<Task> found = store.tasks().task(submission.getTaskId());
    if (found.isEmpty()) {
      return refused(RefusalKind.REFUSAL_KIND_NOT_FOUND, "task_id: no task " + submission.getTaskId());
    }
    Task task = found.get();
    Comparison comparison = store.comparison(task.comparisonId()).orElseThrow();
    List<String> aliases = aliases(comparison, task.id(), rater);
    String labelId = "h-" + UUID.randomUUID();
    Label.Builder label = Label.newBuilder().setId(labelId).setComparisonId(comparison.getId())
        .setSource(FeedbackSource.FEEDBACK_SOURCE_HUMAN).setRaterId(rater).setClientId(given.getClientId())
        .setTaskId(task.id()).setStrength(given.getStrength()).setRationale(given.getRationale()).setConfidence(1.0);
    for (String flag : given.getFlagsList()) {
      if (!FLAGS.contains(flag)) {
        return refused(RefusalKind.REFUSAL_KIND_INVALID, "flags: '" + flag + "' is not a flag (" + String.join(", ",
            new java.util.TreeSet<>(FLAGS)) + ")");
      }
      label.addFlags(flag);
    }
    switch (task.kind()) {
      case PAIRWISE -> {
        if (given.getTie()) {
          label.setTie(true);
        } else if (given.getBothBad()) {
          label.setBothBad(true);
        } else {
          String chosen = unalias(given.getChosenResponseId(), aliases, comparison);
          if (chosen == null) {
            return refused(RefusalKind.REFUSAL_KIND_INVALID, "choice: '" + given.getChosenResponseId()
                + "' is not a response of task " + task.id() + " (expected " + String.join(", ", sortedAliases(aliases))
                + ", tie or both_bad)");
          }
          label.setChosenResponseId(chosen);
        }
      }
      case RANKING -> {
        if (given.getRankingCount() != comparison.getResponsesCount()) {
          return refused(RefusalKind.REFUSAL_KIND_INVALID, "ranking: expected every response once, best first ("
              + String.join(", ", sortedAliases(aliases)) + ")");
        }
        for (String alias : given.getRankingList()) {
          String id = unalias(alias, aliases, comparison);
          if (id == null || label.getRankingList().contains(id)) {
            return refused(RefusalKind.REFUSAL_KIND_INVALID, "ranking: '" + alias + "' is unknown or named twice");
          }
          label.addRanking(id);
        }
        label.setChosenResponseId(label.getRanking(0));
      }
      case LIKERT -> {
        if (given.getLikert() < 1 || given.getLikert() > 7) {
          return refused(RefusalKind.REFUSAL_KIND_INVALID, "likert: expected 1 to 7, got " + given.getLikert());
        }
        label.setLikert(given.getLikert());
      }
    }
    Comparison rewrite = null;
    Label rewriteLabel = null;
    if (!submission.getRewriteText().isBlank()) {
      String original = unalias(submission.getRewriteOf(), aliases, comparison);
      if (original == null) {
        return refused(RefusalKind.REFUSAL_KIND_INVALID, "rewrite_of: '" + submission.getRewriteOf()
            + "' is not a response of task " + task.id());
      }
      if (tokenizer == null) {
        return refused(RefusalKind.REFUSAL_KIND_INVALID, "rewrite: this server has no tokenizer to turn a rewrite into"
            + " training data (the run folder has no base/tokenizer.json)");
      }
      String rewriteId = CampaignStore.rewriteLabelId(labelId);
      rewrite = Comparison.newBuilder().setId(comparison.getId() + "/rewrite/" + labelId).setPrompt(comparison.getPrompt())
          .addResponses(Response.newBuilder().setId(REWRITE_RESPONSE_ID).setText(submission.getRewriteText())
              .addAllTokenIds(boxed(tokenizer.apply(submission.getRewriteText()))))
          .addAllResponses(comparison.getResponsesList()).build();
      rewriteLabel = Label.newBuilder().setId(rewriteId).setComparisonId(rewrite.getId())
          .setChosenResponseId(REWRITE_RESPONSE_ID).setSource(FeedbackSource.FEEDBACK_SOURCE_HUMAN).setRaterId(rater)
          .setTaskId(task.id()).setConfidence(1.0).setRationale("rewrite of response " + original).build();
    }
    try {
      StoredLabel stored = store.tasks().label(task.id(), label.build(), rewrite, rewriteLabel, nowMs);
      return LabelReceipt.newBuilder().setLabelId(stored.label().getId()).setCreated(stored.created()).build();
    } catch (TaskQueue.TaskStateException e) {
      return refused(e.notFound() ? RefusalKind.REFUSAL_KIND_NOT_FOUND : RefusalKind.REFUSAL_KIND_CONFLICT, e.getMessage());
    } catch (IllegalArgumentException e) {
      return refused(RefusalKind.REFUSAL_KIND_INVALID, e.getMessage());
    }
  }

  /** Undoes the rater's own label (another rater's is "not found") until a training step consumed it. */
  public TaskAck undo(String rater, String labelId) {
    Optional<Label> label = store.label(labelId);
    if (label.isEmpty() || !label.get().getRaterId().equals(rater) || label.get().getSource() != FeedbackSource.FEEDBACK_SOURCE_HUMAN) {
      return TaskAck.newBuilder().setRefusal(RefusalKind.REFUSAL_KIND_NOT_FOUND).setError("no label " + labelId + " of yours").build();
    }
    LabelDeletion outcome = store.deleteLabel(labelId);
    return switch (outcome) {
      case DELETED -> TaskAck.newBuilder().setOk(true).build();
      case NOT_FOUND -> TaskAck.newBuilder().setRefusal(RefusalKind.REFUSAL_KIND_NOT_FOUND).setError("no label " + labelId + " of yours").build();
      case CONSUMED -> TaskAck.newBuilder().setRefusal(RefusalKind.REFUSAL_KIND_CONFLICT)
          .setError("label " + labelId + " was consumed by a training step: it can no longer be undone").build();
    };
  }

  public TaskAck skip(String rater, String taskId, long nowMs) {
    return store.tasks().skip(taskId, rater, nowMs) ? TaskAck.newBuilder().setOk(true).build()
        : TaskAck.newBuilder().setRefusal(RefusalKind.REFUSAL_KIND_NOT_FOUND).setError("no task " + taskId).build();
  }

  /**
   * A rewrite's token ids as a policy's response would have them: the text's tokens without a leading
   * BOS, ended by EOS (so that a DPO step learns to stop where the rater stopped).
   */
  public static Function<String, long[]> responseTokens(dev.troupe.model.tokenizer.Tokenizer tokenizer) {
    return text -> {
      long[] ids = tokenizer.encode(text);
      int from = ids.length > 0 && tokenizer.bosId().isPresent() && ids[0] == tokenizer.bosId().getAsLong() ? 1 : 0;
      boolean addEos = tokenizer.eosId().isPresent() && (ids.length == from || ids[ids.length - 1] != tokenizer.eosId().getAsLong());
      long[] out = java.util.Arrays.copyOfRange(ids, from, ids.length + (addEos ? 1 : 0));
      if (addEos) {
        out[out.length - 1] = tokenizer.eosId().getAsLong();
      }
      return out;
    };
  }

  // ---------------------------------------------------------------- aliases

  /** The comparison's response ids in the order this rater sees them, as "a", "b", ... (a shuffle seeded by task and rater). */
  static List<String> aliases(Comparison comparison, String taskId, String rater) {
    List<String> ids = new ArrayList<>(comparison.getResponsesList().stream().map(Response::getId).toList());
    if (comparison.getResponsesCount() > 1) {
      java.util.Collections.shuffle(ids, new Random(digest(taskId + "\n" + rater)));
    }
    return ids;
  }

  private static Comparison aliased(Comparison comparison, String taskId, String rater) {
    List<String> order = aliases(comparison, taskId, rater);
    Comparison.Builder out = comparison.toBuilder().clearResponses();
    for (int i = 0; i < order.size(); i++) {
      String id = order.get(i);
      Response r = comparison.getResponsesList().stream().filter(x -> x.getId().equals(id)).findFirst().orElseThrow();
      out.addResponses(Response.newBuilder().setId(alias(i)).setText(r.getText()));
    }
    return out.build();
  }

  private static String unalias(String alias, List<String> order, Comparison comparison) {
    for (int i = 0; i < order.size(); i++) {
      if (alias(i).equals(alias)) {
        return order.get(i);
      }
    }
    return null;
  }

  private static List<String> sortedAliases(List<String> order) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < order.size(); i++) {
      out.add(alias(i));
    }
    return out;
  }

  static String alias(int index) {
    return String.valueOf((char) ('a' + index));
  }

  /** A URL-safe task id derived from the comparison: the same comparison is queued once per prefix. */
  static String taskId(String prefix, String comparisonId) {
    return prefix + "-" + HexFormat.of().formatHex(sha256(comparisonId)).substring(0, 24);
  }

  private static long digest(String text) {
    byte[] h = sha256(text);
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (h[i] & 0xff);
    }
    return v;
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  private static List<Long> boxed(long[] ids) {
    List<Long> out = new ArrayList<>(ids.length);
    for (long id : ids) {
      out.add(id);
    }
    return out;
  }

  private static LabelReceipt refused(RefusalKind kind, String error) {
    return LabelReceipt.newBuilder().setRefusal(kind).setError(error).build();
  }
}
