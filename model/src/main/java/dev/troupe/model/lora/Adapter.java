package dev.troupe.model.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A named LoRA (or DoRA) adapter over a whole model: one {@link LoraLayer} per targeted module
 * path, all owned by the adapter's own manager, so dropping the adapter frees exactly its tensors.
 */
public final class Adapter implements AutoCloseable {
  private final String name;
  private final LoraConfig config;
  private final Map<String, LoraLayer> layers;
  private final NDManager manager;

  Adapter(String name, LoraConfig config, Map<String, LoraLayer> layers, NDManager manager) {
    this.name = name;
    this.config = config;
    this.layers = Collections.unmodifiableMap(new LinkedHashMap<>(layers));
    this.manager = manager;
  }

  /**
   * A fresh adapter over every linear whose path the config targets; an error names the targets
   * and the modules they could have matched when they match none.
   */
  public static Adapter create(String name, LoraConfig config, long seed, List<AdaptedLinear> linears,
      NDManager manager, String modelType) {
    java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
    Map<String, LoraLayer> layers = new LinkedHashMap<>();
    try {
      for (AdaptedLinear linear : linears) {
        if (config.targets(linear.path())) {
          layers.put(linear.path(), LoraLayer.init(linear.weight(), config, random, manager));
        }
      }
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
    if (layers.isEmpty()) {
      manager.close();
      java.util.Set<String> leaves = new java.util.TreeSet<>();
      linears.forEach(l -> leaves.add(l.path().substring(l.path().lastIndexOf('.') + 1)));
      throw new IllegalArgumentException("adapter '" + name + "': targets " + config.targets()
          + " match no module of this " + modelType + " model (modules: " + leaves + ")");
    }
    return new Adapter(name, config, layers, manager);
  }

  /** Adds (+1) or removes (-1) this adapter's update into the dense base weights. */
  public void mergeInto(List<AdaptedLinear> linears, int sign) {
    for (AdaptedLinear linear : linears) {
      LoraLayer layer = layers.get(linear.path());
      if (layer != null) {
        linear.mergeInPlace(layer, sign);
      }
    }
  }

  public String name() {
    return name;
  }

  public LoraConfig config() {
    return config;
  }

  /** The layer for a module path, or null when the adapter does not target it. */
  public LoraLayer layer(String modulePath) {
    return layers.get(modulePath);
  }

  /** Module path -> layer, in model order. */
  public Map<String, LoraLayer> layers() {
    return layers;
  }

  public NDManager manager() {
    return manager;
  }

  /** The trainable tensors: every A and B, and DoRA magnitudes. */
  public List<NDArray> parameters() {
    List<NDArray> params = new ArrayList<>();
    for (LoraLayer layer : layers.values()) {
      params.add(layer.a());
      params.add(layer.b());
      if (layer.isDora()) {
        params.add(layer.magnitude());
      }
    }
    return params;
  }

  /** Marks every parameter as requiring (or not) a gradient. */
  public void setTrainable(boolean trainable) {
    for (NDArray p : parameters()) {
      p.setRequiresGradient(trainable);
    }
  }

  public long parameterCount() {
    long n = 0;
    for (NDArray p : parameters()) {
      n += p.size();
    }
    return n;
  }

  @Override
  public void close() {
    manager.close();
  }
}
