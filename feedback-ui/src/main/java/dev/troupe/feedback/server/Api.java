package dev.troupe.feedback.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.actors.feedback.FeedbackCollector;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.Users;
import dev.troupe.actors.store.Users.Role;
import dev.troupe.feedback.auth.LoginThrottle;
import dev.troupe.feedback.auth.Passwords;
import dev.troupe.feedback.dashboard.Dashboard;
import dev.troupe.feedback.export.LabelExport;
import dev.troupe.feedback.quality.RaterQuality;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.HumanTask;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.LabelReceipt;
import dev.troupe.protocol.LabelSubmission;
import dev.troupe.protocol.LedgerEntry;
import dev.troupe.protocol.RefusalKind;
import dev.troupe.protocol.Response;
import dev.troupe.protocol.SkipRequest;
import dev.troupe.protocol.Strength;
import dev.troupe.protocol.TaskAck;
import dev.troupe.protocol.TaskReply;
import dev.troupe.protocol.TaskRequest;
import dev.troupe.protocol.UndoRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON API (docs/api.md): sessions, the rater's task queue and labels, and the admin routes. Each
 * route checks who is asking (a session cookie), what they may do (their role) and, for a request that
 * changes state, the session's CSRF token; raters' work goes to the {@link FeedbackCollector}, reads go
 * to the store. Routes run off Pekko's threads (the store blocks).
 */
final class Api {
  private static final Logger log = LoggerFactory.getLogger(Api.class);
  static final String SESSION_COOKIE = "troupe_session";
  static final String CSRF_HEADER = "X-CSRF-Token";
  static final Duration SESSION_TTL = Duration.ofHours(12);
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(30);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Map<String, Strength> STRENGTHS = Map.of("much_better", Strength.STRENGTH_MUCH_BETTER,
      "better", Strength.STRENGTH_BETTER, "slightly_better", Strength.STRENGTH_SLIGHTLY_BETTER,
      "negligibly_better", Strength.STRENGTH_NEGLIGIBLY_BETTER);

  /** An API request as the server hands it over: the body already read (bounded) and the client's address. */
  record Request(String method, String path, Map<String, String> query, String body, String sessionToken,
      String csrfHeader, String clientAddress) {}

  /** An API answer: status, a JSON body (or raw bytes with a content type), headers, and a cookie to set. */
  record Reply(int status, JsonNode json, byte[] bytes, String contentType, Map<String, String> headers, String setCookie) {
    static Reply json(int status, JsonNode json) {
      return new Reply(status, json, null, null, Map.of(), null);
    }
  }

  private final ActorSystem<?> system;
  private final CampaignStore store;
  private final Supplier<ActorRef<FeedbackCollector.Command>> collector;
  private final Dashboard dashboard;
  private final Executor io;
  private final LoginThrottle throttle = new LoginThrottle();

  Api(ActorSystem<?> system, CampaignStore store, Supplier<ActorRef<FeedbackCollector.Command>> collector,
      Dashboard dashboard, Executor io) {
    this.system = system;
    this.store = store;
    this.collector = collector;
    this.dashboard = dashboard;
    this.io = io;
  }

  CompletionStage<Reply> handle(Request r) {
    return CompletableFuture.supplyAsync(() -> route(r), io).thenCompose(stage -> stage)
        .exceptionally(error -> failure(r, error));
  }

  private CompletionStage<Reply> route(Request r) {
    String m = r.method();
    String p = r.path();
    if (p.equals("/api/session")) {
      return switch (m) {
        case "POST" -> done(login(r));
        case "GET" -> done(currentSession(session(r)));
        case "DELETE" -> done(logout(r));
        default -> throw methodNotAllowed();
      };
    }
    Users.Session session = session(r);
    if (!m.equals("GET")) {
      requireCsrf(session, r);
    }
    Users.User user = store.users().find(session.username()).orElseThrow(() -> new ApiException(401, "log in first"));
    if (p.equals("/api/tasks/next") && m.equals("GET")) {
      return nextTask(user);
    }
    if (p.startsWith("/api/tasks/") && p.endsWith("/skip") && m.equals("POST")) {
      return skip(user, segment(p, "/api/tasks/", "/skip"));
    }
    if (p.equals("/api/labels") && m.equals("POST")) {
      return submit(user, r);
    }
    if (p.startsWith("/api/labels/") && m.equals("DELETE")) {
      return undo(user, segment(p, "/api/labels/", ""));
    }
    if (p.equals("/api/me/labels") && m.equals("GET")) {
      return done(Reply.json(200, myLabels(user)));
    }
    if (p.equals("/api/me/progress") && m.equals("GET")) {
      return done(Reply.json(200, progress(user)));
    }
    if (p.startsWith("/api/admin/")) {
      return done(admin(user, r));
    }
    throw ApiException.notFound("no route " + m + " " + p);
  }

  // ---------------------------------------------------------------- sessions

  private Reply login(Request r) {
    JsonBody body = JsonBody.parse(r.body(), Set.of("username", "password"));
    String username = body.requiredString("username", 64);
    String password = body.requiredString("password", Passwords.MAX_LENGTH);
    long now = System.currentTimeMillis();
    long wait = throttle.retryAfterSeconds(username, r.clientAddress(), now);
    if (wait > 0) {
      throw new ApiException(429, "too many failed logins: try again in " + wait + " s", wait);
    }
    Optional<Users.User> user = store.users().find(username);
    boolean ok = Passwords.matches(password, user.map(Users.User::passwordHash).orElse(null))
        && !user.get().disabled();
    if (!ok) {
      if (throttle.failed(username, r.clientAddress(), now)) {
        long retry = throttle.retryAfterSeconds(username, r.clientAddress(), now);
        throw new ApiException(429, "too many failed logins: try again in " + retry + " s", retry);
      }
      throw new ApiException(401, "wrong username or password");
    }
    throttle.succeeded(username);
    store.users().purgeExpiredSessions(now); // sessions end by time; their rows go when someone logs in
    String token = randomToken();
    String csrf = randomToken();
    store.users().createSession(new Users.Session(sha256(token), username, csrf, now, now + SESSION_TTL.toMillis()));
    ObjectNode out = JsonBody.JSON.createObjectNode().put("csrf", csrf).put("username", username)
        .put("role", user.get().role().configName());
    return new Reply(200, out, null, null, Map.of(), SESSION_COOKIE + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age="
        + SESSION_TTL.toSeconds());
  }

  private Reply currentSession(Users.Session session) {
    Users.User user = store.users().find(session.username()).orElseThrow(() -> new ApiException(401, "log in first"));
    return Reply.json(200, JsonBody.JSON.createObjectNode().put("csrf", session.csrfToken()).put("username", user.username())
        .put("role", user.role().configName()));
  }

  private Reply logout(Request r) {
    Users.Session session = session(r);
    requireCsrf(session, r);
    store.users().deleteSession(session.tokenSha256());
    return new Reply(200, JsonBody.JSON.createObjectNode().put("logged_out", true), null, null, Map.of(),
        SESSION_COOKIE + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  }

  private Users.Session session(Request r) {
    if (r.sessionToken() == null || r.sessionToken().isEmpty()) {
      throw new ApiException(401, "log in first");
    }
    return store.users().session(sha256(r.sessionToken()), System.currentTimeMillis())
        .orElseThrow(() -> new ApiException(401, "your session has ended: log in again"));
  }

  private static void requireCsrf(Users.Session session, Request r) {
    if (r.csrfHeader() == null || !MessageDigest.isEqual(r.csrfHeader().getBytes(StandardCharsets.UTF_8),
        session.csrfToken().getBytes(StandardCharsets.UTF_8))) {
      throw new ApiException(403, CSRF_HEADER + " header missing or wrong: send the csrf token that POST /api/session returned");
    }
  }

  // ---------------------------------------------------------------- raters

  private CompletionStage<Reply> nextTask(Users.User user) {
    ActorRef<FeedbackCollector.Command> c = collector.get();
    if (c == null) {
      return done(new Reply(204, null, null, null, Map.of("Retry-After", "5"), null));
    }
    return AskPattern.<FeedbackCollector.Command, TaskReply>ask(c, replyTo -> new FeedbackCollector.NextTask(
            TaskRequest.newBuilder().setRaterId(user.username()).build(), replyTo), ASK_TIMEOUT, system.scheduler())
        .thenApply(reply -> {
          if (!reply.getError().isEmpty()) {
            throw new ApiException(503, "the task queue failed: " + reply.getError());
          }
          if (!reply.hasTask()) {
            return new Reply(204, null, null, null, Map.of(), null);
          }
          return Reply.json(200, taskJson(reply.getTask()));
        });
  }

  static ObjectNode taskJson(HumanTask task) {
    ObjectNode out = JsonBody.JSON.createObjectNode().put("id", task.getId()).put("kind", task.getKind())
        .put("prompt", task.getComparison().getPrompt().getText());
    ArrayNode responses = out.putArray("responses");
    for (Response r : task.getComparison().getResponsesList()) {
      responses.addObject().put("id", r.getId()).put("text", r.getText());
    }
    out.put("guidelines", task.getGuidelines()).put("lease_expires_ms", task.getLeaseExpiresMs());
    return out;
  }

  private CompletionStage<Reply> submit(Users.User user, Request r) {
    JsonBody body = JsonBody.parse(r.body(), Set.of("task_id", "client_id", "choice", "strength", "flags", "rationale",
        "rewrite", "ranking", "likert"));
    String taskId = body.requiredString("task_id", 200);
    String clientId = body.requiredString("client_id", 128);
    String choice = body.optionalString("choice", 64);
    String strength = body.optionalString("strength", 64);
    List<String> flags = body.stringList("flags", 3, 64);
    String rationale = body.optionalString("rationale", 10_000);
    List<String> ranking = body.stringList("ranking", 26, 8);
    Integer likert = body.optionalInt("likert");
    JsonBody rewrite = body.optionalObject("rewrite", Set.of("response", "text"));
    Label.Builder label = Label.newBuilder().setRaterId(user.username()).setClientId(clientId)
        .addAllFlags(flags).setRationale(rationale == null ? "" : rationale).addAllRanking(ranking)
        .setLikert(likert == null ? 0 : likert);
    if (choice != null) {
      switch (choice) {
        case "tie" -> label.setTie(true);
        case "both_bad" -> label.setBothBad(true);
        default -> label.setChosenResponseId(choice);
      }
    }
    if (strength != null) {
      Strength s = STRENGTHS.get(strength);
      if (s == null) {
        throw ApiException.badRequest("strength: '" + strength + "' is not a strength (much_better, better, slightly_better,"
            + " negligibly_better)");
      }
      if (choice == null || choice.equals("tie") || choice.equals("both_bad")) {
        throw ApiException.badRequest("strength: applies only when choice names a response");
      }
      label.setStrength(s);
    }
    if (choice == null && ranking.isEmpty() && likert == null) {
      throw ApiException.badRequest("choice: required (a response id, tie or both_bad; ranking or likert for those tasks)");
    }
    LabelSubmission.Builder submission = LabelSubmission.newBuilder().setTaskId(taskId).setLabel(label);
    if (rewrite != null) {
      submission.setRewriteOf(rewrite.requiredString("response", 8)).setRewriteText(rewrite.requiredString("text", 20_000));
    }
    return AskPattern.<FeedbackCollector.Command, LabelReceipt>ask(requireCollector(), replyTo ->
            new FeedbackCollector.SubmitTaskLabel(submission.build(), replyTo), ASK_TIMEOUT, system.scheduler())
        .thenApply(receipt -> {
          if (receipt.getRefusal() != RefusalKind.REFUSAL_KIND_UNSPECIFIED) {
            throw refusal(receipt.getRefusal(), receipt.getError());
          }
          return Reply.json(200, JsonBody.JSON.createObjectNode().put("label_id", receipt.getLabelId())
              .put("created", receipt.getCreated()));
        });
  }

  private CompletionStage<Reply> undo(Users.User user, String labelId) {
    return AskPattern.<FeedbackCollector.Command, TaskAck>ask(requireCollector(), replyTo -> new FeedbackCollector.UndoLabel(
            UndoRequest.newBuilder().setRaterId(user.username()).setLabelId(labelId).build(), replyTo), ASK_TIMEOUT,
            system.scheduler())
        .thenApply(ack -> {
          if (!ack.getOk()) {
            throw refusal(ack.getRefusal(), ack.getError());
          }
          return Reply.json(200, JsonBody.JSON.createObjectNode().put("label_id", labelId).put("undone", true));
        });
  }

  private CompletionStage<Reply> skip(Users.User user, String taskId) {
    return AskPattern.<FeedbackCollector.Command, TaskAck>ask(requireCollector(), replyTo -> new FeedbackCollector.SkipTask(
            SkipRequest.newBuilder().setRaterId(user.username()).setTaskId(taskId).build(), replyTo), ASK_TIMEOUT,
            system.scheduler())
        .thenApply(ack -> {
          if (!ack.getOk()) {
            throw refusal(ack.getRefusal(), ack.getError());
          }
          return Reply.json(200, JsonBody.JSON.createObjectNode().put("task_id", taskId).put("skipped", true));
        });
  }

  private ActorRef<FeedbackCollector.Command> requireCollector() {
    ActorRef<FeedbackCollector.Command> c = collector.get();
    if (c == null) {
      throw new ApiException(503, "the campaign is still setting up: try again shortly", 5);
    }
    return c;
  }

  private static ApiException refusal(RefusalKind kind, String error) {
    return switch (kind) {
      case REFUSAL_KIND_NOT_FOUND -> new ApiException(404, error);
      case REFUSAL_KIND_CONFLICT -> new ApiException(409, error);
      case REFUSAL_KIND_INVALID -> new ApiException(400, error);
      default -> new ApiException(503, "the store failed: " + error);
    };
  }

  /** The rater's own labels, newest first, each with when a training step consumed it. */
  private JsonNode myLabels(Users.User user) {
    ArrayNode out = JsonBody.JSON.createArrayNode();
    for (Label l : store.labelsOf(user.username())) {
      if (l.getSource() != FeedbackSource.FEEDBACK_SOURCE_HUMAN || l.getId().endsWith(".rewrite")) {
        continue;
      }
      ObjectNode row = out.addObject().put("label_id", l.getId()).put("task_id", l.getTaskId())
          .put("created_ms", l.getCreatedMs());
      row.put("choice", l.getTie() ? "tie" : l.getBothBad() ? "both_bad" : l.getLikert() > 0 ? "likert " + l.getLikert()
          : "chosen");
      consumption(row, l);
    }
    return JsonBody.JSON.createObjectNode().set("labels", out);
  }

  private void consumption(ObjectNode row, Label l) {
    ArrayNode consumed = row.putArray("consumed_by");
    for (LedgerEntry e : store.consumptions(l.getId())) {
      consumed.addObject().put("loop", e.getLoop()).put("step", e.getStep()).put("consumed_ms", e.getConsumedMs())
          .put("seconds_after_submit", Math.max(0, e.getConsumedMs() - l.getCreatedMs()) / 1000.0);
    }
  }

  private JsonNode progress(Users.User user) {
    long labelled = store.tasks().labelledBy(user.username());
    long done = store.tasks().doneBy(user.username());
    return JsonBody.JSON.createObjectNode().put("labelled", labelled).put("skipped", done - labelled);
  }

  // ---------------------------------------------------------------- admin

  private Reply admin(Users.User user, Request r) {
    String p = r.path();
    String m = r.method();
    boolean read = m.equals("GET") && Set.of("/api/admin/status", "/api/admin/metrics", "/api/admin/quality",
        "/api/admin/labels").contains(p);
    if (user.role() == Role.RATER || (!read && user.role() != Role.ADMIN)) {
      throw new ApiException(403, "this route is for " + (read ? "reviewers and admins" : "admins"));
    }
    switch (p) {
      case "/api/admin/status" -> {
        return Reply.json(200, dashboard.status());
      }
      case "/api/admin/metrics" -> {
        return Reply.json(200, dashboard.metrics());
      }
      case "/api/admin/quality" -> {
        return Reply.json(200, JsonBody.JSON.valueToTree(RaterQuality.of(store.tasks().answers())));
      }
      case "/api/admin/labels" -> {
        ArrayNode out = JsonBody.JSON.createArrayNode();
        for (Label l : store.labels(FeedbackSource.FEEDBACK_SOURCE_HUMAN)) {
          ObjectNode row = out.addObject().put("label_id", l.getId()).put("rater", l.getRaterId())
              .put("task_id", l.getTaskId()).put("created_ms", l.getCreatedMs());
          consumption(row, l);
        }
        return Reply.json(200, JsonBody.JSON.createObjectNode().set("labels", out));
      }
      case "/api/admin/users" -> {
        if (m.equals("GET")) {
          ArrayNode out = JsonBody.JSON.createArrayNode();
          for (Users.User u : store.users().list()) {
            out.addObject().put("username", u.username()).put("role", u.role().configName()).put("disabled", u.disabled())
                .put("created_ms", u.createdMs());
          }
          return Reply.json(200, JsonBody.JSON.createObjectNode().set("users", out));
        }
        if (m.equals("POST")) {
          JsonBody body = JsonBody.parse(r.body(), Set.of("username", "password", "role"));
          String name = body.requiredString("username", 64);
          String password = body.requiredString("password", Passwords.MAX_LENGTH);
          Role role = role(body.requiredString("role", 16));
          try {
            Users.requireUsername(name);
            Passwords.requireAcceptable(password);
          } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
          }
          try {
            store.users().create(name, Passwords.hash(password), role);
          } catch (IllegalArgumentException e) {
            throw new ApiException(409, "username: " + e.getMessage());
          }
          return Reply.json(201, JsonBody.JSON.createObjectNode().put("username", name).put("role", role.configName()));
        }
        throw methodNotAllowed();
      }
      case "/api/admin/export" -> {
        LabelExport.Format format;
        java.util.Set<FeedbackSource> sources;
        try {
          format = LabelExport.Format.parse(r.query().getOrDefault("format", "trl"));
          String source = r.query().get("source");
          sources = source == null || source.equals("all") ? LabelExport.allSources() : Set.of(LabelExport.parseSource(source));
        } catch (IllegalArgumentException e) {
          throw ApiException.badRequest(e.getMessage());
        }
        LabelExport.Result result = LabelExport.export(store, format, sources);
        return new Reply(200, null, result.jsonl(), "application/x-ndjson", Map.of("X-Dataset-Version", result.version(),
            "X-Label-Counts", counts(result.labelsPerSource()), "Content-Disposition", "attachment; filename=\"labels-"
                + format.name().toLowerCase(java.util.Locale.ROOT) + ".jsonl\""), null);
      }
      default -> {
        if (p.startsWith("/api/admin/users/") && m.equals("POST")) {
          String name = segment(p, "/api/admin/users/", "");
          Users.User target = store.users().find(name).orElseThrow(() -> ApiException.notFound("no user " + name));
          JsonBody body = JsonBody.parse(r.body(), Set.of("role", "disabled"));
          String role = body.optionalString("role", 16);
          Boolean disabled = body.optionalBoolean("disabled");
          store.users().change(name, role == null ? target.role() : role(role), disabled == null ? target.disabled() : disabled);
          return Reply.json(200, JsonBody.JSON.createObjectNode().put("username", name));
        }
        throw ApiException.notFound("no route " + m + " " + p);
      }
    }
  }

  private static String counts(Map<String, Long> perSource) {
    StringBuilder out = new StringBuilder();
    perSource.forEach((k, v) -> out.append(out.length() == 0 ? "" : ",").append(k).append('=').append(v));
    return out.toString();
  }

  private static Role role(String name) {
    try {
      return Role.parse(name);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
  }

  // ---------------------------------------------------------------- helpers

  private static String segment(String path, String prefix, String suffix) {
    String s = path.substring(prefix.length(), path.length() - suffix.length());
    if (s.isEmpty() || s.contains("/")) {
      throw ApiException.notFound("no route for " + path);
    }
    return s;
  }

  private static ApiException methodNotAllowed() {
    return new ApiException(405, "method not allowed");
  }

  private static CompletionStage<Reply> done(Reply reply) {
    return CompletableFuture.completedFuture(reply);
  }

  /** A refusal as its status; anything else as a 500 that names an id the log has with the stack trace. */
  private static Reply failure(Request r, Throwable error) {
    Throwable cause = error;
    while ((cause instanceof java.util.concurrent.CompletionException || cause instanceof java.util.concurrent.ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof ApiException e) {
      ObjectNode body = JsonBody.JSON.createObjectNode().put("error", e.getMessage());
      Map<String, String> headers = e.retryAfterSeconds > 0 ? Map.of("Retry-After", String.valueOf(e.retryAfterSeconds)) : Map.of();
      return new Reply(e.status, body, null, null, headers, null);
    }
    if (cause instanceof java.util.concurrent.TimeoutException) {
      return Reply.json(503, JsonBody.JSON.createObjectNode().put("error", "the campaign did not answer in time: try again"));
    }
    String id = UUID.randomUUID().toString().substring(0, 8);
    log.error("{} {} failed (error id {})", r.method(), r.path(), id, cause);
    return Reply.json(500, JsonBody.JSON.createObjectNode().put("error", "internal error " + id + " (the server log has it)"));
  }

  static String randomToken() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
