package dev.troupe.policy.grpc;

import dev.troupe.algorithms.adapter.AdapterVersions;
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
import dev.troupe.protocol.grpc.ClientSettings;
import dev.troupe.protocol.grpc.GrpcChannels;
import dev.troupe.protocol.grpc.RemoteCalls;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;

/**
 * A policy worker's gRPC server seen as a {@link PolicyBackend}: a loop (or a PolicyWorker actor)
 * uses a remote worker exactly as an in-process {@code PolicyService}. Every call has the settings'
 * deadline; generate, log-probs and adapter publishes are idempotent and tried again while the
 * worker is UNAVAILABLE. A refused request throws {@code RemoteRequestRefusedException} (an
 * IllegalArgumentException, like the in-process refusal); anything else {@code RemoteCallException}.
 */
public final class PolicyClient implements PolicyBackend, AutoCloseable {
  private final ClientSettings settings;
  private final ManagedChannel channel;
  private final PolicyServiceGrpc.PolicyServiceBlockingStub blocking;
  private final PolicyServiceGrpc.PolicyServiceStub async;

  public PolicyClient(ClientSettings settings) {
    this.settings = settings;
    this.channel = GrpcChannels.open(settings);
    this.blocking = PolicyServiceGrpc.newBlockingStub(channel);
    this.async = PolicyServiceGrpc.newStub(channel);
  }

  public ClientSettings settings() {
    return settings;
  }

  /** The request's rollouts, gathered from the server's stream. */
  @Override
  public RolloutBatch generate(GenerateRequest request) {
    return RemoteCalls.call("Generate " + request.getRequestId(), settings, true, deadline -> {
      RolloutBatch.Builder batch = RolloutBatch.newBuilder().setRequestId(request.getRequestId());
      Iterator<Rollout> stream = blocking.withDeadline(deadline).generate(request);
      stream.forEachRemaining(batch::addRollouts);
      return batch.build();
    });
  }

  @Override
  public LogProbsBatch logProbs(LogProbsRequest request) {
    return RemoteCalls.call("LogProbs " + request.getRequestId(), settings, true,
        deadline -> blocking.withDeadline(deadline).logProbs(request));
  }

  /** Publishes the version in chunks of {@code settings.chunkBytes()}; throws naming why it was refused. */
  @Override
  public void load(AdapterVersion version) {
    publish(version);
  }

  /** As {@link #load}, with the server's answer: bytes sent, and whether it served this version already. */
  public AdapterLoaded publish(AdapterVersion version) {
    return publish(AdapterVersions.chunks(version, settings.chunkBytes()));
  }

  /** Sends {@code chunks} (of one version) as one LoadAdapter stream. */
  public AdapterLoaded publish(List<AdapterChunk> chunks) {
    AdapterChunk first = chunks.get(0);
    String name = "LoadAdapter " + first.getAdapter() + "@" + first.getVersion();
    return RemoteCalls.call(name, settings, true,
        deadline -> RemoteCalls.upload(async.withDeadline(deadline)::loadAdapter, chunks, deadline));
  }

  /**
   * Fetches the server's base-model files ({@code files}; empty: all) into {@code into}, each written
   * to a temporary file, checked against its size and sha-256, and only then moved in place: a
   * file that arrives corrupt throws naming it and both checksums, and leaves nothing behind.
   *
   * @param deadline for the whole transfer (a base model takes longer than one call)
   */
  public List<Path> fetchBase(Path into, List<String> files, Duration deadline) {
    FetchBaseRequest request = FetchBaseRequest.newBuilder().addAllFiles(files).build();
    ClientSettings transfer = settings.withDeadline(deadline);
    return RemoteCalls.call("FetchBase", transfer, true, d -> {
      // A cancellable context: a file that arrives corrupt stops the rest of the stream at once.
      Context.CancellableContext context = Context.current().withCancellation();
      Context previous = context.attach();
      FileWriter current = null;
      try {
        List<Path> written = new ArrayList<>();
        Files.createDirectories(into);
        Iterator<BaseFileChunk> stream = blocking.withDeadline(d).fetchBase(request);
        while (stream.hasNext()) {
          BaseFileChunk chunk = stream.next();
          if (current == null || !current.path.equals(chunk.getPath())) {
            if (current != null) {
              written.add(current.finish());
            }
            current = new FileWriter(into, chunk);
          }
          current.append(chunk);
        }
        if (current != null) {
          written.add(current.finish());
          current = null;
        }
        return written;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write base-model files into " + into + ": " + e.getMessage(), e);
      } finally {
        if (current != null) {
          current.abandon();
        }
        context.detach(previous);
        context.cancel(null);
      }
    });
  }

  /** One base-model file being received: bytes appended in order, checked when complete. */
  private static final class FileWriter {
    final String path;
    final Path target;
    final Path partial;
    final OutputStream out;
    final MessageDigest digest;
    final long bytes;
    final String sha256;
    long offset;

    FileWriter(Path into, BaseFileChunk first) throws IOException {
      this.path = first.getPath();
      Path root = into.toAbsolutePath().normalize();
      this.target = root.resolve(path).normalize();
      if (path.isEmpty() || !target.startsWith(root) || target.equals(root)) {
        throw new IllegalArgumentException("the server sent a base-model file outside the target folder: '" + path + "'");
      }
      Files.createDirectories(target.getParent());
      this.partial = target.resolveSibling(target.getFileName() + ".part");
      this.out = Files.newOutputStream(partial);
      try {
        this.digest = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("this JVM has no SHA-256", e);
      }
      this.bytes = first.getFileBytes();
      this.sha256 = first.getFileSha256();
    }

    void append(BaseFileChunk chunk) throws IOException {
      if (chunk.getOffset() != offset) {
        throw new IllegalStateException("base-model file " + path + ": a chunk at byte " + chunk.getOffset()
            + " where byte " + offset + " was due");
      }
      byte[] data = chunk.getData().toByteArray();
      out.write(data);
      digest.update(data);
      offset += data.length;
    }

    Path finish() throws IOException {
      out.close();
      String got = HexFormat.of().formatHex(digest.digest());
      if (offset != bytes || !got.equals(sha256)) {
        throw new IllegalStateException("base-model file " + path + " arrived corrupt: " + offset + " of " + bytes
            + " bytes, sha-256 " + got + " where the server announced " + sha256);
      }
      return Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Drops the partial file (a transfer that failed leaves nothing behind). */
    void abandon() {
      try {
        out.close();
        Files.deleteIfExists(partial);
      } catch (IOException ignored) {
        // best effort: the .part file is overwritten by the next try
      }
    }
  }

  @Override
  public void close() {
    GrpcChannels.close(channel);
  }
}
