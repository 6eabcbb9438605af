package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.config.Architecture;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Where a model's weights come from while it is built: a checkpoint's tensors, or a seeded random
 * initialisation. One construction path serves both, so a random model and a loaded one are the same shape.
 */
abstract class WeightSource {
  enum Init { NORMAL, ONES, ZEROS }

  /** The tensor {@code name} with logical {@code shape} ([out, in] for linears), in the model's dtype. */
  abstract NDArray take(String name, Shape shape, Init init, boolean conv1d) throws ModelFormatException;

  /** Whether the source holds a tensor (decides tied vs untied heads, optional biases). */
  abstract boolean has(String name);

  /** Called once the model is built: complains about tensors nobody asked for. */
  abstract void finish() throws ModelFormatException;

  static WeightSource random(long seed, NDManager manager, DataType dtype, double std) {
    return new Random(seed, manager, dtype, std);
  }

  static WeightSource checkpoint(Path dir, Architecture arch, Map<String, NDArray> tensors, DataType dtype) {
    return new Checkpoint(dir, arch, tensors, dtype);
  }

  private static final class Random extends WeightSource {
    private final SplittableRandom random;
    private final NDManager manager;
    private final DataType dtype;
    private final double std;

    Random(long seed, NDManager manager, DataType dtype, double std) {
      this.random = new SplittableRandom(seed);
      this.manager = manager;
      this.dtype = dtype;
      this.std = std;
    }

    @Override
    NDArray take(String name, Shape shape, Init init, boolean conv1d) {
      NDArray array = switch (init) {
        case ONES -> manager.ones(shape);
        case ZEROS -> manager.zeros(shape);
        case NORMAL -> {
          float[] values = new float[Math.toIntExact(shape.size())];
          for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * std);
          }
          yield manager.create(values, shape);
        }
      };
      return dtype == DataType.FLOAT32 ? array : cast(array, dtype);
    }

    @Override
    boolean has(String name) {
      return false;
    }

    @Override
    void finish() {}
  }

  private static final class Checkpoint extends WeightSource {
    private final Path dir;
    private final Map<String, NDArray> tensors = new LinkedHashMap<>();
    private final DataType dtype;

    Checkpoint(Path dir, Architecture arch, Map<String, NDArray> raw, DataType dtype) {
      this.dir = dir;
      this.dtype = dtype;
      raw.forEach((name, array) -> {
        if (WeightNames.isBuffer(name)) {
          array.close();
        } else {
          tensors.put(WeightNames.canonical(arch, name), array);
        }
      });
    }

    @Override
    NDArray take(String name, Shape shape, Init init, boolean conv1d) throws ModelFormatException {
      NDArray array = tensors.remove(name);
      if (array == null) {
        throw new ModelFormatException(dir, "missing tensor '" + name + "'");
      }
      Shape stored = conv1d ? new Shape(shape.get(1), shape.get(0)) : shape;
      if (!array.getShape().equals(stored)) {
        array.close();
        throw new ModelFormatException(dir, "tensor '" + name + "' has shape " + array.getShape()
            + " but config.json implies " + stored);
      }
      if (conv1d) {
        NDArray transposed = array.transpose();
        NDArray contiguous = dev.troupe.model.autograd.Ops.copyInto(transposed, dtype, array.getManager());
        transposed.close();
        array.close();
        return contiguous;
      }
      return array.getDataType() == dtype ? array : cast(array, dtype);
    }

    @Override
    boolean has(String name) {
      return tensors.containsKey(name);
    }

    @Override
    void finish() throws ModelFormatException {
      if (!tensors.isEmpty()) {
        TreeSet<String> names = new TreeSet<>(tensors.keySet());
        tensors.values().forEach(NDArray::close);
        throw new ModelFormatException(dir, "unexpected tensors not used by the model: " + names);
      }
    }
  }

  private static NDArray cast(NDArray array, DataType dtype) {
    NDArray cast = array.toType(dtype, false);
    if (cast != array) {
      array.close();
    }
    return cast;
  }
}
