package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.transformer.CausalLm;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ModelCommandTest {
  @TempDir Path dir;

  /** Runs the CLI in-process and returns {exit code, stdout, stderr}. */
  static Object[] troupe(String... args) {
    PrintStream previous = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      CommandLine cli = Troupe.commandLine();
      cli.setErr(new PrintWriter(err));
      int code = cli.execute(args);
      return new Object[] {code, out.toString(StandardCharsets.UTF_8), err.toString()};
    } finally {
      System.setOut(previous);
    }
  }

  @Test
  void logitsJsonHasOneVocabularyRowPerPositionEqualToTheForwardPass() throws Exception {
    ModelConfig config = ModelConfig.llama(40, 16, 1, 2, 1, 32, 32);
    float[] expected;
    try (NDManager root = NDManager.newBaseManager(); CausalLm model = CausalLm.random(config, 4, root);
        GradMode ignored = GradMode.disabled()) {
      HfModel.save(model, dir);
      NDArray logits = model.forward(root.create(new long[] {1, 5, 9}, new Shape(1, 3)), null, null, false);
      expected = logits.toFloatArray();
    }
    Object[] result = troupe("model", "logits", "--model", dir.toString(), "--ids", "1,5,9", "--json");
    assertEquals(0, result[0], (String) result[2]);
    JsonNode rows = new ObjectMapper().readTree((String) result[1]).get("logits");
    assertEquals(3, rows.size());
    for (int t = 0; t < 3; t++) {
      assertEquals(40, rows.get(t).size());
      for (int v = 0; v < 40; v++) {
        assertEquals(expected[t * 40 + v], rows.get(t).get(v).floatValue(), 0f);
      }
    }
  }

  @Test
  void badArgumentsGiveExitTwoAndAMessageNamingTheProblem() throws Exception {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(ModelConfig.llama(40, 16, 1, 2, 1, 32, 32), 4, root)) {
      HfModel.save(model, dir);
    }
    Object[] outOfVocab = troupe("model", "logits", "--model", dir.toString(), "--ids", "1,77");
    assertEquals(2, outOfVocab[0]);
    assertTrue(((String) outOfVocab[2]).contains("token id 77 is outside the vocabulary [0, 40)"), (String) outOfVocab[2]);
    Object[] missing = troupe("model", "logits", "--model", dir.resolve("absent").toString(), "--ids", "1");
    assertEquals(2, missing[0]);
    assertTrue(((String) missing[2]).contains("absent") && ((String) missing[2]).contains("not found"), (String) missing[2]);
  }
}
