package dev.troupe.algorithms.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The line loop shared by the readers: streams a JSON-lines file (gzip when it starts with the gzip magic
 * bytes, whatever its name), one UTF-8 line at a time; blank lines are ignored; each other line must be one
 * JSON object, which a {@link RowParser} turns into a row or rejects.
 */
final class JsonlFile {
  private static final Logger LOG = LoggerFactory.getLogger(JsonlFile.class);
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final int MAX_DETAIL = 160;

  private JsonlFile() {}

  /** Turns one JSON object into a row; {@code source} is {@code "<file name>:<line>"}. */
  interface RowParser<T> {
    T parse(JsonNode row, String source) throws BadRow;
  }

  /** What is wrong with a row, without its file and line (the loop adds them) and without its text. */
  static final class BadRow extends Exception {
    BadRow(String problem) {
      super(problem, null, false, false);
    }
  }

  static <T> Loaded<T> read(Path file, BadRowPolicy policy, RowParser<T> parser) throws IOException {
    List<T> rows = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    String name = String.valueOf(file.getFileName());
    Lines lines = new Lines(file);
    try (lines) {
      for (byte[] bytes = lines.next(); bytes != null; bytes = lines.next()) {
        long number = lines.number;
        try {
          String text = utf8(bytes, lines.length);
          if (number == 1 && text.startsWith("\uFEFF")) {
            text = text.substring(1);
          }
          if (!text.isBlank()) {
            rows.add(parser.parse(object(text), name + ":" + number));
          }
        } catch (BadRow bad) {
          DatasetException error = new DatasetException(file, number, bad.getMessage());
          if (policy == BadRowPolicy.FAIL) {
            throw error;
          }
          LOG.warn("skipping a bad row: {}", error.getMessage());
          problems.add(error.getMessage());
        }
      }
    } catch (ZipException | EOFException e) {
      throw new DatasetException(file, lines.number + 1, "corrupt or truncated gzip data (" + e.getMessage() + ")", e);
    }
    return new Loaded<>(rows, problems);
  }

  private static String utf8(byte[] bytes, int length) throws BadRow {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes, 0, length)).toString();
    } catch (CharacterCodingException e) {
      throw new BadRow("invalid UTF-8");
    }
  }

  private static JsonNode object(String text) throws BadRow {
    JsonNode node;
    try (JsonParser parser = JSON.createParser(text)) {
      node = JSON.readTree(parser);
      if (parser.nextToken() != null) {
        throw new BadRow("invalid JSON at column " + parser.currentTokenLocation().getColumnNr()
            + ": a second value after the row's object");
      }
    } catch (JsonProcessingException e) {
      // The original message names the offending token but not the source; capped so a row never leaks whole.
      String detail = e.getOriginalMessage();
      if (detail.length() > MAX_DETAIL) {
        detail = detail.substring(0, MAX_DETAIL) + "...";
      }
      String at = e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr();
      throw new BadRow("invalid JSON" + at + ": " + detail);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // not from reading a String
    }
    if (!node.isObject()) {
      throw new BadRow("a row must be a JSON object, not " + node.getNodeType().name().toLowerCase(Locale.ROOT));
    }
    return node;
  }

  /** Raw lines split at '\n' (a trailing '\r' dropped); {@link #number} is the 1-based number of the last. */
  private static final class Lines implements AutoCloseable {
    private final InputStream in;
    private final byte[] buffer = new byte[1 << 16];
    private int position;
    private int limit;
    private byte[] line = new byte[256];
    int length;
    long number;

    Lines(Path file) throws IOException {
      InputStream raw = new BufferedInputStream(Files.newInputStream(file));
      try {
        raw.mark(2);
        boolean gzip = raw.read() == 0x1f && raw.read() == 0x8b;
        raw.reset();
        in = gzip ? new GZIPInputStream(raw, 1 << 16) : raw;
      } catch (IOException e) {
        raw.close();
        if (e instanceof ZipException || e instanceof EOFException) {
          throw new DatasetException(file, 1, "corrupt or truncated gzip data (" + e.getMessage() + ")", e);
        }
        throw e;
      }
    }

    /** The next line's bytes (valid up to {@link #length}), or null at the end of the file. */
    byte[] next() throws IOException {
      length = 0;
      boolean any = false;
      while (true) {
        if (position == limit) {
          limit = in.read(buffer, 0, buffer.length);
          position = 0;
          if (limit <= 0) {
            limit = 0;
            if (!any) {
              return null;
            }
            break;
          }
        }
        any = true;
        int start = position;
        while (position < limit && buffer[position] != '\n') {
          position++;
        }
        append(start, position - start);
        if (position < limit) {
          position++; // the '\n'
          break;
        }
      }
      if (length > 0 && line[length - 1] == '\r') {
        length--;
      }
      number++;
      return line;
    }

    private void append(int start, int count) {
      if (length + count > line.length) {
        line = Arrays.copyOf(line, Math.max(line.length * 2, length + count));
      }
      System.arraycopy(buffer, start, line, length, count);
      length += count;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
