package dev.troupe.algorithms.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.state.TensorCodec;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.protocol.Tensor;
import dev.troupe.protocol.TrainerState;
import java.util.List;

/** Parameter lists (a value head, a reward head) into a {@link TrainerState} and back, in place. */
public final class StateTensors {
  private StateTensors() {}

  public static void write(TrainerState.Builder state, String prefix, List<NDArray> params) {
    for (int i = 0; i < params.size(); i++) {
      state.addTensors(TensorCodec.encode(prefix + i, params.get(i)));
    }
  }

  /** Overwrites each parameter's values with the state's tensor of the same name and shape. */
  @SuppressWarnings("try")
  public static void read(TrainerState state, String prefix, List<NDArray> params) {
    try (NDManager scratch = params.get(0).getManager().newSubManager(); GradMode ignored = GradMode.disabled()) {
      for (int i = 0; i < params.size(); i++) {
        String name = prefix + i;
        Tensor tensor = state.getTensorsList().stream().filter(t -> t.getName().equals(name)).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("trainer state has no tensor '" + name + "'"));
        NDArray value = TensorCodec.decode(tensor, scratch);
        NDArray target = params.get(i);
        if (!value.getShape().equals(target.getShape())) {
          throw new IllegalArgumentException("trainer state '" + name + "' has shape " + value.getShape()
              + ", the parameter has " + target.getShape());
        }
        target.set(value.toType(target.getDataType(), false).toByteBuffer());
      }
    }
  }

  /** The state's counter {@code name}; throws naming it when absent. */
  public static long counter(TrainerState state, String name) {
    Long value = state.getCountersMap().get(name);
    if (value == null) {
      throw new IllegalArgumentException("trainer state has no counter '" + name + "'");
    }
    return value;
  }

  /** Refuses a state written by another algorithm. */
  public static void requireAlgorithm(TrainerState state, String algorithm) {
    if (!state.getAlgorithm().equals(algorithm)) {
      throw new IllegalArgumentException("trainer state of a '" + state.getAlgorithm() + "' trainer cannot restore a '"
          + algorithm + "' one");
    }
  }
}
