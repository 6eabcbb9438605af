package dev.troupe.actors.store;

import java.util.ArrayList;
import java.util.List;

/**
 * The store contract on the PostgreSQL server of {@link PostgresFixture}, each test in a schema of
 * its own.
 */
class PostgresCampaignStoreTest extends CampaignStoreContract {
  private PostgresFixture server;
  private final List<String> schemas = new ArrayList<>();

  @Override
  String createDatabase() {
    if (server == null) {
      server = PostgresFixture.require();
    }
    String schema = server.createSchema();
    schemas.add(schema);
    return server.urlOf(schema);
  }

  @Override
  void dropDatabases() {
    for (String schema : schemas) {
      server.dropSchema(schema);
    }
    schemas.clear();
  }

  @Override
  String user() {
    return server.user;
  }

  @Override
  String password() {
    return server.password;
  }
}
