package dev.troupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import dev.troupe.protocol.CampaignControlReply;
import dev.troupe.protocol.CampaignControlRequest;
import dev.troupe.protocol.CampaignStatus;
import dev.troupe.protocol.LoopStatus;
import dev.troupe.protocol.grpc.CampaignClient;
import dev.troupe.protocol.grpc.ClientSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** A running campaign's CampaignService from the command line: status, pause, resume, stop. */
@Command(name = "control", description = "Ask a running campaign (a coordinator's gRPC port, printed at its start) for"
    + " its status, or pause, resume or stop some or all of its loops.")
final class ControlCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "status | pause | resume | stop")
  String action;

  @Option(names = "--at", required = true, description = "HOST:PORT of the coordinator's gRPC server")
  String at;

  @Option(names = "--loops", split = ",", description = "the loops to act on (default: all)")
  List<String> loops = new ArrayList<>();

  @Option(names = "--reason", defaultValue = "", description = "why, for the campaign's log")
  String reason;

  @Option(names = "--json", description = "print the answer as one JSON object")
  boolean json;

  @Override
  public Integer call() throws Exception {
    int colon = at.lastIndexOf(':');
    if (colon <= 0 || !at.substring(colon + 1).matches("\\d{1,5}")) {
      throw new IllegalArgumentException("--at: '" + at + "' is not HOST:PORT");
    }
    ClientSettings settings = ClientSettings.fromConfig(ConfigFactory.load(), at.substring(0, colon),
        Integer.parseInt(at.substring(colon + 1)));
    CampaignControlRequest request = CampaignControlRequest.newBuilder().addAllLoops(loops).setReason(reason).build();
    try (CampaignClient client = new CampaignClient(settings)) {
      CampaignStatus status;
      boolean ok = true;
      switch (action) {
        case "status" -> status = client.status();
        case "pause", "resume", "stop" -> {
          CampaignControlReply reply = switch (action) {
            case "pause" -> client.pause(request);
            case "resume" -> client.resume(request);
            default -> client.stop(request);
          };
          ok = reply.getOk();
          System.err.println("troupe: " + reply.getMessage());
          status = reply.getStatus();
        }
        default -> throw new IllegalArgumentException("control: unknown action '" + action
            + "' (status, pause, resume, stop)");
      }
      if (json) {
        System.out.println(new ObjectMapper().writeValueAsString(json(status, ok)));
      } else {
        print(status);
      }
      return ok ? 0 : 1;
    }
  }

  /** The status as {"ok", "name", "phase", "run_dir", "loops": {NAME: {"state", "step", "steps", "adapter_version", "message"}}}. */
  private static ObjectNode json(CampaignStatus status, boolean ok) {
    ObjectNode out = new ObjectMapper().createObjectNode();
    out.put("ok", ok);
    out.put("name", status.getName());
    out.put("phase", status.getPhase());
    out.put("run_dir", status.getRunDir());
    ObjectNode loops = out.putObject("loops");
    for (LoopStatus loop : status.getLoopsList()) {
      ObjectNode l = loops.putObject(loop.getLoop());
      l.put("state", loop.getState().name().substring("LOOP_STATE_".length()).toLowerCase(Locale.ROOT));
      l.put("step", loop.getStep());
      l.put("steps", loop.getSteps());
      l.put("adapter_version", loop.getAdapterVersion());
      l.put("message", loop.getMessage());
    }
    return out;
  }

  private static void print(CampaignStatus status) {
    System.out.printf("campaign %s (%s), run folder %s%n", status.getName(), status.getPhase(), status.getRunDir());
    for (LoopStatus loop : status.getLoopsList()) {
      System.out.printf(Locale.ROOT, "  %-10s %-8s step %d/%d, adapter version %d%s%n", loop.getLoop(),
          loop.getState().name().substring("LOOP_STATE_".length()).toLowerCase(Locale.ROOT), loop.getStep(),
          loop.getSteps(), loop.getAdapterVersion(), loop.getMessage().isEmpty() ? "" : " (" + loop.getMessage() + ")");
    }
  }
}
