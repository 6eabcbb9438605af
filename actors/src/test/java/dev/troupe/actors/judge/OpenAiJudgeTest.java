package dev.troupe.actors.judge;

import static dev.troupe.actors.judge.JudgeFixtures.comparison;
import static dev.troupe.actors.judge.JudgeFixtures.swapped;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.troupe.actors.config.JudgeSettings;
import dev.troupe.protocol.Comparison;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The OpenAI-compatible judge against a loopback chat-completions server (FakeChatServer). */
class OpenAiJudgeTest {
  private static final OpenAiJudge.Backoff TINY_BACKOFF = new OpenAiJudge.Backoff(Duration.ofMillis(1),
      Duration.ofMillis(4));

  /** Waits the judge asked for, recorded instead of slept. */
  private final List<Duration> waits = Collections.synchronizedList(new ArrayList<>());

  private final Comparison goodFirst = comparison("c1", "say hi politely", "g", "hello, nice to see you", "b", "go away");

  private static JudgeSettings settings(String url, String apiKeyEnv, Duration timeout, int retries, int concurrency) {
    return new JudgeSettings("openai", JudgeFixtures.RUBRIC, 0.1, "judge-7b", url, apiKeyEnv, timeout, retries,
        concurrency);
  }

  private OpenAiJudge judge(JudgeSettings settings) {
    return new OpenAiJudge(settings, name -> name.equals("JUDGE_KEY") ? "sk-test" : null, TINY_BACKOFF, waits::add);
  }

  /** The letter under which the server sees the polite response. */
  private static String politeLetter(JsonNode request) {
    return FakeChatServer.shown(request)[0].startsWith("hello") ? "A" : "B";
  }

  @Test
  void verdictsFromLogprobsAverageBothOrdersAndTheRequestCarriesRubricModelAndKey() throws Exception {
    // A judge biased toward "A": P(A) is 0.7 when A is the polite response and still 0.4 when it is not. The
    // top log-probs split A's mass over "A" and " A", so both must be summed to get 0.7.
    try (FakeChatServer server = new FakeChatServer(request -> FakeChatServer.Reply.ok(
            politeLetter(request).equals("A")
                ? FakeChatServer.withLogprobs("A", Math.log(0.25), " A", Math.log(0.1), "B", Math.log(0.15))
                : FakeChatServer.withLogprobs("A", Math.log(0.2), "B", Math.log(0.3))));
        OpenAiJudge judge = judge(settings(server.url() + "/", "JUDGE_KEY", Duration.ofSeconds(5), 0, 2))) {
      List<Verdict> verdicts = judge.judge(List.of(goodFirst, swapped(goodFirst)));

      // (0.7 + (1 - 0.4)) / 2 = 0.65 for the polite response, in either order.
      assertEquals("g", verdicts.get(0).chosenResponseId());
      assertEquals(0.65, verdicts.get(0).probabilityFirstBetter(), 1e-9);
      assertEquals("g", verdicts.get(1).chosenResponseId());
      assertEquals(0.35, verdicts.get(1).probabilityFirstBetter(), 1e-9);
      assertEquals(0.65, verdicts.get(1).confidence(), 1e-9);
      assertEquals("openai:judge-7b@" + server.url() + "/", judge.id());
      assertEquals(4, server.requests().size(), "two orders of two comparisons");
      for (JsonNode request : server.requests()) {
        assertEquals("judge-7b", request.path("model").asText());
        assertEquals("system", request.path("messages").path(0).path("role").asText());
        assertEquals(JudgeFixtures.RUBRIC, request.path("messages").path(0).path("content").asText());
        assertTrue(request.path("messages").path(1).path("content").asText().startsWith("Prompt:\nsay hi politely"));
        assertEquals(0, request.path("temperature").asInt());
        assertEquals(1, request.path("max_tokens").asInt());
        assertTrue(request.path("logprobs").asBoolean() && request.path("top_logprobs").asInt() >= 2, request.toString());
      }
      assertEquals(List.of("Bearer sk-test"), server.authorizations().stream().distinct().toList());
    }
    IllegalArgumentException noKey = assertThrows(IllegalArgumentException.class,
        () -> judge(settings("http://127.0.0.1:1", "MISSING_KEY", Duration.ofSeconds(1), 0, 1)));
    assertTrue(noKey.getMessage().contains("MISSING_KEY"), noKey.getMessage());
  }

  @Test
  void withoutLogprobsTheAnswersFirstLetterDecidesAndAnythingElseIsATie() throws Exception {
    Comparison odd = comparison("c2", "say anything", "x", "what", "y", "ever");
    try (FakeChatServer server = new FakeChatServer(request -> FakeChatServer.Reply.ok(
            FakeChatServer.shown(request)[0].equals("what") || FakeChatServer.shown(request)[0].equals("ever")
                ? FakeChatServer.withContent("Neither.")
                : FakeChatServer.withContent(politeLetter(request).equals("A") ? " A." : "B")));
        OpenAiJudge judge = judge(settings(server.url(), null, Duration.ofSeconds(5), 0, 2))) {
      List<Verdict> verdicts = judge.judge(List.of(goodFirst, swapped(goodFirst), odd));

      assertEquals(new Verdict("g", 1.0, 1.0), verdicts.get(0));
      assertEquals(new Verdict("g", 0.0, 1.0), verdicts.get(1));
      assertNull(verdicts.get(2).chosenResponseId(), "an answer that is neither A nor B is no preference");
      assertEquals(List.of("null"), server.authorizations().stream().distinct().toList(), "no key configured, none sent");
    }
  }

  @Test
  void a503IsRetriedAfterTheServersRetryAfterAndThenAnswered() throws Exception {
    AtomicInteger count = new AtomicInteger();
    try (FakeChatServer server = new FakeChatServer(request -> count.incrementAndGet() == 1
            ? new FakeChatServer.Reply(503, Map.of("Retry-After", "3"), FakeChatServer.error("overloaded"))
            : FakeChatServer.Reply.ok(FakeChatServer.withContent(politeLetter(request))));
        OpenAiJudge judge = judge(settings(server.url(), null, Duration.ofSeconds(5), 2, 1))) {
      Verdict verdict = judge.judge(List.of(goodFirst)).get(0);

      assertEquals(new Verdict("g", 1.0, 1.0), verdict);
      assertEquals(3, server.requests().size(), "one 503, then both orders answered");
      assertEquals(List.of(Duration.ofSeconds(3)), waits, "the server's Retry-After, not the back-off");
    }
  }

  @Test
  void a400FailsAtOnceWithTheServersMessage() throws Exception {
    try (FakeChatServer server = new FakeChatServer(request ->
            new FakeChatServer.Reply(400, Map.of(), FakeChatServer.error("model 'judge-7b' does not exist")));
        OpenAiJudge judge = judge(settings(server.url(), null, Duration.ofSeconds(5), 3, 1))) {
      JudgeUnavailableException e = assertThrows(JudgeUnavailableException.class, () -> judge.judge(List.of(goodFirst)));

      assertEquals(1, e.attempts());
      assertTrue(e.getMessage().contains("HTTP 400: model 'judge-7b' does not exist"), e.getMessage());
      assertTrue(e.getMessage().contains("openai:judge-7b@"), e.getMessage());
      assertEquals(List.of(), waits, "no retry");
      assertTrue(server.requests().size() <= 2, "one request per order at most: " + server.requests().size());
    }
  }

  @Test
  void anUnreachableOrFailingEndpointGivesUpAfterRetriesPlusOneAttempts() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    try (OpenAiJudge judge = judge(settings("http://127.0.0.1:" + closedPort, null, Duration.ofSeconds(2), 2, 1))) {
      JudgeUnavailableException e = assertThrows(JudgeUnavailableException.class, () -> judge.judge(List.of(goodFirst)));

      assertEquals(3, e.attempts());
      assertInstanceOf(ConnectException.class, e.getCause(), e.getMessage());
      assertTrue(e.getMessage().contains("no answer from http://127.0.0.1:" + closedPort + "/v1/chat/completions"),
          e.getMessage());
    }
    waits.clear();
    try (FakeChatServer server = new FakeChatServer(request ->
            new FakeChatServer.Reply(503, Map.of(), FakeChatServer.error("overloaded")));
        OpenAiJudge judge = judge(settings(server.url(), null, Duration.ofSeconds(2), 2, 1))) {
      JudgeUnavailableException e = assertThrows(JudgeUnavailableException.class, () -> judge.judge(List.of(goodFirst)));

      assertEquals(3, e.attempts());
      assertTrue(e.getMessage().contains("HTTP 503: overloaded"), e.getMessage());
      long politeShownFirst = server.requests().stream().filter(r -> politeLetter(r).equals("A")).count();
      assertEquals(3, politeShownFirst, "the first order was sent exactly retries + 1 times");
      assertTrue(server.requests().size() <= 6, server.requests().size() + " requests");
      for (Duration wait : waits) { // back-off 1 ms · 2^n, capped at 4 ms, times a jitter in [0.5, 1)
        assertTrue(wait.toMillis() >= 0 && wait.toMillis() <= 4, "wait " + wait);
      }
      assertTrue(waits.size() >= 2, "at least the first order's two back-offs: " + waits);
    }
  }

  @Test
  void aServerThatNeverAnswersTimesOutEveryAttempt() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (FakeChatServer server = new FakeChatServer(request -> FakeChatServer.Reply.ok(FakeChatServer.withContent("A")),
            (request, self) -> release.await(20, TimeUnit.SECONDS));
        OpenAiJudge judge = judge(settings(server.url(), null, Duration.ofMillis(300), 1, 2))) {
      JudgeUnavailableException e = assertThrows(JudgeUnavailableException.class, () -> judge.judge(List.of(goodFirst)));

      assertEquals(2, e.attempts());
      assertInstanceOf(HttpTimeoutException.class, e.getCause(), e.getMessage());
    } finally {
      release.countDown();
    }
  }

  @Test
  void noMoreThanConcurrencyRequestsAreInFlightHoweverManyThreadsAsk() throws Exception {
    // Each request is held until two are in flight (bounded), then a little longer, so that a judge without
    // its limit would have its other threads' requests arrive meanwhile.
    FakeChatServer.Hold hold = (request, self) -> {
      for (int i = 0; i < 200 && self.inFlight() < 2; i++) {
        Thread.sleep(10);
      }
      Thread.sleep(30);
    };
    try (FakeChatServer server = new FakeChatServer(
            request -> FakeChatServer.Reply.ok(FakeChatServer.withContent(politeLetter(request))), hold);
        OpenAiJudge judge = judge(settings(server.url(), null, Duration.ofSeconds(10), 0, 2))) {
      ExecutorService callers = Executors.newFixedThreadPool(4);
      try {
        List<Future<List<Verdict>>> calls = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          calls.add(callers.submit(() -> judge.judge(List.of(goodFirst, swapped(goodFirst)))));
        }
        for (Future<List<Verdict>> call : calls) {
          List<Verdict> verdicts = call.get(60, TimeUnit.SECONDS);
          assertEquals("g", verdicts.get(0).chosenResponseId());
          assertEquals("g", verdicts.get(1).chosenResponseId());
        }
      } finally {
        callers.shutdownNow();
      }
      assertEquals(16, server.requests().size());
      assertEquals(2, server.peakInFlight(), "the judge's concurrency");
    }
  }
}
