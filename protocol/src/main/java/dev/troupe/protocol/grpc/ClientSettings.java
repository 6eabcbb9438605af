package dev.troupe.protocol.grpc;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;

/**
 * How a client reaches a worker's gRPC server: its address, the deadline every call gets, how often
 * an idempotent call is tried when the server is unavailable, message limits, and the certificates
 * it trusts (set: TLS; null: plaintext, meant for loopback).
 *
 * @param deadline each attempt of a call must finish within it (a streamed transfer as a whole too)
 * @param attempts tries of an idempotent call that fails UNAVAILABLE (at least 1)
 * @param backoff wait before the second try, doubled before each further one
 * @param maxMessageBytes the largest message the client accepts
 * @param chunkBytes the largest piece an adapter or reward-model version is sent in
 * @param trustedCertificates PEM certificates the client trusts, or null for plaintext
 */
public record ClientSettings(String host, int port, Duration deadline, int attempts, Duration backoff,
    int maxMessageBytes, int chunkBytes, Path trustedCertificates) {
  public ClientSettings {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("a gRPC client needs a host to connect to");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("a gRPC client needs a port in [1, 65535], got " + port);
    }
    if (deadline == null || deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException("troupe.grpc.deadline must be positive, got " + deadline);
    }
    if (attempts < 1) {
      throw new IllegalArgumentException("troupe.grpc.attempts must be at least 1, got " + attempts);
    }
    if (backoff == null || backoff.isNegative()) {
      throw new IllegalArgumentException("troupe.grpc.retry-backoff must be >= 0, got " + backoff);
    }
    if (chunkBytes < 1 || chunkBytes > maxMessageBytes - 4096) {
      throw new IllegalArgumentException("troupe.grpc.chunk-bytes must be in [1, max-message-bytes - 4096], got "
          + chunkBytes + " with max-message-bytes " + maxMessageBytes);
    }
  }

  /** Plaintext to 127.0.0.1:{@code port}: a 60 s deadline, 3 tries, 16 MiB messages, 1 MiB chunks. */
  public static ClientSettings loopback(int port) {
    return new ClientSettings("127.0.0.1", port, Duration.ofSeconds(60), 3, Duration.ofMillis(200), 16 << 20,
        1 << 20, null);
  }

  /** The {@code troupe.grpc} block of {@code config} for a server at host:port. */
  public static ClientSettings fromConfig(Config config, String host, int port) {
    Config grpc = config.getConfig("troupe.grpc");
    String trusted = grpc.getString("tls.trusted-certificates");
    return new ClientSettings(host, port, grpc.getDuration("deadline"), grpc.getInt("attempts"),
        grpc.getDuration("retry-backoff"), Math.toIntExact(grpc.getBytes("max-message-bytes")),
        Math.toIntExact(grpc.getBytes("chunk-bytes")), trusted.isEmpty() ? null : Path.of(trusted));
  }

  public String target() {
    return host + ":" + port;
  }

  public boolean tls() {
    return trustedCertificates != null;
  }

  public ClientSettings withDeadline(Duration d) {
    return new ClientSettings(host, port, d, attempts, backoff, maxMessageBytes, chunkBytes, trustedCertificates);
  }

  public ClientSettings withAttempts(int n) {
    return new ClientSettings(host, port, deadline, n, backoff, maxMessageBytes, chunkBytes, trustedCertificates);
  }

  public ClientSettings withChunkBytes(int bytes) {
    return new ClientSettings(host, port, deadline, attempts, backoff, maxMessageBytes, bytes, trustedCertificates);
  }

  public ClientSettings withTrustedCertificates(Path pem) {
    return new ClientSettings(host, port, deadline, attempts, backoff, maxMessageBytes, chunkBytes, pem);
  }
}
