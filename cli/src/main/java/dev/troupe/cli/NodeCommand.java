package dev.troupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.actors.campaign.Campaign;
import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.node.ClusterNode;
import dev.troupe.actors.node.NodeRole;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One member of a campaign's cluster. The coordinator member (roles coordinator,learner,feedback)
 * runs the campaign and, at its end, writes summary.json and tells every member to exit; policy and
 * reward members serve once the coordinator attached them, fetching the base when they lack it.
 */
@Command(name = "node", description = "Run one member of a campaign's cluster: --roles coordinator,learner,feedback"
    + " runs the campaign (and resumes it from --run-dir), --roles policy and/or reward serve it. Every member exits"
    + " when the campaign ends.")
final class NodeCommand implements Callable<Integer> {
  @Option(names = "--roles", required = true, description = "ROLE[,ROLE...] of coordinator, learner, feedback, policy,"
      + " reward (coordinator, learner and feedback go together)")
  String roles;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "address the other members reach this one at"
      + " (default: ${DEFAULT-VALUE})")
  String host;

  @Option(names = "--port", required = true, description = "cluster (Pekko Artery) port")
  int port;

  @Option(names = "--grpc-port", defaultValue = "0", description = "data-plane port (0: any free port)")
  int grpcPort;

  @Option(names = "--seeds", split = ",", description = "HOST:PORT[,...] of members to join through (or --bootstrap)")
  List<String> seeds = new ArrayList<>();

  @Option(names = "--bootstrap", description = "instead of --seeds: find the other members through Pekko Management's"
      + " cluster bootstrap with this discovery method (kubernetes-api on Kubernetes; needs the troupe-kubernetes"
      + " module's class path)")
  String bootstrap;

  @Option(names = "--management-port", defaultValue = "7626", description = "with --bootstrap: this member's Pekko"
      + " Management HTTP port, which the others probe (default: ${DEFAULT-VALUE})")
  int managementPort;

  @Option(names = "--campaign", description = "campaign file, or 'quickstart' for the built-in one (required with the"
      + " coordinator role)")
  String campaign;

  @Option(names = "--run-dir", required = true, description = "this member's folder: the campaign's run folder for the"
      + " coordinator, the cache of fetched files for a worker")
  Path runDir;

  @Option(names = "--set", description = "KEY=VALUE over the campaign file")
  List<String> sets = new ArrayList<>();

  @Option(names = "--json", description = "the coordinator ends with one line holding the summary as a JSON object")
  boolean json;

  @Override
  public Integer call() throws Exception {
    Set<NodeRole> parsed = NodeRole.parse(roles);
    CampaignConfig config = campaign == null ? null
        : CampaignConfig.load("quickstart".equals(campaign) ? null : Path.of(campaign), sets);
    if (campaign == null && !sets.isEmpty()) {
      throw new IllegalArgumentException("--set changes a campaign: give --campaign too");
    }
    ClusterNode.Settings settings = new ClusterNode.Settings(parsed, host, port, grpcPort, seeds, runDir, config,
        bootstrap, managementPort);
    boolean coordinator = parsed.contains(NodeRole.COORDINATOR);
    System.err.printf("troupe: cluster member %s on %s:%d, joining through %s%s%n", NodeRole.names(parsed), host, port,
        bootstrap != null ? bootstrap + " discovery (cluster bootstrap, management port " + managementPort + ")"
            : String.join(",", seeds), coordinator ? "; campaign " + config.name() + ", run folder " + runDir : "");
    CampaignEvents events = RunCommand.consoleEvents();
    ClusterNode.Running running = ClusterNode.start(settings, events);
    if (running.grpcPort() > 0) {
      System.err.printf("troupe: the campaign's files and its CampaignService (status, pause, resume, stop) on gRPC"
          + " %s:%d%n", host, running.grpcPort());
    } else {
      System.err.println("troupe: waiting for a coordinator to attach this member to its campaign");
    }
    Thread hook = new Thread(running::close, "troupe-node-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    Campaign.Result result = running.await();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the JVM is already on its way out
    }
    if (result == null) {
      System.err.println("troupe: the campaign ended; this member left the cluster");
      return 0;
    }
    RunCommand.printSummary(result.summary());
    if (json) {
      System.out.println(new ObjectMapper().writeValueAsString(result.summary()));
    }
    return result.succeeded() ? 0 : 1;
  }
}
