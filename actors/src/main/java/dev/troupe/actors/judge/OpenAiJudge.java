package dev.troupe.actors.judge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.actors.config.JudgeSettings;
import dev.troupe.protocol.Comparison;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A judge served by an OpenAI-compatible chat-completions endpoint (vLLM, Ollama, TGI, or OpenAI itself): the
 * rubric as the system message, the comparison as the user's, one token at temperature 0, and the log-probs of
 * "A" and "B" among the top ones (the first letter of the answer when the server gives no log-probs). Both
 * orders are asked and averaged, as {@link LocalJudge} does.
 *
 * <p>Each request has a connect and a response timeout; connection errors, timeouts, 429 and 5xx are retried
 * with exponential back-off and jitter (a Retry-After header wins), other 4xx fail at once with the server's
 * message; at most {@code concurrency} requests are in flight however many threads ask. So a dead endpoint ends
 * in a {@link JudgeUnavailableException} after a bounded time, never a hang.
 */
final class OpenAiJudge implements Judge {
  private static final Logger LOG = LoggerFactory.getLogger(OpenAiJudge.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int TOP_LOGPROBS = 5;
  /** A server asking for a longer pause than this is waited on for this long: every wait stays bounded. */
  private static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(2);
  static final Backoff DEFAULT_BACKOFF = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30));

  /** Waits between attempts (a test records the waits instead of sleeping). */
  interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;
  }

  /** The wait before retry n (0-based): initial · 2ⁿ, at most max, times a uniform jitter in [0.5, 1). */
  record Backoff(Duration initial, Duration max) {
    Duration delay(int retry, double uniform) {
      double millis = Math.min(max.toMillis(), initial.toMillis() * Math.pow(2, retry));
      return Duration.ofMillis(Math.round(millis * (0.5 + 0.5 * uniform)));
    }
  }

  private final String id;
  private final String rubric;
  private final String rubricSha256;
  private final String model;
  private final URI endpoint;
  private final String authorization;
  private final Duration timeout;
  private final int retries;
  private final Semaphore inFlight;
  private final HttpClient http;
  private final ExecutorService requests;
  private final Backoff backoff;
  private final Sleeper sleeper;

  OpenAiJudge(JudgeSettings settings, Function<String, String> environment) {
    this(settings, environment, DEFAULT_BACKOFF, duration -> Thread.sleep(duration.toMillis()));
  }

  /**
   * @param environment looks up the API key's variable (System::getenv outside tests)
   */
  OpenAiJudge(JudgeSettings settings, Function<String, String> environment, Backoff backoff, Sleeper sleeper) {
    if (settings.model() == null || settings.url() == null) {
      throw new IllegalArgumentException("an openai judge needs judge.model and judge.url");
    }
    this.id = "openai:" + settings.model() + "@" + settings.url();
    this.rubric = settings.rubric();
    this.rubricSha256 = Comparisons.sha256(settings.rubric());
    this.model = settings.model();
    this.endpoint = endpoint(settings.url());
    this.timeout = settings.timeout();
    this.retries = settings.retries();
    this.inFlight = new Semaphore(settings.concurrency(), true);
    this.backoff = backoff;
    this.sleeper = sleeper;
    if (settings.apiKeyEnv() != null) {
      String key = environment.apply(settings.apiKeyEnv());
      if (key == null || key.isBlank()) {
        throw new IllegalArgumentException("openai judge " + id + ": the environment variable " + settings.apiKeyEnv()
            + " (judge.api-key-env) is not set");
      }
      this.authorization = "Bearer " + key.strip();
    } else {
      this.authorization = null;
    }
    this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
    // Twice the permits: a request waiting out its back-off holds a thread but no permit.
    int threads = 2 * settings.concurrency();
    AtomicInteger count = new AtomicInteger();
    ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), task -> {
          Thread thread = new Thread(task, "openai-judge-" + count.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
    pool.allowCoreThreadTimeOut(true);
    this.requests = pool;
  }

  /** {url}/v1/chat/completions; a URL that already ends in /v1 (how OpenAI clients are configured) keeps it. */
  static URI endpoint(String url) {
    String base = url.replaceAll("/+$", "");
    return URI.create(base.endsWith("/v1") ? base + "/chat/completions" : base + "/v1/chat/completions");
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String rubricSha256() {
    return rubricSha256;
  }

  @Override
  public List<Verdict> judge(List<Comparison> comparisons) throws JudgeUnavailableException {
    List<Future<Double>> asked = new ArrayList<>();
    for (Comparison c : comparisons) {
      Comparisons.requirePair(c);
      String prompt = c.getPrompt().getText();
      String x = c.getResponses(0).getText();
      String y = c.getResponses(1).getText();
      asked.add(requests.submit(() -> probabilityOfA(c, Comparisons.question(prompt, x, y))));
      asked.add(requests.submit(() -> probabilityOfA(c, Comparisons.question(prompt, y, x))));
    }
    try {
      List<Verdict> verdicts = new ArrayList<>(comparisons.size());
      for (int i = 0; i < comparisons.size(); i++) {
        double firstAsA = answer(asked.get(2 * i));
        double firstAsB = answer(asked.get(2 * i + 1));
        verdicts.add(Verdict.fromProbability(comparisons.get(i), Comparisons.firstBetter(firstAsA, firstAsB)));
      }
      return verdicts;
    } finally {
      asked.forEach(future -> future.cancel(true)); // after a failure, nothing more is sent for this call
    }
  }

  /** Every request is bounded (attempts × (timeout + back-off)), so waiting for one is too. */
  private double answer(Future<Double> future) throws JudgeUnavailableException {
    try {
      return future.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof JudgeUnavailableException unavailable) {
        throw unavailable;
      }
      throw new IllegalStateException("judge " + id + ": " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new JudgeUnavailableException(id, 0, "interrupted while waiting for the server", e);
    }
  }

  /** One order of one comparison: P("A") / (P("A") + P("B")), with the retries. */
  private double probabilityOfA(Comparison comparison, String question) throws JudgeUnavailableException {
    HttpRequest request = request(question);
    String lastProblem = null;
    IOException lastError = null;
    for (int attempt = 1; attempt <= retries + 1; attempt++) {
      Duration serverWait = null;
      try {
        HttpResponse<String> response;
        inFlight.acquire();
        try {
          response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } finally {
          inFlight.release();
        }
        int status = response.statusCode();
        if (status / 100 == 2) {
          return parse(comparison, response.body(), attempt);
        }
        lastProblem = "HTTP " + status + ": " + serverMessage(response.body());
        lastError = null;
        if (status != 429 && status < 500) {
          throw new JudgeUnavailableException(id, attempt, "the server refused the request with " + lastProblem, null);
        }
        serverWait = retryAfter(response).orElse(null);
      } catch (IOException e) { // refused, reset, timed out (HttpTimeoutException is one)
        lastError = e;
        lastProblem = e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + e.getMessage() : "");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new JudgeUnavailableException(id, attempt, "interrupted", e);
      }
      if (attempt <= retries) {
        Duration wait = serverWait != null ? min(serverWait, MAX_RETRY_AFTER)
            : backoff.delay(attempt - 1, ThreadLocalRandom.current().nextDouble());
        LOG.warn("judge {}: {} (attempt {} of {}); retrying in {} ms", id, lastProblem, attempt, retries + 1,
            wait.toMillis());
        try {
          sleeper.sleep(wait);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new JudgeUnavailableException(id, attempt, "interrupted", e);
        }
      }
    }
    throw new JudgeUnavailableException(id, retries + 1, "no answer from " + endpoint + ": " + lastProblem, lastError);
  }

  private HttpRequest request(String question) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    body.putArray("messages")
        .add(JSON.createObjectNode().put("role", "system").put("content", rubric))
        .add(JSON.createObjectNode().put("role", "user").put("content", question));
    body.put("temperature", 0);
    body.put("max_tokens", 1);
    body.put("logprobs", true);
    body.put("top_logprobs", TOP_LOGPROBS);
    HttpRequest.Builder builder = HttpRequest.newBuilder(endpoint)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    if (authorization != null) {
      builder.header("Authorization", authorization);
    }
    return builder.build();
  }

  /**
   * The verdict letters' share of the top log-probs ("A" and " A" summed, likewise "B"); without any, the
   * first letter of the answer; an answer that is neither A nor B counts as no preference (0.5).
   */
  private double parse(Comparison comparison, String body, int attempt) throws JudgeUnavailableException {
    JsonNode choice;
    try {
      choice = JSON.readTree(body).path("choices").path(0);
    } catch (JsonProcessingException e) {
      throw new JudgeUnavailableException(id, attempt, "the server's answer is not JSON: " + abbreviate(body), e);
    }
    if (!choice.isObject()) {
      throw new JudgeUnavailableException(id, attempt, "the server's answer has no choices: " + abbreviate(body), null);
    }
    JsonNode first = choice.path("logprobs").path("content").path(0);
    JsonNode candidates = first.path("top_logprobs").isArray() && !first.path("top_logprobs").isEmpty()
        ? first.path("top_logprobs") : JSON.createArrayNode().add(first);
    double logA = Double.NEGATIVE_INFINITY;
    double logB = Double.NEGATIVE_INFINITY;
    for (JsonNode candidate : candidates) {
      if (!candidate.path("logprob").isNumber()) {
        continue;
      }
      String token = candidate.path("token").asText("").strip();
      double logprob = candidate.path("logprob").asDouble();
      if (token.equals("A")) {
        logA = logAddExp(logA, logprob);
      } else if (token.equals("B")) {
        logB = logAddExp(logB, logprob);
      }
    }
    if (logA > Double.NEGATIVE_INFINITY || logB > Double.NEGATIVE_INFINITY) {
      return 1 / (1 + Math.exp(logB - logA));
    }
    String content = choice.path("message").path("content").asText("").strip();
    if (content.startsWith("A")) {
      return 1;
    } else if (content.startsWith("B")) {
      return 0;
    }
    LOG.warn("judge {}: answered '{}' to comparison {}, neither A nor B; counted as no preference", id,
        abbreviate(content), comparison.getId());
    return 0.5;
  }

  /** The error message of an OpenAI-style error body ({"error": {"message": ...}}), else the body itself. */
  private static String serverMessage(String body) {
    try {
      JsonNode error = JSON.readTree(body).path("error");
      if (error.path("message").isTextual()) {
        return error.path("message").asText();
      }
      if (error.isTextual()) {
        return error.asText();
      }
    } catch (JsonProcessingException e) {
      // not JSON: the body as it is
    }
    return abbreviate(body);
  }

  /** Retry-After as seconds or as an HTTP date. */
  static Optional<Duration> retryAfter(HttpResponse<?> response) {
    Optional<String> header = response.headers().firstValue("Retry-After");
    if (header.isEmpty()) {
      return Optional.empty();
    }
    String value = header.get().strip();
    try {
      return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(value))));
    } catch (NumberFormatException e) {
      try {
        Duration until = Duration.between(ZonedDateTime.now(),
            ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME));
        return Optional.of(until.isNegative() ? Duration.ZERO : until);
      } catch (DateTimeParseException notADate) {
        return Optional.empty();
      }
    }
  }

  private static double logAddExp(double a, double b) {
    double max = Math.max(a, b);
    return max == Double.NEGATIVE_INFINITY ? max : max + Math.log(Math.exp(a - max) + Math.exp(b - max));
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private static String abbreviate(String text) {
    return text.length() <= 300 ? text : text.substring(0, 300) + "...";
  }

  @Override
  public void close() {
    requests.shutdownNow();
  }
}
