package dev.troupe.protocol.grpc;

import com.google.protobuf.Message;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Requests parsed by the service, not by the transport. grpc-java answers a request whose bytes do
 * not parse as {@code UNKNOWN: Application error processing RPC}, which tells the caller nothing;
 * here such a request is answered INVALID_ARGUMENT naming the method, the message type and what
 * the parser found, and no handler runs. Every method is rebound with a request marshaller that
 * passes the bytes through (as grpc-java's ServerInterceptors.useMarshalledMessages does) and its
 * handler parses them first.
 */
final class RequestParsing {
  private RequestParsing() {}

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw Status.INTERNAL.withDescription("cannot read a request: " + e.getMessage()).withCause(e)
            .asRuntimeException();
      }
    }
  };

  /** {@code service} with every method's request parsed by its handler. */
  static ServerServiceDefinition guard(ServerServiceDefinition service) {
    ServiceDescriptor original = service.getServiceDescriptor();
    List<ServerMethodDefinition<byte[], ?>> methods = new ArrayList<>();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      ServerMethodDefinition<byte[], ?> guarded = guard(method);
      descriptor.addMethod(guarded.getMethodDescriptor());
      methods.add(guarded);
    }
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(out::addMethod);
    return out.build();
  }

  private static <Q, R> ServerMethodDefinition<byte[], R> guard(ServerMethodDefinition<Q, R> definition) {
    MethodDescriptor<Q, R> method = definition.getMethodDescriptor();
    MethodDescriptor<byte[], R> wire = method.toBuilder(BYTES, method.getResponseMarshaller()).build();
    String type = typeName(method);
    ServerCallHandler<byte[], R> handler = (call, headers) -> {
      ServerCall.Listener<Q> inner = definition.getServerCallHandler().startCall(new TypedCall<>(call, method), headers);
      return new ServerCall.Listener<>() {
        private boolean refused;

        @Override
        public void onMessage(byte[] bytes) {
          if (refused) {
            return;
          }
          Q request;
          try {
            request = method.parseRequest(new ByteArrayInputStream(bytes));
          } catch (RuntimeException e) {
            refused = true;
            call.close(Status.INVALID_ARGUMENT.withDescription("malformed " + type + " in "
                + method.getFullMethodName() + " (" + bytes.length + " bytes): " + rootMessage(e)), new Metadata());
            return;
          }
          inner.onMessage(request);
        }

        @Override
        public void onHalfClose() {
          if (!refused) {
            inner.onHalfClose();
          }
        }

        @Override
        public void onCancel() {
          inner.onCancel();
        }

        @Override
        public void onComplete() {
          inner.onComplete();
        }

        @Override
        public void onReady() {
          inner.onReady();
        }
      };
    };
    return ServerMethodDefinition.create(wire, handler);
  }

  private static String typeName(MethodDescriptor<?, ?> method) {
    if (method.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> p
        && p.getMessagePrototype() instanceof Message prototype) {
      return prototype.getDescriptorForType().getFullName();
    }
    return "request";
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  /** The wire call seen by the original handler: the same call, with the method's own request type. */
  private static final class TypedCall<Q, R> extends ServerCall<Q, R> {
    private final ServerCall<byte[], R> wire;
    private final MethodDescriptor<Q, R> method;

    TypedCall(ServerCall<byte[], R> wire, MethodDescriptor<Q, R> method) {
      this.wire = wire;
      this.method = method;
    }

    @Override
    public void request(int numMessages) {
      wire.request(numMessages);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      wire.sendHeaders(headers);
    }

    @Override
    public void sendMessage(R message) {
      wire.sendMessage(message);
    }

    @Override
    public boolean isReady() {
      return wire.isReady();
    }

    @Override
    public void close(Status status, Metadata trailers) {
      wire.close(status, trailers);
    }

    @Override
    public boolean isCancelled() {
      return wire.isCancelled();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      wire.setMessageCompression(enabled);
    }

    @Override
    public void setCompression(String compressor) {
      wire.setCompression(compressor);
    }

    @Override
    public io.grpc.Attributes getAttributes() {
      return wire.getAttributes();
    }

    @Override
    public String getAuthority() {
      return wire.getAuthority();
    }

    @Override
    public MethodDescriptor<Q, R> getMethodDescriptor() {
      return method;
    }
  }
}
