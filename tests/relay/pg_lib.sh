# A throwaway PostgreSQL cluster for a test: made with initdb in a
# temporary directory, run by an unprivileged user (postgres when the test
# runs as root), reached on a unix socket only, stopped and removed when
# the test exits. Source after tests/lib.sh.
#
#   pg_start             makes and starts the cluster (once per test)
#   pg_createdb NAME     a database; pg_url NAME prints its postgresql:// URI
#   pg_psql NAME SQL...  runs SQL, prints unaligned rows
#   pg_stop / pg_restart / pg_kill (immediate stop, as a crash)

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PG_BIN/initdb" ] || PG_BIN=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
[ -x "$PG_BIN/initdb" ] || fail "PostgreSQL is not installed (packaging/install-deps.sh installs it)"
PG_DIR=""
PG_RUNNING=0

# as_pg CMD...: the command as the cluster's unprivileged owner.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  [ -n "$PG_DIR" ] && return 0
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/jiashu-pg.XXXXXX")
  chmod 755 "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --no-sync -E UTF8 \
    --locale=C >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; fail "initdb failed"; }
  # Unix socket only; enough connections for a few relays (4 each) and
  # the test's own clients.
  cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PG_DIR'
max_connections = ${PG_MAX_CONNECTIONS:-100}
shared_buffers = ${PG_SHARED_BUFFERS:-64MB}
fsync = ${PG_FSYNC:-on}
log_min_messages = warning
EOF
  pg_up
}

pg_up() {
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 start >/dev/null ||
    { cat "$PG_DIR/server.log" >&2; fail "PostgreSQL did not start"; }
  PG_RUNNING=1
}

pg_stop() {
  [ -n "$PG_DIR" ] || return 0
  if [ "$PG_RUNNING" = 1 ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    PG_RUNNING=0
  fi
  rm -rf "$PG_DIR"
  PG_DIR=""
}

# pg_restart: a fast shutdown (clients disconnected) and a start.
pg_restart() {
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null
  PG_RUNNING=0
  pg_up
}

pg_url() { echo "postgresql:///$1?host=$PG_DIR&user=postgres"; }

pg_psql() {
  local db=$1; shift
  psql -X -q -v ON_ERROR_STOP=1 -At -h "$PG_DIR" -U postgres -d "$db" "$@"
}

pg_createdb() {
  pg_start
  if [ -z "$(pg_psql postgres -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]; then
    pg_psql postgres -c "CREATE DATABASE \"$1\"" || fail "cannot create database $1"
  fi
}
