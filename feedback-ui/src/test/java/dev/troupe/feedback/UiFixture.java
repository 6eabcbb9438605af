package dev.troupe.feedback;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.TaskQueue;
import dev.troupe.actors.store.Users;
import dev.troupe.feedback.auth.Passwords;
import dev.troupe.feedback.launch.StandaloneUi;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Response;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A feedback UI on a free loopback port over a fresh run folder, with users and tasks put straight
 * into its store, and HTTP clients that log in as a browser would (cookie and CSRF token).
 */
final class UiFixture implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String PASSWORD = "correct horse battery";
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  final Path runDir;
  final StandaloneUi ui;
  private final URI base;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

  private UiFixture(Path runDir, StandaloneUi ui, URI base) {
    this.runDir = runDir;
    this.ui = ui;
    this.base = base;
  }

  static UiFixture start(Path runDir) {
    StandaloneUi ui = StandaloneUi.start(runDir, "127.0.0.1", 0);
    return new UiFixture(runDir, ui, ui.url());
  }

  /** Clients of a server this fixture did not start (another process, a campaign's). */
  static UiFixture remote(URI base) {
    return new UiFixture(null, null, base);
  }

  CampaignStore store() {
    return ui.store();
  }

  URI url(String path) {
    return base.resolve(path);
  }

  void addUser(String name, Users.Role role) {
    store().users().create(name, Passwords.hash(PASSWORD), role);
  }

  /** {@code n} pairwise tasks over fresh two-response comparisons whose texts name the task; returns their ids. */
  List<String> addPairTasks(String prefix, int n, int overlap) {
    List<TaskQueue.Task> tasks = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String id = prefix + "-" + i;
      store().putComparison(comparison(id, "first answer of " + id, "second answer of " + id));
      tasks.add(new TaskQueue.Task("t-" + id, id, TaskQueue.Kind.PAIRWISE, null, null, null, 1.0 - i / 1000.0, overlap,
          null, null, null, System.currentTimeMillis(), null));
      ids.add("t-" + id);
    }
    store().tasks().enqueue(tasks);
    return ids;
  }

  static Comparison comparison(String id, String first, String second) {
    return Comparison.newBuilder().setId(id)
        .setPrompt(Prompt.newBuilder().setId("p-" + id).setText("Say something about " + id).addTokenIds(1).addTokenIds(5))
        .addResponses(Response.newBuilder().setId("x").setText(first).addTokenIds(7).addTokenIds(8))
        .addResponses(Response.newBuilder().setId("y").setText(second).addTokenIds(9))
        .build();
  }

  Client login(String username) throws Exception {
    HttpResponse<String> r = send(HttpRequest.newBuilder(url("/api/session")).timeout(TIMEOUT)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(JSON.createObjectNode().put("username", username)
            .put("password", PASSWORD).toString())).build());
    if (r.statusCode() != 200) {
      throw new AssertionError("login of " + username + " answered " + r.statusCode() + ": " + r.body());
    }
    String cookie = r.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
    return new Client(cookie, JSON.readTree(r.body()).get("csrf").asText());
  }

  HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  /** A logged-in user's requests: the session cookie always, the CSRF token unless told otherwise. */
  final class Client {
    final String cookie;
    final String csrf;

    Client(String cookie, String csrf) {
      this.cookie = cookie;
      this.csrf = csrf;
    }

    HttpResponse<String> get(String path) throws Exception {
      return send(HttpRequest.newBuilder(url(path)).timeout(TIMEOUT).header("Cookie", cookie).GET().build());
    }

    HttpResponse<String> post(String path, String body) throws Exception {
      return post(path, body, true);
    }

    HttpResponse<String> post(String path, String body, boolean withCsrf) throws Exception {
      HttpRequest.Builder b = HttpRequest.newBuilder(url(path)).timeout(TIMEOUT).header("Cookie", cookie)
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
      if (withCsrf) {
        b.header("X-CSRF-Token", csrf);
      }
      return send(b.build());
    }

    HttpResponse<String> delete(String path) throws Exception {
      return send(HttpRequest.newBuilder(url(path)).timeout(TIMEOUT).header("Cookie", cookie).header("X-CSRF-Token", csrf)
          .DELETE().build());
    }

    JsonNode nextTask() throws Exception {
      HttpResponse<String> r = get("/api/tasks/next");
      if (r.statusCode() == 204) {
        return null;
      }
      if (r.statusCode() != 200) {
        throw new AssertionError("GET /api/tasks/next answered " + r.statusCode() + ": " + r.body());
      }
      return JSON.readTree(r.body());
    }

    /** Answers a ranking task with its responses in the order shown (the first best); returns the answer. */
    HttpResponse<String> rank(JsonNode task, String clientId) throws Exception {
      com.fasterxml.jackson.databind.node.ObjectNode body = JSON.createObjectNode().put("task_id", task.get("id").asText())
          .put("client_id", clientId);
      com.fasterxml.jackson.databind.node.ArrayNode ranking = body.putArray("ranking");
      task.get("responses").forEach(r -> ranking.add(r.get("id").asText()));
      return post("/api/labels", body.toString());
    }

    /** Labels the task with its first response chosen; returns the answer. */
    HttpResponse<String> label(JsonNode task, String clientId) throws Exception {
      return post("/api/labels", JSON.createObjectNode().put("task_id", task.get("id").asText()).put("client_id", clientId)
          .put("choice", task.get("responses").get(0).get("id").asText()).put("strength", "better").toString());
    }
  }

  @Override
  public void close() {
    if (ui != null) {
      ui.close();
    }
  }
}
