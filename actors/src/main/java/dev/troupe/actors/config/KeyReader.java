package dev.troupe.actors.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.troupe.algorithms.config.ConfigCheck;
import dev.troupe.algorithms.text.EditDistance;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.DoublePredicate;

/**
 * Typed reads of one scope of a resolved campaign (the campaign itself, or one loop over the loop defaults): a
 * bad value is recorded as a problem naming its place and full key path, and a placeholder is returned, so that
 * one pass over the file finds every mistake instead of stopping at the first.
 */
final class KeyReader {
  private final Config scope;
  private final String prefix;
  private final Collection<String> problems;

  /**
   * @param scope the resolved values of this scope
   * @param prefix the scope's full path, for messages ("troupe.campaign.loops.rlhf")
   * @param problems where problems go (a set: a value read twice is reported once)
   */
  KeyReader(Config scope, String prefix, Collection<String> problems) {
    this.scope = scope;
    this.prefix = prefix;
    this.problems = problems;
  }

  /** The full path of {@code key}, as the user would write it in a {@code --set}. */
  String path(String key) {
    return prefix + "." + key;
  }

  /** Records "where: path: message" at {@code key}'s value (or at the nearest parent that exists). */
  void problem(String key, String message) {
    problems.add(line(origin(key), path(key), message));
  }

  /** Records a problem with {@code key} at the place where {@code placeKey} was written (the key the user set). */
  void problem(String key, String placeKey, String message) {
    problems.add(line(origin(placeKey), path(key), message));
  }

  /**
   * "file:line: path: message", or "--set path: message" for a value a --set gave (whose origin already names
   * the path).
   */
  static String line(ConfigOrigin origin, String path, String message) {
    String where = ConfigCheck.where(origin);
    return where.equals("--set " + path + ": ") ? where + message : where + path + ": " + message;
  }

  /** Where {@code key}'s value was written, or its nearest written parent's, or null. */
  ConfigOrigin origin(String key) {
    List<String> elements = ConfigUtil.splitPath(key);
    for (int end = elements.size(); end >= 1; end--) {
      ConfigValue v = at(elements.subList(0, end));
      if (v != null) {
        return v.origin();
      }
    }
    return scope.origin();
  }

  /** The value at {@code elements} (a null value included, which {@link Config#getValue} refuses), or null. */
  private ConfigValue at(List<String> elements) {
    ConfigValue v = scope.root();
    for (String element : elements) {
      if (!(v instanceof ConfigObject object)) {
        return null;
      }
      v = object.get(element);
    }
    return v;
  }

  boolean isNull(String key) {
    ConfigValue v = value(key);
    return v == null || v.valueType() == ConfigValueType.NULL;
  }

  /** An integer of at least {@code min} (a quoted number is accepted, as Typesafe Config does). */
  int integer(String key, int min) {
    return (int) longInteger(key, min, Integer.MAX_VALUE);
  }

  long longInteger(String key, long min) {
    return longInteger(key, min, Long.MAX_VALUE);
  }

  private long longInteger(String key, long min, long max) {
    ConfigValue v = value(key);
    if (v == null) {
      return min;
    }
    Long parsed = null;
    Object raw = v.unwrapped();
    if (raw instanceof Integer || raw instanceof Long) {
      parsed = ((Number) raw).longValue();
    } else if (raw instanceof Double d && d == Math.rint(d) && Math.abs(d) < 9e15) {
      parsed = d.longValue();
    } else if (raw instanceof String s) {
      try {
        parsed = Long.parseLong(s.trim());
      } catch (NumberFormatException e) {
        parsed = null;
      }
    }
    if (parsed == null || parsed > max) {
      problem(key, "expected an integer, got " + shown(v));
      return min;
    }
    if (parsed < min) {
      problem(key, (min == 1 ? "must be positive" : "must be at least " + min) + ", got " + parsed);
      return min;
    }
    return parsed;
  }

  /** A finite number satisfying {@code ok}, described by {@code requirement} ("must be > 0"). */
  double number(String key, DoublePredicate ok, String requirement) {
    ConfigValue v = value(key);
    if (v == null) {
      return 0;
    }
    double parsed;
    Object raw = v.unwrapped();
    if (raw instanceof Number n) {
      parsed = n.doubleValue();
    } else if (raw instanceof String s) {
      try {
        parsed = Double.parseDouble(s.trim());
      } catch (NumberFormatException e) {
        problem(key, "expected a number, got " + shown(v));
        return 0;
      }
    } else {
      problem(key, "expected a number, got " + shown(v));
      return 0;
    }
    if (!Double.isFinite(parsed) || !ok.test(parsed)) {
      problem(key, requirement + ", got " + parsed);
    }
    return parsed;
  }

  /** A number, or null when the value is null. */
  Double nullableNumber(String key, DoublePredicate ok, String requirement) {
    return isNull(key) ? null : number(key, ok, requirement);
  }

  boolean bool(String key) {
    if (value(key) == null) {
      return false;
    }
    try {
      return scope.getBoolean(key);
    } catch (ConfigException e) {
      problem(key, "expected true or false, got " + shown(value(key)));
      return false;
    }
  }

  /** A string (numbers and booleans are taken as their text); null values are an error. */
  String string(String key) {
    ConfigValue v = value(key);
    if (v == null) {
      return null;
    }
    if (v.valueType() == ConfigValueType.NULL) {
      problem(key, "is required (it is null)");
      return null;
    }
    return text(key, v);
  }

  /** A string, or null when the value is null. */
  String nullableString(String key) {
    ConfigValue v = value(key);
    return v == null || v.valueType() == ConfigValueType.NULL ? null : text(key, v);
  }

  private String text(String key, ConfigValue v) {
    if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST) {
      problem(key, "expected a string, got " + shown(v));
      return null;
    }
    return String.valueOf(v.unwrapped());
  }

  /** One of {@code allowed}; otherwise a problem listing them (and the closest), and null. */
  String oneOf(String key, List<String> allowed) {
    String value = string(key);
    if (value == null) {
      return null;
    }
    if (!allowed.contains(value)) {
      String closest = closest(value, allowed);
      problem(key, "unknown value '" + value + "' (" + (closest != null ? "did you mean '" + closest + "'? " : "")
          + "expected one of: " + String.join(", ", allowed) + ")");
      return null;
    }
    return value;
  }

  Duration duration(String key) {
    if (value(key) == null) {
      return Duration.ZERO;
    }
    try {
      Duration d = scope.getDuration(key);
      if (d.isNegative() || d.isZero()) {
        problem(key, "must be a positive duration, got " + shown(value(key)));
      }
      return d;
    } catch (ConfigException e) {
      problem(key, "expected a duration such as 30s or 500ms, got " + shown(value(key)));
      return Duration.ZERO;
    }
  }

  /** A list of strings, or null after recording a problem. */
  List<String> stringList(String key) {
    ConfigValue v = value(key);
    if (v == null) {
      return null;
    }
    try {
      return scope.getStringList(key);
    } catch (ConfigException e) {
      problem(key, "expected a list of strings such as [q, v], got " + shown(v));
      return null;
    }
  }

  /** The closest of {@code candidates} to {@code wrong} when it is close (a typo), else null. */
  static String closest(String wrong, Collection<String> candidates) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : candidates) {
      int d = EditDistance.between(wrong, candidate);
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
      }
    }
    return best != null && bestDistance <= Math.max(2, wrong.length() / 3) ? best : null;
  }

  /**
   * The value at {@code key}, or null after recording why there is none: a parent on the way that the user made
   * something other than an object ({@code adapter = 8}). Every key has a default, so nothing else is missing.
   */
  private ConfigValue value(String key) {
    List<String> elements = ConfigUtil.splitPath(key);
    ConfigValue v = at(elements);
    if (v != null) {
      return v;
    }
    for (int end = elements.size() - 1; end >= 1; end--) {
      ConfigValue parent = at(elements.subList(0, end));
      if (parent != null && parent.valueType() != ConfigValueType.OBJECT) {
        problems.add(line(parent.origin(), path(ConfigUtil.joinPath(elements.subList(0, end))),
            "expected an object, got " + shown(parent)));
        return null;
      }
    }
    problem(key, "is missing");
    return null;
  }

  /** A value as the user wrote it: 'many', 3, [q, v], an object. */
  static String shown(ConfigValue v) {
    return switch (v.valueType()) {
      case STRING -> "'" + v.unwrapped() + "'";
      case OBJECT -> "an object";
      case LIST -> "a list";
      case NULL -> "null";
      default -> String.valueOf(v.unwrapped());
    };
  }

  /** The keys of the scope's object at {@code key} that the user's own file or --set wrote (not defaults). */
  static List<String> keysUnder(Config user, String path) {
    List<String> keys = new ArrayList<>();
    if (user.hasPath(path) && user.getValue(path).valueType() == ConfigValueType.OBJECT) {
      keys.addAll(user.getConfig(path).entrySet().stream().map(e -> e.getKey()).sorted().toList());
    }
    return keys;
  }
}
