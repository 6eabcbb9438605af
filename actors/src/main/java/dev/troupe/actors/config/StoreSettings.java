package dev.troupe.actors.config;

/**
 * The campaign's database: a JDBC URL (null: SQLite in the run folder), a user, and the environment variable
 * holding the password (null: none).
 */
public record StoreSettings(String url, String user, String passwordEnv) {}
