package dev.troupe.cli;

import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.Users;
import dev.troupe.feedback.auth.Passwords;
import dev.troupe.feedback.launch.StandaloneUi;
import java.io.BufferedReader;
import java.io.Console;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Accounts of the feedback UI, managed from the shell (the first admin can only be made here). */
@Command(name = "admin", description = "Manage the feedback UI's accounts.", subcommands = {AdminCommand.CreateUser.class})
final class AdminCommand {

  @Command(name = "create-user", description = "Make an account (rater, reviewer or admin) in a run folder's store, made"
      + " if missing; works while the campaign runs. The password is read from stdin (one line), never from an option.")
  static final class CreateUser implements Callable<Integer> {
    @Option(names = "--run-dir", required = true, description = "the campaign's run folder")
    Path runDir;

    @Option(names = "--username", required = true, description = "letters, digits, '.', '_', '-' or '@'")
    String username;

    @Option(names = "--role", required = true, description = "rater, reviewer or admin")
    String role;

    @Override
    public Integer call() throws Exception {
      Users.Role parsed = Users.Role.parse(role);
      Users.requireUsername(username);
      String password = readPassword();
      Passwords.requireAcceptable(password);
      try (CampaignStore store = StandaloneUi.openStore(runDir)) {
        store.users().create(username, Passwords.hash(password), parsed);
      }
      System.err.println("troupe: user " + username + " (" + parsed.configName() + ") created in " + runDir);
      return 0;
    }

    /** A terminal: asked for without echo, twice; otherwise the first line of stdin. */
    private static String readPassword() throws java.io.IOException {
      Console console = System.console();
      if (console != null) {
        char[] first = console.readPassword("password: ");
        char[] again = console.readPassword("again: ");
        if (first == null || again == null || !new String(first).equals(new String(again))) {
          throw new IllegalArgumentException("password: the two entries differ");
        }
        return new String(first);
      }
      String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      if (line == null) {
        throw new IllegalArgumentException("password: expected one line on stdin, got none (echo ... | troupe admin create-user ...)");
      }
      return line;
    }
  }
}
