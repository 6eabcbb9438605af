package dev.troupe.algorithms.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.safetensors.SafeTensors;
import dev.troupe.model.safetensors.TensorInfo;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A head survives a round trip through its safetensors file bit for bit. */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
class RewardHeadTest {
  private static final List<long[]> ROWS = List.of(new long[] {1, 17, 42, 5}, new long[] {1, 9, 90});

  @TempDir Path dir;

  @Test
  void savedAndLoadedHeadReproducesTheScoresExactly() throws Exception {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(97), 4, root);
        RewardModel original = new RewardModel(base, null, RewardHead.random(64, 3, 8, root))) {
      original.head().save(dir);

      Map<String, TensorInfo> header = SafeTensors.header(dir.resolve(RewardHead.WEIGHTS_FILE));
      assertEquals(List.of("score.weight"), List.copyOf(header.keySet()), "HF's name for the score layer");
      String config = Files.readString(dir.resolve(RewardHead.CONFIG_FILE));
      assertTrue(config.contains("\"num_members\" : 3") && config.contains("\"hidden_size\" : 64"), config);

      try (NDManager elsewhere = NDManager.newBaseManager();
          RewardModel loaded = new RewardModel(base, null, RewardHead.load(dir, elsewhere));
          NDManager step = root.newSubManager();
          GradMode ignored = GradMode.disabled()) {
        assertEquals(3, loaded.members());
        Batch batch = Batch.rightPadded(step, ROWS);
        assertArrayEquals(original.scores(batch.ids(), batch.mask(), false).toFloatArray(),
            loaded.scores(batch.ids(), batch.mask(), false).toFloatArray());
        assertEquals(original.score(ROWS), loaded.score(ROWS));
      }
    }
  }

  @Test
  void aConfigThatDisagreesWithTheWeightsIsRefusedNamingTheFile() throws Exception {
    try (NDManager root = NDManager.newBaseManager(); RewardHead head = RewardHead.random(64, 3, 8, root)) {
      head.save(dir);
      Path config = dir.resolve(RewardHead.CONFIG_FILE);
      Files.writeString(config, Files.readString(config).replace("\"num_members\" : 3", "\"num_members\" : 2"));
      int before = root.getManagedArrays().size();
      ModelFormatException e = assertThrows(ModelFormatException.class, () -> RewardHead.load(dir, root));
      assertTrue(e.getMessage().contains(RewardHead.WEIGHTS_FILE) && e.getMessage().contains("(2, 64)"),
          e.getMessage());
      assertEquals(before, root.getManagedArrays().size(), "a failed load keeps nothing");
    }
  }
}
