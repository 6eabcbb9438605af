package dev.troupe.algorithms.state;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.protobuf.ByteString;
import dev.troupe.protocol.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * NDArrays to and from the protocol's {@link Tensor}: little-endian bytes with their sha-256, which
 * every read checks, so a truncated or altered transfer or checkpoint is refused, never loaded.
 */
public final class TensorCodec {
  private TensorCodec() {}

  /** The array's values as a {@link Tensor} named {@code name}; F32, F16 and I64 arrays. */
  public static Tensor encode(String name, NDArray array) {
    String dtype = switch (array.getDataType()) {
      case FLOAT32 -> "F32";
      case FLOAT16 -> "F16";
      case INT64 -> "I64";
      default -> throw new IllegalArgumentException("tensor '" + name + "' has dtype " + array.getDataType()
          + "; only F32, F16 and I64 travel as bytes");
    };
    ByteBuffer native_ = array.toByteBuffer();
    byte[] bytes = new byte[native_.remaining()];
    native_.order(ByteOrder.LITTLE_ENDIAN);
    if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
      native_.get(bytes);
    } else {
      throw new UnsupportedOperationException("big-endian hosts are not supported");
    }
    return Tensor.newBuilder().setName(name).setDtype(dtype)
        .addAllShape(java.util.Arrays.stream(array.getShape().getShape()).boxed().toList())
        .setData(ByteString.copyFrom(bytes)).setSha256(sha256(bytes)).build();
  }

  /** The tensor as an array owned by {@code manager}; throws naming the tensor when its bytes do not match its checksum or shape. */
  public static NDArray decode(Tensor tensor, NDManager manager) {
    byte[] bytes = tensor.getData().toByteArray();
    if (!sha256(bytes).equals(tensor.getSha256())) {
      throw new IllegalArgumentException("tensor '" + tensor.getName() + "': its bytes do not match its sha-256 "
          + "(a truncated or corrupted copy)");
    }
    DataType type = switch (tensor.getDtype()) {
      case "F32" -> DataType.FLOAT32;
      case "F16" -> DataType.FLOAT16;
      case "I64" -> DataType.INT64;
      default -> throw new IllegalArgumentException("tensor '" + tensor.getName() + "': unsupported dtype '"
          + tensor.getDtype() + "' (F32, F16, I64)");
    };
    Shape shape = new Shape(tensor.getShapeList().stream().mapToLong(Long::longValue).toArray());
    if (shape.size() * type.getNumOfBytes() != bytes.length) {
      throw new IllegalArgumentException("tensor '" + tensor.getName() + "': " + bytes.length + " bytes for shape "
          + shape + " of " + tensor.getDtype());
    }
    ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length).order(ByteOrder.nativeOrder());
    buffer.put(bytes).flip();
    return manager.create(buffer, shape, type);
  }

  /** Lower-case hex sha-256. */
  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }
}
