package dev.troupe.feedback.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.TaskQueue;
import dev.troupe.actors.store.Users;
import dev.troupe.feedback.auth.Passwords;
import dev.troupe.feedback.launch.StandaloneUi;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Response;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The feedback UI under load on loopback: simulated raters, each its own HTTP client, log in and then,
 * until the time is up, fetch a task, label it (one in ten labels sent twice with the same client id, as
 * a retry would), and keep every acknowledged label id. Afterwards the store must hold exactly those
 * labels: none lost, none twice. Reports labels per second and the label POST's latency percentiles.
 */
public final class UiLoad {
  private static final Logger log = LoggerFactory.getLogger(UiLoad.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PASSWORD = "load test password";
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  /** What a run measured and what the store held afterwards. */
  public record Result(int raters, double seconds, long acknowledged, long stored, long distinctAcknowledged,
      long retriesAnsweredWithTheSameId, long retries, long errors, double labelsPerSecond, double p50Ms, double p95Ms,
      double p99Ms) {}

  private UiLoad() {}

  /** Runs {@code raters} raters for {@code seconds} against a UI over a fresh store in {@code runDir}. */
  public static Result run(Path runDir, int raters, double seconds, int tasks) throws Exception {
    try (StandaloneUi ui = StandaloneUi.start(runDir, "127.0.0.1", 0)) {
      CampaignStore store = ui.store();
      List<TaskQueue.Task> queued = new ArrayList<>();
      for (int i = 0; i < tasks; i++) {
        String id = "load-" + i;
        store.putComparison(Comparison.newBuilder().setId(id).setPrompt(Prompt.newBuilder().setId("p-" + id)
                .setText("prompt " + i).addTokenIds(1))
            .addResponses(Response.newBuilder().setId("x").setText("first " + i).addTokenIds(2))
            .addResponses(Response.newBuilder().setId("y").setText("second " + i).addTokenIds(3)).build());
        queued.add(new TaskQueue.Task("t-" + id, id, TaskQueue.Kind.PAIRWISE, null, null, null, 1, raters, null, null, null,
            0, null));
      }
      store.tasks().enqueue(queued);
      String hash = Passwords.hash(PASSWORD);
      for (int r = 0; r < raters; r++) {
        store.users().create("rater-" + r, hash, Users.Role.RATER);
      }
      Set<String> acknowledged = ConcurrentHashMap.newKeySet();
      List<Long> latencies = java.util.Collections.synchronizedList(new ArrayList<>());
      long[] counters = new long[4]; // acknowledged, retries, same id on retry, errors
      ExecutorService pool = Executors.newFixedThreadPool(raters);
      // Logins first (Argon2 costs ~0.1 s of a core each, on purpose): the clock runs for labelling only.
      List<Future<String[]>> logins = new ArrayList<>();
      for (int r = 0; r < raters; r++) {
        String name = "rater-" + r;
        logins.add(pool.submit(() -> login(ui.url(), name)));
      }
      List<String[]> sessions = new ArrayList<>();
      for (Future<String[]> f : logins) {
        sessions.add(f.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS));
      }
      long start = System.nanoTime();
      long end = start + (long) (seconds * 1e9);
      List<Future<?>> running = new ArrayList<>();
      for (int r = 0; r < raters; r++) {
        String name = "rater-" + r;
        String[] session = sessions.get(r);
        running.add(pool.submit(() -> {
          rate(ui.url(), name, session, end, acknowledged, latencies, counters);
          return null;
        }));
      }
      try {
        for (Future<?> f : running) {
          f.get(TIMEOUT.toSeconds() + (long) seconds, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      List<Label> stored = store.labels(FeedbackSource.FEEDBACK_SOURCE_HUMAN);
      Set<String> storedIds = new HashSet<>();
      stored.forEach(l -> storedIds.add(l.getId()));
      long[] lat = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
      Result result = new Result(raters, elapsed, counters[0], stored.size(), acknowledged.size(), counters[2], counters[1],
          counters[3], acknowledged.size() / elapsed, percentile(lat, 0.50), percentile(lat, 0.95), percentile(lat, 0.99));
      if (!storedIds.equals(acknowledged)) {
        throw new IllegalStateException("the store and the acknowledgements differ: " + result);
      }
      log.info("UI load: {}", result);
      return result;
    }
  }

  /** Logs {@code name} in: the session cookie and the CSRF token. */
  private static String[] login(URI base, String name) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    HttpResponse<String> login = http.send(HttpRequest.newBuilder(base.resolve("/api/session")).timeout(TIMEOUT)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
            JSON.createObjectNode().put("username", name).put("password", PASSWORD).toString())).build(),
        HttpResponse.BodyHandlers.ofString());
    if (login.statusCode() != 200) {
      throw new IllegalStateException(name + " could not log in: " + login.body());
    }
    return new String[] {login.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0],
        JSON.readTree(login.body()).get("csrf").asText()};
  }

  private static void rate(URI base, String name, String[] session, long end, Set<String> acknowledged, List<Long> latencies,
      long[] counters) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    String cookie = session[0];
    String csrf = session[1];
    int n = 0;
    while (System.nanoTime() < end) {
      HttpResponse<String> next = http.send(HttpRequest.newBuilder(base.resolve("/api/tasks/next")).timeout(TIMEOUT)
          .header("Cookie", cookie).GET().build(), HttpResponse.BodyHandlers.ofString());
      if (next.statusCode() == 204) {
        break;
      }
      JsonNode task = JSON.readTree(next.body());
      String body = JSON.createObjectNode().put("task_id", task.get("id").asText()).put("client_id", name + "-" + n)
          .put("choice", task.get("responses").get(n % 2).get("id").asText()).put("strength", "better").toString();
      HttpRequest post = HttpRequest.newBuilder(base.resolve("/api/labels")).timeout(TIMEOUT).header("Cookie", cookie)
          .header("X-CSRF-Token", csrf).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body)).build();
      long t0 = System.nanoTime();
      HttpResponse<String> r = http.send(post, HttpResponse.BodyHandlers.ofString());
      latencies.add(System.nanoTime() - t0);
      if (r.statusCode() != 200) {
        synchronized (counters) {
          counters[3]++;
        }
        continue;
      }
      String id = JSON.readTree(r.body()).get("label_id").asText();
      acknowledged.add(id);
      synchronized (counters) {
        counters[0]++;
      }
      if (n % 10 == 0) { // a retry of the same click: must be answered with the same label
        HttpResponse<String> again = http.send(post, HttpResponse.BodyHandlers.ofString());
        synchronized (counters) {
          counters[1]++;
          if (again.statusCode() == 200 && JSON.readTree(again.body()).get("label_id").asText().equals(id)) {
            counters[2]++;
          }
        }
      }
      n++;
    }
  }

  private static double percentile(long[] sortedNanos, double q) {
    if (sortedNanos.length == 0) {
      return Double.NaN;
    }
    int index = (int) Math.min(sortedNanos.length - 1, Math.ceil(q * sortedNanos.length) - 1);
    return sortedNanos[Math.max(0, index)] / 1e6;
  }

  /** The result in one line. */
  public static String summary(Result r) {
    return String.format(java.util.Locale.ROOT, "%d raters, %.1f s: %d labels acknowledged, %d stored, %.1f labels/s,"
        + " POST /api/labels p50 %.1f ms, p95 %.1f ms, p99 %.1f ms; %d retries answered with the same id of %d; %d errors",
        r.raters(), r.seconds(), r.distinctAcknowledged(), r.stored(), r.labelsPerSecond(), r.p50Ms(), r.p95Ms(), r.p99Ms(),
        r.retriesAnsweredWithTheSameId(), r.retries(), r.errors());
  }

}
