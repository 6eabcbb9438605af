package dev.troupe.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.protobuf.ByteString;
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.LoraLayer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Ack;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.LogProbsRequest;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.SamplingParams;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The policy worker over a tiny random Llama: versions served, faults survived, bad versions refused. */
class PolicyWorkerTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  static ActorTestKit kit;
  NDManager root;
  CausalLm model;

  @BeforeAll
  static void startKit() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stopKit() {
    kit.shutdownTestKit();
  }

  @BeforeEach
  void model() {
    root = NDManager.newBaseManager();
    model = CausalLm.random(ModelConfig.llama(16, 32, 2, 4, 2, 64, 64), 1, root);
  }

  @AfterEach
  void close() {
    model.close();
    root.close();
  }

  /** Version {@code version} of a learner's adapter "rlhf": LoRA B filled with {@code scale}, so it moves the logits. */
  private AdapterVersion version(long version, float scale) {
    Adapter learner = model.createAdapter("learner-" + version, LoraConfig.of(4, 8, "q", "v", "o"), 3);
    try (GradMode ignored = GradMode.disabled()) {
      for (LoraLayer layer : learner.layers().values()) {
        Shape shape = layer.b().getShape();
        float[] values = new float[(int) shape.size()];
        for (int i = 0; i < values.length; i++) {
          values[i] = scale * ((i % 7) - 3);
        }
        layer.b().set(values);
      }
    }
    AdapterVersion out = AdapterVersions.snapshot(learner, model, "rlhf", version);
    model.removeAdapter("learner-" + version);
    return out;
  }

  private static GenerateRequest request(String id, long version) {
    GenerateRequest.Builder r = GenerateRequest.newBuilder().setRequestId(id).setAdapter("rlhf")
        .setAdapterVersion(version).setSamplesPerPrompt(2)
        .setSampling(SamplingParams.newBuilder().setMaxNewTokens(6).setTemperature(0.8).setTopP(1).setSeed(5)
            .addStopTokenIds(-1));
    for (int i = 0; i < 3; i++) {
      r.addPrompts(Prompt.newBuilder().setId("rlhf/" + i).addTokenIds(1).addTokenIds(2 + i).addTokenIds(9));
    }
    return r.build();
  }

  private static <T> T ask(ActorRef<PolicyWorker.Command> worker, java.util.function.Function<ActorRef<T>,
      PolicyWorker.Command> message, Class<T> type) {
    TestProbe<T> probe = kit.createTestProbe(type);
    worker.tell(message.apply(probe.ref()));
    return probe.receiveMessage(WAIT);
  }

  @Test
  void aPublishedVersionIsUsedByTheNextRolloutAndRecordedOnIt() {
    try (PolicyService service = new PolicyService(model, null, "policy-test", "campaign-1/", 3)) {
      ActorRef<PolicyWorker.Command> worker = kit.spawn(PolicyWorker.create(service));
      AdapterVersion v1 = version(1, 0.02f);
      AdapterVersion v2 = version(2, -0.05f);
      assertTrue(ask(worker, r -> new PolicyWorker.LoadAdapter(v1, r), Ack.class).getOk());
      RolloutBatch first = ask(worker, r -> new PolicyWorker.Generate(request("rlhf/batch-1", 1), r), RolloutBatch.class);
      assertTrue(ask(worker, r -> new PolicyWorker.LoadAdapter(v2, r), Ack.class).getOk());
      // The next request names the new version: it samples with it and every rollout says so.
      RolloutBatch second = ask(worker, r -> new PolicyWorker.Generate(request("rlhf/batch-2", 2), r), RolloutBatch.class);
      assertEquals(6, first.getRolloutsCount());
      first.getRolloutsList().forEach(r -> assertEquals(1, r.getAdapterVersion()));
      second.getRolloutsList().forEach(r -> assertEquals(2, r.getAdapterVersion()));
      assertEquals("campaign-1/rlhf/batch-2/5", second.getRollouts(5).getId());
      assertEquals("rlhf/batch-2/2", second.getRollouts(5).getGroupId(), "two samples per prompt share a group");

      // Behaviour log-probs are those of version 2 at the sampling temperature, not of version 1.
      List<Rollout> rollouts = second.getRolloutsList();
      List<float[]> underV2;
      List<float[]> underV1;
      try (Adapter a2 = AdapterVersions.load(v2, model, "check-2"); Adapter a1 = AdapterVersions.load(v1, model, "check-1")) {
        underV2 = LogProbs.score(model, Rollouts.promptIds(rollouts), Rollouts.responseIds(rollouts), a2, 0.8);
        underV1 = LogProbs.score(model, Rollouts.promptIds(rollouts), Rollouts.responseIds(rollouts), a1, 0.8);
      }
      double offV1 = 0;
      for (int i = 0; i < rollouts.size(); i++) {
        float[] behaviour = new float[rollouts.get(i).getBehaviourLogprobsCount()];
        for (int t = 0; t < behaviour.length; t++) {
          behaviour[t] = rollouts.get(i).getBehaviourLogprobs(t);
          offV1 = Math.max(offV1, Math.abs(behaviour[t] - underV1.get(i)[t]));
        }
        assertArrayEquals(underV2.get(i), behaviour, 1e-4f, "rollout " + i);
      }
      assertTrue(offV1 > 1e-2, "version 1 would have given other log-probs (max difference " + offV1 + ")");

      // The log-probs service scores with the version asked for (here the base: the reference policy).
      LogProbsBatch reference = ask(worker, r -> new PolicyWorker.ScoreLogProbs(LogProbsRequest.newBuilder()
          .setRequestId("ref").setTemperature(0.8).addAllRollouts(rollouts).build(), r), LogProbsBatch.class);
      List<float[]> base = LogProbs.score(model, Rollouts.promptIds(rollouts), Rollouts.responseIds(rollouts), null, 0.8);
      for (int i = 0; i < rollouts.size(); i++) {
        float[] got = new float[reference.getRows(i).getLogprobsCount()];
        for (int t = 0; t < got.length; t++) {
          got[t] = reference.getRows(i).getLogprobs(t);
        }
        assertArrayEquals(base.get(i), got, 1e-5f);
      }
    }
  }

  @Test
  void aVersionWhoseBytesDoNotMatchTheirChecksumIsRefusedAndThePreviousOneKeepsServing() {
    try (PolicyService service = new PolicyService(model, null, "policy-test", "", 3)) {
      ActorRef<PolicyWorker.Command> worker = kit.spawn(PolicyWorker.create(service));
      assertTrue(ask(worker, r -> new PolicyWorker.LoadAdapter(version(1, 0.02f), r), Ack.class).getOk());
      AdapterVersion good = version(2, 0.03f);
      byte[] bytes = good.getTensors(0).getData().toByteArray();
      bytes[0] ^= 0x40;
      AdapterVersion corrupt = good.toBuilder().setTensors(0, good.getTensors(0).toBuilder()
          .setData(ByteString.copyFrom(bytes))).build();
      Ack refused = ask(worker, r -> new PolicyWorker.LoadAdapter(corrupt, r), Ack.class);
      assertFalse(refused.getOk());
      assertTrue(refused.getError().contains(good.getTensors(0).getName()) && refused.getError().contains("sha-256"),
          refused.getError());
      RolloutBatch batch = ask(worker, r -> new PolicyWorker.Generate(request("b", 2), r), RolloutBatch.class);
      batch.getRolloutsList().forEach(r -> assertEquals(1, r.getAdapterVersion(), "still serving version 1"));
      // A resumed learner serves its checkpoint's version again: the worker rewinds to it.
      AdapterVersion resumed = version(1, 0.5f);
      assertTrue(ask(worker, r -> new PolicyWorker.LoadAdapter(resumed, r), Ack.class).getOk());
      RolloutBatch rewound = ask(worker, r -> new PolicyWorker.Generate(request("d", 2), r), RolloutBatch.class);
      rewound.getRolloutsList().forEach(r -> assertEquals(1, r.getAdapterVersion(), "version 2 is gone"));
      assertEquals(1, service.adapters().newest("rlhf"));
      RolloutBatch unknown = ask(worker, r -> new PolicyWorker.Generate(request("c", 1).toBuilder().setAdapter("nope")
          .build(), r), RolloutBatch.class);
      assertTrue(unknown.getError().contains("unknown adapter 'nope'"), unknown.getError());
    }
  }

  @Test
  void aWorkerWhoseWorkThrowsRestartsAndTheReissuedBatchGetsTheSameRollouts() {
    try (PolicyService service = new PolicyService(model, null, "policy-test", "", 3)) {
      assertTrue(ask(kit.spawn(PolicyWorker.create(service)),
          r -> new PolicyWorker.LoadAdapter(version(1, 0.02f), r), Ack.class).getOk());
      RolloutBatch clean = service.generate(request("rlhf/batch-7", 1));
      AtomicInteger calls = new AtomicInteger();
      PolicyBackend failingOnce = new PolicyBackend() {
        @Override
        public RolloutBatch generate(GenerateRequest request) {
          if (calls.incrementAndGet() == 1) {
            throw new IllegalStateException("CUDA error: an illegal memory access was encountered");
          }
          return service.generate(request);
        }

        @Override
        public LogProbsBatch logProbs(LogProbsRequest request) {
          return service.logProbs(request);
        }

        @Override
        public void load(AdapterVersion version) {
          service.load(version);
        }
      };
      ActorRef<PolicyWorker.Command> worker = kit.spawn(PolicyWorker.create(failingOnce));
      RolloutBatch failed = ask(worker, r -> new PolicyWorker.Generate(request("rlhf/batch-7", 1), r), RolloutBatch.class);
      assertTrue(failed.getRetryable() && failed.getError().contains("restarted"), failed.toString());
      // Reissued under the same request id after the restart: the same rollouts, ids and all.
      RolloutBatch reissued = ask(worker, r -> new PolicyWorker.Generate(request("rlhf/batch-7", 1), r),
          RolloutBatch.class);
      assertEquals(clean, reissued);
      assertEquals(2, calls.get());
    }
  }

  @Test
  void aMergingWorkerAnswersRequestsOfTwoLoopsSentTogetherEachWithItsOwnRollouts() {
    try (PolicyService merging = new PolicyService(model, null, "policy-test", "", 3,
        PolicyService.Batching.MERGE_WAITING);
        PolicyService alone = new PolicyService(model, null, "policy-test", "", 3)) {
      AdapterVersion v1 = version(1, 0.5f);
      merging.load(v1);
      alone.load(v1);
      // The first batch starts only once both requests were handed over: they surely share it.
      CountDownLatch submitted = new CountDownLatch(2);
      PolicyBackend together = new PolicyBackend() {
        @Override
        public RolloutBatch generate(GenerateRequest request) {
          return merging.generate(request);
        }

        @Override
        public CompletableFuture<RolloutBatch> generateAsync(GenerateRequest request,
            Executor executor) {
          Executor gated = task -> executor.execute(() -> {
            try {
              submitted.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            task.run();
          });
          CompletableFuture<RolloutBatch> result = merging.generateAsync(request, gated);
          submitted.countDown();
          return result;
        }

        @Override
        public LogProbsBatch logProbs(LogProbsRequest request) {
          return merging.logProbs(request);
        }

        @Override
        public void load(AdapterVersion version) {
          merging.load(version);
        }
      };
      ActorRef<PolicyWorker.Command> worker = kit.spawn(PolicyWorker.create(together));
      GenerateRequest rlhf = request("rlhf/batch-1", 1);
      GenerateRequest reference = request("reference/batch-1", 0).toBuilder().setAdapter("").build();
      TestProbe<RolloutBatch> first = kit.createTestProbe(RolloutBatch.class);
      TestProbe<RolloutBatch> second = kit.createTestProbe(RolloutBatch.class);
      worker.tell(new PolicyWorker.Generate(rlhf, first.ref()));
      worker.tell(new PolicyWorker.Generate(reference, second.ref()));
      RolloutBatch gotRlhf = first.receiveMessage(WAIT);
      RolloutBatch gotReference = second.receiveMessage(WAIT);
      assertEquals(1, merging.batchesGenerated(), "the two requests shared one batch");
      assertEquals(2, merging.requestsGenerated());
      RolloutBatch wantRlhf = alone.generate(rlhf);
      RolloutBatch wantReference = alone.generate(reference);
      assertFalse(wantRlhf.getRolloutsList().stream().map(Rollout::getResponseTokenIdsList).toList().equals(
          wantReference.getRolloutsList().stream().map(Rollout::getResponseTokenIdsList).toList()),
          "the adapter must change the tokens, or a mix-up would pass unnoticed");
      for (RolloutBatch[] pair : new RolloutBatch[][] {{wantRlhf, gotRlhf}, {wantReference, gotReference}}) {
        assertEquals(pair[0].getRolloutsCount(), pair[1].getRolloutsCount());
        for (int i = 0; i < pair[0].getRolloutsCount(); i++) {
          Rollout want = pair[0].getRollouts(i);
          Rollout got = pair[1].getRollouts(i);
          assertEquals(want.getId(), got.getId());
          assertEquals(want.getAdapterVersion(), got.getAdapterVersion());
          assertEquals(want.getResponseTokenIdsList(), got.getResponseTokenIdsList(), want.getId());
        }
      }
    }
  }
}
