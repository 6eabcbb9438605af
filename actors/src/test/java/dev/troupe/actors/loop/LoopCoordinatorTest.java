package dev.troupe.actors.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.checkpoint.Checkpoints;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.feedback.FeedbackCollector;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.policy.PolicyService;
import dev.troupe.policy.PolicyWorker;
import dev.troupe.protocol.Ack;
import dev.troupe.protocol.LoopState;
import dev.troupe.protocol.LoopStatus;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.Score;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.reward.RewardWorker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A loop's coordinator against workers the test plays by hand, on a tiny random Llama and a real store and learner. */
class LoopCoordinatorTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  static ActorTestKit kit;
  @TempDir Path dir;

  @BeforeAll
  static void startKit() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stopKit() {
    kit.shutdownTestKit();
  }

  @Test
  void neverMoreThanMaxInFlightBatchesAreRequestedAndEachWaitsForTheVersionItNeeds() throws Exception {
    int maxInFlight = 2;
    int steps = 5;
    CampaignConfig campaign = CampaignConfig.load(null, List.of(
        "troupe.campaign.loops.rlhf.max-in-flight=" + maxInFlight, "troupe.campaign.loops.rlhf.steps=" + steps,
        "troupe.campaign.loops.rlhf.batch-size=3", "troupe.campaign.loops.rlhf.generation.max-new-tokens=5",
        "troupe.campaign.checkpoint.every=2"));
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(ModelConfig.llama(16, 32, 2, 4, 2, 64, 64), 1, root);
        CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(dir), null, null);
        PolicyService service = new PolicyService(model, null, "test", "", maxInFlight + 2)) {
      List<Prompt> prompts = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        prompts.add(Prompt.newBuilder().setId("p" + i).addTokenIds(1).addTokenIds(2 + i % 13).build());
      }
      LoopContext context = new LoopContext(campaign.loops().get("rlhf"), campaign, dir, model, store,
          new Checkpoints(dir.resolve("checkpoints")), new PromptStream(prompts), null, CampaignEvents.NONE, WAIT);
      TestProbe<PolicyWorker.Command> policy = kit.createTestProbe();
      TestProbe<RewardWorker.Command> reward = kit.createTestProbe();
      TestProbe<FeedbackCollector.Command> feedback = kit.createTestProbe();
      TestProbe<LoopStatus> reports = kit.createTestProbe();
      kit.spawn(LoopCoordinator.create(context, policy.ref(), reward.ref(), feedback.ref(), reports.ref()));

      Deque<PolicyWorker.Generate> outstanding = new ArrayDeque<>();
      List<Long> requestedVersions = new ArrayList<>();
      long served = -1;
      int peak = 0;
      while (requestedVersions.size() < steps) {
        PolicyWorker.Command m = policy.receiveMessage(WAIT);
        if (m instanceof PolicyWorker.LoadAdapter load) {
          service.load(load.version());
          served = load.version().getVersion();
          load.replyTo().tell(Ack.newBuilder().setOk(true).build());
          continue;
        }
        PolicyWorker.Generate generate = (PolicyWorker.Generate) m;
        outstanding.add(generate);
        long batch = requestedVersions.size() + 1;
        requestedVersions.add(generate.request().getAdapterVersion());
        assertEquals(Math.max(0, batch - maxInFlight), generate.request().getAdapterVersion(), "batch " + batch);
        assertTrue(generate.request().getAdapterVersion() <= served, "asked for a version not served yet");
        peak = Math.max(peak, outstanding.size());
        assertTrue(outstanding.size() <= maxInFlight, outstanding.size() + " batches in flight");
        if (outstanding.size() == maxInFlight || batch == steps) {
          // Full: nothing more may be asked for until the learner has taken a step.
          policy.expectNoMessage(Duration.ofMillis(300));
          answer(outstanding.poll(), service, reward);
        }
      }
      while (!outstanding.isEmpty()) {
        answer(outstanding.poll(), service, reward);
      }
      while (served < steps) { // each step's version is served before the loop goes on
        PolicyWorker.LoadAdapter load = (PolicyWorker.LoadAdapter) policy.receiveMessage(WAIT);
        service.load(load.version());
        served = load.version().getVersion();
        load.replyTo().tell(Ack.newBuilder().setOk(true).build());
      }
      LoopStatus done = reports.receiveMessage(WAIT);
      assertEquals(LoopState.LOOP_STATE_DONE, done.getState(), done.toString());
      assertEquals(steps, done.getStep());
      assertEquals(maxInFlight, peak, "the pipeline filled up to its bound");
      assertEquals(List.of(0L, 0L, 1L, 2L, 3L), requestedVersions);
      // Every rollout of every step is in the ledger once.
      assertEquals(steps * 3, store.ledger("rlhf").size());
      assertEquals(steps * 3, store.ledger("rlhf").stream().map(e -> e.getItemId()).distinct().count());
    }
  }

  /** Samples the request with the real service, then plays the reward worker: a score per rollout. */
  private static void answer(PolicyWorker.Generate generate, PolicyService service, TestProbe<RewardWorker.Command> reward) {
    RolloutBatch batch = service.generate(generate.request());
    generate.replyTo().tell(batch);
    RewardWorker.Score score = (RewardWorker.Score) reward.receiveMessage(WAIT);
    ScoreBatch.Builder scores = ScoreBatch.newBuilder().setRequestId(score.request().getRequestId());
    for (Rollout r : score.request().getRolloutsList()) {
      scores.addScores(Score.newBuilder().setRolloutId(r.getId()).setValue(r.getResponseTokenIds(0) % 3));
    }
    score.replyTo().tell(scores.build());
  }
}
