package dev.troupe.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.model.lora.RowAdapters;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.RolloutBatch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Requests of several loops that wait together are generated as one multi-adapter batch, and each
 * gets exactly the rollouts it would get alone: tokens, behaviour log-probs, ids, groups, versions.
 */
class GenerationBatcherTest {
  NDManager root;
  CausalLm model;

  /** Holds the tasks it is given until the test runs them: requests submitted meanwhile wait together. */
  static final class HeldExecutor implements Executor {
    final Deque<Runnable> tasks = new ArrayDeque<>();

    @Override
    public void execute(Runnable task) {
      tasks.add(task);
    }

    void runAll() {
      while (!tasks.isEmpty()) {
        tasks.poll().run();
      }
    }
  }

  @BeforeEach
  void model() {
    root = NDManager.newBaseManager();
  }

  @AfterEach
  void close() {
    model.close();
    root.close();
  }

  /** Three loops' requests (adapters at different versions, different sampling), one for the base, one bad. */
  static List<GenerateRequest> requests() {
    return List.of(
        PolicyFixtures.request("rlhf", "rlhf/batch-3", 2, 3, PolicyFixtures.sampling(6, 0.9, 0, 1.0, 5)),
        PolicyFixtures.request("dpo", "dpo/batch-8", 1, 2, PolicyFixtures.sampling(8, 0.0, 0, 1.0, 0)),
        PolicyFixtures.request("", "reference/1", 3, 1, PolicyFixtures.sampling(5, 1.0, 0, 1.0, 11)),
        PolicyFixtures.request("ghost", "ghost/1", 1, 1, PolicyFixtures.sampling(5, 1.0, 0, 1.0, 1)),
        PolicyFixtures.request("rlaif", "rlaif/batch-1", 2, 2, PolicyFixtures.sampling(7, 1.1, 8, 0.95, 77)));
  }

  @ParameterizedTest
  @EnumSource(Quantization.class)
  void requestsMergedIntoOneBatchGetExactlyTheRolloutsTheyGetAlone(Quantization quantization) {
    model = CausalLm.random(PolicyFixtures.config(), 1, root, DataType.FLOAT32, quantization);
    try (PolicyService service = new PolicyService(model, null, "policy-test", "campaign-1/", 3,
        PolicyService.Batching.MERGE_WAITING, 64, RowAdapters.Strategy.SEGMENTED)) {
      service.load(PolicyFixtures.version(model, "rlhf", 1, 0.5f, false));
      service.load(PolicyFixtures.version(model, "rlhf", 2, -0.4f, false));
      service.load(PolicyFixtures.version(model, "dpo", 4, 0.3f, true));
      service.load(PolicyFixtures.version(model, "rlaif", 1, 0.6f, false));
      List<GenerateRequest> requests = requests();
      // The rlhf request asks for version 2; pin version 1 on another copy of it to see versions kept apart.
      List<GenerateRequest> all = new ArrayList<>(requests);
      all.add(requests.get(0).toBuilder().setRequestId("rlhf/batch-2").setAdapterVersion(1).build());

      HeldExecutor held = new HeldExecutor();
      List<CompletableFuture<RolloutBatch>> futures = new ArrayList<>();
      for (GenerateRequest r : all) {
        futures.add(service.generateAsync(r, held));
      }
      held.runAll();
      assertEquals(1, service.batchesGenerated(), "six waiting requests make one batch");
      assertEquals(all.size(), service.requestsGenerated());

      RolloutGenerator reference = new RolloutGenerator(model, null, "policy-test");
      for (int i = 0; i < all.size(); i++) {
        GenerateRequest r = all.get(i);
        if (r.getAdapter().equals("ghost")) {
          CompletionException failed = assertThrows(CompletionException.class,
              futures.get(i)::join);
          assertInstanceOf(AdapterRegistry.UnknownAdapterException.class, failed.getCause());
          assertTrue(failed.getCause().getMessage().contains("unknown adapter 'ghost'"), failed.getCause().getMessage());
          continue;
        }
        RolloutBatch merged = futures.get(i).join();
        List<Rollout> alone;
        try (AdapterRegistry.Lease lease = service.adapters().acquire(r.getAdapter(), r.getAdapterVersion())) {
          alone = reference.generate(r, lease.adapter(), lease.version(), "campaign-1/");
        }
        assertSameRollouts(alone, merged, r.getRequestId());
      }
      assertEquals(1, futures.get(5).join().getRollouts(0).getAdapterVersion(), "the pinned copy used version 1");
      assertEquals(2, futures.get(0).join().getRollouts(0).getAdapterVersion());
      // Two versions of one adapter side by side sample differently: the merge kept them apart.
      assertTrue(!futures.get(0).join().getRolloutsList().stream().map(Rollout::getResponseTokenIdsList).toList()
          .equals(futures.get(5).join().getRolloutsList().stream().map(Rollout::getResponseTokenIdsList).toList()),
          "versions 1 and 2 of rlhf sampled the same tokens");
    }
  }

  /** Tokens, ids, groups, versions and finish reasons equal; behaviour log-probs within 1e-4. */
  static void assertSameRollouts(List<Rollout> alone, RolloutBatch merged, String requestId) {
    assertEquals(requestId, merged.getRequestId());
    assertEquals(alone.size(), merged.getRolloutsCount(), requestId);
    for (int row = 0; row < alone.size(); row++) {
      Rollout a = alone.get(row);
      Rollout m = merged.getRollouts(row);
      String what = requestId + " row " + row;
      assertEquals(a.getResponseTokenIdsList(), m.getResponseTokenIdsList(), what);
      assertEquals(a.getId(), m.getId(), what);
      assertEquals(a.getGroupId(), m.getGroupId(), what);
      assertEquals(a.getAdapter(), m.getAdapter(), what);
      assertEquals(a.getAdapterVersion(), m.getAdapterVersion(), what);
      assertEquals(a.getFinishReason(), m.getFinishReason(), what);
      for (int t = 0; t < a.getBehaviourLogprobsCount(); t++) {
        assertEquals(a.getBehaviourLogprobs(t), m.getBehaviourLogprobs(t), 1e-4, what + " token " + t);
      }
    }
  }

  /** A request of one prompt of {@code promptLength} tokens, sampled {@code samples} times for {@code newTokens}. */
  static GenerateRequest sized(String id, int promptLength, int samples, int newTokens) {
    Prompt.Builder prompt = Prompt.newBuilder().setId(id + "/0");
    for (int t = 0; t < promptLength; t++) {
      prompt.addTokenIds(1 + t % 40);
    }
    return GenerateRequest.newBuilder().setRequestId(id).setSamplesPerPrompt(samples).addPrompts(prompt)
        .setSampling(PolicyFixtures.sampling(newTokens, 1.0, 0, 1.0, 3)).build();
  }

  @Test
  void requestsThatWouldOverflowABatchWaitForTheNextOne() {
    model = CausalLm.random(PolicyFixtures.config(), 1, root);
    try (PolicyService service = new PolicyService(model, null, "policy-test", "", 3,
        PolicyService.Batching.MERGE_WAITING, 8, RowAdapters.Strategy.SEGMENTED)) {
      // Positions: 40 + 10 and 3 + 40 each fit the model's 64; merged they would need 40 + 40.
      // Rows (at most 8 a batch): 6 + 1 fit, 6 + 1 + 2 do not.
      List<GenerateRequest> requests = List.of(sized("long-prompt", 40, 1, 10), sized("many-tokens", 3, 6, 40),
          sized("small", 3, 1, 5), sized("more", 4, 2, 5));
      HeldExecutor held = new HeldExecutor();
      List<CompletableFuture<RolloutBatch>> futures = new ArrayList<>();
      for (GenerateRequest r : requests) {
        futures.add(service.generateAsync(r, held));
      }
      held.runAll();
      assertEquals(3, service.batchesGenerated(), "{long-prompt}, {many-tokens, small}, {more}");
      RolloutGenerator reference = new RolloutGenerator(model, null, "policy-test");
      for (int i = 0; i < requests.size(); i++) {
        assertSameRollouts(reference.generate(requests.get(i), null, 0, ""), futures.get(i).join(),
            requests.get(i).getRequestId());
      }
    }
  }
}
