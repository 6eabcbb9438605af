package dev.troupe.cli;

import dev.troupe.actors.store.CampaignStore;
import dev.troupe.feedback.export.LabelExport;
import dev.troupe.feedback.launch.StandaloneUi;
import dev.troupe.protocol.FeedbackSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** A campaign's labels as a dataset file. */
@Command(name = "export", description = "Export a campaign's data.", subcommands = {ExportCommand.Labels.class})
final class ExportCommand {

  @Command(name = "labels", description = "Write the stored labels as TRL preference, Anthropic HH or KTO jsonl (stdout, or"
      + " --output); stderr gets the dataset version (sha-256 of the bytes) and the labels per source.")
  static final class Labels implements Callable<Integer> {
    @Option(names = "--run-dir", required = true, description = "the campaign's run folder")
    Path runDir;

    @Option(names = "--format", required = true, description = "trl, hh or kto")
    String format;

    @Option(names = "--source", split = ",", description = "only these sources: human, ai, gold, dataset (default: all)")
    List<String> sources;

    @Option(names = "--output", description = "file to write (default: stdout)")
    Path output;

    @Override
    public Integer call() throws Exception {
      LabelExport.Format parsed = LabelExport.Format.parse(format);
      Set<FeedbackSource> chosen = new LinkedHashSet<>();
      if (sources == null || sources.isEmpty()) {
        chosen.addAll(LabelExport.allSources());
      } else {
        sources.forEach(s -> chosen.add(LabelExport.parseSource(s.trim())));
      }
      if (!Files.isRegularFile(runDir.resolve("campaign.db")) && !Files.isRegularFile(runDir.resolve("campaign.conf"))) {
        throw new IllegalArgumentException("--run-dir: " + runDir + " holds no campaign (no campaign.db or campaign.conf)");
      }
      LabelExport.Result result;
      try (CampaignStore store = StandaloneUi.openStore(runDir)) {
        result = LabelExport.export(store, parsed, chosen);
      }
      if (output != null) {
        Files.write(output, result.jsonl());
      } else {
        System.out.write(result.jsonl());
        System.out.flush();
      }
      System.err.println("troupe: " + result.rows() + " rows, dataset version " + result.version() + ", labels per source "
          + result.labelsPerSource());
      return 0;
    }
  }
}
