package dev.troupe.protocol.grpc;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A started gRPC server: its services bound on one address, with a message size limit, TLS when
 * configured, and requests that do not parse answered INVALID_ARGUMENT naming the method and the
 * message type (see {@link RequestParsing}). Closing it stops it.
 */
public final class GrpcServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GrpcServer.class);

  private final Server server;
  private final ServerSettings settings;

  private GrpcServer(Server server, ServerSettings settings) {
    this.server = server;
    this.settings = settings;
  }

  /** Binds and starts {@code services}; throws naming the address when it cannot bind or read the TLS files. */
  public static GrpcServer start(ServerSettings settings, List<ServerServiceDefinition> services) {
    ServerCredentials credentials;
    try {
      credentials = settings.tls()
          ? TlsServerCredentials.create(settings.certificateChain().toFile(), settings.privateKey().toFile())
          : InsecureServerCredentials.create();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the TLS files " + settings.certificateChain() + " and "
          + settings.privateKey() + ": " + e.getMessage(), e);
    }
    if (!settings.tls() && !isLoopback(settings.host())) {
      LOG.warn("gRPC server on {} speaks plaintext to the network; set troupe.grpc.tls.* to encrypt it",
          settings.host());
    }
    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(settings.host(), settings.port()), credentials)
        .maxInboundMessageSize(settings.maxMessageBytes());
    for (ServerServiceDefinition service : services) {
      builder.addService(RequestParsing.guard(service));
    }
    Server server = builder.build();
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start a gRPC server on " + settings.host() + ":" + settings.port()
          + ": " + e.getMessage(), e);
    }
    LOG.info("gRPC server ({}) listening on {}:{} with {}", settings.tls() ? "TLS" : "plaintext",
        settings.host(), server.getPort(), services.stream().map(s -> s.getServiceDescriptor().getName()).toList());
    return new GrpcServer(server, settings);
  }

  private static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (IOException e) {
      return false;
    }
  }

  /** The port bound (the one asked for, or the free one found for port 0). */
  public int port() {
    return server.getPort();
  }

  public String host() {
    return settings.host();
  }

  /** Stops taking calls, lets running ones finish for up to 5 s, then cancels them. */
  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
