package dev.troupe.algorithms.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.algorithms.dpo.DpoConfig;
import dev.troupe.algorithms.dpo.DpoTrainer;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.TrainerState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A trainer's state as bytes (its adapter as an AdapterVersion, the rest as a TrainerState) brings a
 * fresh trainer to exactly where the first one stood: the next step gives the same numbers, bit for bit.
 */
class TrainerStateTest {
  private static final LoraConfig ADAPTER = LoraConfig.of(4, 8, "q", "v", "o");

  private static List<PreferencePair> pairs(int batch) {
    List<PreferencePair> out = new ArrayList<>();
    List<long[]> prompts = Fixtures.randomPrompts(4, 3, 16, 40 + batch);
    List<long[]> answers = Fixtures.randomPrompts(8, 4, 16, 80 + batch);
    for (int i = 0; i < 4; i++) {
      out.add(PreferencePairs.of("b" + batch + "-" + i, prompts.get(i), answers.get(2 * i), answers.get(2 * i + 1),
          FeedbackSource.FEEDBACK_SOURCE_DATASET));
    }
    return out;
  }

  @Test
  void aDpoTrainerRestoredFromBytesTakesTheSameNextStep() throws Exception {
    try (NDManager root = NDManager.newBaseManager(); CausalLm model = CausalLm.random(Fixtures.tinyLlama(16), 1, root)) {
      Adapter first = model.createAdapter("first", ADAPTER, 2);
      AdapterVersion saved;
      TrainerState state;
      var expected = new java.util.LinkedHashMap<String, Double>();
      try (DpoTrainer trainer = new DpoTrainer(model, first, DpoConfig.defaults(), OptimizerSettings.of(1e-2))) {
        trainer.step(pairs(0));
        trainer.step(pairs(1));
        saved = AdapterVersions.snapshot(first, model, "first", 2);
        state = TrainerState.parseFrom(trainer.state().toByteArray());
        expected.putAll(trainer.step(pairs(2)).asMap());
      }
      Adapter second = model.register(AdapterVersions.load(saved, model, "second"));
      try (DpoTrainer trainer = new DpoTrainer(model, second, DpoConfig.defaults(), OptimizerSettings.of(1e-2))) {
        trainer.restore(state);
        var again = new java.util.LinkedHashMap<>(trainer.step(pairs(2)).asMap());
        expected.keySet().removeIf(k -> k.startsWith("time/"));
        again.keySet().removeIf(k -> k.startsWith("time/"));
        assertEquals(expected, again);
      }
      assertArrayEquals(Fixtures.snapshot(first.parameters()).get(1), Fixtures.snapshot(second.parameters()).get(1), 0f);
      // Without the optimizer's moments the same step comes out otherwise: the state is what makes it equal.
      Adapter third = model.register(AdapterVersions.load(saved, model, "third"));
      try (DpoTrainer trainer = new DpoTrainer(model, third, DpoConfig.defaults(), OptimizerSettings.of(1e-2))) {
        assertNotEquals(expected.get("loss"), null);
        trainer.step(pairs(2));
      }
      assertNotEquals(Fixtures.snapshot(first.parameters()).get(1)[0], Fixtures.snapshot(third.parameters()).get(1)[0]);
    }
  }

  @Test
  void aRewardTrainerRestoredFromBytesTakesTheSameNextStepAndRefusesAnotherAlgorithmsState() throws Exception {
    try (NDManager root = NDManager.newBaseManager(); CausalLm model = CausalLm.random(Fixtures.tinyLlama(16), 1, root)) {
      Adapter adapter = model.createAdapter("rm", ADAPTER, 3);
      RewardModel rm = new RewardModel(model, adapter, RewardHead.random(64, 1, 5, root));
      RewardTrainer.Config config = RewardTrainer.Config.of(RewardTrainer.Trainable.HEAD_AND_ADAPTER, 4, 1e-2);
      AdapterVersion saved;
      TrainerState state;
      RewardTrainer.StepMetrics expected;
      RewardHead headCopy;
      try (RewardTrainer trainer = new RewardTrainer(rm, config)) {
        trainer.step(PreferencePairs.tokenPairs(pairs(0)));
        saved = AdapterVersions.snapshot(adapter, model, "rm", 1);
        headCopy = rm.head().copy(root);
        state = TrainerState.parseFrom(trainer.state().toByteArray());
        expected = trainer.step(PreferencePairs.tokenPairs(pairs(1)));
      }
      Adapter restoredAdapter = model.register(AdapterVersions.load(saved, model, "rm-restored"));
      RewardModel restored = new RewardModel(model, restoredAdapter, RewardHead.random(64, 1, 99, root));
      try (RewardTrainer trainer = new RewardTrainer(restored, config)) {
        trainer.restore(state); // the head's weights come back too (it was initialised otherwise)
        RewardTrainer.StepMetrics again = trainer.step(PreferencePairs.tokenPairs(pairs(1)));
        assertEquals(expected.loss(), again.loss(), 0);
        assertEquals(expected.gradNorm(), again.gradNorm(), 0);
        assertEquals(expected.step(), again.step());
        TrainerState dpoState = TrainerState.newBuilder().setAlgorithm("dpo").build();
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> trainer.restore(dpoState));
        assertEquals("trainer state of a 'dpo' trainer cannot restore a 'reward-model' one", wrong.getMessage());
      }
      headCopy.close();
    }
  }
}
