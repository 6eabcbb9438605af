package dev.troupe.protocol.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.protocol.CampaignControlReply;
import dev.troupe.protocol.CampaignControlRequest;
import dev.troupe.protocol.CampaignStatus;
import dev.troupe.protocol.LoopState;
import dev.troupe.protocol.LoopStatus;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The CampaignService over a campaign stand-in, on a loopback port: status, pause, resume, stop, bad input. */
class CampaignGrpcServiceTest {

  /** Loops that pause, resume and stop as told; an unknown loop's name is refused. */
  static final class Loops implements CampaignControl {
    final Map<String, LoopState> states = new LinkedHashMap<>(Map.of("rlhf", LoopState.LOOP_STATE_RUNNING));

    @Override
    public synchronized CampaignStatus status() {
      CampaignStatus.Builder s = CampaignStatus.newBuilder().setName("quickstart").setPhase("loops");
      states.forEach((loop, state) -> s.addLoops(LoopStatus.newBuilder().setLoop(loop).setState(state)));
      return s.build();
    }

    private synchronized CampaignControlReply set(CampaignControlRequest request, LoopState state) {
      List<String> loops = request.getLoopsCount() == 0 ? List.copyOf(states.keySet()) : request.getLoopsList();
      for (String loop : loops) {
        if (!states.containsKey(loop)) {
          throw new IllegalArgumentException("no loop named '" + loop + "' (loops: " + states.keySet() + ")");
        }
      }
      loops.forEach(loop -> states.put(loop, state));
      return CampaignControlReply.newBuilder().setOk(true).setMessage(loops + " " + state).setStatus(status()).build();
    }

    @Override
    public CampaignControlReply pause(CampaignControlRequest request) {
      return set(request, LoopState.LOOP_STATE_WAITING);
    }

    @Override
    public CampaignControlReply resume(CampaignControlRequest request) {
      return set(request, LoopState.LOOP_STATE_RUNNING);
    }

    @Override
    public CampaignControlReply stop(CampaignControlRequest request) {
      return set(request, LoopState.LOOP_STATE_DONE);
    }
  }

  @Test
  void aCampaignIsWatchedPausedResumedAndStoppedOverGrpcAndBadInputIsNamed() {
    Loops loops = new Loops();
    GrpcServer server = GrpcServer.start(ServerSettings.loopback(), List.of(new CampaignGrpcService(loops).bindService()));
    try (CampaignClient client = new CampaignClient(ClientSettings.loopback(server.port()))) {
      assertEquals(LoopState.LOOP_STATE_RUNNING, client.status().getLoops(0).getState());
      CampaignControlReply paused = client.pause(CampaignControlRequest.newBuilder().addLoops("rlhf").build());
      assertTrue(paused.getOk());
      assertEquals(LoopState.LOOP_STATE_WAITING, paused.getStatus().getLoops(0).getState());
      assertEquals(LoopState.LOOP_STATE_WAITING, client.status().getLoops(0).getState());
      assertEquals(LoopState.LOOP_STATE_RUNNING, client.resume(CampaignControlRequest.getDefaultInstance())
          .getStatus().getLoops(0).getState());

      RemoteRequestRefusedException unknown = assertThrows(RemoteRequestRefusedException.class,
          () -> client.stop(CampaignControlRequest.newBuilder().addLoops("dpo").build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, unknown.code());
      assertTrue(unknown.getMessage().contains("no loop named 'dpo'"), unknown.getMessage());
      assertEquals(LoopState.LOOP_STATE_RUNNING, client.status().getLoops(0).getState(), "nothing was stopped");

      // Bytes that are no CampaignControlRequest (field 1 claims 100 bytes, 2 follow).
      ManagedChannel channel = GrpcChannels.open(ClientSettings.loopback(server.port()));
      try {
        StatusRuntimeException malformed = assertThrows(StatusRuntimeException.class,
            () -> RawCalls.unary(channel, "troupe.v1.CampaignService/Pause", new byte[] {0x0a, 100, 'r', 'l'}));
        assertEquals(Status.Code.INVALID_ARGUMENT, malformed.getStatus().getCode());
        assertTrue(malformed.getStatus().getDescription().contains(
            "malformed troupe.v1.CampaignControlRequest in troupe.v1.CampaignService/Pause"),
            malformed.getStatus().getDescription());
      } finally {
        GrpcChannels.close(channel);
      }
      assertEquals(LoopState.LOOP_STATE_RUNNING, client.status().getLoops(0).getState(), "still serving");
      assertEquals(LoopState.LOOP_STATE_DONE, client.stop(CampaignControlRequest.getDefaultInstance())
          .getStatus().getLoops(0).getState());
    } finally {
      server.close();
    }
  }
}
