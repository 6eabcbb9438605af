package dev.troupe.protocol.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.io.NotSerializableException;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Pekko serializer for {@link WireMessage} records: each component in declaration order, a
 * protobuf message as its bytes, an actor reference in {@link ActorRefResolver}'s format, inside a
 * {@link WireEnvelope}. The manifest is the record's class name; nothing but a {@link WireMessage}
 * record is ever built from one.
 */
public final class WireRecordSerializer extends SerializerWithStringManifest {
  public static final int IDENTIFIER = 7412;

  private final ExtendedActorSystem system;
  private volatile ActorRefResolver resolver;
  private final ConcurrentHashMap<String, Shape> shapes = new ConcurrentHashMap<>();

  /** A record type's components and canonical constructor. */
  private record Shape(RecordComponent[] components, Constructor<?> constructor) {}

  public WireRecordSerializer(ExtendedActorSystem system) {
    this.system = system;
  }

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
    Shape shape;
    try {
      shape = shape(o.getClass().getName());
    } catch (NotSerializableException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    WireEnvelope.Builder envelope = WireEnvelope.newBuilder();
    for (RecordComponent component : shape.components()) {
      Object value;
      try {
        value = component.getAccessor().invoke(o);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot read " + o.getClass().getName() + "." + component.getName(), e);
      }
      WireComponent.Builder out = WireComponent.newBuilder();
      if (value == null) {
        out.setAbsent(true);
      } else if (value instanceof Message message) {
        out.setMessage(message.toByteString());
      } else if (value instanceof ActorRef<?> ref) {
        out.setActorRef(resolver().toSerializationFormat(ref));
      } else {
        throw new IllegalArgumentException(o.getClass().getName() + "." + component.getName() + " is a "
            + value.getClass().getName() + ": a wire message carries protobuf messages and actor references only");
      }
      envelope.addComponents(out);
    }
    return envelope.build().toByteArray();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    Shape shape = shape(manifest);
    WireEnvelope envelope;
    try {
      envelope = WireEnvelope.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("malformed " + manifest + ": " + e.getMessage(), e);
    }
    RecordComponent[] components = shape.components();
    if (envelope.getComponentsCount() != components.length) {
      throw new IllegalArgumentException("malformed " + manifest + ": " + envelope.getComponentsCount()
          + " components, the record has " + components.length);
    }
    Object[] args = new Object[components.length];
    for (int i = 0; i < components.length; i++) {
      WireComponent in = envelope.getComponents(i);
      Class<?> type = components[i].getType();
      args[i] = switch (in.getValueCase()) {
        case ABSENT, VALUE_NOT_SET -> null;
        case ACTOR_REF -> {
          if (!ActorRef.class.isAssignableFrom(type)) {
            throw new IllegalArgumentException("malformed " + manifest + ": " + components[i].getName()
                + " is not an actor reference");
          }
          yield resolver().resolveActorRef(in.getActorRef());
        }
        case MESSAGE -> {
          if (!Message.class.isAssignableFrom(type)) {
            throw new IllegalArgumentException("malformed " + manifest + ": " + components[i].getName()
                + " is not a protobuf message");
          }
          yield parse(type.asSubclass(Message.class), in.getMessage(), manifest, components[i].getName());
        }
      };
    }
    try {
      return shape.constructor().newInstance(args);
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("cannot build " + manifest + ": " + e.getMessage(), e);
    }
  }

  private static Message parse(Class<? extends Message> type, ByteString bytes, String manifest, String field) {
    try {
      return ProtobufTypes.parser(type).parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("malformed " + manifest + "." + field + ": " + e.getMessage(), e);
    }
  }

  private ActorRefResolver resolver() {
    if (resolver == null) {
      resolver = ActorRefResolver.get(Adapter.toTyped(system));
    }
    return resolver;
  }

  private Shape shape(String manifest) throws NotSerializableException {
    Shape cached = shapes.get(manifest);
    if (cached != null) {
      return cached;
    }
    Class<?> type;
    try {
      type = Class.forName(manifest, false, getClass().getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new NotSerializableException("unknown wire message type " + manifest);
    }
    if (!type.isRecord() || !WireMessage.class.isAssignableFrom(type)) {
      throw new NotSerializableException(manifest + " is not a WireMessage record");
    }
    RecordComponent[] components = type.getRecordComponents();
    Class<?>[] types = new Class<?>[components.length];
    for (int i = 0; i < components.length; i++) {
      types[i] = components[i].getType();
    }
    try {
      Constructor<?> constructor = type.getDeclaredConstructor(types);
      constructor.setAccessible(true);
      Shape shape = new Shape(components, constructor);
      shapes.put(manifest, shape);
      return shape;
    } catch (NoSuchMethodException e) {
      throw new NotSerializableException(manifest + " has no canonical constructor");
    }
  }
}
