package dev.troupe.actors.store;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.LedgerEntry;
import dev.troupe.protocol.MetricsReport;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Response;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The campaign's durable state over JDBC: comparisons, labels, the ledger of what each training step
 * consumed, checkpoint records and metrics. Thread-safe: several loop actors call it at once.
 *
 * <p>An embedded SQLite file by default ({@link #defaultUrl}), PostgreSQL by URL; the schema comes
 * from Flyway migrations under {@code db/migration/<dialect>}. Every write is committed when its
 * method returns. The ledger makes "consumed at most once per loop" a primary key, and a step's
 * ledger rows and its checkpoint record commit in one transaction ({@link #commitStep}), so a crash
 * never loses or double-counts an item.
 */
public final class CampaignStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CampaignStore.class);
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
  private static final String LEDGER_COLUMNS = "loop, step, kind, item_id, adapter_version, consumed_ms";

  /** One item a step consumed: {@code kind} is {@link #ROLLOUT} or {@link #LABEL} (a pair is its label). */
  public record LedgerItem(String kind, String id) {
    public static final String ROLLOUT = "rollout";
    public static final String LABEL = "label";

    public LedgerItem {
      if (!ROLLOUT.equals(kind) && !LABEL.equals(kind)) {
        throw new IllegalArgumentException("ledger item kind is \"" + kind + "\": expected \"rollout\" or \"label\"");
      }
      if (id == null || id.isEmpty()) {
        throw new IllegalArgumentException("ledger item of kind " + kind + " has an empty id");
      }
    }

    public static LedgerItem rollout(String id) {
      return new LedgerItem(ROLLOUT, id);
    }

    public static LedgerItem label(String id) {
      return new LedgerItem(LABEL, id);
    }
  }

  /**
   * A loop's checkpoint on disk after {@code step}: its folder and the sha-256 (64 lowercase hex
   * digits) of its manifest, so that a resume can tell a checkpoint from a half-written one.
   */
  public record CheckpointRecord(String loop, long step, String path, String manifestSha256, long createdMs) {
    public CheckpointRecord {
      requireName("checkpoint loop", loop);
      if (path == null || path.isEmpty()) {
        throw new IllegalArgumentException("checkpoint of loop " + loop + " at step " + step + " has an empty path");
      }
      if (manifestSha256 == null || !SHA256_HEX.matcher(manifestSha256).matches()) {
        throw new IllegalArgumentException("checkpoint of loop " + loop + " at step " + step
            + " has manifestSha256 \"" + manifestSha256 + "\": expected 64 lowercase hex digits");
      }
    }
  }

  private final StoreUrl url;
  private final StoreDatabase db;
  private final String campaignId;
  private final Users users;
  private final TaskQueue tasks;

  private CampaignStore(StoreUrl url, StoreDatabase db, String campaignId) {
    this.url = url;
    this.db = db;
    this.campaignId = campaignId;
    this.users = new Users(this);
    this.tasks = new TaskQueue(this);
  }

  /** The feedback UI's accounts and sessions in this store. */
  public Users users() {
    return users;
  }

  /** The raters' task queue in this store. */
  public TaskQueue tasks() {
    return tasks;
  }

  /**
   * Opens the store at {@code jdbcUrl} ({@code jdbc:sqlite:FILE}, whose folder is created, or
   * {@code jdbc:postgresql://...}), creating and migrating its tables with Flyway. {@code user} and
   * {@code password} may be null (SQLite needs neither).
   *
   * @throws IllegalArgumentException for a URL the store cannot use, naming it (password masked)
   * @throws IllegalStateException when the database cannot be reached or migrated, naming the URL and the cause
   */
  public static CampaignStore open(String jdbcUrl, String user, String password) {
    StoreUrl url = StoreUrl.parse(jdbcUrl);
    StoreDatabase db = connect(url, user, password);
    try {
      int applied = migrate(url, db);
      String id = db.inTransaction(CampaignStore::ensureCampaignId);
      log.info("campaign store {} open: campaign {}, {} migration(s) applied now", url, id, applied);
      return new CampaignStore(url, db, id);
    } catch (SQLException e) {
      db.close();
      throw new IllegalStateException("campaign store " + url + ": reading the campaign id failed: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      db.close();
      throw e;
    }
  }

  /** The default store of a run: {@code jdbc:sqlite:<runDir>/campaign.db}. */
  public static String defaultUrl(Path runDir) {
    return "jdbc:sqlite:" + runDir.resolve("campaign.db");
  }

  /** A random UUID made at the first open of this database, the same ever after. */
  public String campaignId() {
    return campaignId;
  }

  // ---------------------------------------------------------------- comparisons and labels

  /**
   * Stores a comparison. Idempotent: the same comparison again is a no-op; different content under
   * an id already stored is an error naming the id.
   */
  public void putComparison(Comparison comparison) {
    validate(comparison);
    write("storing comparison " + comparison.getId(), c -> {
      storeComparison(c, comparison);
      return null;
    });
  }

  void storeComparison(Connection c, Comparison comparison) throws SQLException {
    int inserted = update(c,
        "INSERT INTO comparisons (id, prompt_id, created_ms, body) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        comparison.getId(), comparison.getPrompt().getId(), System.currentTimeMillis(), comparison.toByteArray());
    if (inserted == 0) {
      Comparison stored = comparisonIn(c, comparison.getId()).orElseThrow();
      if (!stored.equals(comparison)) {
        throw new IllegalStateException("comparison " + comparison.getId() + " is already stored with different content");
      }
    }
  }

  /**
   * Stores comparisons and their labels (label i judges comparison i), as {@link #putComparison} and
   * {@link #putLabel} would, in one transaction: a judge's verdicts on a loop's step cost one commit.
   */
  public List<StoredLabel> putLabelled(List<Comparison> comparisons, List<Label> labels) {
    if (comparisons.size() != labels.size()) {
      throw new IllegalArgumentException(comparisons.size() + " comparisons but " + labels.size() + " labels");
    }
    comparisons.forEach(CampaignStore::validate);
    labels.forEach(CampaignStore::validate);
    return write("storing " + labels.size() + " labelled comparisons", c -> {
      List<StoredLabel> out = new ArrayList<>(labels.size());
      for (int i = 0; i < labels.size(); i++) {
        storeComparison(c, comparisons.get(i));
        out.add(storeLabel(c, labels.get(i)));
      }
      return out;
    });
  }

  /**
   * Stores labelled pairs (each comparison and its label, as {@link #putComparison} and {@link #putLabel}
   * would) in one transaction: a dataset of thousands of pairs costs one commit, not two per pair.
   */
  public void putPairs(List<PreferencePair> pairs) {
    for (PreferencePair p : pairs) {
      validate(p.getComparison());
      validate(p.getLabel());
    }
    write("storing " + pairs.size() + " labelled pairs", c -> {
      for (PreferencePair p : pairs) {
        storeComparison(c, p.getComparison());
        storeLabel(c, p.getLabel());
      }
      return null;
    });
  }

  public Optional<Comparison> comparison(String id) {
    return query("reading comparison " + id, c -> comparisonIn(c, id));
  }

  /**
   * Stores a label of a stored comparison, committed when this returns. A created_ms of 0 is set to
   * now. Idempotent: a label whose non-empty client_id its rater already used returns the stored
   * label ({@code created = false}), whatever its id; the same label id again returns the stored one
   * when the content matches (created_ms aside) and is an error otherwise.
   *
   * @throws IllegalArgumentException naming the label and what is wrong: no id, no source, no
   *     judgement, a comparison that is not stored, a chosen response the comparison does not have
   */
  public StoredLabel putLabel(Label label) {
    validate(label);
    return write("storing label " + label.getId(), c -> storeLabel(c, label));
  }

  StoredLabel storeLabel(Connection c, Label label) throws SQLException {
    {
      Comparison comparison = comparisonIn(c, label.getComparisonId())
          .orElseThrow(() -> new IllegalArgumentException("label " + label.getId() + " judges comparison "
              + label.getComparisonId() + ", which is not in the store (putComparison first)"));
      requireChosenResponse(label, comparison);
      Label stamped = label.getCreatedMs() != 0 ? label : label.toBuilder().setCreatedMs(System.currentTimeMillis()).build();
      int inserted = update(c,
          "INSERT INTO labels (id, comparison_id, source, rater_id, client_id, pairable, created_ms, body)"
              + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          stamped.getId(), stamped.getComparisonId(), stamped.getSourceValue(), stamped.getRaterId(),
          stamped.getClientId().isEmpty() ? null : stamped.getClientId(), isPairable(stamped),
          stamped.getCreatedMs(), stamped.toByteArray());
      if (inserted == 1) {
        return new StoredLabel(stamped, true);
      }
      if (!label.getClientId().isEmpty()) {
        Optional<Label> sameSubmission = labelWhere(c, "rater_id = ? AND client_id = ?", label.getRaterId(), label.getClientId());
        if (sameSubmission.isPresent()) {
          return new StoredLabel(sameSubmission.get(), false);
        }
      }
      Label stored = labelWhere(c, "id = ?", label.getId()).orElseThrow(() -> new IllegalStateException(
          "label " + label.getId() + " conflicted with a stored label that is gone now (deleted meanwhile): submit it again"));
      if (!withoutCreatedMs(stored).equals(withoutCreatedMs(label))) {
        throw new IllegalStateException("label id " + label.getId() + " is already stored with different content");
      }
      return new StoredLabel(stored, false);
    }
  }

  public Optional<Label> label(String id) {
    return query("reading label " + id, c -> labelWhere(c, "id = ?", id));
  }

  /**
   * Undoes a label: {@link LabelDeletion#DELETED}, {@link LabelDeletion#NOT_FOUND}, or
   * {@link LabelDeletion#CONSUMED} when a training step consumed it (it then stays). The label of a
   * rater's rewrite ({@link #rewriteLabelId}) goes with it, and the task it answered is due again.
   */
  public LabelDeletion deleteLabel(String labelId) {
    try {
      // The ledger's foreign key decides, inside the database: a step committing this label at the
      // same moment either commits first (the delete then fails) or finds the label gone.
      int deleted = db.inTransaction(c -> {
        update(c, "DELETE FROM assignments WHERE label_id IN (?, ?)", labelId, rewriteLabelId(labelId));
        update(c, "DELETE FROM labels WHERE id = ?", rewriteLabelId(labelId));
        return update(c, "DELETE FROM labels WHERE id = ?", labelId);
      });
      return deleted == 1 ? LabelDeletion.DELETED : LabelDeletion.NOT_FOUND;
    } catch (SQLException e) {
      if (db.isForeignKeyViolation(e)) {
        return LabelDeletion.CONSUMED;
      }
      throw failure("deleting label " + labelId, e);
    }
  }

  /** The id of the label that holds a rater's rewrite made with label {@code labelId}. */
  public static String rewriteLabelId(String labelId) {
    return labelId + ".rewrite";
  }

  /**
   * Labelled comparisons usable as pairs (a chosen response; no tie, no both_bad) from
   * {@code sources} that {@code loop} has not consumed, at most {@code limit}: human labels first,
   * then the others, each oldest first (insertion order), so that a rater's label reaches the next
   * training step of a loop that also reads a large stored dataset. Each pair's id is its label's id.
   */
  public List<PreferencePair> unconsumedPairs(String loop, Set<FeedbackSource> sources, int limit) {
    requireName("loop", loop);
    if (limit < 0) {
      throw new IllegalArgumentException("unconsumedPairs limit is " + limit + ": expected 0 or more");
    }
    if (sources.isEmpty() || limit == 0) {
      return List.of();
    }
    List<Object> args = new ArrayList<>();
    args.add(true);
    sources.stream().map(FeedbackSource::getNumber).forEach(args::add);
    args.add(loop);
    args.add(limit);
    String sql = "SELECT c.body, l.body FROM labels l JOIN comparisons c ON c.id = l.comparison_id"
        + " WHERE l.pairable = ? AND l.source IN (" + placeholders(sources.size()) + ")"
        + " AND NOT EXISTS (SELECT 1 FROM ledger g WHERE g.loop = ? AND g.kind = 'label' AND g.item_id = l.id)"
        + " ORDER BY CASE WHEN l.source = " + FeedbackSource.FEEDBACK_SOURCE_HUMAN_VALUE + " THEN 0 ELSE 1 END, l.seq"
        + " LIMIT ?";
    return query("reading unconsumed pairs of loop " + loop, c -> rows(c, sql, args.toArray(), r -> {
      Label label = parseLabel(r.getBytes(2));
      return PreferencePair.newBuilder()
          .setId(label.getId())
          .setComparison(parseComparison(r.getBytes(1)))
          .setLabel(label)
          .build();
    }));
  }

  /**
   * Every label from {@code sources} with its comparison, oldest first, at most {@code limit}: only
   * those usable as pairs when {@code pairableOnly} (what a gold item or a preference export needs).
   */
  public List<PreferencePair> labelled(Set<FeedbackSource> sources, boolean pairableOnly, int limit) {
    if (sources.isEmpty() || limit <= 0) {
      return List.of();
    }
    List<Object> args = new ArrayList<>();
    sources.stream().map(FeedbackSource::getNumber).forEach(args::add);
    args.add(limit);
    String sql = "SELECT c.body, l.body FROM labels l JOIN comparisons c ON c.id = l.comparison_id"
        + " WHERE l.source IN (" + placeholders(sources.size()) + ")" + (pairableOnly ? " AND l.pairable = " + sqlTrue() : "")
        + " ORDER BY l.seq LIMIT ?";
    return query("reading labelled comparisons", c -> rows(c, sql, args.toArray(), r -> {
      Label label = parseLabel(r.getBytes(2));
      return PreferencePair.newBuilder().setId(label.getId()).setComparison(parseComparison(r.getBytes(1)))
          .setLabel(label).build();
    }));
  }

  /** The labels of a comparison, oldest first. */
  public List<Label> labelsOfComparison(String comparisonId) {
    return query("reading the labels of comparison " + comparisonId, c -> rows(c,
        "SELECT body FROM labels WHERE comparison_id = ? ORDER BY seq", new Object[] {comparisonId}, r -> parseLabel(r.getBytes(1))));
  }

  /** {@code rater}'s labels, newest first. */
  public List<Label> labelsOf(String rater) {
    return query("reading the labels of " + rater, c -> rows(c,
        "SELECT body FROM labels WHERE rater_id = ? ORDER BY seq DESC", new Object[] {rater}, r -> parseLabel(r.getBytes(1))));
  }

  /** The latest adapter version each loop's training steps produced (from the ledger). */
  public java.util.Map<String, Long> latestAdapterVersions() {
    java.util.Map<String, Long> out = new java.util.TreeMap<>();
    query("reading the loops' latest versions", c -> rows(c, "SELECT loop, MAX(adapter_version) FROM ledger GROUP BY loop",
        new Object[0], r -> out.put(r.getString(1), r.getLong(2))));
    return out;
  }

  private String sqlTrue() {
    return url.dialect() == StoreUrl.Dialect.POSTGRESQL ? "TRUE" : "1";
  }

  public long countLabels(FeedbackSource source) {
    return query("counting " + source + " labels", c -> rows(c, "SELECT COUNT(*) FROM labels WHERE source = ?",
        new Object[] {source.getNumber()}, r -> r.getLong(1)).get(0));
  }

  /** The labels from {@code source}, oldest first. */
  public List<Label> labels(FeedbackSource source) {
    return query("reading " + source + " labels", c -> rows(c, "SELECT body FROM labels WHERE source = ? ORDER BY seq",
        new Object[] {source.getNumber()}, r -> parseLabel(r.getBytes(1))));
  }

  // ---------------------------------------------------------------- the ledger and checkpoints

  /**
   * Commits training step {@code step} of {@code loop} in one transaction: a ledger row per item
   * (recording {@code adapterVersion}, the version the step updated) and, when {@code checkpoint}
   * is not null, the checkpoint written after this step. Nothing is committed when anything fails.
   *
   * @throws DuplicateConsumptionException when the loop already consumed an item (or the list names one twice)
   * @throws MissingLabelException when a label item is not in the store
   * @throws IllegalStateException when the loop already committed a later step (resume with
   *     {@link #rollbackAfter} first) or already has a checkpoint record at this step
   */
  public void commitStep(String loop, long step, long adapterVersion, List<LedgerItem> items, CheckpointRecord checkpoint) {
    requireName("loop", loop);
    Objects.requireNonNull(items, "items");
    if (checkpoint != null && (!checkpoint.loop().equals(loop) || checkpoint.step() != step)) {
      throw new IllegalArgumentException("commitStep of loop " + loop + " step " + step + " carries the checkpoint of loop "
          + checkpoint.loop() + " step " + checkpoint.step() + ": a step commits its own checkpoint");
    }
    write("committing step " + step + " of loop " + loop, c -> {
      Long latest = rows(c, "SELECT MAX(step) FROM (SELECT step FROM ledger WHERE loop = ?"
          + " UNION ALL SELECT step FROM checkpoints WHERE loop = ?) AS committed",
          new Object[] {loop, loop}, r -> {
            long max = r.getLong(1);
            return r.wasNull() ? null : max;
          }).get(0);
      if (latest != null && step < latest) {
        throw new IllegalStateException("loop " + loop + " already committed step " + latest + ", so step " + step
            + " cannot follow it: call rollbackAfter(" + loop + ", <checkpoint step>) when resuming");
      }
      long now = System.currentTimeMillis();
      for (LedgerItem item : items) {
        insertLedgerRow(c, loop, step, adapterVersion, item, now);
      }
      if (checkpoint != null) {
        int inserted = update(c, "INSERT INTO checkpoints (loop, step, path, manifest_sha256, created_ms)"
            + " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            loop, step, checkpoint.path(), checkpoint.manifestSha256(), checkpoint.createdMs());
        if (inserted == 0) {
          throw new IllegalStateException("loop " + loop + " already has a checkpoint record at step " + step);
        }
      }
      return null;
    });
  }

  public Optional<CheckpointRecord> latestCheckpoint(String loop) {
    return checkpoints(loop).stream().findFirst();
  }

  /** The loop's checkpoint records, newest (highest step) first. */
  public List<CheckpointRecord> checkpoints(String loop) {
    return query("reading checkpoints of loop " + loop, c -> rows(c,
        "SELECT loop, step, path, manifest_sha256, created_ms FROM checkpoints WHERE loop = ? ORDER BY step DESC",
        new Object[] {loop},
        r -> new CheckpointRecord(r.getString(1), r.getLong(2), r.getString(3), r.getString(4), r.getLong(5))));
  }

  /** Drops a checkpoint record (one found corrupt or pruned on disk); the ledger keeps its rows. */
  public void forgetCheckpoint(String loop, long step) {
    write("forgetting checkpoint " + step + " of loop " + loop,
        c -> update(c, "DELETE FROM checkpoints WHERE loop = ? AND step = ?", loop, step));
  }

  /**
   * On resume from the checkpoint after {@code step} (below 0: from scratch): deletes, in one
   * transaction, the loop's ledger rows of later steps (their items are unconsumed again), its
   * checkpoint records of later steps and its metrics of later steps, which described a run that is
   * now undone. Returns the number of ledger rows deleted.
   */
  public int rollbackAfter(String loop, long step) {
    requireName("loop", loop);
    int deleted = write("rolling loop " + loop + " back to step " + step, c -> {
      int rows = update(c, "DELETE FROM ledger WHERE loop = ? AND step > ?", loop, step);
      update(c, "DELETE FROM checkpoints WHERE loop = ? AND step > ?", loop, step);
      update(c, "DELETE FROM metrics WHERE loop = ? AND step > ?", loop, step);
      return rows;
    });
    log.info("loop {} rolled back to step {}: {} ledger row(s) of later steps deleted", loop, step, deleted);
    return deleted;
  }

  /** Every ledger row, ordered by loop, step, kind and item id. */
  public List<LedgerEntry> ledger() {
    return query("reading the ledger", c -> rows(c,
        "SELECT " + LEDGER_COLUMNS + " FROM ledger ORDER BY loop, step, kind, item_id", new Object[0], CampaignStore::ledgerEntry));
  }

  /** The loop's ledger rows, ordered by step, kind and item id. */
  public List<LedgerEntry> ledger(String loop) {
    return query("reading the ledger of loop " + loop, c -> rows(c,
        "SELECT " + LEDGER_COLUMNS + " FROM ledger WHERE loop = ? ORDER BY step, kind, item_id",
        new Object[] {loop}, CampaignStore::ledgerEntry));
  }

  /** The first consumption of a label (by any loop): when, by which loop, at which step. */
  public Optional<LedgerEntry> consumption(String labelId) {
    return consumptions(labelId).stream().findFirst();
  }

  /** Every loop's consumption of a label, earliest first. */
  public List<LedgerEntry> consumptions(String labelId) {
    return query("reading consumptions of label " + labelId, c -> rows(c,
        "SELECT " + LEDGER_COLUMNS + " FROM ledger WHERE kind = 'label' AND item_id = ? ORDER BY consumed_ms, loop",
        new Object[] {labelId}, CampaignStore::ledgerEntry));
  }

  // ---------------------------------------------------------------- metrics

  /** Stores a step's metrics, replacing any earlier report of the same loop and step. */
  public void recordMetrics(MetricsReport report) {
    requireName("metrics report loop", report.getLoop());
    write("recording metrics of loop " + report.getLoop() + " step " + report.getStep(), c -> update(c,
        "INSERT INTO metrics (loop, step, time_ms, body) VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (loop, step) DO UPDATE SET time_ms = excluded.time_ms, body = excluded.body",
        report.getLoop(), report.getStep(), report.getTimeMs(), report.toByteArray()));
  }

  /** The loop's metrics reports by step. */
  public List<MetricsReport> metrics(String loop) {
    return query("reading metrics of loop " + loop, c -> rows(c,
        "SELECT body FROM metrics WHERE loop = ? ORDER BY step", new Object[] {loop}, r -> {
          try {
            return MetricsReport.parseFrom(r.getBytes(1));
          } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("a metrics row of loop " + loop + " does not parse: " + e.getMessage(), e);
          }
        }));
  }

  @Override
  public void close() {
    db.close();
  }

  @Override
  public String toString() {
    return "CampaignStore[" + url + "]";
  }

  // ---------------------------------------------------------------- opening

  private static StoreDatabase connect(StoreUrl url, String user, String password) {
    if (url.dialect() == StoreUrl.Dialect.SQLITE) {
      Path folder = url.sqliteFile().toAbsolutePath().getParent();
      try {
        Files.createDirectories(folder);
      } catch (IOException e) {
        throw new IllegalArgumentException("campaign store URL " + url + ": cannot create the folder " + folder + ": " + e, e);
      }
    }
    try {
      return switch (url.dialect()) {
        case SQLITE -> SqliteDatabase.open(url.url());
        case POSTGRESQL -> PostgresDatabase.open(url.url(), user, password);
      };
    } catch (SQLException e) {
      throw new IllegalStateException("cannot open the campaign store at " + url + ": " + url.mask(e.getMessage()), e);
    } catch (IllegalArgumentException e) {
      // The driver's verdict on a URL it cannot parse quotes the URL, password and all: so the cause
      // is masked and not chained.
      throw new IllegalArgumentException("campaign store URL " + url + " is not valid: " + url.mask(e.getMessage()));
    }
  }

  private static int migrate(StoreUrl url, StoreDatabase db) {
    try {
      MigrateResult result = Flyway.configure(CampaignStore.class.getClassLoader())
          .dataSource(db.dataSource())
          .locations("classpath:" + url.dialect().migrations)
          .failOnMissingLocations(true)
          .load()
          .migrate();
      return result.migrationsExecuted;
    } catch (FlywayException e) {
      throw new IllegalStateException("campaign store " + url + ": migrating the schema failed: " + url.mask(e.getMessage()), e);
    }
  }

  private static String ensureCampaignId(Connection c) throws SQLException {
    update(c, "INSERT INTO campaign (singleton, id, created_ms) VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
        UUID.randomUUID().toString(), System.currentTimeMillis());
    return rows(c, "SELECT id FROM campaign", new Object[0], r -> r.getString(1)).get(0);
  }

  // ---------------------------------------------------------------- validation

  private static void validate(Comparison comparison) {
    requireName("comparison id", comparison.getId());
    if (comparison.getResponsesCount() < 2) {
      throw new IllegalArgumentException("comparison " + comparison.getId() + " has "
          + comparison.getResponsesCount() + " response(s): a comparison needs two or more");
    }
    Set<String> ids = new HashSet<>();
    for (Response response : comparison.getResponsesList()) {
      if (response.getId().isEmpty()) {
        throw new IllegalArgumentException("comparison " + comparison.getId() + " has a response with an empty id");
      }
      if (!ids.add(response.getId())) {
        throw new IllegalArgumentException("comparison " + comparison.getId() + " has two responses with id " + response.getId());
      }
    }
  }

  private static void validate(Label label) {
    requireName("label id", label.getId());
    requireName("label " + label.getId() + " comparison_id", label.getComparisonId());
    if (label.getSource() == FeedbackSource.FEEDBACK_SOURCE_UNSPECIFIED) {
      throw new IllegalArgumentException("label " + label.getId() + " has no source (FEEDBACK_SOURCE_UNSPECIFIED)");
    }
    boolean chose = !label.getChosenResponseId().isEmpty();
    boolean noWinner = label.getTie() || label.getBothBad();
    if (chose && noWinner) {
      throw new IllegalArgumentException("label " + label.getId() + " chooses response " + label.getChosenResponseId()
          + " and also says tie or both_bad: a tie or both_bad label has an empty chosen_response_id");
    }
    if (label.getLikert() < 0 || label.getLikert() > 7) {
      throw new IllegalArgumentException("label " + label.getId() + " has likert " + label.getLikert()
          + ": expected 1 to 7 (0: no rating)");
    }
    if (!chose && !noWinner && label.getLikert() == 0) {
      throw new IllegalArgumentException("label " + label.getId()
          + " judges nothing: set chosen_response_id, tie, both_bad or likert");
    }
    if (label.getRankingCount() > 0 && !label.getRanking(0).equals(label.getChosenResponseId())) {
      throw new IllegalArgumentException("label " + label.getId() + " ranks " + label.getRanking(0)
          + " first but chooses " + label.getChosenResponseId() + ": a ranking's first response is the chosen one");
    }
  }

  private static void requireChosenResponse(Label label, Comparison comparison) {
    List<String> ids = comparison.getResponsesList().stream().map(Response::getId).toList();
    if (label.getRankingCount() > 0 && !Set.copyOf(label.getRankingList()).equals(Set.copyOf(ids))) {
      throw new IllegalArgumentException("label " + label.getId() + " ranks " + label.getRankingList()
          + ": a ranking names every response of comparison " + comparison.getId() + " once (" + String.join(", ", ids) + ")");
    }
    if (label.getChosenResponseId().isEmpty()) {
      return;
    }
    if (!ids.contains(label.getChosenResponseId())) {
      throw new IllegalArgumentException("label " + label.getId() + " chooses response " + label.getChosenResponseId()
          + ", which comparison " + comparison.getId() + " does not have (it has " + String.join(", ", ids) + ")");
    }
  }

  private static boolean isPairable(Label label) {
    return !label.getChosenResponseId().isEmpty() && !label.getTie() && !label.getBothBad();
  }

  private static void requireName(String what, String value) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(what + " is empty");
    }
  }

  private static Label withoutCreatedMs(Label label) {
    return label.toBuilder().clearCreatedMs().build();
  }

  // ---------------------------------------------------------------- SQL

  private void insertLedgerRow(Connection c, String loop, long step, long adapterVersion, LedgerItem item, long now)
      throws SQLException {
    int inserted;
    try {
      inserted = update(c, "INSERT INTO ledger (loop, step, kind, item_id, label_id, adapter_version, consumed_ms)"
              + " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          loop, step, item.kind(), item.id(), LedgerItem.LABEL.equals(item.kind()) ? item.id() : null, adapterVersion, now);
    } catch (SQLException e) {
      if (db.isForeignKeyViolation(e)) {
        throw new MissingLabelException(loop, step, item.id());
      }
      throw e;
    }
    if (inserted == 0) {
      long earlier = rows(c, "SELECT step FROM ledger WHERE loop = ? AND kind = ? AND item_id = ?",
          new Object[] {loop, item.kind(), item.id()}, r -> r.getLong(1)).get(0);
      throw new DuplicateConsumptionException(loop, step, item.kind(), item.id(), earlier);
    }
  }

  static Optional<Comparison> comparisonIn(Connection c, String id) throws SQLException {
    return rows(c, "SELECT body FROM comparisons WHERE id = ?", new Object[] {id}, r -> parseComparison(r.getBytes(1)))
        .stream().findFirst();
  }

  static Optional<Label> labelWhere(Connection c, String condition, Object... args) throws SQLException {
    return rows(c, "SELECT body FROM labels WHERE " + condition, args, r -> parseLabel(r.getBytes(1))).stream().findFirst();
  }

  private static LedgerEntry ledgerEntry(ResultSet r) throws SQLException {
    return LedgerEntry.newBuilder()
        .setLoop(r.getString(1))
        .setStep(r.getLong(2))
        .setKind(r.getString(3))
        .setItemId(r.getString(4))
        .setAdapterVersion(r.getLong(5))
        .setConsumedMs(r.getLong(6))
        .build();
  }

  static Comparison parseComparison(byte[] body) {
    try {
      return Comparison.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a comparisons row does not parse as troupe.v1.Comparison: " + e.getMessage(), e);
    }
  }

  static Label parseLabel(byte[] body) {
    try {
      return Label.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a labels row does not parse as troupe.v1.Label: " + e.getMessage(), e);
    }
  }

  private static String placeholders(int n) {
    return String.join(", ", Collections.nCopies(n, "?"));
  }

  @FunctionalInterface
  interface RowReader<T> {
    T read(ResultSet row) throws SQLException;
  }

  static <T> List<T> rows(Connection c, String sql, Object[] args, RowReader<T> reader) throws SQLException {
    try (PreparedStatement statement = c.prepareStatement(sql)) {
      bind(statement, args);
      try (ResultSet r = statement.executeQuery()) {
        List<T> out = new ArrayList<>();
        while (r.next()) {
          out.add(reader.read(r));
        }
        return out;
      }
    }
  }

  static int update(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement statement = c.prepareStatement(sql)) {
      bind(statement, args);
      return statement.executeUpdate();
    }
  }

  /** A NULL of a given SQL type ({@link Types}), for columns that are not text: PostgreSQL wants the type. */
  record TypedNull(int sqlType) {}

  private static void bind(PreparedStatement statement, Object[] args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      Object arg = args[i];
      if (arg == null) {
        statement.setNull(i + 1, Types.VARCHAR);
      } else if (arg instanceof TypedNull n) {
        statement.setNull(i + 1, n.sqlType());
      } else if (arg instanceof Double d) {
        statement.setDouble(i + 1, d);
      } else if (arg instanceof String s) {
        statement.setString(i + 1, s);
      } else if (arg instanceof Long l) {
        statement.setLong(i + 1, l);
      } else if (arg instanceof Integer n) {
        statement.setInt(i + 1, n);
      } else if (arg instanceof Boolean b) {
        statement.setBoolean(i + 1, b);
      } else if (arg instanceof byte[] bytes) {
        statement.setBytes(i + 1, bytes);
      } else {
        throw new IllegalArgumentException("cannot bind " + arg.getClass().getName() + " to parameter " + (i + 1));
      }
    }
  }

  <T> T write(String what, SqlWork<T> work) {
    try {
      return db.inTransaction(work);
    } catch (SQLException e) {
      throw failure(what, e);
    }
  }

  <T> T query(String what, SqlWork<T> work) {
    try {
      return db.read(work);
    } catch (SQLException e) {
      throw failure(what, e);
    }
  }

  IllegalStateException failure(String what, SQLException e) {
    return new IllegalStateException("campaign store " + url + ": " + what + " failed: " + e.getMessage(), e);
  }
}
