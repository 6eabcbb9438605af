package dev.troupe.actors.store;

import static dev.troupe.actors.store.CampaignStore.rows;
import static dev.troupe.actors.store.CampaignStore.update;

import dev.troupe.actors.store.CampaignStore.TypedNull;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.Label;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The raters' task queue in the campaign store: tasks (a stored comparison to judge, with its
 * priority, overlap and, for a gold item, the known answer) and assignments (a rater's lease, label or
 * skip of a task). All of it lives in the database, so a restarted server, or a second process on the
 * same store, serves the same queue; leases that run out put a task back by no action of anyone.
 */
public final class TaskQueue {
  private static final String TASK_COLUMNS = "t.id, t.comparison_id, t.kind, t.loop, t.adapter_version, t.max_staleness,"
      + " t.priority, t.overlap, t.gold_response_id, t.reward_margin, t.ai_choice, t.created_ms, t.retired_ms";

  /** What a rater is asked to do with a task's comparison. */
  public enum Kind {
    /** Two responses: which is better, by how much (or a tie, or both bad). */
    PAIRWISE,
    /** Three or more responses, ordered best first. */
    RANKING,
    /** One response (the comparison's first) rated 1 to 7. */
    LIKERT;

    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Kind parse(String name) {
      return valueOf(name.toUpperCase(Locale.ROOT));
    }
  }

  /**
   * A task. {@code loop} and {@code adapterVersion} name the policy that wrote its responses (null:
   * none); it is retired when that version falls more than {@code maxStaleness} behind the loop's
   * latest trained version. {@code goldResponseId} is a gold item's known answer; {@code rewardMargin}
   * the reward model's score of the first response minus the second; {@code aiChoice} the AI judge's
   * chosen response id (null when unknown).
   */
  public record Task(String id, String comparisonId, Kind kind, String loop, Long adapterVersion, Long maxStaleness,
      double priority, int overlap, String goldResponseId, Double rewardMargin, String aiChoice, long createdMs,
      Long retiredMs) {
    public Task {
      if (id == null || id.isEmpty() || comparisonId == null || comparisonId.isEmpty()) {
        throw new IllegalArgumentException("a task needs an id and a comparison id");
      }
      if (overlap < 1) {
        throw new IllegalArgumentException("task " + id + " has overlap " + overlap + ": expected 1 or more");
      }
      if ((loop == null) != (adapterVersion == null)) {
        throw new IllegalArgumentException("task " + id + ": loop and adapter version go together");
      }
    }

    public boolean gold() {
      return goldResponseId != null;
    }
  }

  /** A rater's lease on a task, with the comparison to show. */
  public record Lease(Task task, Comparison comparison, long leasedMs, long expiresMs) {}

  /** A labelled assignment: who labelled which task, when the lease began, and the label. */
  public record Answer(Task task, Comparison comparison, String raterId, long leasedMs, Label label) {}

  /** The queue at a glance: tasks not retired, of which gold; live leases; labels and skips given. */
  public record Counts(long open, long gold, long leased, long labelled, long skipped, long retired) {}

  /** A label refused because of the task's state; {@link #notFound} tells which way. */
  public static final class TaskStateException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final boolean notFound;

    TaskStateException(String message, boolean notFound) {
      super(message);
      this.notFound = notFound;
    }

    public boolean notFound() {
      return notFound;
    }
  }

  private final CampaignStore store;

  TaskQueue(CampaignStore store) {
    this.store = store;
  }

  /** Adds tasks whose ids are new (an id already queued is left as it is); returns how many were added. */
  public int enqueue(List<Task> tasks) {
    return store.write("queueing " + tasks.size() + " task(s)", c -> {
      int added = 0;
      for (Task t : tasks) {
        added += update(c, "INSERT INTO tasks (id, comparison_id, kind, loop, adapter_version, max_staleness, priority,"
                + " overlap, gold_response_id, reward_margin, ai_choice, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                + " ON CONFLICT DO NOTHING",
            t.id(), t.comparisonId(), t.kind().configName(), t.loop(), nullable(t.adapterVersion()),
            nullable(t.maxStaleness()), t.priority(), t.overlap(), t.goldResponseId(), nullable(t.rewardMargin()),
            t.aiChoice(), t.createdMs());
      }
      return added;
    });
  }

  public Optional<Task> task(String id) {
    return store.query("reading task " + id, c -> rows(c, "SELECT " + TASK_COLUMNS + " FROM tasks t WHERE t.id = ?",
        new Object[] {id}, TaskQueue::task)).stream().findFirst();
  }

  /**
   * The task {@code rater} should do now, leased to them until {@code nowMs + leaseMs}: the rater's
   * live lease if there is one; otherwise, when {@code goldDue}, a gold item they have not done, and
   * else the open task of highest priority (oldest first among equals) that they have not labelled or
   * skipped and whose live leases and labels by others are fewer than its overlap. Stale tasks are
   * retired first. Empty when nothing is due.
   */
  public Optional<Lease> lease(String rater, long nowMs, long leaseMs, boolean goldDue) {
    return store.write("leasing a task to " + rater, c -> {
      retireStale(c, nowMs);
      List<Lease> held = rows(c, "SELECT " + TASK_COLUMNS + ", c.body, a.leased_ms FROM assignments a"
              + " JOIN tasks t ON t.id = a.task_id JOIN comparisons c ON c.id = t.comparison_id"
              + " WHERE a.rater_id = ? AND a.state = 'leased' AND a.expires_ms > ? AND t.retired_ms IS NULL"
              + " ORDER BY a.leased_ms, t.seq LIMIT 1",
          new Object[] {rater, nowMs}, r -> new Lease(task(r), CampaignStore.parseComparison(r.getBytes(14)), r.getLong(15), 0));
      Lease found = held.isEmpty() ? null : held.get(0);
      if (found == null) {
        String goldFilter = goldDue ? "" : " AND t.gold_response_id IS NULL";
        List<Lease> candidates = rows(c, "SELECT " + TASK_COLUMNS + ", c.body FROM tasks t"
                + " JOIN comparisons c ON c.id = t.comparison_id"
                + " WHERE t.retired_ms IS NULL" + goldFilter
                + " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.rater_id = ? AND a.state <> 'leased')"
                + " AND (t.gold_response_id IS NOT NULL OR (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id"
                + " AND a.rater_id <> ? AND (a.state = 'labelled' OR (a.state = 'leased' AND a.expires_ms > ?))) < t.overlap)"
                + " ORDER BY CASE WHEN t.gold_response_id IS NULL THEN 1 ELSE 0 END, t.priority DESC, t.seq LIMIT 1",
            new Object[] {rater, rater, nowMs}, r -> new Lease(task(r), CampaignStore.parseComparison(r.getBytes(14)), nowMs, 0));
        if (candidates.isEmpty()) {
          return Optional.<Lease>empty();
        }
        found = candidates.get(0);
      }
      long expires = nowMs + leaseMs;
      update(c, "INSERT INTO assignments (task_id, rater_id, state, leased_ms, expires_ms) VALUES (?, ?, 'leased', ?, ?)"
              + " ON CONFLICT (task_id, rater_id) DO UPDATE SET expires_ms = excluded.expires_ms,"
              + " leased_ms = CASE WHEN assignments.expires_ms > ? THEN assignments.leased_ms ELSE excluded.leased_ms END",
          found.task().id(), rater, found.leasedMs(), expires, nowMs);
      return Optional.of(new Lease(found.task(), found.comparison(), found.leasedMs(), expires));
    });
  }

  /** Retires tasks whose responses' version is more than their max staleness behind their loop's latest trained version. */
  public int retireStale(long nowMs) {
    return store.write("retiring stale tasks", c -> retireStale(c, nowMs));
  }

  private static int retireStale(Connection c, long nowMs) throws SQLException {
    return update(c, "UPDATE tasks SET retired_ms = ? WHERE retired_ms IS NULL AND loop IS NOT NULL"
        + " AND adapter_version < (SELECT MAX(g.adapter_version) FROM ledger g WHERE g.loop = tasks.loop) - max_staleness",
        nowMs);
  }

  /** A rater passes on a task (it is not shown to them again); false when the task does not exist. */
  public boolean skip(String taskId, String rater, long nowMs) {
    return store.write("skipping task " + taskId + " for " + rater, c -> {
      if (rows(c, "SELECT 1 FROM tasks WHERE id = ?", new Object[] {taskId}, r -> 1).isEmpty()) {
        return false;
      }
      update(c, "INSERT INTO assignments (task_id, rater_id, state, leased_ms, expires_ms, done_ms)"
              + " VALUES (?, ?, 'skipped', ?, ?, ?) ON CONFLICT (task_id, rater_id) DO UPDATE SET state = 'skipped',"
              + " done_ms = excluded.done_ms WHERE assignments.state = 'leased'",
          taskId, rater, nowMs, nowMs, nowMs);
      return true;
    });
  }

  /**
   * Stores a rater's label of a task, and the label of their rewrite when there is one (a new
   * comparison whose rewritten response is chosen), and marks the task labelled by them: one
   * transaction, committed when this returns. A label whose client id the rater already used returns
   * the stored label ({@code created = false}) and changes nothing.
   *
   * @throws TaskStateException when the task does not exist, or the rater already labelled it otherwise
   * @throws IllegalArgumentException naming what is wrong with the label (a response the comparison lacks)
   */
  public StoredLabel label(String taskId, Label label, Comparison rewrite, Label rewriteLabel, long nowMs) {
    String rater = label.getRaterId();
    return store.write("storing label " + label.getId() + " of task " + taskId, c -> {
      if (!label.getClientId().isEmpty()) {
        Optional<Label> same = CampaignStore.labelWhere(c, "rater_id = ? AND client_id = ?", rater, label.getClientId());
        if (same.isPresent()) {
          return new StoredLabel(same.get(), false);
        }
      }
      List<Task> tasks = rows(c, "SELECT " + TASK_COLUMNS + " FROM tasks t WHERE t.id = ?", new Object[] {taskId},
          TaskQueue::task);
      if (tasks.isEmpty()) {
        throw new TaskStateException("task " + taskId + " does not exist", true);
      }
      if (!tasks.get(0).comparisonId().equals(label.getComparisonId())) {
        throw new IllegalArgumentException("label " + label.getId() + " judges comparison " + label.getComparisonId()
            + " but task " + taskId + " shows comparison " + tasks.get(0).comparisonId());
      }
      List<String> earlier = rows(c, "SELECT label_id FROM assignments WHERE task_id = ? AND rater_id = ? AND state = 'labelled'",
          new Object[] {taskId, rater}, r -> r.getString(1));
      if (!earlier.isEmpty()) {
        throw new TaskStateException("task " + taskId + " is already labelled by " + rater + " (label " + earlier.get(0)
            + "): undo that label first", false);
      }
      StoredLabel stored = store.storeLabel(c, label);
      if (rewrite != null) {
        store.storeComparison(c, rewrite);
        store.storeLabel(c, rewriteLabel);
      }
      update(c, "INSERT INTO assignments (task_id, rater_id, state, leased_ms, expires_ms, label_id, done_ms)"
              + " VALUES (?, ?, 'labelled', ?, ?, ?, ?) ON CONFLICT (task_id, rater_id) DO UPDATE SET state = 'labelled',"
              + " label_id = excluded.label_id, done_ms = excluded.done_ms",
          taskId, rater, nowMs, nowMs, stored.label().getId(), nowMs);
      return stored;
    });
  }

  /** How many tasks {@code rater} has labelled (gold items included). */
  public long labelledBy(String rater) {
    return store.query("counting the labels of " + rater, c -> rows(c,
        "SELECT COUNT(*) FROM assignments WHERE rater_id = ? AND state = 'labelled'", new Object[] {rater},
        r -> r.getLong(1)).get(0));
  }

  /** How many tasks {@code rater} has labelled or skipped (what decides when a gold item is due). */
  public long doneBy(String rater) {
    return store.query("counting the tasks done by " + rater, c -> rows(c,
        "SELECT COUNT(*) FROM assignments WHERE rater_id = ? AND state <> 'leased'", new Object[] {rater},
        r -> r.getLong(1)).get(0));
  }

  /** Every labelled assignment with its task, comparison and label, in label order. */
  public List<Answer> answers() {
    return store.query("reading the raters' answers", c -> rows(c,
        "SELECT " + TASK_COLUMNS + ", c.body, a.rater_id, a.leased_ms, l.body FROM assignments a"
            + " JOIN tasks t ON t.id = a.task_id JOIN comparisons c ON c.id = t.comparison_id"
            + " JOIN labels l ON l.id = a.label_id WHERE a.state = 'labelled' ORDER BY l.seq",
        new Object[0], r -> new Answer(task(r), CampaignStore.parseComparison(r.getBytes(14)), r.getString(15),
            r.getLong(16), CampaignStore.parseLabel(r.getBytes(17)))));
  }

  /** The task a label answers, when it answers one. */
  public Optional<String> taskOfLabel(String labelId) {
    return store.query("reading the task of label " + labelId, c -> rows(c,
        "SELECT task_id FROM assignments WHERE label_id = ?", new Object[] {labelId}, r -> r.getString(1)))
        .stream().findFirst();
  }

  public Counts counts(long nowMs) {
    return store.query("counting the queue", c -> {
      long[] t = rows(c, "SELECT COUNT(*), SUM(CASE WHEN gold_response_id IS NULL THEN 0 ELSE 1 END) FROM tasks"
          + " WHERE retired_ms IS NULL", new Object[0], r -> new long[] {r.getLong(1), r.getLong(2)}).get(0);
      long retired = rows(c, "SELECT COUNT(*) FROM tasks WHERE retired_ms IS NOT NULL", new Object[0], r -> r.getLong(1)).get(0);
      long[] a = rows(c, "SELECT SUM(CASE WHEN state = 'leased' AND expires_ms > ? THEN 1 ELSE 0 END),"
          + " SUM(CASE WHEN state = 'labelled' THEN 1 ELSE 0 END), SUM(CASE WHEN state = 'skipped' THEN 1 ELSE 0 END)"
          + " FROM assignments", new Object[] {nowMs}, r -> new long[] {r.getLong(1), r.getLong(2), r.getLong(3)}).get(0);
      return new Counts(t[0], t[1], a[0], a[1], a[2], retired);
    });
  }

  private static Task task(ResultSet r) throws SQLException {
    return new Task(r.getString(1), r.getString(2), Kind.parse(r.getString(3)), r.getString(4), nullableLong(r, 5),
        nullableLong(r, 6), r.getDouble(7), r.getInt(8), r.getString(9), nullableDouble(r, 10), r.getString(11),
        r.getLong(12), nullableLong(r, 13));
  }

  private static Long nullableLong(ResultSet r, int column) throws SQLException {
    long v = r.getLong(column);
    return r.wasNull() ? null : v;
  }

  private static Double nullableDouble(ResultSet r, int column) throws SQLException {
    double v = r.getDouble(column);
    return r.wasNull() ? null : v;
  }

  private static Object nullable(Long value) {
    return value == null ? new TypedNull(Types.BIGINT) : value;
  }

  private static Object nullable(Double value) {
    return value == null ? new TypedNull(Types.DOUBLE) : value;
  }
}
