package dev.troupe.protocol.grpc;

import dev.troupe.protocol.CampaignControlReply;
import dev.troupe.protocol.CampaignControlRequest;
import dev.troupe.protocol.CampaignServiceGrpc;
import dev.troupe.protocol.CampaignStatus;
import dev.troupe.protocol.CampaignStatusRequest;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;

/** The CampaignService over a {@link CampaignControl}: start it with {@link GrpcServer#start}. */
public final class CampaignGrpcService extends CampaignServiceGrpc.CampaignServiceImplBase {
  private final CampaignControl control;

  public CampaignGrpcService(CampaignControl control) {
    this.control = control;
  }

  @Override
  public void status(CampaignStatusRequest request, StreamObserver<CampaignStatus> out) {
    answer(control::status, out);
  }

  @Override
  public void pause(CampaignControlRequest request, StreamObserver<CampaignControlReply> out) {
    answer(() -> control.pause(request), out);
  }

  @Override
  public void resume(CampaignControlRequest request, StreamObserver<CampaignControlReply> out) {
    answer(() -> control.resume(request), out);
  }

  @Override
  public void stop(CampaignControlRequest request, StreamObserver<CampaignControlReply> out) {
    answer(() -> control.stop(request), out);
  }

  private static <T> void answer(Supplier<T> work, StreamObserver<T> out) {
    T result;
    try {
      result = work.get();
    } catch (RuntimeException e) {
      out.onError(ServerErrors.status(e));
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }
}
