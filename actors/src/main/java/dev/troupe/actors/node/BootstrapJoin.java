package dev.troupe.actors.node;

import com.typesafe.config.Config;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * A way for a member to join its cluster without seeds ({@code troupe node --bootstrap METHOD}),
 * found by {@link java.util.ServiceLoader}: the troupe-kubernetes module provides Pekko Management's
 * cluster bootstrap. It lives in a module of its own because it brings Pekko modules of another
 * version than the rest (see that module's configuration).
 */
public interface BootstrapJoin {
  /** Pekko settings the way of joining needs while its jars are on the class path (under the command line's). */
  Config config();

  /** Starts finding and joining the other members through {@code discoveryMethod}, once the actor system is up. */
  void start(ActorSystem<?> system, String discoveryMethod);
}
