package dev.troupe.actors.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.algorithms.experiment.AlignmentRuns;
import dev.troupe.algorithms.experiment.Quickstart;
import dev.troupe.algorithms.trainer.TrainerConfigs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CampaignConfigTest {
  @TempDir Path dir;

  @Test
  void shippedQuickstartLoadsItsThreeLoopsInFileOrderOverTheDefaults() {
    CampaignConfig campaign = CampaignConfig.load(null, List.of());

    assertEquals("quickstart", campaign.name());
    assertTrue(campaign.isQuickstart());
    assertEquals(1, campaign.seed());
    assertEquals(List.of("rlhf", "rlaif", "dpo"), List.copyOf(campaign.loops().keySet()));
    LoopConfig rlhf = campaign.loops().get("rlhf");
    assertEquals(Algorithm.PPO, rlhf.algorithm());
    assertEquals(Feedback.REWARD_MODEL, rlhf.feedback());
    assertEquals(90, rlhf.steps());
    assertEquals(32, rlhf.batchSize());
    assertEquals(3e-4, rlhf.optim().lr());
    assertNull(rlhf.judge());
    assertEquals(8, rlhf.adapter().rank(), "inherited from loop-defaults");
    assertEquals(List.of("q", "k", "v", "o", "gate", "up", "down"), rlhf.adapter().targets());
    LoopConfig rlaif = campaign.loops().get("rlaif");
    assertEquals(Algorithm.DPO, rlaif.algorithm());
    assertEquals(Feedback.AI_JUDGE, rlaif.feedback());
    assertEquals(100, rlaif.steps());
    assertEquals(3e-4, rlaif.optim().lr());
    assertEquals("simulated", rlaif.judge().kind());
    assertEquals(0.1, rlaif.judge().errorRate());
    assertEquals(Duration.ofSeconds(30), rlaif.judge().timeout());
    LoopConfig dpo = campaign.loops().get("dpo");
    assertEquals(Feedback.DATASET, dpo.feedback());
    assertEquals(200, dpo.steps());
    assertNull(dpo.data(), "the quickstart's own pairs");
    assertEquals(new Checkpointing(20, 3), campaign.checkpoint());
  }

  /**
   * Issue 11: `troupe run`'s quickstart campaign and `troupe experiment quickstart` make the same setup
   * (SFT base, reward model) and train PPO and DPO with the same settings (the ones BENCHMARKS.md,
   * "Alignment on every seed", chose), so a change to one that forgets the other fails here.
   */
  @Test
  void quickstartCampaignTrainsPpoAndDpoAsTheQuickstartExperimentDoes() {
    CampaignConfig campaign = CampaignConfig.load(null, List.of());
    Quickstart.Settings experiment = Quickstart.Settings.defaults();
    LoopConfig rlhf = campaign.loops().get("rlhf");
    AlignmentRuns.Ppo ppo = experiment.ppo();
    double campaignCriticLr = rlhf.ppo().criticLr() == null ? rlhf.optim().lr() : rlhf.ppo().criticLr();
    assertEquals(List.of(ppo.steps(), ppo.batch(), ppo.lr(), ppo.klCoef(), ppo.epochs(), ppo.minibatches(),
            ppo.criticLr()),
        List.of(rlhf.steps(), rlhf.batchSize(), rlhf.optim().lr(), rlhf.ppo().klCoef(), rlhf.ppo().epochs(),
            rlhf.ppo().minibatches(), campaignCriticLr));
    LoopConfig dpo = campaign.loops().get("dpo");
    AlignmentRuns.Dpo offline = experiment.dpo();
    assertEquals(AlignmentRuns.PairSource.LABELLED, offline.pairs(), "the campaign's dpo loop reads stored pairs");
    assertEquals(List.of(offline.steps(), offline.batch(), offline.lr()),
        List.of(dpo.steps(), dpo.batchSize(), dpo.optim().lr()));
    assertEquals(offline.loss(), TrainerConfigs.dpo(dpo.algorithm().configName(), dpo.dpo()));
    QuickstartSizes sizes = campaign.quickstart();
    assertEquals(List.of(experiment.hidden(), experiment.layers(), experiment.sftExamples(), experiment.sftErrorRate(),
            experiment.sftSteps(), experiment.rmPrompts(), experiment.rmEpochs(), experiment.evalPrompts()),
        List.of(sizes.hidden(), sizes.layers(), sizes.sftExamples(), sizes.sftErrorRate(), sizes.sftSteps(),
            sizes.rmPrompts(), sizes.rmEpochs(), sizes.evalPrompts()), "the setup both start from");
  }

  @Test
  void renderedCampaignLoadsBackEqualWithItsLoopOrder() throws IOException {
    CampaignConfig campaign = CampaignConfig.load(null,
        List.of("troupe.campaign.loops.rlaif.judge.rubric=\"Which answer is right? Say \\\"A\\\" or B.\"",
            "troupe.campaign.loops.rlhf.ppo.kl-target=6.5", "troupe.campaign.loops.rlhf.ppo.critic-lr=3e-3",
            "troupe.campaign.loops.x.feedback=gold"));
    String text = campaign.render();
    Path file = dir.resolve("resolved.conf");
    Files.writeString(file, text);

    CampaignConfig again = CampaignConfig.load(file, List.of());

    assertEquals(campaign, again, text);
    assertEquals(List.of("rlhf", "rlaif", "dpo", "x"), List.copyOf(again.loops().keySet()), text);
    assertTrue(text.startsWith("troupe.campaign {\n  name = \"quickstart\"\n"), text);
    assertTrue(text.contains("rubric = \"Which answer is right? Say \\\"A\\\" or B.\""), text);
    assertEquals(6.5, again.loops().get("rlhf").ppo().klTarget());
    assertEquals(3e-3, again.loops().get("rlhf").ppo().criticLr());
    assertNull(again.loops().get("rlaif").ppo().criticLr(), "unset: the value head learns at optim.lr");
  }

  @Test
  void aCriticRateThatIsNotAPositiveNumberIsAnError() {
    CampaignConfigException e = assertThrows(CampaignConfigException.class, () -> CampaignConfig.load(null,
        List.of("troupe.campaign.loops.rlhf.ppo.critic-lr=0", "troupe.campaign.loops.dpo.ppo.critic-lr=fast")));
    assertEquals(Set.of(
        "--set troupe.campaign.loops.rlhf.ppo.critic-lr: must be > 0 (or null for optim.lr), got 0.0",
        "--set troupe.campaign.loops.dpo.ppo.critic-lr: expected a number, got 'fast'"),
        Set.copyOf(e.problems()), e.getMessage());
  }

  @Test
  void setOverridesKeysInOrderAndCreatesLoops() {
    CampaignConfig campaign = CampaignConfig.load(null, List.of(
        "troupe.campaign.loops.rlhf.algorithm=grpo",
        "troupe.campaign.seed=5",
        "troupe.campaign.seed = 7",
        "troupe.campaign.loops.extra.algorithm=ipo",
        "troupe.campaign.loops.extra.adapter.targets=[q, v]",
        "troupe.campaign.loops.another={algorithm = cdpo, feedback = gold, dpo.label-smoothing = 0.1}"));

    assertEquals(7, campaign.seed(), "the later --set wins");
    assertEquals(Algorithm.GRPO, campaign.loops().get("rlhf").algorithm());
    assertEquals(90, campaign.loops().get("rlhf").steps(), "the file's other keys stay");
    assertEquals(List.of("rlhf", "rlaif", "dpo", "extra", "another"), List.copyOf(campaign.loops().keySet()),
        "the file's loops in its order, then those --set created in theirs");
    LoopConfig extra = campaign.loops().get("extra");
    assertEquals(Algorithm.IPO, extra.algorithm());
    assertEquals(Feedback.REWARD_MODEL, extra.feedback(), "from loop-defaults");
    assertEquals(List.of("q", "v"), extra.adapter().targets());
    assertEquals(0.1, campaign.loops().get("another").dpo().labelSmoothing());
  }

  @Test
  void everyMistakeInAFileIsReportedInOnePassWithFileLineKeyPathAndHint() throws IOException {
    Path file = write("""
        troupe.campaign {
          name = demo
          chekpoint { every = 5 }
          loops {
            rlhf {
              algorithm = ppo
              stpes = 10
            }
            rlaif {
              algorithm = dpx
              feedback = ai-judge
              batch-size = many
              judge { kind = simulated, eror-rate = 0.2 }
            }
          }
        }
        """);

    CampaignConfigException e = assertThrows(CampaignConfigException.class, () -> CampaignConfig.load(file, List.of()));

    String at = file + ":";
    assertEquals(Set.of(
        at + "3: troupe.campaign.chekpoint.every: unknown key (did you mean 'troupe.campaign.checkpoint.every'?)",
        at + "7: troupe.campaign.loops.rlhf.stpes: unknown key (did you mean 'troupe.campaign.loops.rlhf.steps'?)",
        at + "13: troupe.campaign.loops.rlaif.judge.eror-rate: unknown key"
            + " (did you mean 'troupe.campaign.loops.rlaif.judge.error-rate'?)",
        at + "10: troupe.campaign.loops.rlaif.algorithm: unknown value 'dpx'"
            + " (did you mean 'dpo'? expected one of: ppo, grpo, rloo, dpo, ipo, cdpo)",
        at + "12: troupe.campaign.loops.rlaif.batch-size: expected an integer, got 'many'"),
        Set.copyOf(e.problems()), e.getMessage());
    assertEquals(5, e.problems().size(), e.getMessage());
    assertEquals(String.join("\n", e.problems()), e.getMessage());
  }

  @Test
  void unknownValuesOfEveryEnumerationListTheValidOnes() throws IOException {
    Path file = write("""
        troupe.campaign {
          base-model { dtype = bf16, quantize = nf3 }
          prompts.format = markdown
          loops.a { feedback = crowd, adapter = 8 }
          loops.b { feedback = ai-judge, judge.kind = gpt }
        }
        """);

    CampaignConfigException e = assertThrows(CampaignConfigException.class, () -> CampaignConfig.load(file, List.of()));

    String at = file + ":";
    assertEquals(Set.of(
        at + "2: troupe.campaign.base-model.dtype: unknown value 'bf16' (did you mean 'fp16'? expected one of: fp32, fp16)",
        at + "2: troupe.campaign.base-model.quantize: unknown value 'nf3' (did you mean 'nf4'?"
            + " expected one of: none, int8, nf4)",
        at + "3: troupe.campaign.prompts.format: unknown value 'markdown' (expected one of: hh, chatml, plain)",
        at + "4: troupe.campaign.loops.a.feedback: unknown value 'crowd'"
            + " (expected one of: reward-model, ai-judge, human, dataset, gold)",
        at + "4: troupe.campaign.loops.a.adapter: expected an object, got 8",
        at + "5: troupe.campaign.loops.b.judge.kind: unknown value 'gpt' (expected one of: simulated, local, openai)"),
        Set.copyOf(e.problems()), e.getMessage());
  }

  @Test
  void valuesThatWouldBeIgnoredAreErrors() throws IOException {
    Files.createDirectories(dir.resolve("models/tiny"));
    Path file = write("""
        troupe.campaign {
          base-model.path = models/tiny
          loops {
            a { algorithm = dpo, feedback = dataset, dpo.label-smoothing = 0.1 }
            b { algorithm = ppo, optim.gradient-accumulation-steps = 2, judge.kind = local }
            c { algorithm = dpo, batch-size = 16, optim.gradient-accumulation-steps = 3, feedback = gold }
            d { feedback = ai-judge, judge { kind = local, error-rate = 0.2 } }
            e { feedback = ai-judge, judge { kind = openai, timeout = 5s } }
            f { feedback = reward-model, data = pairs.jsonl }
          }
        }
        """);

    CampaignConfigException e = assertThrows(CampaignConfigException.class, () -> CampaignConfig.load(file, List.of()));

    String at = file + ":";
    String base = dir.resolve("models/tiny").toString();
    assertEquals(Set.of(
        at + "4: troupe.campaign.loops.a.dpo.label-smoothing: 0.1 applies to cdpo only (the algorithm is dpo)",
        at + "4: troupe.campaign.loops.a.feedback: dataset needs data (a TRL or HH jsonl file of preference rows):"
            + " only the quickstart has built-in pairs",
        at + "5: troupe.campaign.loops.b.optim.gradient-accumulation-steps: applies to dpo, ipo and cdpo; ppo takes"
            + " one optimizer step per minibatch of rollouts (set it to 1, or lower batch-size)",
        at + "5: troupe.campaign.loops.b.judge.kind: applies to feedback = ai-judge only (this loop's feedback is"
            + " reward-model)",
        at + "6: troupe.campaign.loops.c.optim.gradient-accumulation-steps: 3 must divide batch-size = 16 (each"
            + " micro-batch holds batch-size / gradient-accumulation-steps pairs)",
        at + "6: troupe.campaign.loops.c.feedback: gold is the quickstart's hidden scorer: it needs base-model.path"
            + " = quickstart",
        at + "7: troupe.campaign.loops.d.judge.error-rate: applies to simulated judges only (this judge is local)",
        at + "7: troupe.campaign.loops.d.judge.model: a local judge needs model (a Hugging Face folder with"
            + " tokenizer.json)",
        at + "8: troupe.campaign.loops.e.judge.model: an openai judge needs model (the name the server knows it by)",
        at + "8: troupe.campaign.loops.e.judge.url: an openai judge needs url (the server's base URL, e.g."
            + " http://127.0.0.1:8000)",
        at + "9: troupe.campaign.loops.f.data: no such file: " + dir.resolve("pairs.jsonl"),
        at + "9: troupe.campaign.loops.f.data: applies to feedback = dataset only (this loop's feedback is"
            + " reward-model)",
        at + "2: troupe.campaign.base-model.path: a base other than the quickstart's needs prompts.source (a jsonl"
            + " file of prompt rows) for the loops that sample: b, c, d, e, f",
        at + "2: troupe.campaign.base-model.path: the quickstart's reward model is trained on the quickstart's base"
            + " only (the base is " + base + "); set reward-model.path to the output of `troupe train rm` for the"
            + " loops with feedback = reward-model: b, f"),
        Set.copyOf(e.problems()), e.getMessage());
  }

  @Test
  void setOutsideTheCampaignABadLoopNameAndNoLoopsAreErrors() throws IOException {
    Path empty = write("troupe.campaign.name = empty\n");

    CampaignConfigException e = assertThrows(CampaignConfigException.class, () -> CampaignConfig.load(empty, List.of(
        "troupe.train.steps=3", "troupe.campaign.seed", "troupe.campaign.chekpoint.every=2",
        "troupe.campaign.tensor-threads=-1")));

    assertEquals(List.of(
        "--set troupe.train.steps: only keys under troupe.campaign can be set",
        "--set troupe.campaign.seed: expected key=value, e.g. troupe.campaign.loops.rlhf.steps=100"),
        e.problems(), "a --set that cannot be applied stops before the file's values are read");

    e = assertThrows(CampaignConfigException.class, () -> CampaignConfig.load(empty, List.of(
        "troupe.campaign.chekpoint.every=2", "troupe.campaign.tensor-threads=-1",
        "troupe.campaign.loops.Big.algorithm=dpo")));
    assertEquals(Set.of(
        "--set troupe.campaign.chekpoint.every: unknown key (did you mean 'troupe.campaign.checkpoint.every'?)",
        "--set troupe.campaign.tensor-threads: must be at least 0, got -1",
        "--set troupe.campaign.loops.Big.algorithm: troupe.campaign.loops.Big: a loop name must match"
            + " [a-z0-9][a-z0-9_-]* (it names the loop's adapter and its run folder)"),
        Set.copyOf(e.problems()), e.getMessage());

    e = assertThrows(CampaignConfigException.class, () -> CampaignConfig.load(empty, List.of()));
    assertEquals(List.of(empty + ": troupe.campaign.loops: a campaign needs at least one loop, e.g. --set"
        + " troupe.campaign.loops.rlhf.algorithm=ppo"), e.problems());
  }

  private Path write(String text) throws IOException {
    Path file = dir.resolve("campaign.conf");
    Files.writeString(file, text);
    return file;
  }
}
