package dev.troupe.protocol.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.troupe.protocol.Ack;
import dev.troupe.protocol.Prompt;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class WireRecordSerializerTest {
  record Ask(Prompt prompt, ActorRef<Ack> replyTo) implements WireMessage {}

  record Carrying(String text) implements WireMessage {}

  static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static Object roundTrip(Object message) throws Exception {
    Serialization serialization = SerializationExtension.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(kit.system()));
    var serializer = serialization.findSerializerFor(message);
    byte[] bytes = serializer.toBinary(message);
    return serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, message)).get();
  }

  @Test
  void recordOfProtobufAndActorRefSurvivesTheConfiguredSerializer() throws Exception {
    TestProbe<Ack> probe = kit.createTestProbe();
    Prompt prompt = Prompt.newBuilder().setId("rlhf/7").addTokenIds(1).addTokenIds(42).setText("sort: b a").build();
    Ask back = (Ask) roundTrip(new Ask(prompt, probe.ref()));
    assertEquals(prompt, back.prompt());
    back.replyTo().tell(Ack.newBuilder().setOk(true).build());
    assertEquals(true, probe.receiveMessage().getOk());
    assertNull(((Ask) roundTrip(new Ask(null, probe.ref()))).prompt());
  }

  @Test
  void bareProtobufMessageUsesTheProtobufSerializer() throws Exception {
    Ack ack = Ack.newBuilder().setOk(false).setError("unknown adapter 'x'").build();
    assertEquals(ack, roundTrip(ack));
    Serialization serialization = SerializationExtension.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(kit.system()));
    assertEquals(ProtobufSerializer.IDENTIFIER, serialization.findSerializerFor(ack).identifier());
  }

  @Test
  void aComponentThatIsNotProtobufIsRefusedNotSentAsJava() {
    assertThrows(IllegalArgumentException.class, () -> roundTrip(new Carrying("plain string")));
  }

  @Test
  void javaSerializationIsSwitchedOff() {
    Serialization serialization = SerializationExtension.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(kit.system()));
    // A plain serializable object has no serializer once Java serialization is off.
    assertThrows(Exception.class, () -> serialization.serialize(new java.util.ArrayList<>(java.util.List.of(1))).get());
  }
}
