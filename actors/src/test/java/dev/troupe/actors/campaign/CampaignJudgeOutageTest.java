package dev.troupe.actors.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.LoopState;
import dev.troupe.protocol.LoopStatus;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An OpenAI-compatible judge that cannot be reached: its loop says so and retries with back-off,
 * the other loop finishes meanwhile, and when the endpoint comes up the loop carries on to its end.
 */
class CampaignJudgeOutageTest {
  private static final Pattern SHOWN = Pattern.compile("Response A:\\n(.*)\\n\\nResponse B:\\n(.*)\\n\\nWhich", Pattern.DOTALL);
  @TempDir Path dir;

  @Test
  void anUnreachableJudgeMakesItsLoopWaitAndRetryWhileTheOtherLoopFinishes() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort(); // free now, and nobody listens on it until the test starts the judge
    }
    Path file = dir.resolve("outage.conf");
    Files.writeString(file, """
        troupe.campaign {
          name = outage
          loops {
            rlaif {
              algorithm = dpo, feedback = ai-judge, steps = 3, batch-size = 6
              judge { kind = openai, model = judge, url = "http://127.0.0.1:%d", retries = 1, timeout = 2s }
            }
            dpo { algorithm = dpo, feedback = dataset, steps = 4, batch-size = 8 }
          }
        }
        """.formatted(port));
    List<String> sets = TinyCampaign.sets(4, 2).stream().filter(s -> !s.startsWith("troupe.campaign.loops.")).toList();
    CampaignConfig config = CampaignConfig.load(file, sets);
    Path runDir = dir.resolve("run");
    TinyCampaign.Recorder events = new TinyCampaign.Recorder();
    CompletableFuture<Campaign.Result> run = CompletableFuture.supplyAsync(() -> {
      try {
        return Campaign.run(config, runDir, events);
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    HttpServer judge = null;
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
      while (events.finished.stream().noneMatch(s -> s.getLoop().equals("dpo"))
          || events.notices.stream().noneMatch(n -> n.startsWith("loop rlaif") && n.contains("127.0.0.1:" + port))) {
        assertTrue(System.nanoTime() < deadline, "dpo finished: " + events.finished + "; notices: " + events.notices);
        assertTrue(!run.isDone(), "the campaign ended while its judge was unreachable");
        Thread.sleep(50);
      }
      LoopStatus dpo = events.finished.stream().filter(s -> s.getLoop().equals("dpo")).findFirst().orElseThrow();
      assertEquals(LoopState.LOOP_STATE_DONE, dpo.getState(), "the other loop carried on to its end");
      assertTrue(events.steps.stream().noneMatch(s -> s.getLoop().equals("rlaif")), "rlaif stepped without a judge");

      judge = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
      judge.createContext("/v1/chat/completions", exchange -> {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Matcher m = SHOWN.matcher(body.replace("\\n", "\n"));
        // A judge with a taste: the shorter response is better (the first on equal lengths).
        String verdict = m.find() && m.group(2).length() < m.group(1).length() ? "B" : "A";
        byte[] reply = ("{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + verdict
            + "\"},\"finish_reason\":\"stop\"}]}").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, reply.length);
        exchange.getResponseBody().write(reply);
        exchange.close();
      });
      judge.start();
      Campaign.Result result = run.get(4, TimeUnit.MINUTES);
      LoopStatus rlaif = result.loops().get("rlaif");
      assertEquals(LoopState.LOOP_STATE_DONE, rlaif.getState(), rlaif.toString());
      assertEquals(3, rlaif.getStep());
      try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
        List<Label> labels = store.labels(FeedbackSource.FEEDBACK_SOURCE_AI);
        assertTrue(labels.size() >= 3, labels.size() + " AI labels");
        for (Label label : labels) {
          assertEquals("openai:judge@http://127.0.0.1:" + port, label.getRaterId());
          assertEquals(64, label.getRubricSha256().length());
        }
      }
    } finally {
      if (judge != null) {
        judge.stop(0);
      }
      run.cancel(true);
    }
  }
}
