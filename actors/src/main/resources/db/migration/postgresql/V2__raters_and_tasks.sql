-- The human feedback side of the store (issue 12), PostgreSQL dialect; sqlite/V2__raters_and_tasks.sql
-- is its twin and says what each table is for. Text keys use the "C" collation, as in V1.

CREATE TABLE users (
  username      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  password_hash TEXT    NOT NULL,
  role          TEXT    NOT NULL CHECK (role IN ('rater', 'reviewer', 'admin')),
  disabled      BOOLEAN NOT NULL,
  created_ms    BIGINT  NOT NULL
);

CREATE TABLE sessions (
  token_sha256 TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  username     TEXT COLLATE "C" NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  csrf_token   TEXT   NOT NULL,
  created_ms   BIGINT NOT NULL,
  expires_ms   BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (username);

CREATE TABLE tasks (
  seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id               TEXT COLLATE "C" NOT NULL UNIQUE,
  comparison_id    TEXT COLLATE "C" NOT NULL REFERENCES comparisons (id),
  kind             TEXT COLLATE "C" NOT NULL CHECK (kind IN ('pairwise', 'ranking', 'likert')),
  loop             TEXT COLLATE "C",
  adapter_version  BIGINT,
  max_staleness    BIGINT,
  priority         DOUBLE PRECISION NOT NULL,
  overlap          INTEGER NOT NULL CHECK (overlap >= 1),
  gold_response_id TEXT COLLATE "C",
  reward_margin    DOUBLE PRECISION,
  ai_choice        TEXT COLLATE "C",
  created_ms       BIGINT NOT NULL,
  retired_ms       BIGINT
);
CREATE INDEX tasks_open ON tasks (retired_ms, priority, seq);
CREATE INDEX tasks_by_comparison ON tasks (comparison_id);

CREATE TABLE assignments (
  task_id    TEXT COLLATE "C" NOT NULL REFERENCES tasks (id),
  rater_id   TEXT COLLATE "C" NOT NULL,
  state      TEXT COLLATE "C" NOT NULL CHECK (state IN ('leased', 'labelled', 'skipped')),
  leased_ms  BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  label_id   TEXT COLLATE "C" REFERENCES labels (id),
  done_ms    BIGINT,
  PRIMARY KEY (task_id, rater_id),
  CHECK ((state = 'labelled') = (label_id IS NOT NULL))
);
CREATE INDEX assignments_by_rater ON assignments (rater_id, state);
CREATE INDEX assignments_by_label ON assignments (label_id);

CREATE INDEX ledger_by_version ON ledger (loop, adapter_version);
CREATE INDEX labels_by_rater ON labels (rater_id, seq);
