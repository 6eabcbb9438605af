package dev.troupe.reward.grpc;

import dev.troupe.protocol.RewardModelChunk;
import dev.troupe.protocol.RewardModelLoaded;
import dev.troupe.protocol.RewardModelVersion;
import dev.troupe.protocol.RewardServiceGrpc;
import dev.troupe.protocol.RewardTrainRequest;
import dev.troupe.protocol.RewardTrainResult;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;
import dev.troupe.protocol.grpc.GrpcServer;
import dev.troupe.protocol.grpc.ServerErrors;
import dev.troupe.protocol.grpc.ServerSettings;
import dev.troupe.reward.RewardBackend;
import dev.troupe.reward.RewardModelVersions;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * The RewardService over gRPC, in front of a {@link RewardBackend} and whatever loads reward-model
 * versions (a {@code RewardModelRegistry}); tensor work runs on the executor given. An unknown
 * reward model is NOT_FOUND, a corrupt transfer INVALID_ARGUMENT naming the sha-256, an old version
 * FAILED_PRECONDITION; the server goes on serving the models it had.
 */
public final class RewardGrpcService extends RewardServiceGrpc.RewardServiceImplBase {
  /** A reward-model version larger than this is refused before its bytes are kept. */
  public static final long DEFAULT_MAX_MODEL_BYTES = 1L << 30;

  private final RewardBackend backend;
  private final Consumer<RewardModelVersion> loader;
  private final Executor tensors;
  private final long maxModelBytes;
  private final Map<String, Loaded> loaded = new ConcurrentHashMap<>();

  private record Loaded(long version, String sha256) {}

  /** @param loader serves a new version, throwing naming the problem (null: this worker takes no versions) */
  public RewardGrpcService(RewardBackend backend, Consumer<RewardModelVersion> loader, Executor tensors,
      long maxModelBytes) {
    this.backend = backend;
    this.loader = loader;
    this.tensors = tensors;
    this.maxModelBytes = maxModelBytes;
  }

  /** Starts a server as {@code settings} say; close the result to stop it. */
  public static GrpcServer serve(ServerSettings settings, RewardBackend backend, Consumer<RewardModelVersion> loader,
      Executor tensors) {
    return GrpcServer.start(settings,
        List.of(new RewardGrpcService(backend, loader, tensors, DEFAULT_MAX_MODEL_BYTES).bindService()));
  }

  static StatusRuntimeException status(Throwable error) {
    Throwable cause = ServerErrors.unwrap(error);
    if (cause instanceof IllegalArgumentException && cause.getMessage() != null
        && cause.getMessage().startsWith("unknown reward model")) {
      return Status.NOT_FOUND.withDescription(cause.getMessage()).asRuntimeException();
    }
    return ServerErrors.status(cause);
  }

  @Override
  public void score(ScoreRequest request, StreamObserver<ScoreBatch> out) {
    CompletableFuture.supplyAsync(() -> backend.score(request), tensors).whenComplete((batch, error) -> {
      if (error != null) {
        out.onError(status(error));
      } else {
        out.onNext(batch);
        out.onCompleted();
      }
    });
  }

  @Override
  public void train(RewardTrainRequest request, StreamObserver<RewardTrainResult> out) {
    CompletableFuture.supplyAsync(() -> backend.train(request), tensors).whenComplete((result, error) -> {
      if (error != null) {
        out.onError(status(error));
      } else {
        out.onNext(result);
        out.onCompleted();
      }
    });
  }

  @Override
  public StreamObserver<RewardModelChunk> loadRewardModel(StreamObserver<RewardModelLoaded> out) {
    return new StreamObserver<>() {
      private final List<RewardModelChunk> chunks = new ArrayList<>();
      private long received;
      private boolean failed;

      @Override
      public void onNext(RewardModelChunk chunk) {
        if (failed) {
          return;
        }
        RewardModelChunk first = chunks.isEmpty() ? chunk : chunks.get(0);
        String what = "reward model " + first.getName() + "@" + first.getVersion();
        received += chunk.getData().size();
        if (first.getTotalBytes() > maxModelBytes) {
          fail(Status.RESOURCE_EXHAUSTED.withDescription(what + " is " + first.getTotalBytes()
              + " bytes, more than this worker takes (" + maxModelBytes + ")"));
        } else if (chunks.size() >= Math.max(1, first.getCount()) || received > first.getTotalBytes()) {
          fail(Status.INVALID_ARGUMENT.withDescription(what + ": more than the " + first.getCount() + " chunks and "
              + first.getTotalBytes() + " bytes announced"));
        } else {
          chunks.add(chunk);
        }
      }

      private void fail(Status status) {
        failed = true;
        chunks.clear();
        out.onError(status.asRuntimeException());
      }

      @Override
      public void onError(Throwable t) {
        failed = true;
        chunks.clear();
      }

      @Override
      public void onCompleted() {
        if (failed) {
          return;
        }
        if (loader == null) {
          fail(Status.FAILED_PRECONDITION.withDescription("this reward worker takes no reward-model versions"));
          return;
        }
        RewardModelVersion version;
        try {
          version = RewardModelVersions.join(chunks);
        } catch (IllegalArgumentException e) {
          fail(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
          return;
        }
        RewardModelChunk first = chunks.get(0);
        chunks.clear();
        RewardModelLoaded.Builder reply = RewardModelLoaded.newBuilder().setName(version.getName())
            .setVersion(version.getVersion()).setBytes(first.getTotalBytes());
        Loaded before = loaded.get(version.getName());
        if (before != null && before.version() == version.getVersion() && before.sha256().equals(first.getSha256())) {
          out.onNext(reply.setAlreadyServed(true).build());
          out.onCompleted();
          return;
        }
        CompletableFuture.runAsync(() -> loader.accept(version), tensors).whenComplete((ok, error) -> {
          if (error != null) {
            out.onError(status(error));
            return;
          }
          loaded.put(version.getName(), new Loaded(version.getVersion(), first.getSha256()));
          out.onNext(reply.build());
          out.onCompleted();
        });
      }
    };
  }
}
