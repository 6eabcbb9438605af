-- The human feedback side of the store (issue 12), SQLite dialect; postgresql/V2__raters_and_tasks.sql
-- is its twin (same tables, columns, keys and indexes; only the column types differ).

-- Accounts of the feedback UI. password_hash is a self-describing hash string (Argon2id, PHC format);
-- no account exists until an admin makes one.
CREATE TABLE users (
  username      TEXT    NOT NULL PRIMARY KEY,
  password_hash TEXT    NOT NULL,
  role          TEXT    NOT NULL CHECK (role IN ('rater', 'reviewer', 'admin')),
  disabled      INTEGER NOT NULL,
  created_ms    INTEGER NOT NULL
) STRICT;

-- Logged-in sessions. Only the sha-256 of the cookie's token is kept, so a copy of the database
-- logs nobody in; the CSRF token is sent to the page, which echoes it in a header.
CREATE TABLE sessions (
  token_sha256 TEXT    NOT NULL PRIMARY KEY,
  username     TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  csrf_token   TEXT    NOT NULL,
  created_ms   INTEGER NOT NULL,
  expires_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (username);

-- The raters' queue: a stored comparison to judge. loop and adapter_version say which policy wrote
-- its responses (NULL: none, e.g. a dataset's gold item); a task whose version falls more than
-- max_staleness behind the loop's latest trained version is retired (it leaves the queue). priority
-- orders the queue (higher first); overlap is how many raters label it; gold_response_id is a gold
-- item's known answer; reward_margin is the reward model's score of the first response minus the
-- second, ai_choice the AI judge's chosen response id (both NULL when unknown).
CREATE TABLE tasks (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  id               TEXT    NOT NULL UNIQUE,
  comparison_id    TEXT    NOT NULL REFERENCES comparisons (id),
  kind             TEXT    NOT NULL CHECK (kind IN ('pairwise', 'ranking', 'likert')),
  loop             TEXT,
  adapter_version  INTEGER,
  max_staleness    INTEGER,
  priority         REAL    NOT NULL,
  overlap          INTEGER NOT NULL CHECK (overlap >= 1),
  gold_response_id TEXT,
  reward_margin    REAL,
  ai_choice        TEXT,
  created_ms       INTEGER NOT NULL,
  retired_ms       INTEGER
) STRICT;
CREATE INDEX tasks_open ON tasks (retired_ms, priority, seq);
CREATE INDEX tasks_by_comparison ON tasks (comparison_id);

-- Rater assignments: one row per task and rater. 'leased' is a lease that runs out at expires_ms
-- (an abandoned task then counts no more toward its overlap and goes back to the queue);
-- 'labelled' names the label; 'skipped' keeps the task from this rater.
CREATE TABLE assignments (
  task_id    TEXT    NOT NULL REFERENCES tasks (id),
  rater_id   TEXT    NOT NULL,
  state      TEXT    NOT NULL CHECK (state IN ('leased', 'labelled', 'skipped')),
  leased_ms  INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  label_id   TEXT    REFERENCES labels (id),
  done_ms    INTEGER,
  PRIMARY KEY (task_id, rater_id),
  CHECK ((state = 'labelled') = (label_id IS NOT NULL))
) STRICT;
CREATE INDEX assignments_by_rater ON assignments (rater_id, state);
CREATE INDEX assignments_by_label ON assignments (label_id);

-- A loop's latest trained version, for retiring stale tasks.
CREATE INDEX ledger_by_version ON ledger (loop, adapter_version);
CREATE INDEX labels_by_rater ON labels (rater_id, seq);
