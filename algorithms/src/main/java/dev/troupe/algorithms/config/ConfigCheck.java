package dev.troupe.algorithms.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.troupe.algorithms.text.EditDistance;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Strict reading of a user's HOCON file against the defaults in reference.conf: a key the defaults
 * do not know is an error naming the file, the line, the full key path and the closest known key,
 * because a misspelt key silently falling back to its default would run the wrong experiment.
 */
public final class ConfigCheck {
  private ConfigCheck() {}

  /**
   * A key of the user's file that the reference lacks.
   *
   * @param path the key's full path in the user's file
   * @param closest the full path the user probably meant (the first unknown element replaced by its closest
   *     known sibling), or null when no known key is close
   * @param known the keys known where the path first goes astray
   */
  public record UnknownKey(ConfigOrigin origin, String path, String closest, Set<String> known) {
    /** " (did you mean 'x'?)", or " (known keys here: [...])" when nothing known is close. */
    public String hint() {
      return closest != null ? " (did you mean '" + closest + "'?)" : " (known keys here: " + known + ")";
    }
  }

  /** Every path under {@code section} in {@code user} that {@code reference} lacks, as error lines. */
  public static List<String> unknownKeys(Config user, Config reference, String section) {
    List<String> problems = new ArrayList<>();
    for (UnknownKey unknown : findUnknownKeys(user, section, reference, section)) {
      problems.add(where(unknown.origin()) + "unknown key '" + unknown.path() + "'" + unknown.hint());
    }
    return problems;
  }

  /**
   * Every path under {@code userSection} in {@code user} whose counterpart under {@code referenceSection} the
   * reference lacks: the two sections differ where one reference object is the template of many user objects
   * (a campaign's {@code loop-defaults} for each of its {@code loops}). An object whose reference value is an
   * empty object takes any keys (a map of names).
   */
  public static List<UnknownKey> findUnknownKeys(Config user, String userSection, Config reference,
      String referenceSection) {
    List<UnknownKey> unknown = new ArrayList<>();
    if (!user.hasPath(userSection) || user.getValue(userSection).valueType() != ConfigValueType.OBJECT) {
      return unknown;
    }
    for (Map.Entry<String, ConfigValue> e : user.getConfig(userSection).entrySet()) {
      List<String> relative = ConfigUtil.splitPath(e.getKey());
      List<String> referencePath = concat(ConfigUtil.splitPath(referenceSection), relative);
      if (hasPathOrNull(reference, referencePath) || isFreeForm(reference, referencePath)) {
        continue;
      }
      List<String> userPath = concat(ConfigUtil.splitPath(userSection), relative);
      unknown.add(suggestion(e.getValue().origin(), userPath, referencePath, reference));
    }
    unknown.sort((a, b) -> a.path().compareTo(b.path()));
    return unknown;
  }

  /** Throws one {@link ConfigException.BadPath}-style error listing every unknown key. */
  public static void requireKnownKeys(Config user, Config reference, String section) {
    List<String> problems = unknownKeys(user, reference, section);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("\n", problems));
    }
  }

  /**
   * "file:line: " for a value's origin (a classpath resource's name stands in for the file), or the origin's
   * description and ": " for text that came from neither (a command-line override parsed with its own
   * description, such as "--set troupe.campaign.seed": its line is always 1 and says nothing).
   */
  public static String where(ConfigOrigin origin) {
    if (origin == null) {
      return "";
    }
    // A resource on a classpath folder has a filename too (target/classes/...): its resource name reads better.
    String file = origin.resource() != null ? origin.resource() : origin.filename();
    if (file == null) {
      return origin.withLineNumber(-1).description() + ": ";
    }
    return origin.lineNumber() > 0 ? file + ":" + origin.lineNumber() + ": " : file + ": ";
  }

  /** The closest known key to the first element of {@code referencePath} that the reference lacks. */
  private static UnknownKey suggestion(ConfigOrigin origin, List<String> userPath, List<String> referencePath,
      Config reference) {
    int firstUnknown = 0;
    while (firstUnknown < referencePath.size() - 1
        && hasPathOrNull(reference, referencePath.subList(0, firstUnknown + 1))) {
      firstUnknown++;
    }
    List<String> parent = referencePath.subList(0, firstUnknown);
    Set<String> siblings = parent.isEmpty() ? reference.root().keySet()
        : reference.getValue(ConfigUtil.joinPath(parent)).valueType() == ConfigValueType.OBJECT
            ? reference.getConfig(ConfigUtil.joinPath(parent)).root().keySet() : Set.of();
    String wrong = referencePath.get(firstUnknown);
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : siblings) {
      int d = EditDistance.between(wrong, candidate);
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
      }
    }
    String userPathText = ConfigUtil.joinPath(userPath);
    if (best == null || bestDistance > Math.max(2, wrong.length() / 3)) {
      return new UnknownKey(origin, userPathText, null, new TreeSet<>(siblings));
    }
    // The user's path with the wrong element replaced: the user's section prefix stays as written.
    List<String> meant = new ArrayList<>(userPath);
    meant.set(userPath.size() - referencePath.size() + firstUnknown, best);
    return new UnknownKey(origin, userPathText, ConfigUtil.joinPath(meant), new TreeSet<>(siblings));
  }

  private static boolean hasPathOrNull(Config reference, List<String> path) {
    try {
      return reference.hasPathOrNull(ConfigUtil.joinPath(path));
    } catch (ConfigException.BadPath e) {
      return false;
    }
  }

  /** An object whose reference value is an empty object takes any keys (e.g. a map of names). */
  private static boolean isFreeForm(Config reference, List<String> path) {
    for (int end = path.size() - 1; end >= 1; end--) {
      String parent = ConfigUtil.joinPath(path.subList(0, end));
      if (reference.hasPath(parent) && reference.getValue(parent).valueType() == ConfigValueType.OBJECT
          && reference.getConfig(parent).root().isEmpty()) {
        return true;
      }
    }
    return false;
  }

  private static List<String> concat(Collection<String> a, Collection<String> b) {
    List<String> joined = new ArrayList<>(a);
    joined.addAll(b);
    return joined;
  }
}
