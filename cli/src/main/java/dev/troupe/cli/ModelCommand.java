package dev.troupe.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.generate.Generation;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Inspecting a Hugging Face model folder: raw logits for checking against another implementation, and generation. */
@Command(name = "model", description = "Run a Hugging Face model folder.",
    subcommands = {ModelCommand.Logits.class, ModelCommand.Generate.class})
final class ModelCommand {

  static final ObjectMapper JSON = new ObjectMapper();

  @Command(name = "logits", description = "Print one row of vocabulary logits per input position.")
  static final class Logits implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "HF folder (config.json + safetensors)")
    Path model;

    @Option(names = "--ids", required = true, split = ",", description = "token ids, e.g. 1,5,9")
    long[] ids;

    @Option(names = "--adapter", description = "PEFT adapter folder to apply")
    Path adapter;

    @Option(names = "--quantize", defaultValue = "none", description = "none | int8 | nf4")
    String quantize;

    @Option(names = "--json", description = "print {\"logits\": [[...], ...]}")
    boolean json;

    @Override
    public Integer call() throws Exception {
      try (NDManager root = NDManager.newBaseManager();
          CausalLm lm = HfModel.load(model, new HfModel.LoadOptions(ai.djl.ndarray.types.DataType.FLOAT32,
              Quantization.parse(quantize)), root);
          GradMode ignored = GradMode.disabled();
          NDManager step = root.newSubManager()) {
        long vocab = lm.config().vocabSize();
        for (long id : ids) {
          if (id < 0 || id >= vocab) {
            throw new IllegalArgumentException("--ids: token id " + id + " is outside the vocabulary [0, " + vocab + ")");
          }
        }
        var active = adapter == null ? null : lm.register(PeftAdapters.load(adapter, "cli", lm));
        NDArray logits = lm.forward(step.create(ids, new Shape(1, ids.length)), null, active, false);
        float[] values = logits.toFloatArray();
        if (json) {
          ObjectNode out = JSON.createObjectNode();
          ArrayNode rows = out.putArray("logits");
          for (int t = 0; t < ids.length; t++) {
            ArrayNode row = rows.addArray();
            for (int v = 0; v < vocab; v++) {
              row.add(values[(int) (t * vocab + v)]);
            }
          }
          System.out.println(JSON.writeValueAsString(out));
        } else {
          for (int t = 0; t < ids.length; t++) {
            float[] row = Arrays.copyOfRange(values, (int) (t * vocab), (int) ((t + 1) * vocab));
            int best = 0;
            for (int v = 1; v < row.length; v++) {
              best = row[v] > row[best] ? v : best;
            }
            System.out.printf("position %d (id %d): argmax %d, logit %.4f%n", t, ids[t], best, row[best]);
          }
        }
      }
      return 0;
    }
  }

  @Command(name = "generate", description = "Continue a prompt with the model (and optionally a PEFT adapter).")
  static final class Generate implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "HF folder with config.json, safetensors and tokenizer.json")
    Path model;

    @Option(names = "--prompt", required = true)
    String prompt;

    @Option(names = "--adapter", description = "PEFT adapter folder")
    Path adapter;

    @Option(names = "--max-new-tokens", defaultValue = "64")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0")
    int topK;

    @Option(names = "--top-p", defaultValue = "1")
    double topP;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--quantize", defaultValue = "none", description = "none | int8 | nf4")
    String quantize;

    @Override
    public Integer call() throws Exception {
      Path tokenizerFile = model.resolve("tokenizer.json");
      if (!Files.isRegularFile(tokenizerFile)) {
        throw new IllegalArgumentException(tokenizerFile + ": tokenizer.json not found");
      }
      try (NDManager root = NDManager.newBaseManager();
          Tokenizer tokenizer = Tokenizer.load(tokenizerFile);
          CausalLm lm = HfModel.load(model, new HfModel.LoadOptions(ai.djl.ndarray.types.DataType.FLOAT32,
              Quantization.parse(quantize)), root)) {
        String adapterName = null;
        if (adapter != null) {
          adapterName = lm.register(PeftAdapters.load(adapter, "cli", lm)).name();
        }
        SamplingParams params = new SamplingParams(maxNewTokens, temperature, topK, topP, seed,
            List.of(), List.of());
        Generation g = new Generator(lm, tokenizer).generate(List.of(prompt), adapterName, params).get(0);
        System.out.println(prompt + g.text());
        System.err.printf("(%d tokens, finish: %s, mean log-prob %.3f)%n", g.tokenIds().length,
            g.finish(), g.sumLogProb() / Math.max(1, g.tokenIds().length));
      }
      return 0;
    }
  }
}
