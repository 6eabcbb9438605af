# Sourced by .ci/run: a private PostgreSQL server on loopback for the campaign store's tests.
#
# Installs PostgreSQL from Debian packages (CI runs as root on Debian), creates a throwaway cluster
# in a temporary folder listening on 127.0.0.1 only at a free port, a user and a database, exports
# TROUPE_POSTGRES_URL / _USER / _PASSWORD and TROUPE_REQUIRE_POSTGRES=1 (so the store's PostgreSQL
# tests fail rather than skip), and stops the server and removes the folder when the shell exits.
# With TROUPE_POSTGRES_URL already set it uses that server and starts nothing.
# The exit trap is chained onto any trap set before this file is sourced; a trap set later must call
# troupe_postgres_stop itself.

troupe_postgres_start() {
  if [ -n "${TROUPE_POSTGRES_URL:-}" ]; then
    echo "PostgreSQL: using TROUPE_POSTGRES_URL=$TROUPE_POSTGRES_URL"
    export TROUPE_REQUIRE_POSTGRES=1
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL: installing a server needs root; run as root or set TROUPE_POSTGRES_URL" >&2
    return 1
  fi

  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    local apt_log
    apt_log=$(mktemp)
    echo "PostgreSQL: installing the Debian packages"
    # No default cluster: the package would otherwise create and start one on port 5432.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/troupe-ci.conf
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; } >"$apt_log" 2>&1; then
      tail -n 40 "$apt_log" >&2
      echo "PostgreSQL: apt-get install postgresql failed" >&2
      return 1
    fi
    rm -f "$apt_log"
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi

  TROUPE_PG_DIR=$(mktemp -d /tmp/troupe-postgres.XXXXXX)
  TROUPE_PG_BIN=$bin
  chown postgres: "$TROUPE_PG_DIR"
  local password
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  # The superuser logs in only through the Unix socket in the private folder (trust); TCP on
  # loopback needs a password (scram-sha-256), as a production server would.
  if ! runuser -u postgres -- "$bin/initdb" -D "$TROUPE_PG_DIR/data" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$TROUPE_PG_DIR/initdb.log" 2>&1; then
    cat "$TROUPE_PG_DIR/initdb.log" >&2
    return 1
  fi

  local port="" attempt candidate
  for attempt in 1 2 3 4 5 6 7 8; do
    candidate=$((20000 + RANDOM % 30000))
    # A port that accepts a connection is taken; one that refuses is (very likely) free.
    if (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      continue
    fi
    if runuser -u postgres -- "$bin/pg_ctl" -D "$TROUPE_PG_DIR/data" -l "$TROUPE_PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $candidate -k $TROUPE_PG_DIR" start >/dev/null; then
      port=$candidate
      break
    fi
  done
  if [ -z "$port" ]; then
    tail -n 40 "$TROUPE_PG_DIR/server.log" >&2
    echo "PostgreSQL: the server did not start" >&2
    return 1
  fi

  local psql=(runuser -u postgres -- "$bin/psql" -q -v ON_ERROR_STOP=1 -h "$TROUPE_PG_DIR" -p "$port" -U postgres -d postgres)
  "${psql[@]}" -c "CREATE ROLE troupe LOGIN PASSWORD '$password'" >/dev/null || return 1
  # An ICU en-US collation, as production servers usually sort text (en_US.UTF-8), not C: the
  # store must not depend on the database's collation for the ledger's order.
  "${psql[@]}" -c "CREATE DATABASE troupe OWNER troupe TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'" \
      >/dev/null 2>&1 || "${psql[@]}" -c "CREATE DATABASE troupe OWNER troupe" >/dev/null || return 1

  export TROUPE_POSTGRES_URL="jdbc:postgresql://127.0.0.1:$port/troupe"
  export TROUPE_POSTGRES_USER=troupe
  export TROUPE_POSTGRES_PASSWORD=$password
  export TROUPE_REQUIRE_POSTGRES=1
  echo "PostgreSQL $("$bin/postgres" --version | sed 's/.*) //') on 127.0.0.1:$port (TROUPE_POSTGRES_URL=$TROUPE_POSTGRES_URL)"
}

troupe_postgres_stop() {
  if [ -n "${TROUPE_PG_DIR:-}" ] && [ -d "$TROUPE_PG_DIR" ]; then
    runuser -u postgres -- "$TROUPE_PG_BIN/pg_ctl" -D "$TROUPE_PG_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    rm -rf "$TROUPE_PG_DIR"
    echo "PostgreSQL: stopped"
  fi
  TROUPE_PG_DIR=""
}

troupe_postgres_previous_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap "troupe_postgres_stop${troupe_postgres_previous_trap:+; $troupe_postgres_previous_trap}" EXIT
unset troupe_postgres_previous_trap
troupe_postgres_start
