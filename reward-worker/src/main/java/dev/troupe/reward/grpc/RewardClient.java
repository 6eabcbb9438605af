package dev.troupe.reward.grpc;

import dev.troupe.protocol.RewardModelChunk;
import dev.troupe.protocol.RewardModelLoaded;
import dev.troupe.protocol.RewardModelVersion;
import dev.troupe.protocol.RewardServiceGrpc;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.RewardTrainRequest;
import dev.troupe.protocol.RewardTrainResult;
import dev.troupe.protocol.ScoreRequest;
import dev.troupe.protocol.grpc.ClientSettings;
import dev.troupe.protocol.grpc.GrpcChannels;
import dev.troupe.protocol.grpc.RemoteCalls;
import dev.troupe.reward.RewardBackend;
import dev.troupe.reward.RewardModelVersions;
import io.grpc.ManagedChannel;
import java.util.List;

/**
 * A reward worker's gRPC server seen as a {@link RewardBackend}: scoring and reward-model publishes
 * with the settings' deadline, tried again while the worker is UNAVAILABLE (both are idempotent).
 */
public final class RewardClient implements RewardBackend, AutoCloseable {
  private final ClientSettings settings;
  private final ManagedChannel channel;
  private final RewardServiceGrpc.RewardServiceBlockingStub blocking;
  private final RewardServiceGrpc.RewardServiceStub async;

  public RewardClient(ClientSettings settings) {
    this.settings = settings;
    this.channel = GrpcChannels.open(settings);
    this.blocking = RewardServiceGrpc.newBlockingStub(channel);
    this.async = RewardServiceGrpc.newStub(channel);
  }

  @Override
  public ScoreBatch score(ScoreRequest request) {
    return RemoteCalls.call("Score " + request.getRequestId(), settings, true,
        deadline -> blocking.withDeadline(deadline).score(request));
  }

  /** A training step is not idempotent (the model moves each time), so it is never retried. */
  @Override
  public RewardTrainResult train(RewardTrainRequest request) {
    return RemoteCalls.call("Train " + request.getRequestId(), settings, false,
        deadline -> blocking.withDeadline(deadline).train(request));
  }

  /** Publishes a reward-model version in chunks of {@code settings.chunkBytes()}. */
  public RewardModelLoaded publish(RewardModelVersion version) {
    List<RewardModelChunk> chunks = RewardModelVersions.chunks(version, settings.chunkBytes());
    return RemoteCalls.call("LoadRewardModel " + version.getName() + "@" + version.getVersion(), settings, true,
        deadline -> RemoteCalls.upload(async.withDeadline(deadline)::loadRewardModel, chunks, deadline));
  }

  @Override
  public void close() {
    GrpcChannels.close(channel);
  }
}
