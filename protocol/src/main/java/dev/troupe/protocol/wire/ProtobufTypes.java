package dev.troupe.protocol.wire;

import com.google.protobuf.Message;
import com.google.protobuf.Parser;

/** The parser of a generated protobuf class, found through its static default instance. */
final class ProtobufTypes {
  private ProtobufTypes() {}

  @SuppressWarnings("unchecked")
  static Parser<? extends Message> parser(Class<? extends Message> type) {
    try {
      Message prototype = (Message) type.getMethod("getDefaultInstance").invoke(null);
      return (Parser<? extends Message>) prototype.getParserForType();
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException(type.getName() + " is not a generated protobuf message", e);
    }
  }
}
