package dev.troupe.policy.grpc;

import dev.troupe.algorithms.state.TensorCodec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The files of a base-model folder (config.json, model.safetensors, tokenizer.json, ...) as a policy
 * worker serves them to a node that joins without a copy: listed by relative path, each with its
 * size and sha-256 (computed once per file version).
 */
public final class BaseModelFiles {
  /** One file: its path relative to the folder ('/' separators), size and sha-256. */
  public record FileInfo(String path, long bytes, String sha256) {}

  private record Stamp(long bytes, long modified, String sha256) {}

  private final Path dir;
  private final Map<String, Stamp> checksums = new ConcurrentHashMap<>();

  public BaseModelFiles(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("base-model folder " + dir + " is not a directory");
    }
    this.dir = dir.toAbsolutePath().normalize();
  }

  /** Every regular file under the folder, sorted. */
  public List<String> list() {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).map(this::relative).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the base-model folder " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The file at {@code relative}; throws naming it when it is outside the folder or not there. */
  public Path resolve(String relative) {
    Path file = dir.resolve(relative).normalize();
    if (relative.isEmpty() || !file.startsWith(dir) || !Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no file '" + relative + "' in the base-model folder (files: " + list() + ")");
    }
    return file;
  }

  /** Size and sha-256 of one file; the checksum is read again only when the file's size or time changed. */
  public FileInfo info(String relative) {
    Path file = resolve(relative);
    try {
      long bytes = Files.size(file);
      long modified = Files.getLastModifiedTime(file).toMillis();
      Stamp stamp = checksums.get(relative);
      if (stamp == null || stamp.bytes() != bytes || stamp.modified() != modified) {
        stamp = new Stamp(bytes, modified, sha256(file));
        checksums.put(relative, stamp);
      }
      return new FileInfo(relative, stamp.bytes(), stamp.sha256());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private String relative(Path file) {
    return dir.relativize(file.toAbsolutePath().normalize()).toString().replace(file.getFileSystem().getSeparator(), "/");
  }

  /** The sha-256 of a file's bytes, lower-case hex (as {@link TensorCodec#sha256} gives for bytes in memory). */
  public static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
