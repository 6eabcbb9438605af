package dev.troupe.model.reference;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.model.reference.ReferenceConfig.Family;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A trained-looking LoRA or DoRA adapter as PEFT saves it (adapter_config.json and
 * adapter_model.safetensors under PEFT's key names), and its effect by formula: every targeted weight
 * merged, W' = W + s·B·A with s = alpha / r (alpha / sqrt(r) for rsLoRA, Kalajdzievski 2023), and for
 * DoRA (Liu et al. 2024) each output's row of W' rescaled to the trained magnitude m: W'' = m / ‖W'‖ · W'.
 * GPT-2's Conv1D weights are stored [in, out], so PEFT sets fan_in_fan_out and adds (B·A)ᵀ.
 *
 * @param modules HF module path (model.layers.0.self_attn.q_proj) to its tensors
 */
public record ReferencePeftAdapter(int rank, double alpha, boolean rsLora, boolean dora, List<String> targets,
    Map<String, Module> modules) {

  /** lora_A [r, in], lora_B [out, r] and, for DoRA, the magnitude [out]. */
  public record Module(ReferenceTensor a, ReferenceTensor b, ReferenceTensor magnitude) {}

  public double scaling() {
    return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
  }

  /**
   * An adapter over every module of {@code base} whose last name is in {@code targets}, with A and B
   * drawn N(0, 0.3) (as after training, not PEFT's B = 0 start) and DoRA magnitudes 1 ± 0.2 times
   * the merged weight's row norms.
   */
  public static ReferencePeftAdapter random(ReferenceConfig config, Map<String, ReferenceTensor> base,
      List<String> targets, int rank, double alpha, boolean rsLora, boolean dora, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    boolean conv1d = config.family() == Family.GPT2;
    Map<String, Module> modules = new LinkedHashMap<>();
    ReferencePeftAdapter shell = new ReferencePeftAdapter(rank, alpha, rsLora, dora, targets, modules);
    for (Map.Entry<String, ReferenceTensor> e : base.entrySet()) {
      String name = e.getKey();
      if (!name.endsWith(".weight")) {
        continue;
      }
      String module = name.substring(0, name.length() - ".weight".length());
      if (!targets.contains(module.substring(module.lastIndexOf('.') + 1))) {
        continue;
      }
      ReferenceTensor w = e.getValue();
      int in = conv1d ? w.rows() : w.columns();
      int out = conv1d ? w.columns() : w.rows();
      ReferenceTensor a = normal(random, 0.3, rank, in);
      ReferenceTensor b = normal(random, 0.3, out, rank);
      ReferenceTensor magnitude = null;
      if (dora) {
        double[] norms = rowNorms(shell.updated(w, a, b, conv1d), conv1d);
        for (int o = 0; o < norms.length; o++) {
          norms[o] *= 1 + 0.2 * (2 * random.nextDouble() - 1);
        }
        magnitude = new ReferenceTensor(new long[] {out}, norms);
      }
      modules.put(module, new Module(a, b, magnitude));
    }
    if (modules.isEmpty()) {
      throw new IllegalArgumentException("targets " + targets + " match no weight");
    }
    return shell;
  }

  /** The same adapter with every tensor rounded to what {@code type} stores. */
  public ReferencePeftAdapter roundedTo(StoredType type) {
    Map<String, Module> rounded = new LinkedHashMap<>();
    modules.forEach((module, m) -> rounded.put(module, new Module(m.a().roundedTo(type), m.b().roundedTo(type),
        m.magnitude() == null ? null : m.magnitude().roundedTo(type))));
    return new ReferencePeftAdapter(rank, alpha, rsLora, dora, targets, rounded);
  }

  /** Writes the PEFT folder: adapter_config.json as PEFT 0.13 writes it, and the tensors stored as {@code type}. */
  public void write(Path dir, ReferenceConfig config, StoredType type) throws IOException {
    Map<String, ReferenceTensor> tensors = new LinkedHashMap<>();
    modules.forEach((module, m) -> {
      tensors.put("base_model.model." + module + ".lora_A.weight", m.a());
      tensors.put("base_model.model." + module + ".lora_B.weight", m.b());
      if (m.magnitude() != null) {
        // PEFT saves DoRA's magnitude without the ".weight" its module holds it under.
        tensors.put("base_model.model." + module + ".lora_magnitude_vector", m.magnitude());
      }
    });
    ReferenceSafetensors.write(dir.resolve("adapter_model.safetensors"), tensors, type);
    ObjectMapper json = new ObjectMapper();
    ObjectNode o = json.createObjectNode();
    o.putObject("alpha_pattern");
    o.putObject("auto_mapping");
    o.put("base_model_name_or_path", "reference-" + config.family().name().toLowerCase());
    o.put("bias", "none");
    o.put("fan_in_fan_out", config.family() == Family.GPT2);
    o.put("inference_mode", true);
    o.put("init_lora_weights", true);
    o.putNull("layer_replication");
    o.putNull("layers_pattern");
    o.putNull("layers_to_transform");
    o.putObject("loftq_config");
    o.put("lora_alpha", alpha);
    o.put("lora_dropout", 0.05);
    o.putNull("megatron_config");
    o.put("megatron_core", "megatron.core");
    o.putNull("modules_to_save");
    o.put("peft_type", "LORA");
    o.put("r", rank);
    o.putObject("rank_pattern");
    o.putNull("revision");
    var t = o.putArray("target_modules");
    targets.forEach(t::add);
    o.put("task_type", "CAUSAL_LM");
    o.put("use_dora", dora);
    o.put("use_rslora", rsLora);
    Files.createDirectories(dir);
    json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("adapter_config.json").toFile(), o);
  }

  /** {@code base} with every targeted weight replaced by its merged (and for DoRA, rescaled) value. */
  public Map<String, ReferenceTensor> mergedInto(Map<String, ReferenceTensor> base, ReferenceConfig config) {
    boolean conv1d = config.family() == Family.GPT2;
    Map<String, ReferenceTensor> out = new LinkedHashMap<>(base);
    modules.forEach((module, m) -> {
      ReferenceTensor w = base.get(module + ".weight");
      ReferenceTensor merged = updated(w, m.a(), m.b(), conv1d);
      if (m.magnitude() != null) {
        double[] norms = rowNorms(merged, conv1d);
        double[] v = merged.values().clone();
        int columns = merged.columns();
        for (int i = 0; i < v.length; i++) {
          int output = conv1d ? i % columns : i / columns;
          v[i] *= m.magnitude().values()[output] / norms[output];
        }
        merged = new ReferenceTensor(merged.shape(), v);
      }
      out.put(module + ".weight", merged);
    });
    return out;
  }

  /** W + s·B·A in W's own layout ([out, in], or [in, out] for Conv1D). */
  private ReferenceTensor updated(ReferenceTensor w, ReferenceTensor a, ReferenceTensor b, boolean conv1d) {
    int out = b.rows();
    int in = a.columns();
    double[] v = w.values().clone();
    for (int o = 0; o < out; o++) {
      for (int i = 0; i < in; i++) {
        double delta = 0;
        for (int r = 0; r < rank; r++) {
          delta += b.at(o, r) * a.at(r, i);
        }
        v[conv1d ? i * out + o : o * in + i] += scaling() * delta;
      }
    }
    return new ReferenceTensor(w.shape().clone(), v);
  }

  /** The L2 norm of each output's weights: rows of [out, in], columns of Conv1D's [in, out]. */
  private static double[] rowNorms(ReferenceTensor w, boolean conv1d) {
    int outputs = conv1d ? w.columns() : w.rows();
    int inputs = conv1d ? w.rows() : w.columns();
    double[] norms = new double[outputs];
    for (int o = 0; o < outputs; o++) {
      double s = 0;
      for (int i = 0; i < inputs; i++) {
        double x = conv1d ? w.at(i, o) : w.at(o, i);
        s += x * x;
      }
      norms[o] = Math.sqrt(s);
    }
    return norms;
  }

  private static ReferenceTensor normal(SplittableRandom random, double std, int rows, int columns) {
    double[] v = new double[rows * columns];
    for (int i = 0; i < v.length; i++) {
      v[i] = std * random.nextGaussian();
    }
    return new ReferenceTensor(new long[] {rows, columns}, v);
  }
}
