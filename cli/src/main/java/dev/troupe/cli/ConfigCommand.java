package dev.troupe.cli;

import dev.troupe.actors.config.CampaignConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Campaign files: check one before running it. */
@Command(name = "config", description = "Campaign files.", subcommands = {ConfigCommand.Check.class})
final class ConfigCommand {

  @Command(name = "check", description = "Validate a campaign file and print the resolved campaign (exit 0), or"
      + " every problem with its file, line and key path (exit 2).")
  static final class Check implements Callable<Integer> {
    @Parameters(index = "0", description = "campaign file (HOCON)")
    Path file;

    @Option(names = "--set", description = "KEY=VALUE over the file")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() {
      System.out.print(CampaignConfig.load(file, sets).render());
      return 0;
    }
  }
}
