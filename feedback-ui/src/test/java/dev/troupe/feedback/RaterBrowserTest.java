package dev.troupe.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.actors.store.CampaignStore.LedgerItem;
import dev.troupe.actors.store.TaskQueue;
import dev.troupe.actors.store.Users.Role;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.MetricsReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The pages in headless Chromium: a rater labelling by keyboard, the dashboard's plots, and hostile model text. */
class RaterBrowserTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  @TempDir Path dir;

  @Test
  void raterLabelsFivePairsByKeyboardUndoesOneAndFourLabelsAreStored() throws Exception {
    try (UiFixture ui = UiFixture.start(dir.resolve("run"))) {
      ui.addUser("ana", Role.RATER);
      ui.addPairTasks("kb", 7, 1);
      ChromeDriver chrome = Browser.start(dir.resolve("profile"));
      try {
        logIn(chrome, ui, "ana");
        for (int i = 1; i <= 5; i++) {
          awaitState(chrome, "ready");
          new Actions(chrome).sendKeys("1").perform();
          new Actions(chrome).sendKeys("\n").perform();
          int submitted = i;
          new WebDriverWait(chrome, WAIT).until(d -> String.valueOf(submitted).equals(body(d).getDomAttribute("data-submitted"))
              && "ready".equals(body(d).getDomAttribute("data-state")));
        }
        assertEquals(5, ui.store().labelsOf("ana").size(), "five labels stored before the undo");
        new Actions(chrome).sendKeys("u").perform();
        new WebDriverWait(chrome, WAIT).until(d -> "1".equals(body(d).getDomAttribute("data-undone")));
      } finally {
        chrome.quit();
      }
      List<Label> stored = ui.store().labels(FeedbackSource.FEEDBACK_SOURCE_HUMAN);
      assertEquals(4, stored.size(), "exactly four labels after one undo");
      assertTrue(stored.stream().allMatch(l -> l.getRaterId().equals("ana") && !l.getChosenResponseId().isEmpty()));
      assertEquals(4, ui.store().tasks().labelledBy("ana"));
    }
  }

  @Test
  void dashboardPlotsRenderWithData() throws Exception {
    try (UiFixture ui = UiFixture.start(dir.resolve("run"))) {
      ui.addUser("boss", Role.ADMIN);
      ui.addUser("ana", Role.RATER);
      for (int step = 0; step < 6; step++) {
        ui.store().commitStep("rlhf", step, step + 1, List.of(LedgerItem.rollout("r-" + step)), null);
        ui.store().recordMetrics(MetricsReport.newBuilder().setLoop("rlhf").setStep(step).setTimeMs(1_700_000_000_000L + step)
            .putValues("objective/scores", 0.1 * step).putValues("objective/kl", 0.02 * step)
            .putValues("eval/gold", 0.7 + 0.01 * step).putValues("rewards/accuracies", 0.6 + 0.05 * step).build());
      }
      // Three answered tasks that the AI judge and the reward model had an opinion on.
      for (int i = 0; i < 3; i++) {
        Comparison c = UiFixture.comparison("dash-" + i, "left " + i, "right " + i);
        ui.store().putComparison(c);
        ui.store().tasks().enqueue(List.of(new TaskQueue.Task("t-dash-" + i, c.getId(), TaskQueue.Kind.PAIRWISE, null, null,
            null, 1, 1, null, 0.5, "x", System.currentTimeMillis(), null)));
        UiFixture.Client ana = ui.login("ana");
        ana.label(ana.nextTask(), "dash-click-" + i);
      }
      ChromeDriver chrome = Browser.start(dir.resolve("profile"));
      try {
        logIn(chrome, ui, "boss");
        chrome.get(ui.url("/admin").toString());
        // The dashboard redraws its plots as live data arrives: read each in one script, never through an
        // element reference that a redraw may have replaced.
        for (String plot : List.of("gold", "reward", "kl", "rm_accuracy", "labels", "agreement")) {
          new WebDriverWait(chrome, WAIT).withMessage(() -> "plot " + plot + ": data-points " + plotPoints(chrome, plot)
              + " on " + chrome.getCurrentUrl() + ": " + chrome.executeScript("return document.body.innerText"))
              .until(d -> {
                String points = plotPoints(chrome, plot);
                return points != null && Integer.parseInt(points) > 0 && Boolean.TRUE.equals(chrome.executeScript(
                    "return document.querySelector('#plot-' + arguments[0] + ' canvas') !== null", plot));
              });
        }
        assertEquals("6", plotPoints(chrome, "gold"));
        new WebDriverWait(chrome, WAIT).until(d -> String.valueOf(chrome.executeScript(
            "var e = document.getElementById('raters'); return e === null ? '' : e.innerText;")).contains("ana"));
        Path shot = Path.of("target", "browser", "dashboard.png");
        Files.createDirectories(shot.getParent());
        Files.write(shot, chrome.getScreenshotAs(OutputType.BYTES));
        assertTrue(Files.size(shot) > 10_000, "a screenshot with something in it: " + Files.size(shot) + " bytes");
      } finally {
        chrome.quit();
      }
    }
  }

  /** The plot's data-points attribute as it stands (null before the plot is drawn). */
  private static String plotPoints(ChromeDriver chrome, String plot) {
    return (String) chrome.executeScript("var e = document.getElementById('plot-' + arguments[0]);"
        + " return e === null ? null : e.getAttribute('data-points');", plot);
  }

  @Test
  void modelTextWithScriptOrOnerrorShowsAsTextAndRunsNothing() throws Exception {
    String script = "<script>window.__xss = 1; alert('script ran')</script>";
    String image = "<img src=x onerror=\"window.__xss = 2; alert('onerror ran')\">";
    try (UiFixture ui = UiFixture.start(dir.resolve("run"))) {
      ui.addUser("ana", Role.RATER);
      Comparison hostile = Comparison.newBuilder(UiFixture.comparison("xss", script, image + " and `" + script + "` in code"))
          .setPrompt(UiFixture.comparison("xss", "", "").getPrompt().toBuilder().setText("**Bold** <b>not bold</b> " + image))
          .build();
      ui.store().putComparison(hostile);
      ui.store().tasks().enqueue(List.of(new TaskQueue.Task("t-xss", "xss", TaskQueue.Kind.PAIRWISE, null, null, null, 1, 1,
          null, null, null, System.currentTimeMillis(), null)));
      ChromeDriver chrome = Browser.start(dir.resolve("profile"));
      try {
        logIn(chrome, ui, "ana");
        awaitState(chrome, "ready");
        Object before = chrome.executeScript("return document.getElementsByTagName('*').length");
        Thread.sleep(500); // time for an injected image to fail to load and fire onerror, were there one
        assertThrows(NoAlertPresentException.class, () -> chrome.switchTo().alert(), "no dialog opened");
        assertEquals(null, chrome.executeScript("return window.__xss === undefined ? null : window.__xss"));
        assertEquals(0L, chrome.executeScript("return document.querySelectorAll('#task img, #task script, #task iframe, #task b').length"));
        assertEquals(before, chrome.executeScript("return document.getElementsByTagName('*').length"), "the DOM did not change");
        String responses = chrome.findElement(By.id("responses")).getText();
        assertTrue(responses.contains(script), responses);
        assertTrue(responses.contains(image), responses);
        assertTrue(chrome.findElement(By.id("prompt")).getText().contains("<b>not bold</b>"));
        assertEquals("Bold", chrome.findElement(By.cssSelector("#prompt strong")).getText(), "markdown is rendered");
      } finally {
        chrome.quit();
      }
    }
  }

  private static void logIn(ChromeDriver chrome, UiFixture ui, String user) {
    chrome.get(ui.url("/").toString());
    new WebDriverWait(chrome, WAIT).until(d -> d.findElement(By.id("login")).isDisplayed());
    chrome.findElement(By.id("username")).sendKeys(user);
    chrome.findElement(By.id("password")).sendKeys(UiFixture.PASSWORD);
    chrome.findElement(By.cssSelector("#login button[type=submit]")).click();
    new WebDriverWait(chrome, WAIT).until(d -> d.findElement(By.id("rater")).isDisplayed());
    // In some runs the first request after the login went out without the session cookie although the
    // page already showed the rater view (the admin page then sent the browser back to the login): wait
    // until a request carries it.
    new WebDriverWait(chrome, WAIT).until(d -> Long.valueOf(200).equals(chrome.executeAsyncScript(
        "var done = arguments[arguments.length - 1]; fetch('/api/session').then(r => done(r.status), () => done(0));")));
  }

  private static void awaitState(ChromeDriver chrome, String state) {
    new WebDriverWait(chrome, WAIT).until(d -> state.equals(body(d).getDomAttribute("data-state")));
  }

  private static org.openqa.selenium.WebElement body(org.openqa.selenium.WebDriver d) {
    return d.findElement(By.tagName("body"));
  }
}
