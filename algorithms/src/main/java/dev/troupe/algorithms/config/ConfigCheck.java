package dev.troupe.algorithms.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Strict reading of a user's HOCON file against the defaults in reference.conf: a key the defaults
 * do not know is an error naming the file, the line, the full key path and the closest known key,
 * because a misspelt key silently falling back to its default would run the wrong experiment.
 */
public final class ConfigCheck {
  private ConfigCheck() {}

  /** Every path under {@code section} in {@code user} that {@code reference} lacks, as error lines. */
  public static List<String> unknownKeys(Config user, Config reference, String section) {
    List<String> problems = new ArrayList<>();
    if (!user.hasPath(section)) {
      return problems;
    }
    Set<String> known = reference.getConfig(section).root().keySet();
    for (Map.Entry<String, ConfigValue> e : user.getConfig(section).entrySet()) {
      String path = section + "." + e.getKey();
      if (reference.hasPathOrNull(path) || isFreeForm(reference, path)) {
        continue;
      }
      problems.add(where(e.getValue().origin()) + "unknown key '" + path + "'" + suggestion(path, reference, known));
    }
    return problems;
  }

  /** Throws one {@link ConfigException.BadPath}-style error listing every unknown key. */
  public static void requireKnownKeys(Config user, Config reference, String section) {
    List<String> problems = unknownKeys(user, reference, section);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("\n", problems));
    }
  }

  /** "file:line: " for a value's origin, or "" when the origin is not a file. */
  public static String where(ConfigOrigin origin) {
    if (origin == null) {
      return "";
    }
    String file = origin.filename() != null ? origin.filename() : origin.description();
    return origin.lineNumber() > 0 ? file + ":" + origin.lineNumber() + ": " : file + ": ";
  }

  /** An object whose reference value is an empty object takes any keys (e.g. a map of names). */
  private static boolean isFreeForm(Config reference, String path) {
    String parent = path;
    while (parent.contains(".")) {
      parent = parent.substring(0, parent.lastIndexOf('.'));
      if (reference.hasPath(parent) && reference.getValue(parent).valueType() == com.typesafe.config.ConfigValueType.OBJECT
          && reference.getConfig(parent).root().isEmpty()) {
        return true;
      }
    }
    return false;
  }

  private static String suggestion(String path, Config reference, Set<String> topLevel) {
    String parent = path.contains(".") ? path.substring(0, path.lastIndexOf('.')) : "";
    String leaf = path.substring(path.lastIndexOf('.') + 1);
    Set<String> siblings = reference.hasPath(parent) && reference.getValue(parent).valueType()
        == com.typesafe.config.ConfigValueType.OBJECT ? reference.getConfig(parent).root().keySet() : topLevel;
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : siblings) {
      int d = dev.troupe.algorithms.text.EditDistance.between(leaf, candidate);
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
      }
    }
    if (best == null || bestDistance > Math.max(2, leaf.length() / 3)) {
      return " (known keys here: " + new java.util.TreeSet<>(siblings) + ")";
    }
    return " (did you mean '" + (parent.isEmpty() ? "" : parent + ".") + best + "'?)";
  }
}
