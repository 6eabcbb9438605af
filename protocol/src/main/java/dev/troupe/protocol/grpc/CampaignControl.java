package dev.troupe.protocol.grpc;

import dev.troupe.protocol.CampaignControlReply;
import dev.troupe.protocol.CampaignControlRequest;
import dev.troupe.protocol.CampaignStatus;

/**
 * What a running campaign answers to its CampaignService: the runtime implements it, and
 * {@link CampaignGrpcService} serves it. Each method may block until the request took effect; an
 * unknown loop's name is an IllegalArgumentException (INVALID_ARGUMENT over gRPC).
 */
public interface CampaignControl {
  CampaignStatus status();

  CampaignControlReply pause(CampaignControlRequest request);

  CampaignControlReply resume(CampaignControlRequest request);

  CampaignControlReply stop(CampaignControlRequest request);
}
