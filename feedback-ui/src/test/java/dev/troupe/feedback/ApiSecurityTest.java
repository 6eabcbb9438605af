package dev.troupe.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.troupe.actors.store.Users.Role;
import dev.troupe.protocol.FeedbackSource;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API's defences, each against the real server on loopback: CSRF, roles, ownership, throttling, limits, headers. */
class ApiSecurityTest {
  @TempDir static Path dir;
  static UiFixture ui;

  @BeforeAll
  static void start() {
    ui = UiFixture.start(dir.resolve("run"));
    ui.addUser("ana", Role.RATER);
    ui.addUser("ben", Role.RATER);
    ui.addUser("boss", Role.ADMIN);
    ui.addUser("victim", Role.RATER);
    ui.addPairTasks("sec", 6, 2);
  }

  @AfterAll
  static void stop() {
    if (ui != null) {
      ui.close();
    }
  }

  @Test
  void stateChangingRequestWithoutCsrfTokenIsRefused() throws Exception {
    UiFixture.Client ana = ui.login("ana");
    JsonNode task = ana.nextTask();
    String body = UiFixture.JSON.createObjectNode().put("task_id", task.get("id").asText()).put("client_id", "csrf-1")
        .put("choice", task.get("responses").get(0).get("id").asText()).toString();
    HttpResponse<String> refused = ana.post("/api/labels", body, false);
    assertEquals(403, refused.statusCode(), refused.body());
    assertTrue(refused.body().contains("X-CSRF-Token"), refused.body());
    assertEquals(0, ui.store().labelsOf("ana").size(), "a refused request stored nothing");
    HttpResponse<String> accepted = ana.post("/api/labels", body, true);
    assertEquals(200, accepted.statusCode(), accepted.body());
    assertEquals(1, ui.store().labelsOf("ana").size());
  }

  @Test
  void raterOnAnAdminRouteIsForbiddenAndAnAdminIsServed() throws Exception {
    UiFixture.Client ben = ui.login("ben");
    for (String path : new String[] {"/api/admin/users", "/api/admin/quality", "/api/admin/status", "/api/admin/export?format=trl"}) {
      HttpResponse<String> r = ben.get(path);
      assertEquals(403, r.statusCode(), path + ": " + r.body());
    }
    assertEquals(403, ben.post("/api/admin/users", "{\"username\":\"mallory\",\"password\":\"0123456789ab\",\"role\":\"admin\"}")
        .statusCode());
    assertTrue(ui.store().users().find("mallory").isEmpty(), "a rater made no account");
    HttpResponse<String> users = ui.login("boss").get("/api/admin/users");
    assertEquals(200, users.statusCode(), users.body());
    assertTrue(users.body().contains("\"ben\""), users.body());
    assertFalse(users.body().contains("argon2"), "password hashes never leave the server: " + users.body());
  }

  @Test
  void anotherRatersLabelIsNotFoundAndStays() throws Exception {
    UiFixture.Client ana = ui.login("ana");
    UiFixture.Client ben = ui.login("ben");
    JsonNode task = ana.nextTask();
    HttpResponse<String> labelled = ana.label(task, "own-1");
    assertEquals(200, labelled.statusCode(), labelled.body());
    String labelId = UiFixture.JSON.readTree(labelled.body()).get("label_id").asText();
    HttpResponse<String> stolen = ben.delete("/api/labels/" + labelId);
    assertEquals(404, stolen.statusCode(), stolen.body());
    assertTrue(ui.store().label(labelId).isPresent(), "the label is still there");
    assertFalse(ben.get("/api/me/labels").body().contains(labelId), "ben never sees ana's label");
    assertTrue(ana.get("/api/me/labels").body().contains(labelId), "ana sees her own label");
  }

  @Test
  void tenWrongPasswordsLockTheAccountAndTheRightOneStaysLocked() throws Exception {
    String wrong = "{\"username\":\"victim\",\"password\":\"not the password\"}";
    for (int i = 1; i <= 9; i++) {
      assertEquals(401, anonymousPost("/api/session", wrong).statusCode(), "wrong password " + i);
    }
    HttpResponse<String> tenth = anonymousPost("/api/session", wrong);
    assertEquals(429, tenth.statusCode(), tenth.body());
    HttpResponse<String> right = anonymousPost("/api/session",
        "{\"username\":\"victim\",\"password\":\"" + UiFixture.PASSWORD + "\"}");
    assertEquals(429, right.statusCode(), "still locked for the right password: " + right.body());
    long retryAfter = Long.parseLong(right.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(retryAfter > 60, "locked for a while: Retry-After " + retryAfter + " s");
    assertFalse(right.headers().firstValue("Set-Cookie").isPresent(), "no session while locked");
  }

  @Test
  void elevenMegabyteBodyIsRefusedWith413() throws Exception {
    UiFixture.Client ana = ui.login("ana");
    String huge = "{\"task_id\":\"x\",\"client_id\":\"big\",\"rationale\":\"" + "a".repeat(11 * 1024 * 1024) + "\"}";
    HttpResponse<String> r = ana.post("/api/labels", huge);
    assertEquals(413, r.statusCode(), r.body().length() > 300 ? r.body().substring(0, 300) : r.body());
  }

  @Test
  void malformedJsonIs400NamingTheField() throws Exception {
    UiFixture.Client ana = ui.login("ana");
    HttpResponse<String> broken = ana.post("/api/labels", "{\"task_id\": \"t-sec-0\", \"client_id\": }");
    assertEquals(400, broken.statusCode(), broken.body());
    assertTrue(broken.body().startsWith("{\"error\":\"client_id: malformed JSON"), broken.body());
    HttpResponse<String> wrongType = ana.post("/api/labels", "{\"task_id\": 5, \"client_id\": \"c\", \"choice\": \"a\"}");
    assertEquals(400, wrongType.statusCode(), wrongType.body());
    assertTrue(wrongType.body().contains("task_id: expected a string"), wrongType.body());
    HttpResponse<String> badStrength = ana.post("/api/labels",
        "{\"task_id\": \"t-sec-0\", \"client_id\": \"c\", \"choice\": \"a\", \"strength\": \"huge\"}");
    assertEquals(400, badStrength.statusCode(), badStrength.body());
    assertTrue(badStrength.body().startsWith("{\"error\":\"strength:"), badStrength.body());
    for (HttpResponse<String> r : java.util.List.of(broken, wrongType, badStrength)) {
      assertFalse(r.body().contains("Exception") || r.body().contains("\tat ") || r.body().contains("dev.troupe"),
          "no stack trace or class name leaks: " + r.body());
    }
  }

  @Test
  void everyAnswerCarriesTheSecurityHeadersAndNoCors() throws Exception {
    UiFixture.Client ana = ui.login("ana");
    for (HttpResponse<String> r : java.util.List.of(ana.get("/"), ana.get("/admin"), ana.get("/static/rater.js"),
        ana.get("/api/me/progress"), ana.get("/api/nothing-here"))) {
      String csp = r.headers().firstValue("Content-Security-Policy").orElse("");
      assertTrue(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
          r.uri() + ": " + csp);
      assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(""), r.uri().toString());
      assertTrue(r.headers().firstValue("Access-Control-Allow-Origin").isEmpty(), r.uri() + " sends no CORS header");
    }
    HttpResponse<String> preflight = ui.send(HttpRequest.newBuilder(ui.url("/api/labels"))
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", "http://evil.example")
        .header("Access-Control-Request-Method", "POST").build());
    assertTrue(preflight.statusCode() >= 400, "a preflight is refused: " + preflight.statusCode());
    assertTrue(preflight.headers().firstValue("Access-Control-Allow-Origin").isEmpty());
    String cookie = loginHeaders();
    assertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie);
    assertEquals(401, ui.send(HttpRequest.newBuilder(ui.url("/api/me/labels")).build()).statusCode(), "no session: 401");
    assertEquals(0, ui.store().countLabels(FeedbackSource.FEEDBACK_SOURCE_AI));
  }

  private String loginHeaders() throws Exception {
    return anonymousPost("/api/session", "{\"username\":\"ben\",\"password\":\"" + UiFixture.PASSWORD + "\"}")
        .headers().firstValue("Set-Cookie").orElse("");
  }

  private static HttpResponse<String> anonymousPost(String path, String body) throws Exception {
    return ui.send(HttpRequest.newBuilder(ui.url(path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }
}
