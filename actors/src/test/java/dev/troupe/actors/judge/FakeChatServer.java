package dev.troupe.actors.judge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An OpenAI-compatible chat-completions endpoint on a free loopback port, answering with a function of the
 * request, recording every request, its Authorization header and the peak of requests in flight.
 */
final class FakeChatServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern RESPONSES = Pattern.compile("Response A:\n(.*)\n\nResponse B:\n(.*)\n\nWhich", Pattern.DOTALL);

  /** What the server answers: a status, headers and a body. */
  record Reply(int status, Map<String, String> headers, String body) {
    static Reply ok(String body) {
      return new Reply(200, Map.of(), body);
    }
  }

  /** Something the handler does with a request before answering it (holding it, counting it). */
  interface Hold {
    void during(JsonNode request, FakeChatServer server) throws InterruptedException;
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(16);
  private final List<JsonNode> requests = Collections.synchronizedList(new ArrayList<>());
  private final List<String> authorizations = Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger peak = new AtomicInteger();

  FakeChatServer(Function<JsonNode, Reply> answer, Hold hold) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(executor);
    server.createContext("/v1/chat/completions", exchange -> handle(exchange, answer, hold));
    server.start();
  }

  FakeChatServer(Function<JsonNode, Reply> answer) throws IOException {
    this(answer, (request, server) -> {});
  }

  private void handle(HttpExchange exchange, Function<JsonNode, Reply> answer, Hold hold) throws IOException {
    int now = inFlight.incrementAndGet();
    peak.accumulateAndGet(now, Math::max);
    try {
      JsonNode request = JSON.readTree(exchange.getRequestBody().readAllBytes());
      requests.add(request);
      authorizations.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
      hold.during(request, this);
      Reply reply = answer.apply(request);
      reply.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
      byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(reply.status(), body.length);
      exchange.getResponseBody().write(body);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      inFlight.decrementAndGet();
      exchange.close();
    }
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  List<JsonNode> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  List<String> authorizations() {
    synchronized (authorizations) {
      return List.copyOf(authorizations);
    }
  }

  int inFlight() {
    return inFlight.get();
  }

  int peakInFlight() {
    return peak.get();
  }

  /** The texts shown as Response A and Response B in a request's user message. */
  static String[] shown(JsonNode request) {
    Matcher m = RESPONSES.matcher(request.path("messages").path(1).path("content").asText());
    if (!m.find()) {
      throw new IllegalArgumentException("no responses in " + request);
    }
    return new String[] {m.group(1), m.group(2)};
  }

  /** A chat completion whose only token has these top log-probs (token, logprob, token, logprob, ...). */
  static String withLogprobs(Object... tokensAndLogprobs) {
    StringBuilder top = new StringBuilder();
    for (int i = 0; i < tokensAndLogprobs.length; i += 2) {
      top.append(i == 0 ? "" : ", ").append("{\"token\": \"").append(tokensAndLogprobs[i])
          .append("\", \"logprob\": ").append(tokensAndLogprobs[i + 1]).append("}");
    }
    return "{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \""
        + tokensAndLogprobs[0] + "\"}, \"logprobs\": {\"content\": [{\"token\": \"" + tokensAndLogprobs[0]
        + "\", \"logprob\": " + tokensAndLogprobs[1] + ", \"top_logprobs\": [" + top + "]}]}}]}";
  }

  /** A chat completion without log-probs (as Ollama's older versions and some proxies answer). */
  static String withContent(String content) {
    return "{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"" + content
        + "\"}, \"logprobs\": null}]}";
  }

  static String error(String message) {
    return "{\"error\": {\"message\": \"" + message + "\", \"type\": \"invalid_request_error\"}}";
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
