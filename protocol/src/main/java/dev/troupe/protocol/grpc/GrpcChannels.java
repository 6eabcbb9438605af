package dev.troupe.protocol.grpc;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;

/** Channels to a worker's gRPC server as {@link ClientSettings} describe them. */
public final class GrpcChannels {
  private GrpcChannels() {}

  /** A channel to {@code settings.target()} (connecting lazily, on the first call). */
  public static ManagedChannel open(ClientSettings settings) {
    ChannelCredentials credentials;
    try {
      credentials = settings.tls()
          ? TlsChannelCredentials.newBuilder().trustManager(settings.trustedCertificates().toFile()).build()
          : InsecureChannelCredentials.create();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the trusted certificates " + settings.trustedCertificates()
          + ": " + e.getMessage(), e);
    }
    return NettyChannelBuilder.forAddress(settings.host(), settings.port(), credentials)
        .maxInboundMessageSize(settings.maxMessageBytes())
        .build();
  }

  /** Shuts {@code channel} down, waiting up to 5 s for calls in flight before cancelling them. */
  public static void close(ManagedChannel channel) {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
