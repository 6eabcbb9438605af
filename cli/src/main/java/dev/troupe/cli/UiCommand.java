package dev.troupe.cli;

import dev.troupe.feedback.launch.StandaloneUi;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The feedback UI alone over a run folder, without running its campaign. */
@Command(name = "ui", description = "Serve the feedback UI (raters' queue, admin dashboard, exports) over a run folder's"
    + " store, without running the campaign. `troupe run` serves it too, while the campaign runs.")
final class UiCommand implements Callable<Integer> {
  @Option(names = "--run-dir", required = true, description = "the campaign's run folder (its store is made if missing)")
  Path runDir;

  @Option(names = "--host", description = "address to listen on (default: the campaign's ui.host, else 127.0.0.1)")
  String host;

  @Option(names = "--port", description = "port (default: the campaign's ui.port, else 8080; 0: any free port)")
  Integer port;

  @Override
  public Integer call() throws Exception {
    StandaloneUi ui = StandaloneUi.start(runDir, host, port);
    System.err.println("troupe: feedback UI at " + ui.url() + " (Ctrl-C stops it)");
    if (ui.store().users().count() == 0) {
      System.err.println("troupe: no account exists yet: troupe admin create-user --run-dir " + runDir
          + " --username NAME --role admin (the password is read from stdin)");
    }
    ui.awaitShutdown();
    return 0;
  }
}
