package dev.troupe.actors.config;

/** Where the feedback UI listens while the campaign runs (port 0: any free port), or that it is off. */
public record UiSettings(boolean enabled, String host, int port) {
  public static final UiSettings DEFAULT = new UiSettings(true, "127.0.0.1", 8080);
}
