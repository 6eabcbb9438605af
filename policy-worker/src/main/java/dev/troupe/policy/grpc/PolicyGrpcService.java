package dev.troupe.policy.grpc;

import com.google.protobuf.ByteString;
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.policy.AdapterRegistry;
import dev.troupe.policy.PolicyBackend;
import dev.troupe.protocol.AdapterChunk;
import dev.troupe.protocol.AdapterLoaded;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.BaseFileChunk;
import dev.troupe.protocol.FetchBaseRequest;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.LogProbsRequest;
import dev.troupe.protocol.PolicyServiceGrpc;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.grpc.GrpcServer;
import dev.troupe.protocol.grpc.ServerErrors;
import dev.troupe.protocol.grpc.ServerSettings;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PolicyService over gRPC, in front of a {@link PolicyBackend} (a {@code PolicyService} on this
 * node): tensor work runs on the executor given (the tensor dispatcher), never on gRPC's threads.
 * A bad request, an unknown adapter or a corrupt adapter transfer is answered with a status naming
 * the problem; the server goes on serving, with the adapter versions it had.
 */
public final class PolicyGrpcService extends PolicyServiceGrpc.PolicyServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(PolicyGrpcService.class);
  /** Base-model chunks when the client does not ask for a size: well under the default message limit. */
  public static final int DEFAULT_FILE_CHUNK_BYTES = 1 << 20;
  /** An adapter version larger than this is refused before its bytes are kept (a rank-64 7B adapter is ~0.3 GB). */
  public static final long DEFAULT_MAX_ADAPTER_BYTES = 1L << 30;

  private final PolicyBackend backend;
  private final Executor tensors;
  private final BaseModelFiles baseFiles;
  private final long maxAdapterBytes;
  private final int maxChunkBytes;
  /** Adapter -> sha-256 and version of the last version loaded through this service: a repeated publish is a no-op. */
  private final Map<String, Loaded> loaded = new ConcurrentHashMap<>();

  private record Loaded(long version, String sha256) {}

  /**
   * @param baseModelDir the base-model folder FetchBase serves, or null when this worker serves none
   * @param maxMessageBytes the server's message limit: base-model chunks stay well under it
   */
  public PolicyGrpcService(PolicyBackend backend, Executor tensors, Path baseModelDir, long maxAdapterBytes,
      int maxMessageBytes) {
    this.backend = backend;
    this.tensors = tensors;
    this.baseFiles = baseModelDir == null ? null : new BaseModelFiles(baseModelDir);
    this.maxAdapterBytes = maxAdapterBytes;
    this.maxChunkBytes = Math.max(1, maxMessageBytes - 4096);
  }

  /** Starts a server for {@code backend} as {@code settings} say; close the result to stop it. */
  public static GrpcServer serve(ServerSettings settings, PolicyBackend backend, Executor tensors, Path baseModelDir) {
    return GrpcServer.start(settings, List.of(new PolicyGrpcService(backend, tensors, baseModelDir,
        DEFAULT_MAX_ADAPTER_BYTES, settings.maxMessageBytes()).bindService()));
  }

  /** The status for a failure of the policy work: an unknown adapter is NOT_FOUND. */
  static StatusRuntimeException status(Throwable error) {
    Throwable cause = ServerErrors.unwrap(error);
    if (cause instanceof AdapterRegistry.UnknownAdapterException) {
      return Status.NOT_FOUND.withDescription(cause.getMessage()).asRuntimeException();
    }
    return ServerErrors.status(cause);
  }

  @Override
  public void generate(GenerateRequest request, StreamObserver<Rollout> out) {
    ServerCallStreamObserver<Rollout> call = (ServerCallStreamObserver<Rollout>) out;
    CompletableFuture<RolloutBatch> work;
    try {
      work = backend.generateAsync(request, tensors);
    } catch (RuntimeException e) {
      out.onError(status(e));
      return;
    }
    work.whenComplete((batch, error) -> {
      if (call.isCancelled()) {
        return; // the caller's deadline passed or it went away: nobody reads the rollouts
      }
      if (error != null) {
        out.onError(status(error));
      } else if (!batch.getError().isEmpty()) {
        out.onError((batch.getRetryable() ? Status.UNAVAILABLE : Status.INVALID_ARGUMENT)
            .withDescription(batch.getError()).asRuntimeException());
      } else {
        try {
          batch.getRolloutsList().forEach(out::onNext);
          out.onCompleted();
        } catch (StatusRuntimeException cancelled) {
          LOG.debug("generate {}: the caller went away while its rollouts were sent", request.getRequestId());
        }
      }
    });
  }

  @Override
  public void logProbs(LogProbsRequest request, StreamObserver<LogProbsBatch> out) {
    CompletableFuture.supplyAsync(() -> backend.logProbs(request), tensors).whenComplete((batch, error) -> {
      if (error != null) {
        out.onError(status(error));
      } else {
        out.onNext(batch);
        out.onCompleted();
      }
    });
  }

  @Override
  public StreamObserver<AdapterChunk> loadAdapter(StreamObserver<AdapterLoaded> out) {
    return new StreamObserver<>() {
      private final List<AdapterChunk> chunks = new ArrayList<>();
      private long received;
      private boolean failed;

      @Override
      public void onNext(AdapterChunk chunk) {
        if (failed) {
          return;
        }
        AdapterChunk first = chunks.isEmpty() ? chunk : chunks.get(0);
        String what = "adapter " + first.getAdapter() + "@" + first.getVersion();
        received += chunk.getData().size();
        if (first.getTotalBytes() > maxAdapterBytes) {
          fail(Status.RESOURCE_EXHAUSTED.withDescription(what + " is " + first.getTotalBytes()
              + " bytes, more than this worker takes (" + maxAdapterBytes + ")"));
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
        // The sender gave up mid-transfer: nothing is applied.
        failed = true;
        chunks.clear();
      }

      @Override
      public void onCompleted() {
        if (failed) {
          return;
        }
        AdapterVersion version;
        try {
          version = AdapterVersions.join(chunks);
        } catch (IllegalArgumentException e) {
          fail(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
          return;
        }
        AdapterChunk first = chunks.get(0);
        chunks.clear();
        if (!version.getAdapter().equals(first.getAdapter()) || version.getVersion() != first.getVersion()) {
          fail(Status.INVALID_ARGUMENT.withDescription("chunks announced adapter " + first.getAdapter() + "@"
              + first.getVersion() + " but carry " + version.getAdapter() + "@" + version.getVersion()));
          return;
        }
        AdapterLoaded.Builder reply = AdapterLoaded.newBuilder().setAdapter(version.getAdapter())
            .setVersion(version.getVersion()).setBytes(first.getTotalBytes());
        Loaded before = loaded.get(version.getAdapter());
        if (before != null && before.version() == version.getVersion() && before.sha256().equals(first.getSha256())) {
          out.onNext(reply.setAlreadyServed(true).build());
          out.onCompleted();
          return;
        }
        CompletableFuture.runAsync(() -> backend.load(version), tensors).whenComplete((ok, error) -> {
          if (error != null) {
            out.onError(status(error));
            return;
          }
          loaded.put(version.getAdapter(), new Loaded(version.getVersion(), first.getSha256()));
          out.onNext(reply.build());
          out.onCompleted();
        });
      }
    };
  }

  @Override
  public void fetchBase(FetchBaseRequest request, StreamObserver<BaseFileChunk> out) {
    if (baseFiles == null) {
      out.onError(Status.FAILED_PRECONDITION.withDescription("this policy worker serves no base-model files")
          .asRuntimeException());
      return;
    }
    List<BaseModelFiles.FileInfo> files = new ArrayList<>();
    try {
      for (String file : request.getFilesCount() == 0 ? baseFiles.list() : request.getFilesList()) {
        files.add(baseFiles.info(file));
      }
    } catch (IllegalArgumentException e) {
      out.onError(Status.NOT_FOUND.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (RuntimeException e) {
      out.onError(ServerErrors.status(e));
      return;
    }
    int chunkBytes = request.getChunkBytes() > 0 ? Math.min(request.getChunkBytes(), maxChunkBytes)
        : Math.min(DEFAULT_FILE_CHUNK_BYTES, maxChunkBytes);
    FilePump pump = new FilePump(files, chunkBytes, (ServerCallStreamObserver<BaseFileChunk>) out);
    ((ServerCallStreamObserver<BaseFileChunk>) out).setOnReadyHandler(pump::pump);
    ((ServerCallStreamObserver<BaseFileChunk>) out).setOnCancelHandler(pump::close);
  }

  /**
   * Sends files chunk by chunk while the transport is ready for more (gRPC flow control), so a
   * base model of many gigabytes is never held in memory.
   */
  private final class FilePump {
    private final List<BaseModelFiles.FileInfo> files;
    private final int chunkBytes;
    private final ServerCallStreamObserver<BaseFileChunk> out;
    private int index;
    private InputStream in;
    private long offset;
    private boolean done;

    FilePump(List<BaseModelFiles.FileInfo> files, int chunkBytes, ServerCallStreamObserver<BaseFileChunk> out) {
      this.files = files;
      this.chunkBytes = chunkBytes;
      this.out = out;
    }

    synchronized void pump() {
      try {
        while (!done && out.isReady()) {
          if (index == files.size()) {
            done = true;
            out.onCompleted();
            return;
          }
          BaseModelFiles.FileInfo file = files.get(index);
          if (in == null) {
            in = Files.newInputStream(baseFiles.resolve(file.path()));
            offset = 0;
          }
          byte[] data = in.readNBytes(chunkBytes);
          boolean empty = data.length == 0;
          if (!empty || offset == 0) {
            // An empty file is one chunk without data; otherwise no chunk is empty.
            out.onNext(BaseFileChunk.newBuilder().setPath(file.path()).setOffset(offset)
                .setData(ByteString.copyFrom(data)).setFileBytes(file.bytes()).setFileSha256(file.sha256()).build());
            offset += data.length;
          }
          if (empty || offset >= file.bytes()) {
            in.close();
            in = null;
            index++;
          }
        }
      } catch (IOException | RuntimeException e) {
        done = true;
        close();
        out.onError(Status.INTERNAL.withDescription("cannot read base-model file "
            + files.get(Math.min(index, files.size() - 1)).path() + ": " + e.getMessage()).asRuntimeException());
      }
    }

    synchronized void close() {
      done = true;
      if (in != null) {
        try {
          in.close();
        } catch (IOException ignored) {
          // the stream is abandoned either way
        }
        in = null;
      }
    }
  }
}
