-- The campaign store (CampaignStore), SQLite dialect. Its twin postgresql/V1__campaign_store.sql has
-- the same tables, columns, keys and indexes; only the column types differ. Protobuf messages are
-- kept whole in `body`; the columns beside them are the ones queried.

-- One row: the campaign's id, made at the first open.
CREATE TABLE campaign (
  singleton  INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
  id         TEXT    NOT NULL,
  created_ms INTEGER NOT NULL
) STRICT;

-- troupe.v1.Comparison. seq is the insertion order (AUTOINCREMENT: never reused).
CREATE TABLE comparisons (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT    NOT NULL UNIQUE,
  prompt_id  TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  body       BLOB    NOT NULL
) STRICT;

-- troupe.v1.Label. source is the FeedbackSource number; client_id is NULL when the label has none,
-- so (rater_id, client_id) makes a rater's resubmission of one judgement a single row. pairable: a
-- chosen response, neither tie nor both_bad. An undo deletes the row, which the ledger's foreign key
-- refuses once a training step consumed it.
CREATE TABLE labels (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT    NOT NULL UNIQUE,
  comparison_id TEXT    NOT NULL REFERENCES comparisons (id),
  source        INTEGER NOT NULL,
  rater_id      TEXT    NOT NULL,
  client_id     TEXT,
  pairable      INTEGER NOT NULL,
  created_ms    INTEGER NOT NULL,
  body          BLOB    NOT NULL,
  UNIQUE (rater_id, client_id)
) STRICT;
CREATE INDEX labels_by_source ON labels (source, seq);
CREATE INDEX labels_by_comparison ON labels (comparison_id);

-- troupe.v1.LedgerEntry: what each training step of each loop consumed. The primary key is the
-- "at most once per loop" rule; label_id repeats item_id for labels so that the foreign key keeps a
-- consumed label from being deleted.
CREATE TABLE ledger (
  loop            TEXT    NOT NULL,
  step            INTEGER NOT NULL,
  kind            TEXT    NOT NULL CHECK (kind IN ('rollout', 'label')),
  item_id         TEXT    NOT NULL,
  label_id        TEXT    REFERENCES labels (id),
  adapter_version INTEGER NOT NULL,
  consumed_ms     INTEGER NOT NULL,
  PRIMARY KEY (loop, kind, item_id),
  CHECK ((kind = 'label' AND label_id = item_id) OR (kind = 'rollout' AND label_id IS NULL))
) STRICT;
CREATE INDEX ledger_by_step ON ledger (loop, step);
CREATE INDEX ledger_by_label ON ledger (label_id);

-- A loop's checkpoint on disk, committed with the ledger rows of the step it follows.
CREATE TABLE checkpoints (
  loop            TEXT    NOT NULL,
  step            INTEGER NOT NULL,
  path            TEXT    NOT NULL,
  manifest_sha256 TEXT    NOT NULL,
  created_ms      INTEGER NOT NULL,
  PRIMARY KEY (loop, step)
) STRICT;

-- troupe.v1.MetricsReport, one per loop and step.
CREATE TABLE metrics (
  loop    TEXT    NOT NULL,
  step    INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  body    BLOB    NOT NULL,
  PRIMARY KEY (loop, step)
) STRICT;
