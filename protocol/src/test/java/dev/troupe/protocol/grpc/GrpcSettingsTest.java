package dev.troupe.protocol.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The troupe.grpc block: its defaults, TLS files, and settings that cannot work named as such. */
class GrpcSettingsTest {

  @Test
  void theDefaultsArePlaintextOnLoopbackWithSixteenMebibyteMessagesAndOneMebibyteChunks() {
    ServerSettings server = ServerSettings.fromConfig(ConfigFactory.load());
    assertEquals("127.0.0.1", server.host());
    assertEquals(0, server.port());
    assertEquals(16 << 20, server.maxMessageBytes());
    assertFalse(server.tls());
    ClientSettings client = ClientSettings.fromConfig(ConfigFactory.load(), "worker-1", 7070);
    assertEquals("worker-1:7070", client.target());
    assertEquals(Duration.ofSeconds(60), client.deadline());
    assertEquals(3, client.attempts());
    assertEquals(1 << 20, client.chunkBytes());
    assertNull(client.trustedCertificates());
  }

  @Test
  void tlsFilesComeFromTheConfigAndHalfATlsSetupIsRefusedNamingTheMissingKey() {
    ServerSettings tls = ServerSettings.fromConfig(ConfigFactory.parseString(
        "troupe.grpc.tls { certificate-chain = \"certs/server.crt\", private-key = \"certs/server.key\" }")
        .withFallback(ConfigFactory.load()));
    assertTrue(tls.tls());
    assertEquals(Path.of("certs/server.crt"), tls.certificateChain());
    IllegalArgumentException half = assertThrows(IllegalArgumentException.class,
        () -> ServerSettings.fromConfig(ConfigFactory.parseString("troupe.grpc.tls.certificate-chain = \"a.crt\"")
            .withFallback(ConfigFactory.load())));
    assertTrue(half.getMessage().contains("troupe.grpc.tls.private-key") && half.getMessage().contains("only the chain"),
        half.getMessage());
    ClientSettings trusting = ClientSettings.fromConfig(ConfigFactory.parseString(
        "troupe.grpc.tls.trusted-certificates = \"certs/ca.crt\"").withFallback(ConfigFactory.load()), "w", 1);
    assertTrue(trusting.tls());
  }

  @Test
  void settingsThatCannotWorkAreRefusedNamingTheKey() {
    IllegalArgumentException chunk = assertThrows(IllegalArgumentException.class,
        () -> ClientSettings.loopback(7070).withChunkBytes(16 << 20));
    assertTrue(chunk.getMessage().contains("troupe.grpc.chunk-bytes"), chunk.getMessage());
    IllegalArgumentException port = assertThrows(IllegalArgumentException.class,
        () -> ServerSettings.loopback().withPort(70000));
    assertTrue(port.getMessage().contains("troupe.grpc.port must be in [0, 65535]"), port.getMessage());
    IllegalArgumentException attempts = assertThrows(IllegalArgumentException.class,
        () -> ClientSettings.loopback(7070).withAttempts(0));
    assertTrue(attempts.getMessage().contains("troupe.grpc.attempts"), attempts.getMessage());
    IllegalArgumentException deadline = assertThrows(IllegalArgumentException.class,
        () -> ClientSettings.loopback(7070).withDeadline(Duration.ZERO));
    assertTrue(deadline.getMessage().contains("troupe.grpc.deadline"), deadline.getMessage());
  }
}
