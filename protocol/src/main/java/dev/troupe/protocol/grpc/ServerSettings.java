package dev.troupe.protocol.grpc;

import com.typesafe.config.Config;
import java.nio.file.Path;

/**
 * Where a gRPC server listens and what it accepts. With a certificate chain and its private key
 * (PEM files) it speaks TLS; without, plaintext, which is meant for loopback.
 *
 * @param port 0 binds any free port (the server reports the one it got)
 * @param maxMessageBytes the largest message accepted; a larger one is refused with RESOURCE_EXHAUSTED
 * @param certificateChain PEM certificate chain, or null for plaintext
 * @param privateKey PEM PKCS#8 private key of the chain's first certificate, or null for plaintext
 */
public record ServerSettings(String host, int port, int maxMessageBytes, Path certificateChain, Path privateKey) {
  public ServerSettings {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("troupe.grpc.host must name an address to listen on");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("troupe.grpc.port must be in [0, 65535] (0: any free port), got " + port);
    }
    if (maxMessageBytes < 1024) {
      throw new IllegalArgumentException("troupe.grpc.max-message-bytes must be at least 1024, got " + maxMessageBytes);
    }
    if ((certificateChain == null) != (privateKey == null)) {
      throw new IllegalArgumentException("TLS needs both troupe.grpc.tls.certificate-chain and "
          + "troupe.grpc.tls.private-key (got only " + (certificateChain != null ? "the chain" : "the key") + ")");
    }
  }

  /** Plaintext on 127.0.0.1, any free port, 16 MiB messages. */
  public static ServerSettings loopback() {
    return new ServerSettings("127.0.0.1", 0, 16 << 20, null, null);
  }

  /** The {@code troupe.grpc} block of {@code config} (see the protocol module's reference.conf). */
  public static ServerSettings fromConfig(Config config) {
    Config grpc = config.getConfig("troupe.grpc");
    String chain = grpc.getString("tls.certificate-chain");
    String key = grpc.getString("tls.private-key");
    return new ServerSettings(grpc.getString("host"), grpc.getInt("port"),
        Math.toIntExact(grpc.getBytes("max-message-bytes")),
        chain.isEmpty() ? null : Path.of(chain), key.isEmpty() ? null : Path.of(key));
  }

  public boolean tls() {
    return certificateChain != null;
  }

  public ServerSettings withPort(int p) {
    return new ServerSettings(host, p, maxMessageBytes, certificateChain, privateKey);
  }

  public ServerSettings withMaxMessageBytes(int bytes) {
    return new ServerSettings(host, port, bytes, certificateChain, privateKey);
  }

  public ServerSettings withTls(Path chain, Path key) {
    return new ServerSettings(host, port, maxMessageBytes, chain, key);
  }
}
