package dev.troupe.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.model.Fixtures;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The 2,312 rows of the hh-rlhf harmless-base test split (shared fixture). Red-team content: tests report row
 * indices and character positions, never the text.
 */
record HhRlhfRows(List<String> chosen, List<String> rejected) {
  static final String FIXTURE = "data/hh-rlhf/harmless-base/test.jsonl.gz";
  static final int ROWS = 2312;

  static HhRlhfRows load() throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> chosen = new ArrayList<>();
    List<String> rejected = new ArrayList<>();
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(
        new GZIPInputStream(Files.newInputStream(Fixtures.require(FIXTURE))), StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        JsonNode row = json.readTree(line);
        chosen.add(row.get("chosen").asText());
        rejected.add(row.get("rejected").asText());
      }
    }
    return new HhRlhfRows(chosen, rejected);
  }

  int size() {
    return chosen.size();
  }

  /** Index of the first character where {@code a} and {@code b} differ, or -1 when equal. */
  static int firstDifference(String a, String b) {
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      if (a.charAt(i) != b.charAt(i)) {
        return i;
      }
    }
    return a.length() == b.length() ? -1 : n;
  }
}
