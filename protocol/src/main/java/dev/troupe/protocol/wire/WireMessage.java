package dev.troupe.protocol.wire;

/**
 * An actor message that may cross a process: a record whose every component is a protobuf message
 * or a typed {@code ActorRef}, so that {@link WireRecordSerializer} carries it with no hand-written
 * twin. {@code WireMessageContractTest} in each module holds every implementation to that shape.
 */
public interface WireMessage {}
