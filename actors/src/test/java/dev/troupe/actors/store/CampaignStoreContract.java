package dev.troupe.actors.store;

import static dev.troupe.actors.store.StoreFixtures.RATER;
import static dev.troupe.actors.store.StoreFixtures.bothBad;
import static dev.troupe.actors.store.StoreFixtures.checkpoint;
import static dev.troupe.actors.store.StoreFixtures.chosen;
import static dev.troupe.actors.store.StoreFixtures.comparison;
import static dev.troupe.actors.store.StoreFixtures.metrics;
import static dev.troupe.actors.store.StoreFixtures.tie;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.actors.store.CampaignStore.CheckpointRecord;
import dev.troupe.actors.store.CampaignStore.LedgerItem;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.LedgerEntry;
import dev.troupe.protocol.MetricsReport;
import dev.troupe.protocol.PreferencePair;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every campaign store backend must do; a subclass per database supplies a fresh database for
 * each test.
 */
abstract class CampaignStoreContract {
  private static final Set<FeedbackSource> HUMAN = Set.of(FeedbackSource.FEEDBACK_SOURCE_HUMAN);
  private static final long WAIT_S = 60;

  /** Makes a fresh, empty database and returns its URL. */
  abstract String createDatabase();

  /** Removes every database {@link #createDatabase} made. */
  abstract void dropDatabases();

  abstract String user();

  abstract String password();

  private String url;
  private CampaignStore store;

  @BeforeEach
  void openFreshStore() {
    url = createDatabase();
    store = open();
  }

  @AfterEach
  void closeStore() {
    try {
      if (store != null) {
        store.close();
      }
    } finally {
      dropDatabases();
    }
  }

  private CampaignStore open() {
    return CampaignStore.open(url, user(), password());
  }

  private CampaignStore reopen() {
    store.close();
    store = open();
    return store;
  }

  private void putChosen(String labelId) {
    store.putComparison(comparison("cmp-" + labelId));
    store.putLabel(chosen(labelId, "cmp-" + labelId).build());
  }

  private static List<String> ids(List<PreferencePair> pairs) {
    return pairs.stream().map(PreferencePair::getId).toList();
  }

  // ---------------------------------------------------------------- raters: accounts, the queue

  @Test
  void humanLabelsComeBeforeOlderDatasetPairsEachOldestFirst() {
    store.putComparison(comparison("d1"));
    store.putComparison(comparison("d2"));
    store.putLabel(chosen("dataset-1", "d1").setSource(FeedbackSource.FEEDBACK_SOURCE_DATASET).setRaterId("file").build());
    store.putLabel(chosen("dataset-2", "d2").setSource(FeedbackSource.FEEDBACK_SOURCE_DATASET).setRaterId("file").build());
    putChosen("human-1");
    putChosen("human-2");
    Set<FeedbackSource> both = Set.of(FeedbackSource.FEEDBACK_SOURCE_HUMAN, FeedbackSource.FEEDBACK_SOURCE_DATASET);
    assertEquals(List.of("human-1", "human-2", "dataset-1", "dataset-2"), ids(store.unconsumedPairs("dpo", both, 10)));
    assertEquals(List.of("human-1", "human-2"), ids(store.unconsumedPairs("dpo", both, 2)),
        "a step of two takes the raters' labels, not the older dataset pairs");
  }

  @Test
  void usersAndSessionsAreKeptAndADisabledUserLosesTheirSessions() {
    Users users = store.users();
    users.create("ana", "hash-1", Users.Role.RATER);
    IllegalArgumentException taken = assertThrows(IllegalArgumentException.class, () -> users.create("ana", "h", Users.Role.ADMIN));
    assertTrue(taken.getMessage().contains("taken"), taken.getMessage());
    assertThrows(IllegalArgumentException.class, () -> users.create("bad name", "h", Users.Role.RATER));
    users.createSession(new Users.Session("sha-1", "ana", "csrf-1", 1_000, 5_000));
    assertEquals("csrf-1", users.session("sha-1", 4_999).orElseThrow().csrfToken());
    assertTrue(users.session("sha-1", 5_000).isEmpty(), "expired");
    users.createSession(new Users.Session("sha-2", "ana", "csrf-2", 1_000, Long.MAX_VALUE));
    assertTrue(users.change("ana", Users.Role.REVIEWER, true));
    assertTrue(users.session("sha-2", 2_000).isEmpty(), "a disabled user has no session");
    Users.User ana = reopen().users().find("ana").orElseThrow();
    assertEquals(Users.Role.REVIEWER, ana.role());
    assertTrue(ana.disabled());
    assertEquals("hash-1", ana.passwordHash());
  }

  private static TaskQueue.Task task(String id, String comparisonId, int overlap, double priority, String gold) {
    return new TaskQueue.Task(id, comparisonId, TaskQueue.Kind.PAIRWISE, null, null, null, priority, overlap, gold, null, null,
        1_000, null);
  }

  @Test
  void leasesHonourOverlapAndAnExpiredLeaseReturnsTheTask() {
    store.putComparison(comparison("q1"));
    store.putComparison(comparison("q2"));
    TaskQueue q = store.tasks();
    assertEquals(2, q.enqueue(List.of(task("t1", "q1", 2, 0.9, null), task("t2", "q2", 1, 0.1, null))));
    assertEquals(0, q.enqueue(List.of(task("t1", "q1", 2, 0.9, null))), "a queued id is not queued again");
    long lease = 60_000;
    assertEquals("t1", q.lease("ana", 10_000, lease, false).orElseThrow().task().id(), "highest priority first");
    assertEquals("t1", q.lease("ana", 11_000, lease, false).orElseThrow().task().id(), "a live lease is served again");
    assertEquals("t1", q.lease("ben", 12_000, lease, false).orElseThrow().task().id(), "overlap 2: a second rater");
    assertEquals("t2", q.lease("cy", 13_000, lease, false).orElseThrow().task().id(), "t1 has its two raters");
    assertTrue(q.lease("dee", 14_000, lease, false).isEmpty(), "every task is leased to as many raters as it needs");
    // Everyone abandons their task: the leases (ending at 71 s, 72 s and 73 s) return them to the queue.
    assertTrue(q.lease("dee", 70_000, lease, false).isEmpty(), "not before the leases end");
    assertEquals("t1", q.lease("dee", 73_001, lease, false).orElseThrow().task().id());
    assertEquals("t1", q.lease("eve", 73_001, lease, false).orElseThrow().task().id(), "t1 has one live lease of two");
    assertEquals("t2", q.lease("fay", 73_001, lease, false).orElseThrow().task().id());
    assertTrue(q.skip("t2", "fay", 80_000));
    assertFalse(q.skip("nope", "fay", 80_000));
    assertEquals(1, q.doneBy("fay"));
    assertTrue(q.lease("fay", 80_001, lease, false).isEmpty(), "a skipped task is not shown again");
  }

  @Test
  void goldItemsComeOnlyWhenDueAndToEveryRater() {
    store.putComparison(comparison("g1"));
    store.putComparison(comparison("n1"));
    TaskQueue q = store.tasks();
    q.enqueue(List.of(task("gold", "g1", 1, 0.0, "a"), task("plain", "n1", 1, 0.5, null)));
    assertEquals("plain", q.lease("ana", 1_000, 60_000, false).orElseThrow().task().id());
    assertEquals("gold", q.lease("ben", 1_000, 60_000, true).orElseThrow().task().id(), "due: gold first");
    assertEquals("gold", q.lease("cy", 1_000, 60_000, true).orElseThrow().task().id(), "gold ignores overlap");
    assertTrue(q.lease("dee", 1_000, 60_000, false).isEmpty(), "not due: no gold item, and plain is leased");
  }

  @Test
  void tasksOfStaleVersionsLeaveTheQueue() {
    store.putComparison(comparison("s1"));
    store.putComparison(comparison("s2"));
    TaskQueue q = store.tasks();
    q.enqueue(List.of(new TaskQueue.Task("old", "s1", TaskQueue.Kind.PAIRWISE, "rlhf", 1L, 1L, 0.9, 1, null, null, null, 0, null),
        new TaskQueue.Task("new", "s2", TaskQueue.Kind.PAIRWISE, "rlhf", 2L, 1L, 0.1, 1, null, null, null, 0, null)));
    store.commitStep("rlhf", 0, 3, List.of(LedgerItem.rollout("r0")), null); // rlhf is at version 3 now
    assertEquals("new", q.lease("ana", 1_000, 60_000, false).orElseThrow().task().id(),
        "version 1 is two behind 3 (max staleness 1): retired, though of higher priority");
    assertTrue(q.lease("ben", 1_000, 60_000, false).isEmpty());
    assertEquals(1, q.counts(1_000).retired());
  }

  @Test
  void aTaskLabelIsStoredOnceAndItsUndoMakesTheTaskDueAgain() {
    store.putComparison(comparison("l1"));
    TaskQueue q = store.tasks();
    q.enqueue(List.of(task("t1", "l1", 1, 0.5, null)));
    q.lease(RATER, 1_000, 60_000, false);
    Label label = chosen("h-1", "l1").setClientId("click").setTaskId("t1").build();
    assertTrue(q.label("t1", label, null, null, 2_000).created());
    StoredLabel again = q.label("t1", label.toBuilder().setId("h-2").build(), null, null, 3_000);
    assertFalse(again.created());
    assertEquals("h-1", again.label().getId());
    TaskQueue.TaskStateException twice = assertThrows(TaskQueue.TaskStateException.class,
        () -> q.label("t1", label.toBuilder().setId("h-3").setClientId("other").build(), null, null, 4_000));
    assertFalse(twice.notFound());
    assertTrue(q.lease(RATER, 5_000, 60_000, false).isEmpty(), "labelled: not due");
    assertEquals(1, q.answers().size());
    assertEquals(LabelDeletion.DELETED, store.deleteLabel("h-1"));
    assertEquals("t1", q.lease(RATER, 6_000, 60_000, false).orElseThrow().task().id(), "undone: due again");
    assertTrue(assertThrows(TaskQueue.TaskStateException.class,
        () -> q.label("missing", label.toBuilder().setClientId("x").build(), null, null, 7_000)).notFound());
  }

  // ---------------------------------------------------------------- labels

  @Test
  void labelResubmittedWithTheSameClientIdIsStoredOnce() {
    store.putComparison(comparison("c1"));
    StoredLabel first = store.putLabel(chosen("label-1", "c1").setClientId("click-42").build());
    // The retry of the same click arrives under a new server-side id and a later time.
    StoredLabel retry = store.putLabel(chosen("label-2", "c1").setClientId("click-42").setCreatedMs(5).build());

    assertTrue(first.created());
    assertFalse(retry.created());
    assertEquals("label-1", retry.label().getId());
    assertEquals(first.label(), retry.label());
    assertEquals(1, store.countLabels(FeedbackSource.FEEDBACK_SOURCE_HUMAN));
    assertTrue(store.label("label-2").isEmpty());

    // The same client id from another rater is another judgement.
    StoredLabel other = store.putLabel(chosen("label-3", "c1").setRaterId("rater-bo").setClientId("click-42").build());
    assertTrue(other.created());
    assertEquals(2, store.countLabels(FeedbackSource.FEEDBACK_SOURCE_HUMAN));
  }

  @Test
  void sameLabelIdTwiceReturnsTheStoredLabelAndDifferentContentIsRefused() {
    store.putComparison(comparison("c1"));
    StoredLabel first = store.putLabel(chosen("label-1", "c1").build());
    assertTrue(first.label().getCreatedMs() > 0, "created_ms is stamped when the label arrives without one");

    StoredLabel again = store.putLabel(chosen("label-1", "c1").build());
    assertFalse(again.created());
    assertEquals(first.label(), again.label());

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> store.putLabel(chosen("label-1", "c1").setChosenResponseId("b").build()));
    assertTrue(e.getMessage().contains("label id label-1"), e.getMessage());
    assertEquals("a", store.label("label-1").orElseThrow().getChosenResponseId());
  }

  @Test
  void labelOfAMissingComparisonIsRefusedNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> store.putLabel(chosen("label-1", "cmp-nowhere").build()));
    assertTrue(e.getMessage().contains("cmp-nowhere"), e.getMessage());
    assertTrue(e.getMessage().contains("label-1"), e.getMessage());
    assertEquals(0, store.countLabels(FeedbackSource.FEEDBACK_SOURCE_HUMAN));
  }

  @Test
  void labelChoosingAResponseTheComparisonLacksIsRefusedNamingIt() {
    store.putComparison(comparison("c1"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> store.putLabel(chosen("label-1", "c1").setChosenResponseId("zz").build()));
    assertTrue(e.getMessage().contains("zz") && e.getMessage().contains("c1"), e.getMessage());
    assertTrue(store.label("label-1").isEmpty());
  }

  @Test
  void comparisonIsIdempotentAndDifferentContentUnderItsIdIsRefused() {
    store.putComparison(comparison("c1"));
    store.putComparison(comparison("c1"));
    assertEquals(comparison("c1"), store.comparison("c1").orElseThrow());

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> store.putComparison(comparison("c1").toBuilder().setPrompt(comparison("c2").getPrompt()).build()));
    assertTrue(e.getMessage().contains("c1"), e.getMessage());
    assertEquals(comparison("c1"), store.comparison("c1").orElseThrow());
    assertTrue(store.comparison("c2").isEmpty());
  }

  @Test
  void labelsAreListedAndCountedPerSourceOldestFirst() {
    store.putComparison(comparison("c1"));
    for (String id : List.of("z-first", "m-second", "a-third")) {
      store.putLabel(chosen(id, "c1").build());
    }
    store.putLabel(chosen("ai-1", "c1").setSource(FeedbackSource.FEEDBACK_SOURCE_AI).setRaterId("judge").build());

    assertEquals(List.of("z-first", "m-second", "a-third"),
        store.labels(FeedbackSource.FEEDBACK_SOURCE_HUMAN).stream().map(Label::getId).toList());
    assertEquals(3, store.countLabels(FeedbackSource.FEEDBACK_SOURCE_HUMAN));
    assertEquals(1, store.countLabels(FeedbackSource.FEEDBACK_SOURCE_AI));
    assertEquals(0, store.countLabels(FeedbackSource.FEEDBACK_SOURCE_DATASET));
  }

  // ---------------------------------------------------------------- pairs

  @Test
  void unconsumedPairsSkipConsumedTiesBothBadAndOtherSourcesInInsertionOrder() {
    store.putComparison(comparison("c1"));
    store.putComparison(comparison("c2"));
    store.putLabel(chosen("z-human", "c1").build());
    store.putLabel(tie("tie", "c1").build());
    store.putLabel(chosen("ai", "c2").setSource(FeedbackSource.FEEDBACK_SOURCE_AI).setRaterId("judge").build());
    store.putLabel(bothBad("both-bad", "c2").build());
    store.putLabel(chosen("y-human-consumed", "c2").build());
    store.putLabel(chosen("a-human", "c2").setChosenResponseId("b").build());
    store.commitStep("dpo", 1, 0, List.of(LedgerItem.label("y-human-consumed")), null);

    List<PreferencePair> pairs = store.unconsumedPairs("dpo", HUMAN, 10);
    assertEquals(List.of("z-human", "a-human"), ids(pairs));
    assertEquals(comparison("c2"), pairs.get(1).getComparison());
    assertEquals("b", pairs.get(1).getLabel().getChosenResponseId());
    assertEquals(store.label("a-human").orElseThrow(), pairs.get(1).getLabel());

    // Another loop has consumed nothing; more sources; a limit.
    assertEquals(List.of("z-human", "y-human-consumed", "a-human"), ids(store.unconsumedPairs("rlhf", HUMAN, 10)));
    // Human labels first (each source oldest first), so that a rater's label reaches the next step.
    assertEquals(List.of("z-human", "a-human", "ai"), ids(store.unconsumedPairs("dpo",
        Set.of(FeedbackSource.FEEDBACK_SOURCE_HUMAN, FeedbackSource.FEEDBACK_SOURCE_AI), 10)));
    assertEquals(List.of("z-human"), ids(store.unconsumedPairs("dpo", HUMAN, 1)));
    assertEquals(List.of(), store.unconsumedPairs("dpo", Set.of(FeedbackSource.FEEDBACK_SOURCE_GOLD), 10));
  }

  // ---------------------------------------------------------------- the ledger

  @Test
  void duplicateItemRollsBackTheWholeStepIncludingItsCheckpoint() {
    putChosen("l1");
    store.commitStep("rlhf", 1, 0, List.of(LedgerItem.rollout("r1"), LedgerItem.label("l1")), null);

    DuplicateConsumptionException e = assertThrows(DuplicateConsumptionException.class,
        () -> store.commitStep("rlhf", 2, 1, List.of(LedgerItem.rollout("r2"), LedgerItem.rollout("r3"),
            LedgerItem.rollout("r1")), checkpoint("rlhf", 2)));
    assertEquals(List.of("rlhf", "rollout", "r1"), List.of(e.loop(), e.kind(), e.itemId()));
    assertTrue(e.getMessage().contains("step 1"), e.getMessage());

    assertEquals(List.of("r1", "l1").stream().sorted().toList(),
        store.ledger("rlhf").stream().map(LedgerEntry::getItemId).sorted().toList());
    assertTrue(store.latestCheckpoint("rlhf").isEmpty(), "the failed step's checkpoint record rolled back with it");

    // A list naming one item twice fails the same way.
    DuplicateConsumptionException twice = assertThrows(DuplicateConsumptionException.class,
        () -> store.commitStep("rlhf", 2, 1, List.of(LedgerItem.rollout("r2"), LedgerItem.rollout("r2")), checkpoint("rlhf", 2)));
    assertEquals("r2", twice.itemId());
    assertEquals(2, store.ledger("rlhf").size());

    // The items of the failed steps are free; another loop may consume r1 too.
    store.commitStep("rlhf", 2, 1, List.of(LedgerItem.rollout("r2"), LedgerItem.rollout("r3")), checkpoint("rlhf", 2));
    store.commitStep("grpo", 1, 0, List.of(LedgerItem.rollout("r1")), null);
    assertEquals(4, store.ledger("rlhf").size());
    assertEquals(checkpoint("rlhf", 2), store.latestCheckpoint("rlhf").orElseThrow());
  }

  @Test
  void stepConsumingALabelNotInTheStoreIsRolledBack() {
    putChosen("l1");
    MissingLabelException e = assertThrows(MissingLabelException.class,
        () -> store.commitStep("dpo", 1, 0, List.of(LedgerItem.label("l1"), LedgerItem.label("l-never")), checkpoint("dpo", 1)));
    assertEquals("l-never", e.labelId());
    assertTrue(e.getMessage().contains("l-never") && e.getMessage().contains("dpo"), e.getMessage());
    assertEquals(List.of(), store.ledger());
    assertTrue(store.latestCheckpoint("dpo").isEmpty());
  }

  @Test
  void stepBeforeTheLoopsLatestCommittedStepIsRefused() {
    store.commitStep("rlhf", 5, 4, List.of(LedgerItem.rollout("r5")), null);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> store.commitStep("rlhf", 3, 2, List.of(LedgerItem.rollout("r3")), null));
    assertTrue(e.getMessage().contains("rollbackAfter"), e.getMessage());
    // Another loop keeps its own count; the same step again is allowed.
    store.commitStep("grpo", 3, 2, List.of(LedgerItem.rollout("g3")), null);
    store.commitStep("rlhf", 5, 4, List.of(), checkpoint("rlhf", 5));
    assertEquals(List.of("r5"), store.ledger("rlhf").stream().map(LedgerEntry::getItemId).toList());
  }

  @Test
  void rollbackAfterMakesItemsOfLaterStepsUnconsumedAgain() {
    for (String id : List.of("l1", "l2", "l3", "l4")) {
      putChosen(id);
    }
    store.commitStep("dpo", 1, 0, List.of(LedgerItem.label("l1")), checkpoint("dpo", 1));
    store.recordMetrics(metrics("dpo", 1, 0.01));
    store.commitStep("dpo", 2, 1, List.of(LedgerItem.label("l2")), checkpoint("dpo", 2));
    store.recordMetrics(metrics("dpo", 2, 0.02));
    store.commitStep("dpo", 3, 2, List.of(LedgerItem.label("l3"), LedgerItem.rollout("r3")), null);
    store.recordMetrics(metrics("dpo", 3, 0.03));
    store.commitStep("other", 7, 0, List.of(LedgerItem.label("l2")), checkpoint("other", 7));
    assertEquals(List.of("l4"), ids(store.unconsumedPairs("dpo", HUMAN, 10)));

    assertEquals(3, store.rollbackAfter("dpo", 1));

    assertEquals(List.of("l2", "l3", "l4"), ids(store.unconsumedPairs("dpo", HUMAN, 10)));
    assertEquals(List.of(1L), store.ledger("dpo").stream().map(LedgerEntry::getStep).toList());
    assertEquals(List.of(checkpoint("dpo", 1)), store.checkpoints("dpo"));
    assertEquals(List.of(metrics("dpo", 1, 0.01)), store.metrics("dpo"));
    // The other loop is untouched.
    assertEquals(List.of("l2"), store.ledger("other").stream().map(LedgerEntry::getItemId).toList());
    assertEquals(1, store.checkpoints("other").size());

    // The resumed loop consumes l2 again.
    store.commitStep("dpo", 2, 1, List.of(LedgerItem.label("l2")), checkpoint("dpo", 2));
    assertEquals(List.of("l3", "l4"), ids(store.unconsumedPairs("dpo", HUMAN, 10)));

    // Below 0: the loop starts over.
    assertEquals(2, store.rollbackAfter("dpo", -1));
    assertEquals(List.of(), store.ledger("dpo"));
    assertTrue(store.latestCheckpoint("dpo").isEmpty());
  }

  @Test
  void consumedLabelCannotBeDeletedAndAnUnconsumedOneCan() {
    putChosen("consumed");
    putChosen("fresh");
    store.commitStep("dpo", 1, 0, List.of(LedgerItem.label("consumed")), null);

    assertEquals(LabelDeletion.CONSUMED, store.deleteLabel("consumed"));
    assertTrue(store.label("consumed").isPresent());
    assertEquals(1, store.ledger("dpo").size());

    assertEquals(LabelDeletion.DELETED, store.deleteLabel("fresh"));
    assertTrue(store.label("fresh").isEmpty());
    assertEquals(LabelDeletion.NOT_FOUND, store.deleteLabel("fresh"));
    assertEquals(List.of(), ids(store.unconsumedPairs("rlhf", HUMAN, 10)).stream().filter("fresh"::equals).toList());
    // A step that trained on the undone label cannot record it.
    assertThrows(MissingLabelException.class, () -> store.commitStep("rlhf", 1, 0, List.of(LedgerItem.label("fresh")), null));
  }

  @Test
  void consumptionTellsWhichLoopAndStepConsumedALabelAndWhen() {
    putChosen("l1");
    putChosen("l2");
    long createdMs = store.label("l1").orElseThrow().getCreatedMs();
    store.commitStep("dpo", 4, 9, List.of(LedgerItem.label("l1")), null);
    store.commitStep("rlhf", 2, 1, List.of(LedgerItem.label("l1")), null);

    LedgerEntry first = store.consumption("l1").orElseThrow();
    assertEquals(List.of("dpo", 4L, 9L, "label", "l1"),
        List.of(first.getLoop(), first.getStep(), first.getAdapterVersion(), first.getKind(), first.getItemId()));
    assertTrue(first.getConsumedMs() >= createdMs, first.getConsumedMs() + " < " + createdMs);
    assertEquals(List.of("dpo", "rlhf"), store.consumptions("l1").stream().map(LedgerEntry::getLoop).toList());
    assertTrue(store.consumption("l2").isEmpty());
  }

  @Test
  void ledgerIsOrderedByLoopStepKindAndItemId() {
    putChosen("l-b");
    putChosen("l-a");
    store.commitStep("rlhf", 2, 1, List.of(LedgerItem.rollout("r-b"), LedgerItem.rollout("r-a"), LedgerItem.rollout("r-C")), null);
    store.commitStep("dpo", 1, 0, List.of(LedgerItem.rollout("a-rollout"), LedgerItem.label("l-b"), LedgerItem.label("l-a")), null);
    store.commitStep("rlhf", 3, 2, List.of(LedgerItem.rollout("r-0")), null);

    List<String> rows = store.ledger().stream()
        .map(e -> e.getLoop() + "/" + e.getStep() + "/" + e.getKind() + "/" + e.getItemId())
        .toList();
    // Item ids in code-point order ("C" before "a"), whatever the database's locale.
    assertEquals(List.of("dpo/1/label/l-a", "dpo/1/label/l-b", "dpo/1/rollout/a-rollout",
        "rlhf/2/rollout/r-C", "rlhf/2/rollout/r-a", "rlhf/2/rollout/r-b", "rlhf/3/rollout/r-0"), rows);
    assertEquals(List.of(0L, 0L, 0L, 1L, 1L, 1L, 2L), store.ledger().stream().map(LedgerEntry::getAdapterVersion).toList());
    assertEquals(rows.subList(3, 7), store.ledger("rlhf").stream()
        .map(e -> e.getLoop() + "/" + e.getStep() + "/" + e.getKind() + "/" + e.getItemId()).toList());
  }

  @Test
  void checkpointsAreListedNewestFirstAndAForgottenOneIsGone() {
    store.commitStep("rlhf", 10, 9, List.of(), checkpoint("rlhf", 10));
    store.commitStep("rlhf", 20, 19, List.of(), checkpoint("rlhf", 20));
    store.commitStep("rlhf", 30, 29, List.of(), checkpoint("rlhf", 30));
    assertEquals(List.of(30L, 20L, 10L), store.checkpoints("rlhf").stream().map(CheckpointRecord::step).toList());

    store.forgetCheckpoint("rlhf", 30);
    assertEquals(checkpoint("rlhf", 20), store.latestCheckpoint("rlhf").orElseThrow());
    assertTrue(store.latestCheckpoint("dpo").isEmpty());

    IllegalStateException again = assertThrows(IllegalStateException.class,
        () -> store.commitStep("rlhf", 20, 19, List.of(), checkpoint("rlhf", 20)));
    assertTrue(again.getMessage().contains("step 20"), again.getMessage());
  }

  @Test
  void metricsAreReadBackByStepAndAReportReplacesItsStep() {
    store.recordMetrics(metrics("rlhf", 2, 0.2));
    store.recordMetrics(metrics("rlhf", 1, 0.1));
    store.recordMetrics(metrics("dpo", 1, 0.9));
    store.recordMetrics(metrics("rlhf", 2, 0.25));

    List<MetricsReport> reports = store.metrics("rlhf");
    assertEquals(List.of(1L, 2L), reports.stream().map(MetricsReport::getStep).toList());
    assertEquals(0.25, reports.get(1).getValuesOrThrow("objective/kl"));
    assertEquals(metrics("rlhf", 1, 0.1), reports.get(0));
  }

  // ---------------------------------------------------------------- durability

  @Test
  void campaignIdIsAUuidStableAcrossReopenAndDifferentPerDatabase() {
    String id = store.campaignId();
    assertEquals(id, UUID.fromString(id).toString());
    assertEquals(id, reopen().campaignId());

    try (CampaignStore other = CampaignStore.open(createDatabase(), user(), password())) {
      assertNotEquals(id, other.campaignId());
    }
  }

  @Test
  void everythingSurvivesCloseAndReopen() {
    putChosen("l1");
    putChosen("l2");
    store.putLabel(tie("t1", "cmp-l1").setClientId("click-1").build());
    store.commitStep("dpo", 1, 0, List.of(LedgerItem.label("l1"), LedgerItem.rollout("r1")), checkpoint("dpo", 1));
    store.recordMetrics(metrics("dpo", 1, 0.5));
    List<LedgerEntry> ledger = store.ledger();
    Label t1 = store.label("t1").orElseThrow();

    reopen();

    assertEquals(comparison("cmp-l1"), store.comparison("cmp-l1").orElseThrow());
    assertEquals(t1, store.label("t1").orElseThrow());
    assertFalse(store.putLabel(tie("t1-retry", "cmp-l1").setClientId("click-1").build()).created());
    assertEquals(List.of("l2"), ids(store.unconsumedPairs("dpo", HUMAN, 10)));
    assertEquals(ledger, store.ledger());
    assertEquals(checkpoint("dpo", 1), store.latestCheckpoint("dpo").orElseThrow());
    assertEquals(List.of(metrics("dpo", 1, 0.5)), store.metrics("dpo"));
    assertThrows(DuplicateConsumptionException.class, () -> store.commitStep("dpo", 2, 1, List.of(LedgerItem.label("l1")), null));
  }

  @Test
  void concurrentStepsOfSeveralLoopsLoseNothing() throws Exception {
    int loops = 4;
    int steps = 12;
    int perStep = 3;
    List<String> labels = IntStream.range(0, steps).mapToObj(i -> "shared-" + i).toList();
    labels.forEach(this::putChosen);

    ExecutorService pool = Executors.newFixedThreadPool(loops);
    try {
      List<Future<Void>> done = new ArrayList<>();
      for (int l = 0; l < loops; l++) {
        String loop = "loop-" + l;
        Callable<Void> run = () -> {
          for (int s = 1; s <= steps; s++) {
            List<LedgerItem> items = new ArrayList<>();
            items.add(LedgerItem.label(labels.get(s - 1)));
            for (int k = 0; k < perStep; k++) {
              items.add(LedgerItem.rollout(loop + "/r" + s + "." + k));
            }
            store.commitStep(loop, s, s - 1, items, s % 4 == 0 ? checkpoint(loop, s) : null);
            store.recordMetrics(metrics(loop, s, s));
            store.unconsumedPairs(loop, HUMAN, 2);
          }
          return null;
        };
        done.add(pool.submit(run));
      }
      for (Future<Void> f : done) {
        f.get(WAIT_S, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(WAIT_S, TimeUnit.SECONDS));
    }

    assertEquals(loops * steps * (perStep + 1), store.ledger().size());
    for (int l = 0; l < loops; l++) {
      String loop = "loop-" + l;
      List<LedgerEntry> rows = store.ledger(loop);
      assertEquals(steps * (perStep + 1), rows.size(), loop);
      assertEquals(Set.copyOf(labels), rows.stream().filter(e -> e.getKind().equals("label"))
          .map(LedgerEntry::getItemId).collect(Collectors.toSet()), loop);
      assertEquals(List.of(12L, 8L, 4L), store.checkpoints(loop).stream().map(CheckpointRecord::step).toList(), loop);
      assertEquals(steps, store.metrics(loop).size(), loop);
      assertEquals(List.of(), store.unconsumedPairs(loop, HUMAN, 10), loop);
    }
  }

  @Test
  void labelCommittedByAProcessKilledRightAfterPutLabelIsThereAfterReopen() throws Exception {
    store.putComparison(comparison("c-killed"));
    store.close();
    store = null;

    ProcessBuilder builder = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        LabelWriterMain.class.getName(), url, "c-killed", "label-killed");
    builder.redirectErrorStream(true);
    if (user() != null) {
      builder.environment().put(PostgresFixture.USER_ENV, user());
    }
    if (password() != null) {
      builder.environment().put(PostgresFixture.PASSWORD_ENV, password());
    }
    Process child = builder.start();
    List<String> output = new ArrayList<>();
    try {
      CompletableFuture<Boolean> stored = CompletableFuture.supplyAsync(() -> {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line = out.readLine(); line != null; line = out.readLine()) {
            synchronized (output) {
              output.add(line);
            }
            if (line.startsWith(LabelWriterMain.STORED)) {
              return true;
            }
          }
          return false;
        } catch (java.io.IOException e) {
          return false;
        }
      });
      boolean acknowledged = stored.get(WAIT_S, TimeUnit.SECONDS);
      child.destroyForcibly(); // SIGKILL: no shutdown hooks, no close
      assertTrue(child.waitFor(WAIT_S, TimeUnit.SECONDS), "the child did not die");
      synchronized (output) {
        assertTrue(acknowledged, "the child never acknowledged its label:\n" + String.join("\n", output));
        assertTrue(output.contains(LabelWriterMain.STORED + "label-killed created=true"), String.join("\n", output));
      }
      assertEquals(137, child.exitValue(), "killed by SIGKILL");
    } finally {
      child.destroyForcibly();
      child.waitFor(WAIT_S, TimeUnit.SECONDS);
    }

    store = open();
    Label label = store.label("label-killed").orElseThrow(() -> new AssertionError("the acknowledged label is lost"));
    assertEquals("client-label-killed", label.getClientId());
    assertEquals(List.of("label-killed"), ids(store.unconsumedPairs("dpo", HUMAN, 10)));
    assertEquals(RATER, label.getRaterId());
  }

  @Test
  void badLabelsAreRefusedNamingWhatIsWrong() {
    store.putComparison(comparison("c1"));
    record Case(Label label, String expected) {}
    for (Case c : List.of(
        new Case(chosen("", "c1").build(), "label id is empty"),
        new Case(chosen("l1", "c1").setSource(FeedbackSource.FEEDBACK_SOURCE_UNSPECIFIED).build(), "no source"),
        new Case(chosen("l1", "c1").clearChosenResponseId().build(), "judges nothing"),
        new Case(chosen("l1", "c1").setTie(true).build(), "tie or both_bad"))) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.putLabel(c.label()), c.expected());
      assertTrue(e.getMessage().contains(c.expected()), e.getMessage());
    }
    assertEquals(0, store.countLabels(FeedbackSource.FEEDBACK_SOURCE_HUMAN));
    assertTrue(store.label("l1").isEmpty());
  }
}
