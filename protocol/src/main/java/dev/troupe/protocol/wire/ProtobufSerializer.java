package dev.troupe.protocol.wire;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.io.NotSerializableException;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Pekko serializer for bare protobuf messages (replies such as {@code RolloutBatch} or {@code Ack}):
 * the manifest is the message's class name, the bytes its protobuf encoding. Only classes that are
 * protobuf messages are ever instantiated from a manifest.
 */
public final class ProtobufSerializer extends SerializerWithStringManifest {
  /** Pekko reserves 0-40 for itself; Troupe's serializers use 7411-7419. */
  public static final int IDENTIFIER = 7411;

  private final ConcurrentHashMap<String, com.google.protobuf.Parser<? extends Message>> parsers =
      new ConcurrentHashMap<>();

  public ProtobufSerializer(ExtendedActorSystem system) {}

  public ProtobufSerializer() {}

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    return o.getClass().getName();
  }

  @Override
  public byte[] toBinary(Object o) {
    if (!(o instanceof Message message)) {
      throw new IllegalArgumentException("not a protobuf message: " + o.getClass().getName());
    }
    return message.toByteArray();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try {
      return parser(manifest).parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("malformed " + manifest + ": " + e.getMessage(), e);
    }
  }

  private com.google.protobuf.Parser<? extends Message> parser(String manifest) throws NotSerializableException {
    var cached = parsers.get(manifest);
    if (cached != null) {
      return cached;
    }
    Class<?> type;
    try {
      type = Class.forName(manifest, false, getClass().getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new NotSerializableException("unknown protobuf message type " + manifest);
    }
    if (!Message.class.isAssignableFrom(type)) {
      throw new NotSerializableException(manifest + " is not a protobuf message");
    }
    var parser = ProtobufTypes.parser(type.asSubclass(Message.class));
    parsers.put(manifest, parser);
    return parser;
  }
}
