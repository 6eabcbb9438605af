package dev.troupe.actors.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import dev.troupe.protocol.wire.WireMessage;
import dev.troupe.protocol.wire.WireRecordSerializer;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.Test;

/**
 * Every actor message that may cross a process (a {@link WireMessage}, in any of Troupe's modules)
 * goes through the configured serializer and comes back equal, with every field of its protobuf
 * components filled; none may fall back to Java serialization, which is switched off.
 */
class WireMessageContractTest {

  @Test
  void everyWireMessageRoundTripsThroughTheConfiguredProtobufSerializer() throws Exception {
    List<Class<?>> messages = wireMessages();
    // The scan must see the workers' and the campaign's protocols, not an empty classpath.
    List<String> names = messages.stream().map(Class::getSimpleName).toList();
    for (String expected : List.of("Generate", "LoadAdapter", "ScoreLogProbs", "Score", "Learn", "Initial",
        "JudgePairs", "NextPairs", "SubmitLabel", "GetStatus")) {
      assertTrue(names.contains(expected), expected + " not found among " + names);
    }
    ActorTestKit kit = ActorTestKit.create();
    try {
      ActorRef<Object> probe = kit.<Object>createTestProbe().ref();
      Serialization serialization = SerializationExtension.get(Adapter.toClassic(kit.system()));
      for (Class<?> type : messages) {
        Object message = sample(type, probe);
        Serializer serializer = serialization.findSerializerFor(message);
        assertEquals(WireRecordSerializer.IDENTIFIER, serializer.identifier(), type.getName());
        byte[] bytes = serializer.toBinary(message);
        Object back = serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer,
            message)).get();
        assertEquals(message, back, type.getName());
      }
    } finally {
      kit.shutdownTestKit();
    }
  }

  /** A record of {@code type} whose protobuf components have every field set and whose actor refs are {@code ref}. */
  private static Object sample(Class<?> type, ActorRef<Object> ref) throws ReflectiveOperationException {
    RecordComponent[] components = type.getRecordComponents();
    Object[] args = new Object[components.length];
    Class<?>[] types = new Class<?>[components.length];
    for (int i = 0; i < components.length; i++) {
      types[i] = components[i].getType();
      if (ActorRef.class.isAssignableFrom(types[i])) {
        args[i] = ref;
      } else if (Message.class.isAssignableFrom(types[i])) {
        Message prototype = (Message) types[i].getMethod("getDefaultInstance").invoke(null);
        args[i] = filled(prototype.newBuilderForType(), 0);
      } else {
        fail(type.getName() + "." + components[i].getName() + " is a " + types[i].getName()
            + ": a WireMessage carries protobuf messages and actor references only");
      }
    }
    var constructor = type.getDeclaredConstructor(types);
    constructor.setAccessible(true);
    return constructor.newInstance(args);
  }

  /** Every field set to a non-default value, nested messages two levels deep. */
  private static Message filled(Message.Builder builder, int depth) {
    for (FieldDescriptor field : builder.getDescriptorForType().getFields()) {
      if (field.isMapField()) {
        continue;
      }
      Object value = switch (field.getJavaType()) {
        case INT -> 7;
        case LONG -> 11L;
        case FLOAT -> 0.5f;
        case DOUBLE -> 0.25;
        case BOOLEAN -> true;
        case STRING -> field.getName() + "-value";
        case BYTE_STRING -> ByteString.copyFromUtf8("bytes");
        case ENUM -> field.getEnumType().getValues().get(field.getEnumType().getValues().size() - 1);
        case MESSAGE -> depth < 2 ? filled(builder.newBuilderForField(field), depth + 1) : null;
      };
      if (value == null) {
        continue;
      }
      if (field.isRepeated()) {
        builder.addRepeatedField(field, value);
      } else if (field.getRealContainingOneof() == null || !builder.hasOneof(field.getRealContainingOneof())) {
        builder.setField(field, value);
      }
    }
    return builder.build();
  }

  /** Every WireMessage record in Troupe's classes on the classpath (module folders or jars). */
  private static List<Class<?>> wireMessages() throws IOException, URISyntaxException, ClassNotFoundException {
    TreeSet<String> classes = new TreeSet<>();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      Path path = Path.of(entry);
      if (Files.isDirectory(path)) {
        try (Stream<Path> walk = Files.walk(path)) {
          walk.filter(p -> p.toString().endsWith(".class")).map(p -> path.relativize(p).toString())
              .filter(n -> n.startsWith("dev/troupe/")).forEach(classes::add);
        }
      } else if (path.getFileName().toString().startsWith("troupe-") && entry.endsWith(".jar")) {
        try (JarFile jar = new JarFile(path.toFile())) {
          jar.stream().map(java.util.zip.ZipEntry::getName).filter(n -> n.startsWith("dev/troupe/")
              && n.endsWith(".class")).forEach(classes::add);
        }
      }
    }
    List<Class<?>> out = new ArrayList<>();
    for (String file : classes) {
      String name = file.substring(0, file.length() - ".class".length()).replace('/', '.');
      Class<?> type = Class.forName(name, false, WireMessageContractTest.class.getClassLoader());
      if (type.isRecord() && WireMessage.class.isAssignableFrom(type)) {
        out.add(type);
      }
    }
    return out;
  }
}
