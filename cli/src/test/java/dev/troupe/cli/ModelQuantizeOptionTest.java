package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** `troupe model logits --quantize`: the logits of the base held as int8 or NF4, not of the fp32 one. */
@SuppressWarnings("try")
class ModelQuantizeOptionTest {
  static final long[] IDS = {1, 5, 9, 13, 2};
  static final int VOCAB = 40;
  @TempDir Path dir;

  private float[] cliLogits(String quantize) throws Exception {
    Object[] result = ModelCommandTest.troupe("model", "logits", "--model", dir.toString(), "--ids", "1,5,9,13,2",
        "--json", "--quantize", quantize);
    assertEquals(0, result[0], (String) result[2]);
    JsonNode rows = new ObjectMapper().readTree((String) result[1]).get("logits");
    float[] values = new float[IDS.length * VOCAB];
    for (int t = 0; t < IDS.length; t++) {
      for (int v = 0; v < VOCAB; v++) {
        values[t * VOCAB + v] = rows.get(t).get(v).floatValue();
      }
    }
    return values;
  }

  private float[] inProcessLogits(Quantization quantization) throws Exception {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm lm = HfModel.load(dir, new HfModel.LoadOptions(DataType.FLOAT32, quantization), root);
        GradMode ignored = GradMode.disabled()) {
      return lm.forward(root.create(IDS, new Shape(1, IDS.length)), null, null, false).toFloatArray();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"int8", "nf4"})
  void quantizedLogitsAreThoseOfTheQuantizedBaseAndDifferFromFp32(String quantize) throws Exception {
    SpreadModels.write(ModelConfig.llama(VOCAB, 32, 2, 4, 2, 64, 32), 4, dir);
    float[] cli = cliLogits(quantize);
    float[] expected = inProcessLogits(Quantization.parse(quantize));
    for (int i = 0; i < cli.length; i++) {
      assertEquals(expected[i], cli[i], 0f, quantize + " logit " + i);
    }
    float[] fp32 = cliLogits("none");
    double largest = 0;
    for (int i = 0; i < cli.length; i++) {
      largest = Math.max(largest, Math.abs(cli[i] - fp32[i]));
    }
    assertTrue(largest > 1e-3, quantize + " logits equal the fp32 ones (largest difference " + largest + ")");
  }

  @Test
  void unknownQuantizationIsExitTwoListingTheKnownOnes() throws Exception {
    SpreadModels.write(ModelConfig.llama(VOCAB, 32, 1, 2, 1, 32, 32), 4, dir);
    Object[] result = ModelCommandTest.troupe("model", "logits", "--model", dir.toString(), "--ids", "1,2",
        "--quantize", "nf5");
    assertEquals(2, result[0]);
    String err = (String) result[2];
    assertTrue(err.contains("unknown quantization 'nf5'") && err.contains("none, int8, nf4"), err);
  }
}
