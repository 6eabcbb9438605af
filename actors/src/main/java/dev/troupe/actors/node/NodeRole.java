package dev.troupe.actors.node;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What a cluster member does. The coordinator (the campaign's guardian, a cluster singleton), the
 * learners and the feedback collector run together: a loop's coordinator, learner and the collector
 * exchange every step's data, and the learner needs the base that the coordinator's setup builds. Policy
 * and reward workers run anywhere, as many as there are GPUs.
 */
public enum NodeRole {
  COORDINATOR, LEARNER, FEEDBACK, POLICY, REWARD;

  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Roles from "coordinator,learner,feedback"; an unknown one is an error naming it and the known ones. */
  public static Set<NodeRole> parse(String list) {
    Set<NodeRole> roles = EnumSet.noneOf(NodeRole.class);
    for (String name : list.split(",")) {
      String trimmed = name.trim().toLowerCase(Locale.ROOT);
      if (trimmed.isEmpty()) {
        continue;
      }
      roles.add(Arrays.stream(values()).filter(r -> r.configName().equals(trimmed)).findFirst().orElseThrow(() ->
          new IllegalArgumentException("--roles: unknown role '" + name.trim() + "' (roles: " + names(
              EnumSet.allOf(NodeRole.class)) + ")")));
    }
    if (roles.isEmpty()) {
      throw new IllegalArgumentException("--roles: name at least one role (" + names(EnumSet.allOf(NodeRole.class))
          + ")");
    }
    Set<NodeRole> together = EnumSet.of(COORDINATOR, LEARNER, FEEDBACK);
    Set<NodeRole> held = EnumSet.copyOf(roles);
    held.retainAll(together);
    if (!held.isEmpty() && !held.equals(together)) {
      Set<NodeRole> missing = EnumSet.copyOf(together);
      missing.removeAll(held);
      throw new IllegalArgumentException("--roles: coordinator, learner and feedback run in one JVM (a loop's"
          + " learner trains on the base its coordinator prepared); add " + names(missing));
    }
    return roles;
  }

  public static String names(Set<NodeRole> roles) {
    return roles.stream().map(NodeRole::configName).collect(Collectors.joining(","));
  }
}
