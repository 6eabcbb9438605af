package dev.troupe.actors.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The campaign keys of the feedback UI (ui) and the raters' queue (feedback-queue): defaults, overrides, errors. */
class FeedbackSettingsTest {

  @Test
  void defaultsAreLoopbackPort8080AndDisagreementWithOneRaterPerTask() {
    CampaignConfig c = CampaignConfig.load(null, List.of());
    assertEquals(new UiSettings(true, "127.0.0.1", 8080), c.ui());
    FeedbackQueueSettings q = c.feedbackQueue();
    assertEquals(FeedbackQueueSettings.Selection.DISAGREEMENT, q.selection());
    assertEquals(1, q.overlap());
    assertEquals(0.1, q.goldShare());
    assertEquals(Duration.ofMinutes(10), q.lease());
    assertEquals(2, q.responses());
    assertFalse(q.guidelines().isBlank());
  }

  @Test
  void setsOverrideAndTheRenderedCampaignLoadsBackEqual() throws Exception {
    CampaignConfig c = CampaignConfig.load(null, List.of("troupe.campaign.ui.port=0", "troupe.campaign.ui.host=0.0.0.0",
        "troupe.campaign.feedback-queue.selection=random", "troupe.campaign.feedback-queue.overlap=3",
        "troupe.campaign.feedback-queue.lease=90s", "troupe.campaign.feedback-queue.gold-share=0.25",
        "troupe.campaign.feedback-queue.responses=4"));
    assertEquals(new UiSettings(true, "0.0.0.0", 0), c.ui());
    assertEquals(FeedbackQueueSettings.Selection.RANDOM, c.feedbackQueue().selection());
    assertEquals(3, c.feedbackQueue().overlap());
    assertEquals(Duration.ofSeconds(90), c.feedbackQueue().lease());
    assertEquals(4, c.feedbackQueue().responses());
    java.nio.file.Path file = java.nio.file.Files.createTempFile("campaign", ".conf");
    try {
      java.nio.file.Files.writeString(file, c.render());
      assertEquals(c, CampaignConfig.load(file, List.of()));
    } finally {
      java.nio.file.Files.delete(file);
    }
  }

  @Test
  void badValuesAreErrorsNamingTheKey() {
    CampaignConfigException e = assertThrows(CampaignConfigException.class, () -> CampaignConfig.load(null, List.of(
        "troupe.campaign.ui.port=70000", "troupe.campaign.feedback-queue.selection=loudest",
        "troupe.campaign.feedback-queue.overlap=0", "troupe.campaign.feedback-queue.gold-share=0.9",
        "troupe.campaign.feedback-queue.responses=9", "troupe.campaign.ui.prot=1")));
    String all = e.getMessage();
    assertTrue(all.contains("troupe.campaign.ui.port: 70000 is not a TCP port"), all);
    assertTrue(all.contains("troupe.campaign.feedback-queue.selection") && all.contains("uncertainty"), all);
    assertTrue(all.contains("troupe.campaign.feedback-queue.overlap"), all);
    assertTrue(all.contains("troupe.campaign.feedback-queue.gold-share"), all);
    assertTrue(all.contains("troupe.campaign.feedback-queue.responses: 9 responses"), all);
    assertTrue(all.contains("troupe.campaign.ui.prot") && all.contains("port"), all);
  }

  @Test
  void goldIsDueEveryNthTaskOfARater() {
    FeedbackQueueSettings q = new FeedbackQueueSettings(FeedbackQueueSettings.Selection.RANDOM, 1, 0.25, 10,
        Duration.ofMinutes(1), 10, "");
    List<Boolean> due = java.util.stream.LongStream.range(0, 8).mapToObj(q::goldDue).toList();
    assertEquals(List.of(false, false, false, true, false, false, false, true), due);
    assertFalse(new FeedbackQueueSettings(FeedbackQueueSettings.Selection.RANDOM, 1, 0.0, 10, Duration.ofMinutes(1), 10, "")
        .goldDue(3));
  }
}
