package dev.troupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * `troupe node` members on loopback, each a JVM of its own that this test started: free ports, logs
 * in files, a hard kill when asked, and every process still alive destroyed by {@link #close} (the
 * tests call it in a finally), so no member outlives its test.
 */
final class ClusterMembers implements AutoCloseable {
  /** The split-brain resolver downs an unreachable member after this: short, so a kill test does not wait 20 s. */
  static final String STABLE_AFTER = "3s";

  private final Path dir;
  private final Map<String, Member> members = new LinkedHashMap<>();

  record Member(String name, Process process, Path log) {}

  ClusterMembers(Path dir) {
    this.dir = dir;
  }

  /** A free TCP port on loopback (closed again at once; the member binds it a moment later). */
  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }

  /** Starts {@code troupe node ARGS} in a JVM of its own, its output in {@code <name>.log}. */
  Member start(String name, List<String> args) throws IOException {
    return start(name, List.of(), args);
  }

  /** Starts {@code java JVM_ARGS ... troupe node ARGS} in a JVM of its own, its output in {@code <name>.log}. */
  Member start(String name, List<String> jvmArgs, List<String> args) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-Dai.djl.offline=true", "-Dpekko.cluster.split-brain-resolver.stable-after=" + STABLE_AFTER,
        // the tests' logback writes INFO and up to this file (the console keeps warnings)
        "-Dtroupe.test.log=" + dir.resolve(name + "-info.log")));
    command.addAll(jvmArgs);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.troupe.cli.Troupe", "node"));
    command.addAll(args);
    Path log = dir.resolve(name + ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    Member member = new Member(name, builder.start(), log);
    members.put(name, member);
    return member;
  }

  /** kill -9: the member gets no chance to leave the cluster. */
  void killHard(String name) throws InterruptedException {
    Process process = members.get(name).process();
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** The member's exit code, waiting at most {@code timeout}; fails with every member's log tail if it did not exit. */
  int awaitExit(String name, Duration timeout) throws InterruptedException {
    Process process = members.get(name).process();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError(name + " did not exit within " + timeout.toSeconds() + " s\n" + logs());
    }
    return process.exitValue();
  }

  /** Polls {@code condition} every 200 ms until it holds; fails with the logs when {@code timeout} passes first. */
  void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + timeout.toSeconds() + " s: " + what + "\n" + logs());
      }
      for (Member m : members.values()) {
        if (!m.process().isAlive() && m.process().exitValue() != 0 && m.process().exitValue() != 137) {
          throw new AssertionError(m.name() + " exited with " + m.process().exitValue() + " while waiting for " + what
              + "\n" + logs());
        }
      }
      Thread.sleep(200);
    }
  }

  /** The last lines of every member's log, for a failure message. */
  String logs() {
    return members.values().stream().map(m -> {
      try {
        List<String> lines = Files.exists(m.log()) ? Files.readAllLines(m.log()) : List.of();
        return "---- " + m.name() + " (last 40 lines of " + lines.size() + ")\n"
            + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
      } catch (IOException e) {
        return "---- " + m.name() + ": " + e.getMessage();
      }
    }).collect(Collectors.joining("\n"));
  }

  String log(String name) throws IOException {
    return Files.readString(members.get(name).log());
  }

  /** The coordinator's summary: the last line of its output that is a JSON object (--json). */
  JsonNode summary(String name) throws IOException {
    List<String> lines = Files.readAllLines(members.get(name).log());
    for (int i = lines.size() - 1; i >= 0; i--) {
      if (lines.get(i).startsWith("{\"run_dir\"")) {
        return new ObjectMapper().readTree(lines.get(i));
      }
    }
    throw new AssertionError("no summary in the output of " + name + "\n" + logs());
  }

  /** Whether a loop has a committed checkpoint at {@code step} or later (its manifest is written last). */
  static boolean checkpointed(Path runDir, String loop, int step) {
    Path loopDir = runDir.resolve("checkpoints").resolve(loop);
    if (!Files.isDirectory(loopDir)) {
      return false;
    }
    try (var folders = Files.list(loopDir)) {
      return folders.anyMatch(f -> f.getFileName().toString().matches("step-\\d+")
          && Integer.parseInt(f.getFileName().toString().substring(5)) >= step && Files.exists(f.resolve("manifest.json")));
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() throws InterruptedException {
    for (Member m : members.values()) {
      if (m.process().isAlive()) {
        m.process().destroyForcibly();
      }
    }
    for (Member m : members.values()) {
      m.process().waitFor(30, TimeUnit.SECONDS);
    }
  }
}
