package dev.troupe.actors.config;

import com.typesafe.config.ConfigUtil;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Writes nested maps as HOCON in their own key order (Typesafe Config's renderer sorts keys, which would lose
 * the order of a campaign's loops): strings quoted, numbers in Java's round-trip form, durations as "30s".
 */
final class HoconText {
  private static final String INDENT = "  ";

  private HoconText() {}

  static String render(Map<String, ?> root) {
    StringBuilder out = new StringBuilder();
    writeEntries(out, root, "");
    return out.toString();
  }

  private static void writeEntries(StringBuilder out, Map<String, ?> section, String indent) {
    for (Map.Entry<String, ?> e : section.entrySet()) {
      // A dotted top-level key ("troupe.campaign") stays a path; every other key is one element.
      String key = indent.isEmpty() ? e.getKey() : ConfigUtil.joinPath(e.getKey());
      out.append(indent).append(key);
      if (e.getValue() instanceof Map<?, ?> nested) {
        out.append(" {\n");
        @SuppressWarnings("unchecked")
        Map<String, ?> typed = (Map<String, ?>) nested;
        writeEntries(out, typed, indent + INDENT);
        out.append(indent).append("}\n");
      } else {
        out.append(" = ").append(value(e.getValue())).append('\n');
      }
    }
  }

  private static String value(Object value) {
    if (value == null) {
      return "null";
    } else if (value instanceof String s) {
      return ConfigUtil.quoteString(s);
    } else if (value instanceof Duration d) {
      return ConfigUtil.quoteString(d.toNanos() % 1_000_000_000L == 0 ? d.toSeconds() + "s"
          : d.toNanos() % 1_000_000L == 0 ? d.toMillis() + "ms" : d.toNanos() + "ns");
    } else if (value instanceof List<?> list) {
      StringBuilder items = new StringBuilder("[");
      for (int i = 0; i < list.size(); i++) {
        items.append(i == 0 ? "" : ", ").append(value(list.get(i)));
      }
      return items.append(']').toString();
    } else if (value instanceof Number || value instanceof Boolean) {
      return value.toString();
    }
    throw new IllegalArgumentException("cannot write " + value.getClass().getSimpleName() + " as HOCON");
  }
}
