package dev.troupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.protocol.LedgerEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The ledger: which rollouts and labels each training step consumed. */
@Command(name = "ledger", description = "Read a campaign's ledger.", subcommands = {LedgerCommand.Export.class})
final class LedgerCommand {

  @Command(name = "export", description = "Print the ledger as JSON lines {loop, step, kind, id, adapter_version},"
      + " one per consumed item.")
  static final class Export implements Callable<Integer> {
    @Parameters(index = "0", description = "the campaign's run folder")
    Path runDir;

    @Option(names = "--store", description = "JDBC URL of the store (default: the run folder's campaign.db)")
    String url;

    @Override
    public Integer call() throws Exception {
      String jdbc = url != null ? url : CampaignStore.defaultUrl(runDir);
      if (url == null && !Files.isRegularFile(runDir.resolve("campaign.db"))) {
        throw new IllegalArgumentException(runDir + " holds no campaign.db: not a campaign's run folder");
      }
      ObjectMapper json = new ObjectMapper();
      try (CampaignStore store = CampaignStore.open(jdbc, null, null)) {
        StringBuilder out = new StringBuilder();
        for (LedgerEntry e : store.ledger()) {
          ObjectNode row = json.createObjectNode();
          row.put("loop", e.getLoop());
          row.put("step", e.getStep());
          row.put("kind", e.getKind());
          row.put("id", e.getItemId());
          row.put("adapter_version", e.getAdapterVersion());
          out.append(json.writeValueAsString(row)).append('\n');
        }
        System.out.print(out);
      }
      return 0;
    }
  }
}
