package dev.troupe.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The troupe command line: one entry point, a subcommand per job. */
@Command(
    name = "troupe",
    mixinStandardHelpOptions = true,
    version = "troupe 0.1.0",
    description = "Actor-based RLHF training orchestrator (PPO, GRPO, DPO over LoRA adapters on DJL).",
    subcommands = {RunCommand.class, NodeCommand.class, ControlCommand.class, DemoCommand.class, ConfigCommand.class, LedgerCommand.class,
        UiCommand.class, AdminCommand.class, ExportCommand.class, TrainCommand.class, ExperimentCommand.class,
        ModelCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Troupe implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
    // DJL's tokenizer otherwise reports usage to a telemetry endpoint at start.
    System.setProperty("OPT_OUT_TRACKING", System.getProperty("OPT_OUT_TRACKING", "true"));
    System.exit(commandLine().execute(args));
  }

  /** The command line with Troupe's error handling: a failure prints one line naming the problem, exit 2. */
  static CommandLine commandLine() {
    return new CommandLine(new Troupe())
        .setExecutionExceptionHandler((e, cmd, parsed) -> {
          cmd.getErr().println("troupe: " + e.getMessage());
          if (System.getenv("TROUPE_DEBUG") != null) {
            e.printStackTrace(cmd.getErr());
          }
          cmd.getErr().flush();
          return 2;
        });
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
