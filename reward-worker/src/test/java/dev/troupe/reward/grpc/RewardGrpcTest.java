package dev.troupe.reward.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.protobuf.ByteString;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.LoraLayer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.RewardModelChunk;
import dev.troupe.protocol.RewardModelLoaded;
import dev.troupe.protocol.RewardModelVersion;
import dev.troupe.protocol.RewardServiceGrpc;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;
import dev.troupe.protocol.grpc.ClientSettings;
import dev.troupe.protocol.grpc.GrpcChannels;
import dev.troupe.protocol.grpc.GrpcServer;
import dev.troupe.protocol.grpc.RemoteCalls;
import dev.troupe.protocol.grpc.RemoteRequestRefusedException;
import dev.troupe.protocol.grpc.ServerSettings;
import dev.troupe.reward.RewardModelRegistry;
import dev.troupe.reward.RewardModelVersions;
import dev.troupe.reward.RewardService;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A reward worker's gRPC server on a loopback port: a reward model published in chunks scores over
 * the wire exactly as it does in-process; a corrupt transfer, an old version and an unknown model
 * are refused with a status naming them, and the model served before keeps serving.
 */
class RewardGrpcTest {

  /** A reward model over {@code base}: a LoRA adapter moved off zero and a random head, both from {@code seed}. */
  @SuppressWarnings("try") // the GradMode scope is opened for its effect
  static RewardModel rewardModel(CausalLm base, String adapterName, long seed) {
    Adapter adapter = base.createAdapter(adapterName, LoraConfig.of(4, 8, "q", "v", "down"), seed);
    SplittableRandom random = new SplittableRandom(seed);
    try (GradMode ignored = GradMode.disabled()) {
      for (LoraLayer layer : adapter.layers().values()) {
        float[] b = new float[(int) layer.b().size()];
        for (int i = 0; i < b.length; i++) {
          b[i] = (float) random.nextGaussian() * 0.5f;
        }
        layer.b().set(b);
      }
    }
    return new RewardModel(base, adapter, RewardHead.random(base.config().hiddenSize(), 2, seed, base.manager()));
  }

  static ScoreRequest request(String model) {
    ScoreRequest.Builder r = ScoreRequest.newBuilder().setRequestId("score-1").setRewardModel(model);
    for (int i = 0; i < 5; i++) {
      r.addRollouts(Rollout.newBuilder().setId("r" + i)
          .setPrompt(Prompt.newBuilder().addTokenIds(1).addTokenIds(3 + i).addTokenIds(7))
          .addResponseTokenIds(10 + i).addResponseTokenIds(20 - i).addResponseTokenIds(5));
    }
    return r.build();
  }

  static double[] expected(RewardModel model, ScoreRequest request) {
    return model.rewardFunction().score(Rollouts.promptIds(request.getRolloutsList()),
        Rollouts.responseIds(request.getRolloutsList()));
  }

  static void assertScores(double[] expected, ScoreBatch batch) {
    assertEquals(expected.length, batch.getScoresCount());
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], batch.getScores(i).getValue(), 1e-5, "rollout " + i);
      assertEquals("r" + i, batch.getScores(i).getRolloutId());
    }
  }

  @Test
  void aRewardModelPublishedInChunksScoresOverGrpcAsInProcessAndBadTransfersAreRefused() throws Exception {
    ExecutorService tensors = Executors.newFixedThreadPool(2);
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(ModelConfig.llama(48, 32, 2, 4, 2, 64, 64), 1, root)) {
      RewardService service = new RewardService();
      RewardModel v1 = rewardModel(base, "learner-1", 1);
      RewardModel v2 = rewardModel(base, "learner-2", 2);
      RewardModelVersion version1 = RewardModelVersions.snapshot(v1, "reward-model", 1);
      RewardModelVersion version2 = RewardModelVersions.snapshot(v2, "reward-model", 2);
      ScoreRequest request = request("reward-model");
      double[] scores1 = expected(v1, request);
      double[] scores2 = expected(v2, request);
      assertTrue(Math.abs(scores1[0] - scores2[0]) > 1e-3, "the two versions must score apart");

      try (RewardModelRegistry registry = new RewardModelRegistry(base, service)) {
        GrpcServer server = RewardGrpcService.serve(ServerSettings.loopback(), service, registry::load, tensors);
        try (RewardClient client = new RewardClient(ClientSettings.loopback(server.port()).withChunkBytes(256)
            .withAttempts(1))) {
          RemoteRequestRefusedException none = assertThrows(RemoteRequestRefusedException.class,
              () -> client.score(request));
          assertEquals(Status.Code.NOT_FOUND, none.code());
          assertTrue(none.getMessage().contains("unknown reward model 'reward-model'"), none.getMessage());

          List<RewardModelChunk> chunks = RewardModelVersions.chunks(version1, 256);
          assertTrue(chunks.size() >= 2, chunks.size() + " chunks");
          RewardModelLoaded loaded = client.publish(version1);
          assertEquals(version1.getSerializedSize(), loaded.getBytes());
          assertFalse(loaded.getAlreadyServed());
          assertTrue(client.publish(version1).getAlreadyServed(), "a retried publish is a no-op");
          assertScores(scores1, client.score(request));

          List<RewardModelChunk> corrupt = new ArrayList<>(RewardModelVersions.chunks(version2, 256));
          byte[] data = corrupt.get(0).getData().toByteArray();
          data[data.length - 3] ^= 0x01;
          corrupt.set(0, corrupt.get(0).toBuilder().setData(ByteString.copyFrom(data)).build());
          // Sent by hand, as the client always cuts whole versions.
          ManagedChannel channel = GrpcChannels.open(ClientSettings.loopback(server.port()));
          try {
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                () -> RemoteCalls.upload(
                    RewardServiceGrpc.newStub(channel)
                        .withDeadlineAfter(30, TimeUnit.SECONDS)::loadRewardModel,
                    corrupt, Deadline.after(30, TimeUnit.SECONDS)));
            assertEquals(Status.Code.INVALID_ARGUMENT, refused.getStatus().getCode());
            assertTrue(refused.getStatus().getDescription().contains("do not match the sha-256 "
                + corrupt.get(0).getSha256()), refused.getStatus().getDescription());
          } finally {
            GrpcChannels.close(channel);
          }
          assertScores(scores1, client.score(request));

          client.publish(version2);
          assertScores(scores2, client.score(request));
          RemoteRequestRefusedException stale = assertThrows(RemoteRequestRefusedException.class,
              () -> client.publish(version1.toBuilder().setHeadConfigJson(version1.getHeadConfigJson() + " ").build()));
          assertEquals(Status.Code.FAILED_PRECONDITION, stale.code());
          assertTrue(stale.getMessage().contains("not newer than the version served, 2"), stale.getMessage());
          assertScores(scores2, client.score(request));
        } finally {
          server.close();
        }
      } finally {
        v1.head().close();
        v2.head().close();
      }
    } finally {
      tensors.shutdownNow();
      assertTrue(tensors.awaitTermination(30, TimeUnit.SECONDS));
    }
  }
}
