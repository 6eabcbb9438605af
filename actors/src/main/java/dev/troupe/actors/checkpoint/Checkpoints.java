package dev.troupe.actors.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.algorithms.state.TensorCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A loop's checkpoints on disk: {@code <root>/<loop>/step-<N>/}, each written into a temporary folder,
 * every file fsynced, a {@code manifest.json} with every file's sha-256 written last, then renamed into
 * place; so a folder with a manifest is complete, and a file that changed after is detected.
 */
public final class Checkpoints {
  public static final String MANIFEST = "manifest.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern STEP = Pattern.compile("step-(\\d+)");

  private final Path root;

  /** @param root the campaign's {@code checkpoints} folder */
  public Checkpoints(Path root) {
    this.root = root;
  }

  public Path folder(String loop, long step) {
    return root.resolve(loop).resolve("step-" + step);
  }

  /** A checkpoint on disk: where it is, its step and its manifest's sha-256. */
  public record Written(Path folder, long step, String manifestSha256) {}

  /**
   * Writes a checkpoint of {@code loop} at {@code step}: {@code contents} fills a fresh temporary
   * folder, then every file is fsynced, the manifest written and fsynced, and the folder renamed to
   * {@code step-<N>} (replacing a leftover of an earlier, uncommitted attempt).
   */
  public Written write(String loop, long step, Consumer<Path> contents) throws IOException {
    Path target = folder(loop, step);
    Files.createDirectories(target.getParent());
    Path temp = target.resolveSibling(".step-" + step + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    Files.createDirectories(temp);
    try {
      try {
        contents.accept(temp);
      } catch (UncheckedIOException e) {
        throw e.getCause();
      }
      Map<String, String> files = new TreeMap<>();
      try (Stream<Path> walk = Files.walk(temp)) {
        for (Path file : walk.filter(Files::isRegularFile).toList()) {
          fsync(file);
          files.put(temp.relativize(file).toString().replace('\\', '/'), sha256(file));
        }
      }
      ObjectNode manifest = JSON.createObjectNode();
      manifest.put("loop", loop);
      manifest.put("step", step);
      manifest.put("created_ms", System.currentTimeMillis());
      ObjectNode sums = manifest.putObject("files");
      files.forEach(sums::put);
      Path manifestFile = temp.resolve(MANIFEST);
      Files.write(manifestFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
      fsync(manifestFile);
      fsyncDirectories(temp);
      if (Files.exists(target)) {
        deleteTree(target);
      }
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target);
      }
      fsyncDirectory(target.getParent());
      return new Written(target, step, sha256(target.resolve(MANIFEST)));
    } catch (IOException | RuntimeException e) {
      deleteTree(temp);
      throw e;
    }
  }

  /**
   * Why the checkpoint folder cannot be trusted (naming the file), or null when its manifest lists
   * every file with a matching sha-256 and names this loop and step.
   */
  public String problem(String loop, long step) {
    Path folder = folder(loop, step);
    Path manifestFile = folder.resolve(MANIFEST);
    if (!Files.isDirectory(folder)) {
      return folder + " does not exist";
    }
    if (!Files.isRegularFile(manifestFile)) {
      return manifestFile + " is missing (an interrupted write)";
    }
    JsonNode manifest;
    try {
      manifest = JSON.readTree(manifestFile.toFile());
    } catch (IOException e) {
      return manifestFile + " is not valid JSON: " + e.getMessage();
    }
    if (manifest == null || !loop.equals(manifest.path("loop").asText()) || manifest.path("step").asLong(-1) != step) {
      return manifestFile + " names another loop or step";
    }
    JsonNode files = manifest.path("files");
    if (!files.isObject() || files.isEmpty()) {
      return manifestFile + " lists no files";
    }
    for (var it = files.fields(); it.hasNext(); ) {
      var e = it.next();
      Path file = folder.resolve(e.getKey()).normalize();
      if (!file.startsWith(folder)) {
        return manifestFile + " names a file outside its folder: " + e.getKey();
      }
      if (!Files.isRegularFile(file)) {
        return file + " is missing";
      }
      try {
        if (!sha256(file).equals(e.getValue().asText())) {
          return file + " does not match its sha-256 in the manifest (truncated or corrupted)";
        }
      } catch (IOException ex) {
        return file + " cannot be read: " + ex.getMessage();
      }
    }
    return null;
  }

  /** The steps with a folder under the loop, newest first (complete or not). */
  public List<Long> steps(String loop) throws IOException {
    Path dir = root.resolve(loop);
    List<Long> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> list = Files.list(dir)) {
      for (Path p : list.toList()) {
        Matcher m = STEP.matcher(p.getFileName().toString());
        if (m.matches()) {
          out.add(Long.parseLong(m.group(1)));
        }
      }
    }
    out.sort(Comparator.reverseOrder());
    return out;
  }

  /** Removes a checkpoint folder (pruned, or never committed), and any temporary folders of the loop. */
  public void delete(String loop, long step) throws IOException {
    deleteTree(folder(loop, step));
  }

  /** Removes temporary folders left by writes a crash interrupted. */
  public void deleteTemporaries(String loop) throws IOException {
    Path dir = root.resolve(loop);
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (Stream<Path> list = Files.list(dir)) {
      for (Path p : list.toList()) {
        if (p.getFileName().toString().startsWith(".step-")) {
          deleteTree(p);
        }
      }
    }
  }

  private static String sha256(Path file) throws IOException {
    return TensorCodec.sha256(Files.readAllBytes(file));
  }

  private static void fsync(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private static void fsyncDirectories(Path top) throws IOException {
    try (Stream<Path> walk = Files.walk(top)) {
      for (Path dir : walk.filter(Files::isDirectory).toList()) {
        fsyncDirectory(dir);
      }
    }
  }

  /** A directory's entries reach the disk (Linux allows opening a directory for reading). */
  private static void fsyncDirectory(Path dir) {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Not every platform lets a directory be opened; the rename is still atomic there.
    }
  }

  static void deleteTree(Path top) throws IOException {
    if (!Files.exists(top)) {
      return;
    }
    Files.walkFileTree(top, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
        Files.delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
