package dev.troupe.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.SamplingParams;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Closing a policy service waits for the generation under way, then refuses new work. */
class PolicyServiceCloseTest {

  @Test
  void closeReturnsOnlyOnceTheGenerationUnderWayHasFinishedAndRefusesNewWork() throws Exception {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(ModelConfig.llama(16, 32, 2, 4, 2, 64, 256), 1, root)) {
      PolicyService service = new PolicyService(model, null, "test", "", 2);
      GenerateRequest.Builder request = GenerateRequest.newBuilder().setRequestId("long").setSamplesPerPrompt(1)
          .setSampling(SamplingParams.newBuilder().setMaxNewTokens(200).setTemperature(1).setTopP(1).setSeed(3)
              .addStopTokenIds(-1));
      for (int i = 0; i < 64; i++) {
        request.addPrompts(Prompt.newBuilder().setId("p" + i).addTokenIds(1).addTokenIds(i % 16));
      }
      CompletableFuture<RolloutBatch> running = CompletableFuture.supplyAsync(() -> service.generate(request.build()));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (service.inFlight() == 0) {
        assertTrue(System.nanoTime() < deadline, "the generation never started");
        Thread.sleep(1);
      }
      service.close();
      assertEquals(0, service.inFlight(), "close returned while the generation still ran (its tensors freed under it)");
      RolloutBatch batch = running.get(30, TimeUnit.SECONDS);
      assertFalse(running.isCompletedExceptionally());
      assertEquals(64, batch.getRolloutsCount());
      assertEquals(200, batch.getRollouts(0).getResponseTokenIdsCount());
      IllegalStateException refused = assertThrows(IllegalStateException.class, () -> service.generate(request.build()));
      assertEquals("the policy service is shutting down", refused.getMessage());
    }
  }
}
