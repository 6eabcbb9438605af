package dev.troupe.protocol.grpc;

import dev.troupe.protocol.CampaignControlReply;
import dev.troupe.protocol.CampaignControlRequest;
import dev.troupe.protocol.CampaignServiceGrpc;
import dev.troupe.protocol.CampaignStatus;
import dev.troupe.protocol.CampaignStatusRequest;
import io.grpc.ManagedChannel;

/**
 * A client of a running campaign's CampaignService (the CLI's status, pause, resume, stop). Status
 * is tried again while the campaign is unavailable; the others are sent once.
 */
public final class CampaignClient implements AutoCloseable {
  private final ClientSettings settings;
  private final ManagedChannel channel;
  private final CampaignServiceGrpc.CampaignServiceBlockingStub stub;

  public CampaignClient(ClientSettings settings) {
    this.settings = settings;
    this.channel = GrpcChannels.open(settings);
    this.stub = CampaignServiceGrpc.newBlockingStub(channel);
  }

  public CampaignStatus status() {
    return RemoteCalls.call("Status", settings, true,
        deadline -> stub.withDeadline(deadline).status(CampaignStatusRequest.getDefaultInstance()));
  }

  public CampaignControlReply pause(CampaignControlRequest request) {
    return RemoteCalls.call("Pause", settings, false, deadline -> stub.withDeadline(deadline).pause(request));
  }

  public CampaignControlReply resume(CampaignControlRequest request) {
    return RemoteCalls.call("Resume", settings, false, deadline -> stub.withDeadline(deadline).resume(request));
  }

  public CampaignControlReply stop(CampaignControlRequest request) {
    return RemoteCalls.call("Stop", settings, false, deadline -> stub.withDeadline(deadline).stop(request));
  }

  @Override
  public void close() {
    GrpcChannels.close(channel);
  }
}
