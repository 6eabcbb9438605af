-- The campaign store (CampaignStore), PostgreSQL dialect. Its twin sqlite/V1__campaign_store.sql has
-- the same tables, columns, keys and indexes; only the column types differ. Text keys use the "C"
-- collation so that ORDER BY sorts by code point, as SQLite does.

CREATE TABLE campaign (
  singleton  INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
  id         TEXT    NOT NULL,
  created_ms BIGINT  NOT NULL
);

CREATE TABLE comparisons (
  seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id         TEXT COLLATE "C" NOT NULL UNIQUE,
  prompt_id  TEXT COLLATE "C" NOT NULL,
  created_ms BIGINT NOT NULL,
  body       BYTEA  NOT NULL
);

CREATE TABLE labels (
  seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id            TEXT COLLATE "C" NOT NULL UNIQUE,
  comparison_id TEXT COLLATE "C" NOT NULL REFERENCES comparisons (id),
  source        INTEGER NOT NULL,
  rater_id      TEXT COLLATE "C" NOT NULL,
  client_id     TEXT COLLATE "C",
  pairable      BOOLEAN NOT NULL,
  created_ms    BIGINT  NOT NULL,
  body          BYTEA   NOT NULL,
  UNIQUE (rater_id, client_id)
);
CREATE INDEX labels_by_source ON labels (source, seq);
CREATE INDEX labels_by_comparison ON labels (comparison_id);

CREATE TABLE ledger (
  loop            TEXT COLLATE "C" NOT NULL,
  step            BIGINT NOT NULL,
  kind            TEXT COLLATE "C" NOT NULL CHECK (kind IN ('rollout', 'label')),
  item_id         TEXT COLLATE "C" NOT NULL,
  label_id        TEXT COLLATE "C" REFERENCES labels (id),
  adapter_version BIGINT NOT NULL,
  consumed_ms     BIGINT NOT NULL,
  PRIMARY KEY (loop, kind, item_id),
  CHECK ((kind = 'label' AND label_id = item_id) OR (kind = 'rollout' AND label_id IS NULL))
);
CREATE INDEX ledger_by_step ON ledger (loop, step);
CREATE INDEX ledger_by_label ON ledger (label_id);

CREATE TABLE checkpoints (
  loop            TEXT COLLATE "C" NOT NULL,
  step            BIGINT NOT NULL,
  path            TEXT   NOT NULL,
  manifest_sha256 TEXT   NOT NULL,
  created_ms      BIGINT NOT NULL,
  PRIMARY KEY (loop, step)
);

CREATE TABLE metrics (
  loop    TEXT COLLATE "C" NOT NULL,
  step    BIGINT NOT NULL,
  time_ms BIGINT NOT NULL,
  body    BYTEA  NOT NULL,
  PRIMARY KEY (loop, step)
);
