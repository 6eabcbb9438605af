package dev.troupe.policy.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.protobuf.ByteString;
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.policy.PolicyBackend;
import dev.troupe.policy.PolicyFixtures;
import dev.troupe.policy.PolicyService;
import dev.troupe.protocol.AdapterChunk;
import dev.troupe.protocol.AdapterLoaded;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.BaseFileChunk;
import dev.troupe.protocol.FetchBaseRequest;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.LogProbsRequest;
import dev.troupe.protocol.PolicyServiceGrpc;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.grpc.ClientSettings;
import dev.troupe.protocol.grpc.GrpcChannels;
import dev.troupe.protocol.grpc.GrpcServer;
import dev.troupe.protocol.grpc.RemoteCallException;
import dev.troupe.protocol.grpc.RemoteRequestRefusedException;
import dev.troupe.protocol.grpc.ServerSettings;
import io.grpc.ForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A policy worker's gRPC server on a loopback port (0: a free one) in front of a real PolicyService
 * over a tiny Llama: what crosses the wire equals what the worker computes in-process, adapter
 * versions arrive in checksummed chunks, and bad input of every kind gets a status that names it
 * while the server keeps serving.
 */
class PolicyGrpcTest {
  /** A small message limit, so that a too-large message is cheap to make. */
  static final int MAX_MESSAGE_BYTES = 256 << 10;

  NDManager root;
  CausalLm model;
  PolicyService service;
  ExecutorService tensors;
  GrpcServer server;
  List<AutoCloseable> closeLast = new ArrayList<>();

  @BeforeEach
  void start() {
    root = NDManager.newBaseManager();
    model = CausalLm.random(PolicyFixtures.config(), 1, root);
    service = new PolicyService(model, null, "policy-test", "campaign-1/", 3, PolicyService.Batching.MERGE_WAITING);
    tensors = Executors.newFixedThreadPool(2);
  }

  @AfterEach
  void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    for (AutoCloseable c : closeLast) {
      c.close();
    }
    tensors.shutdownNow();
    assertTrue(tensors.awaitTermination(30, TimeUnit.SECONDS));
    service.close();
    model.close();
    root.close();
  }

  private GrpcServer serve(PolicyBackend backend, Path baseDir) {
    server = PolicyGrpcService.serve(ServerSettings.loopback().withMaxMessageBytes(MAX_MESSAGE_BYTES), backend,
        tensors, baseDir);
    return server;
  }

  private PolicyClient client(ClientSettings settings) {
    PolicyClient client = new PolicyClient(settings);
    closeLast.add(0, client);
    return client;
  }

  private ClientSettings loopback() {
    return ClientSettings.loopback(server.port()).withChunkBytes(4096);
  }

  static GenerateRequest request(String adapter, String id, long version) {
    return PolicyFixtures.request(adapter, id, 3, 2, PolicyFixtures.sampling(6, 0.9, 0, 1.0, 5)).toBuilder()
        .setAdapterVersion(version).build();
  }

  static long versionOf(RolloutBatch batch) {
    return batch.getRollouts(0).getAdapterVersion();
  }

  @Test
  void anAdapterPublishedInChunksIsServedAndGenerationOverGrpcEqualsInProcess() {
    serve(service, null);
    PolicyClient client = client(loopback());
    AdapterVersion v1 = PolicyFixtures.version(model, "rlhf", 1, 0.5f, false);
    List<AdapterChunk> chunks = AdapterVersions.chunks(v1, 4096);
    assertTrue(chunks.size() >= 3, "the version travels in " + chunks.size() + " chunks");
    AdapterLoaded loaded = client.publish(chunks);
    assertEquals(v1.getSerializedSize(), loaded.getBytes());
    assertFalse(loaded.getAlreadyServed());
    assertTrue(client.publish(v1).getAlreadyServed(), "publishing the same version again is a no-op");

    try (PolicyService local = new PolicyService(model, null, "policy-test", "campaign-1/", 3)) {
      local.load(v1);
      GenerateRequest request = request("rlhf", "rlhf/batch-1", 1);
      RolloutBatch viaGrpc = client.generate(request);
      assertEquals(local.generate(request), viaGrpc);
      assertEquals(6, viaGrpc.getRolloutsCount());
      assertEquals(1, versionOf(viaGrpc));
      // The version served moves the tokens away from the base's: the chunks were put together and used.
      RolloutBatch base = client.generate(request("", "rlhf/batch-1", 0));
      assertNotEquals(base.getRolloutsList().stream().map(Rollout::getResponseTokenIdsList).toList(),
          viaGrpc.getRolloutsList().stream().map(Rollout::getResponseTokenIdsList).toList());

      LogProbsRequest score = LogProbsRequest.newBuilder().setRequestId("ref").setAdapter("rlhf").setAdapterVersion(1)
          .setTemperature(0.9).addAllRollouts(viaGrpc.getRolloutsList()).build();
      assertEquals(local.logProbs(score), client.logProbs(score));
    }
  }

  @Test
  void aCorruptOrIncompleteTransferIsRefusedNamingItAndThePreviousVersionKeepsServing() {
    serve(service, null);
    PolicyClient client = client(loopback().withAttempts(1));
    client.publish(PolicyFixtures.version(model, "rlhf", 1, 0.5f, false));
    AdapterVersion v2 = PolicyFixtures.version(model, "rlhf", 2, -0.4f, false);
    List<AdapterChunk> chunks = AdapterVersions.chunks(v2, 4096);

    List<AdapterChunk> corrupt = new ArrayList<>(chunks);
    byte[] data = corrupt.get(1).getData().toByteArray();
    data[17] ^= 0x20;
    corrupt.set(1, corrupt.get(1).toBuilder().setData(ByteString.copyFrom(data)).build());
    RemoteRequestRefusedException badSum = assertThrows(RemoteRequestRefusedException.class, () -> client.publish(corrupt));
    assertEquals(Status.Code.INVALID_ARGUMENT, badSum.code());
    assertTrue(badSum.getMessage().contains("do not match the sha-256 " + chunks.get(0).getSha256()), badSum.getMessage());

    List<AdapterChunk> missing = new ArrayList<>(chunks);
    missing.remove(2);
    RemoteRequestRefusedException gap = assertThrows(RemoteRequestRefusedException.class, () -> client.publish(missing));
    assertEquals(Status.Code.INVALID_ARGUMENT, gap.code());
    assertTrue(gap.getMessage().contains((chunks.size() - 1) + " of " + chunks.size() + " chunks"), gap.getMessage());

    assertEquals(1, versionOf(client.generate(request("rlhf", "after-corrupt", 2))), "version 1 still serves");
    client.publish(chunks);
    assertEquals(2, versionOf(client.generate(request("rlhf", "after-good", 2))));

    client.publish(chunks); // the same version again (a retry): served as it is
    assertEquals(2, versionOf(client.generate(request("rlhf", "again", 2))));
    // An older version with other weights is a resumed learner's: the worker rewinds to it.
    client.publish(PolicyFixtures.version(model, "rlhf", 1, 0.7f, false));
    assertEquals(1, versionOf(client.generate(request("rlhf", "rewound", 2))), "version 2 is gone");

    RemoteRequestRefusedException unknown = assertThrows(RemoteRequestRefusedException.class,
        () -> client.generate(request("ghost", "ghost/1", 1)));
    assertEquals(Status.Code.NOT_FOUND, unknown.code());
    assertTrue(unknown.getMessage().contains("unknown adapter 'ghost'"), unknown.getMessage());
  }

  @Test
  void malformedBytesATooLargeMessageAndGarbageOnThePortAreAnsweredAndTheServerKeepsServing() throws Exception {
    serve(service, null);
    PolicyClient client = client(loopback().withAttempts(1));
    GenerateRequest good = request("", "good", 0);
    RolloutBatch expected = client.generate(good);

    ManagedChannel channel = GrpcChannels.open(loopback());
    try {
      // Field 4 (rollouts) claims 200 bytes; 3 follow.
      StatusRuntimeException malformed = assertThrows(StatusRuntimeException.class,
          () -> RawCalls.unary(channel, "troupe.v1.PolicyService/LogProbs", new byte[] {0x22, (byte) 200, 1, 1, 0x0a}));
      assertEquals(Status.Code.INVALID_ARGUMENT, malformed.getStatus().getCode());
      assertTrue(malformed.getStatus().getDescription().startsWith(
          "malformed troupe.v1.LogProbsRequest in troupe.v1.PolicyService/LogProbs"), malformed.getStatus().getDescription());
    } finally {
      GrpcChannels.close(channel);
    }
    assertEquals(expected, client.generate(good));

    Prompt huge = Prompt.newBuilder().setId("huge").setText("x".repeat(MAX_MESSAGE_BYTES + 1000)).addTokenIds(1).build();
    RemoteRequestRefusedException tooLarge = assertThrows(RemoteRequestRefusedException.class,
        () -> client.logProbs(LogProbsRequest.newBuilder().setRequestId("huge")
            .addRollouts(Rollout.newBuilder().setId("r").setPrompt(huge).addResponseTokenIds(2)).build()));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, tooLarge.code());
    assertTrue(tooLarge.getMessage().contains("exceeds maximum size " + MAX_MESSAGE_BYTES), tooLarge.getMessage());
    assertEquals(expected, client.generate(good));

    // Bytes that are not HTTP/2 at all: the server drops the connection, and only that one.
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 10_000);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      byte[] garbage = new byte[4096];
      new SplittableRandom(3).nextBytes(garbage);
      out.write("GET / HTTP/1.1\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.write(garbage);
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[8192];
      try {
        while (in.read(buffer) >= 0) {
          // read what the server answers until it closes the connection
        }
      } catch (java.net.SocketException reset) {
        // closed with a reset: dropped all the same
      }
    }
    assertEquals(expected, client.generate(good));
  }

  /** A backend whose generation waits until released: a call that outlives its deadline. */
  static final class HeldBackend implements PolicyBackend {
    final PolicyBackend inner;
    final AtomicInteger calls = new AtomicInteger();
    volatile CountDownLatch release = new CountDownLatch(1);

    HeldBackend(PolicyBackend inner) {
      this.inner = inner;
    }

    @Override
    public RolloutBatch generate(GenerateRequest request) {
      calls.incrementAndGet();
      try {
        if (!release.await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the test never released the generation");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      return inner.generate(request);
    }

    @Override
    public LogProbsBatch logProbs(LogProbsRequest request) {
      return inner.logProbs(request);
    }

    @Override
    public void load(AdapterVersion version) {
      inner.load(version);
    }
  }

  @Test
  void aCallPastItsDeadlineIsReportedAsDeadlineExceededAndNotTriedAgain() {
    HeldBackend held = new HeldBackend(service);
    serve(held, null);
    PolicyClient hasty = client(loopback().withDeadline(Duration.ofMillis(300)));
    RemoteCallException late = assertThrows(RemoteCallException.class, () -> hasty.generate(request("", "late", 0)));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, late.code());
    assertTrue(late.getMessage().contains("Generate late on 127.0.0.1:" + server.port()
        + " exceeded its deadline of 300 ms"), late.getMessage());
    assertEquals(1, held.calls.get(), "a call that ran out of time is not sent again");
    held.release.countDown();
    RolloutBatch after = client(loopback()).generate(request("", "after", 0));
    assertEquals(6, after.getRolloutsCount());
  }

  @Test
  void anIdempotentCallIsTriedAgainWhileTheWorkerIsUnavailableAndTheFailureNamesTheTries() {
    AtomicInteger seen = new AtomicInteger();
    AtomicInteger refuse = new AtomicInteger(2);
    ServerInterceptor flaky = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        seen.incrementAndGet();
        if (refuse.getAndDecrement() > 0) {
          call.close(Status.UNAVAILABLE.withDescription("worker restarting"), new Metadata());
          return new ServerCall.Listener<>() {};
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {};
      }
    };
    server = GrpcServer.start(ServerSettings.loopback(), List.of(ServerInterceptors.intercept(
        new PolicyGrpcService(service, tensors, null, 1 << 20, 16 << 20).bindService(), flaky)));
    ClientSettings settings = loopback();
    settings = new ClientSettings(settings.host(), settings.port(), settings.deadline(), 3, Duration.ofMillis(10),
        settings.maxMessageBytes(), settings.chunkBytes(), null);
    RolloutBatch batch = client(settings).generate(request("", "flaky", 0));
    assertEquals(6, batch.getRolloutsCount());
    assertEquals(3, seen.get(), "two refusals, then the call that worked");

    refuse.set(5);
    seen.set(0);
    RemoteCallException gaveUp = assertThrows(RemoteCallException.class,
        () -> client(loopback().withAttempts(2)).generate(request("", "flaky-2", 0)));
    assertEquals(Status.Code.UNAVAILABLE, gaveUp.code());
    assertTrue(gaveUp.getMessage().contains("failed after 2 tries: UNAVAILABLE: worker restarting"), gaveUp.getMessage());
    assertEquals(2, seen.get());
  }

  @Test
  void overTlsAClientThatTrustsTheServersCertificateIsServedAndAPlaintextClientIsNot(@TempDir Path dir)
      throws Exception {
    SelfSignedCertificate cert = SelfSignedCertificate.create(dir);
    server = PolicyGrpcService.serve(ServerSettings.loopback().withTls(cert.certificate(), cert.privateKey()), service,
        tensors, null);
    GenerateRequest request = request("", "tls", 0);
    RolloutBatch overTls = client(loopback().withTrustedCertificates(cert.certificate())).generate(request);
    assertEquals(service.generate(request), overTls);
    RemoteCallException plaintext = assertThrows(RemoteCallException.class,
        () -> client(loopback().withAttempts(1).withDeadline(Duration.ofSeconds(10))).generate(request));
    assertEquals(Status.Code.UNAVAILABLE, plaintext.code(), plaintext.getMessage());
  }

  @Test
  void baseModelFilesArriveByteForByteInChecksummedChunks(@TempDir Path dir) throws Exception {
    Path base = Files.createDirectories(dir.resolve("base"));
    byte[] weights = new byte[600_000];
    new SplittableRandom(1).nextBytes(weights);
    Files.write(base.resolve("model.safetensors"), weights);
    Files.writeString(base.resolve("config.json"), "{\"model_type\": \"llama\"}");
    Files.write(base.resolve("empty.txt"), new byte[0]);
    Files.createDirectories(base.resolve("tokenizer"));
    Files.writeString(base.resolve("tokenizer/tokenizer.json"), "{\"version\": \"1.0\"}");
    serve(service, base);
    PolicyClient client = client(loopback());

    Path into = dir.resolve("fetched");
    List<Path> fetched = client.fetchBase(into, List.of(), Duration.ofSeconds(60));
    assertEquals(4, fetched.size());
    for (String file : List.of("model.safetensors", "config.json", "empty.txt", "tokenizer/tokenizer.json")) {
      assertArrayEquals(Files.readAllBytes(base.resolve(file)), Files.readAllBytes(into.resolve(file)), file);
    }
    try (Stream<Path> left = Files.list(into)) {
      assertTrue(left.noneMatch(p -> p.toString().endsWith(".part")), "no partial file is left");
    }
    // The big file came in several chunks, each within the message limit.
    ManagedChannel channel = GrpcChannels.open(loopback());
    try {
      List<BaseFileChunk> chunks = new ArrayList<>();
      PolicyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
          .fetchBase(FetchBaseRequest.newBuilder().addFiles("model.safetensors").setChunkBytes(100_000).build())
          .forEachRemaining(chunks::add);
      assertEquals(6, chunks.size());
      assertEquals(500_000, chunks.get(5).getOffset());
      assertEquals(BaseModelFiles.sha256(base.resolve("model.safetensors")), chunks.get(5).getFileSha256());
    } finally {
      GrpcChannels.close(channel);
    }

    RemoteRequestRefusedException unknown = assertThrows(RemoteRequestRefusedException.class,
        () -> client.fetchBase(dir.resolve("other"), List.of("../secret.txt"), Duration.ofSeconds(30)));
    assertEquals(Status.Code.NOT_FOUND, unknown.code());
    assertTrue(unknown.getMessage().contains("no file '../secret.txt'"), unknown.getMessage());
  }

  @Test
  void aBaseModelFileThatArrivesCorruptIsRejectedAndLeavesNothingBehind(@TempDir Path dir) {
    // A server that announces one checksum and sends other bytes.
    PolicyServiceGrpc.PolicyServiceImplBase lying = new PolicyServiceGrpc.PolicyServiceImplBase() {
      @Override
      public void fetchBase(FetchBaseRequest request, StreamObserver<BaseFileChunk> out) {
        out.onNext(BaseFileChunk.newBuilder().setPath("model.safetensors").setOffset(0)
            .setData(ByteString.copyFromUtf8("abcd")).setFileBytes(8).setFileSha256("00ff").build());
        out.onNext(BaseFileChunk.newBuilder().setPath("model.safetensors").setOffset(4)
            .setData(ByteString.copyFromUtf8("efgh")).setFileBytes(8).setFileSha256("00ff").build());
        out.onCompleted();
      }
    };
    server = GrpcServer.start(ServerSettings.loopback(), List.of(lying.bindService()));
    Path into = dir.resolve("fetched");
    IllegalStateException corrupt = assertThrows(IllegalStateException.class,
        () -> client(loopback()).fetchBase(into, List.of(), Duration.ofSeconds(30)));
    assertTrue(corrupt.getMessage().contains("model.safetensors arrived corrupt") && corrupt.getMessage().contains("00ff"),
        corrupt.getMessage());
    assertFalse(Files.exists(into.resolve("model.safetensors")));
    assertFalse(Files.exists(into.resolve("model.safetensors.part")));
  }

  @Test
  void aWorkerWithoutBaseFilesSaysSo(@TempDir Path dir) {
    serve(service, null);
    RemoteRequestRefusedException none = assertThrows(RemoteRequestRefusedException.class,
        () -> client(loopback()).fetchBase(dir, List.of(), Duration.ofSeconds(30)));
    assertEquals(Status.Code.FAILED_PRECONDITION, none.code());
    assertTrue(none.getMessage().contains("serves no base-model files"), none.getMessage());
  }
}
