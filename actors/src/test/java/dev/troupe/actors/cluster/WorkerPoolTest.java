package dev.troupe.actors.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.troupe.policy.PolicyWorker;
import dev.troupe.protocol.Ack;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.RewardTrainRequest;
import dev.troupe.protocol.RewardTrainResult;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;
import dev.troupe.reward.RewardWorker;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The worker pools as loops see them: work goes to one worker and again to another when its worker
 * stops; adapter versions go to every worker and, kept, to a worker that joins before it takes work;
 * with no worker the refusal says so; a reward worker that failed a training step the others took is
 * taken out of the pool.
 */
class WorkerPoolTest {
  /** One per test: workers registered with its receptionist do not reach another test's pool. */
  static ActorTestKit kit;
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @BeforeEach
  void start() {
    kit = ActorTestKit.create();
  }

  @AfterEach
  void stop() {
    kit.shutdownTestKit();
  }

  private static GenerateRequest request(String id) {
    return GenerateRequest.newBuilder().setRequestId(id).setAdapter("rlhf").setAdapterVersion(0).build();
  }

  private static AdapterVersion version(String adapter, long v) {
    return AdapterVersion.newBuilder().setAdapter(adapter).setVersion(v).build();
  }

  private static RolloutBatch answered(PolicyWorker.Generate g, String worker) {
    return RolloutBatch.newBuilder().setRequestId(g.request().getRequestId())
        .addRollouts(Rollout.newBuilder().setId(worker + ":" + g.request().getRequestId())).build();
  }

  private static ActorRef<PolicyWorker.Command> policyPool(int versionsKept, List<ActorRef<PolicyWorker.Command>> local) {
    return kit.spawn(PolicyPool.create(versionsKept, ConfigFactory.load(), TIMEOUT, local));
  }

  private static List<String> workers(ActorRef<?> pool) {
    TestProbe<List<String>> probe = kit.createTestProbe();
    ((ActorRef<Object>) pool.unsafeUpcast()).tell(new WorkerPool.GetWorkers(probe.ref()));
    return probe.receiveMessage(TIMEOUT);
  }

  @Test
  void workInFlightOnAWorkerThatStopsGoesToAnotherWithTheSameRequest() {
    TestProbe<PolicyWorker.Command> a = kit.createTestProbe("worker-a");
    TestProbe<PolicyWorker.Command> b = kit.createTestProbe("worker-b");
    ActorRef<PolicyWorker.Command> pool = policyPool(3, List.of(a.ref()));
    TestProbe<RolloutBatch> loop = kit.createTestProbe();

    pool.tell(new PolicyWorker.Generate(request("rlhf/batch-1"), loop.ref()));
    PolicyWorker.Generate held = a.expectMessageClass(PolicyWorker.Generate.class, TIMEOUT);
    assertEquals("rlhf/batch-1", held.request().getRequestId());

    kit.system().receptionist().tell(Receptionist.register(PolicyWorker.KEY, b.ref()));
    a.awaitAssert(TIMEOUT, () -> {
      assertEquals(2, workers(pool).size(), workers(pool).toString());
      return null;
    });
    a.stop(); // the worker dies with the request unanswered

    PolicyWorker.Generate again = b.expectMessageClass(PolicyWorker.Generate.class, TIMEOUT);
    assertEquals("rlhf/batch-1", again.request().getRequestId(), "the same request, so the same rollout ids");
    again.replyTo().tell(answered(again, "b"));
    RolloutBatch result = loop.receiveMessage(TIMEOUT);
    assertEquals("b:rlhf/batch-1", result.getRollouts(0).getId());
    loop.expectNoMessage(Duration.ofMillis(300)); // answered once
  }

  @Test
  void aRestartedWorkersRetryableAnswerIsSentToAnotherWorker() {
    TestProbe<PolicyWorker.Command> a = kit.createTestProbe("restarting");
    TestProbe<PolicyWorker.Command> b = kit.createTestProbe("steady");
    ActorRef<PolicyWorker.Command> pool = policyPool(3, List.of(a.ref(), b.ref()));
    TestProbe<RolloutBatch> loop = kit.createTestProbe();
    pool.tell(new PolicyWorker.Generate(request("rlhf/batch-7"), loop.ref()));
    PolicyWorker.Generate first = a.expectMessageClass(PolicyWorker.Generate.class, TIMEOUT);
    first.replyTo().tell(RolloutBatch.newBuilder().setRequestId("rlhf/batch-7").setError("policy worker restarted")
        .setRetryable(true).build());
    PolicyWorker.Generate second = b.expectMessageClass(PolicyWorker.Generate.class, TIMEOUT);
    second.replyTo().tell(answered(second, "steady"));
    assertEquals("steady:rlhf/batch-7", loop.receiveMessage(TIMEOUT).getRollouts(0).getId());
  }

  @Test
  void withNoWorkerWorkIsRefusedSayingSoAndAJoiningWorkerGetsTheKeptVersionsBeforeAnyWork() {
    ActorRef<PolicyWorker.Command> pool = policyPool(2, List.of());
    TestProbe<Ack> acks = kit.createTestProbe();
    for (long v = 0; v <= 3; v++) {
      pool.tell(new PolicyWorker.LoadAdapter(version("rlaif", v), acks.ref()));
      assertTrue(acks.receiveMessage(TIMEOUT).getOk(), "kept for workers that join");
    }
    // A learner resumed at step 2 serves its history (1) and version 2 again: 3 is no longer what the loop trains on.
    for (long v = 1; v <= 2; v++) {
      pool.tell(new PolicyWorker.LoadAdapter(version("rlaif", v), acks.ref()));
      assertTrue(acks.receiveMessage(TIMEOUT).getOk());
    }
    pool.tell(new PolicyWorker.LoadAdapter(version("dpo", 0), acks.ref()));
    assertTrue(acks.receiveMessage(TIMEOUT).getOk());

    TestProbe<RolloutBatch> loop = kit.createTestProbe();
    pool.tell(new PolicyWorker.Generate(request("rlhf/batch-2"), loop.ref()));
    RolloutBatch refused = loop.receiveMessage(TIMEOUT);
    assertTrue(refused.getRetryable());
    assertTrue(refused.getError().contains("no policy worker in the cluster"), refused.getError());

    TestProbe<PolicyWorker.Command> joiner = kit.createTestProbe("joiner");
    kit.system().receptionist().tell(Receptionist.register(PolicyWorker.KEY, joiner.ref()));
    joiner.awaitAssert(TIMEOUT, () -> {
      assertEquals(1, workers(pool).size());
      return null;
    });
    // Work sent while the worker catches up waits for it.
    pool.tell(new PolicyWorker.Generate(request("rlhf/batch-3"), loop.ref()));
    // Only the two newest versions of each adapter are kept; the rewound 3 is gone; then the work.
    for (String expected : List.of("rlaif@1", "rlaif@2", "dpo@0")) {
      PolicyWorker.LoadAdapter load = joiner.expectMessageClass(PolicyWorker.LoadAdapter.class, TIMEOUT);
      assertEquals(expected, load.version().getAdapter() + "@" + load.version().getVersion());
      load.replyTo().tell(Ack.newBuilder().setOk(true).build());
    }
    PolicyWorker.Generate work = joiner.expectMessageClass(PolicyWorker.Generate.class, TIMEOUT);
    work.replyTo().tell(answered(work, "joiner"));
    assertEquals("joiner:rlhf/batch-3", loop.receiveMessage(TIMEOUT).getRollouts(0).getId());
  }

  @Test
  void aVersionEveryWorkerRefusesIsRefusedAndNotKept() {
    TestProbe<PolicyWorker.Command> a = kit.createTestProbe("strict");
    ActorRef<PolicyWorker.Command> pool = policyPool(3, List.of(a.ref()));
    TestProbe<Ack> acks = kit.createTestProbe();
    pool.tell(new PolicyWorker.LoadAdapter(version("rlhf", 5), acks.ref()));
    PolicyWorker.LoadAdapter load = a.expectMessageClass(PolicyWorker.LoadAdapter.class, TIMEOUT);
    load.replyTo().tell(Ack.newBuilder().setOk(false).setError("sha-256 does not match").build());
    Ack ack = acks.receiveMessage(TIMEOUT);
    assertFalse(ack.getOk());
    assertEquals("sha-256 does not match", ack.getError());
    assertEquals(List.of(a.ref().path().name()), workers(pool), "the worker still takes work");
  }

  @Test
  void aRewardWorkerThatFailedATrainingStepTheOthersTookTakesNoMoreWork() {
    TestProbe<RewardWorker.Command> good = kit.createTestProbe("good");
    TestProbe<RewardWorker.Command> bad = kit.createTestProbe("bad");
    ActorRef<RewardWorker.Command> pool = kit.spawn(RewardPool.create(ConfigFactory.load(), TIMEOUT,
        List.of(good.ref(), bad.ref())));
    TestProbe<RewardTrainResult> loop = kit.createTestProbe();
    RewardTrainRequest step = RewardTrainRequest.newBuilder().setRequestId("judged/1").setRewardModel("judged/reward-model")
        .addPairs(PreferencePair.newBuilder().setId("p1")).build();
    pool.tell(new RewardWorker.Train(step, loop.ref()));
    RewardWorker.Train toGood = good.expectMessageClass(RewardWorker.Train.class, TIMEOUT);
    RewardWorker.Train toBad = bad.expectMessageClass(RewardWorker.Train.class, TIMEOUT);
    toGood.replyTo().tell(RewardTrainResult.newBuilder().setRequestId("judged/1").putMetrics("loss", 0.5).build());
    toBad.replyTo().tell(RewardTrainResult.newBuilder().setRequestId("judged/1").setError("out of memory").build());
    assertEquals(0.5, loop.receiveMessage(TIMEOUT).getMetricsOrThrow("loss"));

    TestProbe<ScoreBatch> scores = kit.createTestProbe();
    for (int i = 0; i < 4; i++) {
      pool.tell(new RewardWorker.Score(ScoreRequest.newBuilder().setRequestId("s" + i).build(), scores.ref()));
      RewardWorker.Score score = good.expectMessageClass(RewardWorker.Score.class, TIMEOUT);
      score.replyTo().tell(ScoreBatch.newBuilder().setRequestId(score.request().getRequestId()).build());
      assertEquals("s" + i, scores.receiveMessage(TIMEOUT).getRequestId());
    }
    bad.expectNoMessage(Duration.ofMillis(200));
    assertTrue(workers(pool).stream().anyMatch(w -> w.contains("out of step")), workers(pool).toString());

    // A step with no worker left to take it is refused (nothing is kept that no worker learned).
    ActorRef<RewardWorker.Command> empty = kit.spawn(RewardPool.create(ConfigFactory.load(), TIMEOUT, List.of()));
    empty.tell(new RewardWorker.Train(step, loop.ref()));
    assertTrue(loop.receiveMessage(TIMEOUT).getError().contains("no reward worker"));
  }
}
