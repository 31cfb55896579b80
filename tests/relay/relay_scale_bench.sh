#!/bin/bash
# Benchmark of the relay at the scale of a province (docs/relay-postgresql.md,
# "Sizing"), in one run, on loopback:
#  polls:   idle long polls held by ONE relay process, on SQLite and on
#           PostgreSQL, with the process's memory (VmRSS and Pss from /proc)
#           as they grow; the goal is 50,000 in at most 256 MB;
#  million: 60 KB uploads/s and inbox requests/s of one relay on an empty
#           database and on the same database after it holds 1,000,000
#           messages, on PostgreSQL and on SQLite.
# Prints the figures; asserts nothing about speed.
#   meson test -C BUILD --benchmark relay_scale_bench
# PARTS ("polls million"), BACKENDS ("sqlite postgresql", for million), POLLS (50000), MESSAGES (1000000), AUDIO_BYTES
# (audio bytes stored per filled message, 2048), DURATION (s per wrk run, 6),
# ROUNDS (3), CONNS (16) may be set.
#
# Long polls need one file descriptor each in the relay: it raises its soft
# open-file limit to the hard one, so POLLS beyond the hard limit (ulimit
# -Hn) cannot be held by one process; the report says what was held and
# under which limit. Clients are spread over source addresses 127.0.0.2...,
# each with its own ephemeral ports, and over several holder processes.
: "${JIASHU:=unused}"
JIASHU_TEST_DB=postgresql
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

PARTS=${PARTS:-polls million}
BACKENDS=${BACKENDS:-sqlite postgresql}
POLLS=${POLLS:-50000}
MESSAGES=${MESSAGES:-1000000}
AUDIO_BYTES=${AUDIO_BYTES:-2048}
DURATION=${DURATION:-6}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-16}
command -v wrk >/dev/null || fail "wrk is not installed"
ulimit -n "$(ulimit -Hn)"
PG_SHARED_BUFFERS=256MB
pg_start

HOLDERS=()
stop_all() {
  local p
  for p in "${HOLDERS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  stop_relays || true
  pg_stop
  cleanup_scratch
}
trap stop_all EXIT

OPTS=(--quiet --token-rate 1000000 --token-burst 1000000 --max-mailbox 100000000
  --max-family-bytes 1000000000000 --max-connections 200000 --max-connections-per-ip 0
  --max-wait 60)
head -c 61440 /dev/urandom >"$SCRATCH/60k"
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "$1"; }
rss_kb() { kb "/proc/$1/status" VmRSS; }
pss_kb() { kb "/proc/$1/smaps_rollup" Pss; }

# setup_family: on $BASE, a sender, a recipient, a reader whose inbox holds
# one message and an idle device; sets DAD, MA_ID, KID, IDLE.
setup_family() {
  new_family dad; DAD=$TOKEN
  join "$CODE" grandma; MA_ID=$DEVICE
  as "$DAD" POST /v1/invites; join "$(json .code)" child; KID=$TOKEN KID_ID=$DEVICE
  as "$DAD" POST /v1/invites; join "$(json .code)" idle; IDLE=$TOKEN
  send "$DAD" "$KID_ID" "$SCRATCH/60k"
}

# --- polls ---------------------------------------------------------------
# hold_polls NAME: POLLS idle long polls on the relay at $PORT (pid
# $RELAY_PID); sets POLL_REPORT.
hold_polls() {
  local name=$1 per=15000 i=0 left=$POLLS n src held=0 last=-1 still=0 t0
  local rss0 pss0 rss pss curve=""
  rss0=$(rss_kb "$RELAY_PID") pss0=$(pss_kb "$RELAY_PID")
  # Connections the relay holds: its sockets beyond those it had idle (ss
  # would also count the ones still waiting in the listen backlog).
  local fds0
  fds0=$(ls "/proc/$RELAY_PID/fd" | wc -l)
  HOLDERS=()
  while [ "$left" -gt 0 ]; do
    n=$((left < per ? left : per))
    # Two source addresses per holder: 15,000 connections each is far
    # from the ~28,000 ephemeral ports one address has.
    src=127.0.0.$((2 + 2 * i)),127.0.0.$((3 + 2 * i))
    python3 "$TESTS_DIR/relay/hold_polls.py" "$PORT" "$IDLE" "$n" "$src" "$SCRATCH/hold.$i" \
      2>"$SCRATCH/hold.$i.err" &
    HOLDERS+=($!)
    left=$((left - n)) i=$((i + 1))
  done
  t0=$(date +%s)
  # Until every poll is held, or the count stops growing for 10 s (the
  # relay refuses what its open-file limit cannot take); memory on the way.
  while [ $(($(date +%s) - t0)) -lt 300 ]; do
    sleep 2
    held=$(($(ls "/proc/$RELAY_PID/fd" | wc -l) - fds0))
    rss=$(rss_kb "$RELAY_PID")
    curve="$curve $held:$((rss / 1024))"
    [ "$held" -ge "$POLLS" ] && break
    if [ "$held" = "$last" ]; then still=$((still + 2)); [ $still -ge 10 ] && break; else still=0; fi
    last=$held
  done
  sleep 3
  held=$(($(ls "/proc/$RELAY_PID/fd" | wc -l) - fds0))
  rss=$(rss_kb "$RELAY_PID") pss=$(pss_kb "$RELAY_PID")
  # The same polls once each was answered (the relay's --max-wait ran out)
  # and asked again on its connection, as devices do all day: a connection
  # that carried a request before holds more (see the report).
  local answered=0 t2
  t2=$(date +%s)
  while [ $(($(date +%s) - t2)) -lt 120 ]; do
    sleep 2
    answered=$(cat "$SCRATCH"/hold.? 2>/dev/null | awk '{ a += $4 } END { print a + 0 }')
    [ "$answered" -ge "$held" ] && break
  done
  sleep 3
  local held2 rss2 pss2
  held2=$(($(ls "/proc/$RELAY_PID/fd" | wc -l) - fds0))
  rss2=$(rss_kb "$RELAY_PID") pss2=$(pss_kb "$RELAY_PID")
  # The relay still serves another device while they wait.
  local t1 t2 side
  t1=$(date +%s%N)
  as "$KID" GET /v1/inbox
  t2=$(date +%s%N)
  side="HTTP $STATUS in $(((t2 - t1) / 1000000)) ms"
  local counts
  counts=$(cat "$SCRATCH"/hold.? 2>/dev/null | awk '{ o += $2; a += $4; c += $6; f += $8 }
    END { printf "clients: %d open, %d answered, %d closed by the relay, %d never connected", o, a, c, f }')
  for i in "${HOLDERS[@]}"; do kill -TERM "$i" 2>/dev/null; done
  for i in "${HOLDERS[@]}"; do wait "$i" 2>/dev/null; done
  HOLDERS=()
  rm -f "$SCRATCH"/hold.*
  local per_poll
  per_poll=$(awk -v a="$rss" -v b="$rss0" -v n="$held" 'BEGIN { printf "%.2f", (n > 0 ? (a - b) / n : 0) }')
  local per_poll2
  per_poll2=$(awk -v a="$rss2" -v b="$rss0" -v n="$held2" 'BEGIN { printf "%.2f", (n > 0 ? (a - b) / n : 0) }')
  POLL_REPORT="$name: $held of $POLLS held; VmRSS $((rss / 1024)) MB (idle $((rss0 / 1024)) MB), Pss $((pss / 1024)) MB (idle $((pss0 / 1024)) MB); $per_poll kB per poll, so 50,000 at $(awk -v p="$per_poll" -v b="$rss0" 'BEGIN { printf "%.0f", (b + p * 50000) / 1024 }') MB
      after each was answered once and asked again on its connection: $held2 held, VmRSS $((rss2 / 1024)) MB, Pss $((pss2 / 1024)) MB; $per_poll2 kB per poll, so 50,000 at $(awk -v p="$per_poll2" -v b="$rss0" 'BEGIN { printf "%.0f", (b + p * 50000) / 1024 }') MB
      another device meanwhile: $side; $counts
      held:VmRSS MB on the way:$curve"
  echo "  $POLL_REPORT" >&2
}

# --- million ---------------------------------------------------------------
upload_lua() { # FILE TOKEN RECIPIENT
  cat >"$1" <<LUA
local b64chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function b64(data)
  return ((data:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d?%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
local f = io.open("$SCRATCH/60k", "rb"); local body = f:read("*a"); f:close()
local rcpt = b64("$3"); local dur = b64("5000")
local counter = 0
function setup(thread) thread:set("tid", math.random(0, 0xffff)) end
function init(args) math.randomseed(os.time() + tid) end
function request()
  counter = counter + 1
  local id = string.format("%08x-%04x-4%03x-8%03x-%012x", math.random(0, 0x7fffffff), tid,
    math.random(0, 0xfff), math.random(0, 0xfff), counter * 65536 + math.random(0, 0xffff))
  return wrk.format("POST", "/v1/uploads", {
    ["Authorization"] = "Bearer $2", ["Tus-Resumable"] = "1.0.0",
    ["Upload-Length"] = tostring(#body),
    ["Upload-Metadata"] = "message_id " .. b64(id) .. ",recipients " .. rcpt .. ",duration_ms " .. dur,
    ["Content-Type"] = "application/offset+octet-stream" }, body)
end
LUA
}

run_wrk() { # OUT ARGS...: requests/s; fails on any error answer
  local out=$1; shift
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 30s "$@" >"$out" 2>&1 || fail "wrk failed: $(cat "$out")"
  if grep -E 'Non-2xx|Socket errors' "$out" >&2; then fail "error answers: $(cat "$out")"; fi
  rps "$out"
}

# measure NAME: ROUNDS of uploads and inbox reads on $BASE; sets UP_NAME
# and IN_NAME to the medians and R_NAME to the rounds.
declare -A UP IN ROUNDS_OF
measure() {
  local name=$1 ups=() ins=() r
  upload_lua "$SCRATCH/up.lua" "$DAD" "$MA_ID"
  for r in $(seq "$ROUNDS"); do
    ups+=("$(run_wrk "$SCRATCH/w" -s "$SCRATCH/up.lua" "$BASE/v1/uploads")")
    ins+=("$(run_wrk "$SCRATCH/w" -H "Authorization: Bearer $KID" "$BASE/v1/inbox?after=0")")
  done
  UP[$name]=$(median "${ups[@]}") IN[$name]=$(median "${ins[@]}")
  ROUNDS_OF[$name]="uploads ${ups[*]} | inbox ${ins[*]}"
  echo "  measured $name: uploads ${UP[$name]}/s, inbox ${IN[$name]}/s (${ROUNDS_OF[$name]})" >&2
}

# The filled databases look like a province's relay in its second week:
# 25,000 families of 4 devices, 1,000,000 complete messages of 60 KB as
# announced (length, sha256), each to one other device of its family, half
# of them confirmed "delivered" with a receipt, each with AUDIO_BYTES of
# stored audio (60 KB each would be 60 GB: the rows and their indexes are
# what a request reaches, not the audio bytes of other messages). Made in
# one transaction with generate_series / a recursive CTE.
FAMILIES=25000
fill_pg() {
  pg_psql bench -1 <<SQL
INSERT INTO families(id, created) SELECT md5('f' || f), 0 FROM generate_series(0, $FAMILIES - 1) f;
INSERT INTO devices(id, family_id, name, token_hash, joined)
  SELECT md5('d' || d), md5('f' || d / 4), 'device ' || d % 4, sha256(int4send(d)), 0
  FROM generate_series(0, $FAMILIES * 4 - 1) d;
INSERT INTO messages(upload_id, message_id, family_id, sender_id, length, received, duration_ms,
  recipients, metadata, created, expires, completed, sha256)
SELECT md5('u' || i), md5('m' || i)::uuid::text, md5('f' || i % $FAMILIES),
  md5('d' || (i % $FAMILIES) * 4), 61440, 61440, 5000, md5('d' || (i % $FAMILIES) * 4 + 1 + i % 3),
  'filled', extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint,
  extract(epoch FROM now())::bigint, sha256(int4send(i))
FROM generate_series(1, $MESSAGES) i;
-- Statistics inside the transaction, or the joins below are planned for
-- empty tables (nested loops over a million rows).
ANALYZE families; ANALYZE devices; ANALYZE messages;
INSERT INTO chunks(message, off, data)
  SELECT id, 0, decode(repeat(lpad(to_hex(id % 256), 2, '0'), $AUDIO_BYTES), 'hex')
  FROM messages WHERE metadata = 'filled';
-- The pending counters are set once at the end instead of by the trigger
-- a million times.
ALTER TABLE mailbox DISABLE TRIGGER pending;
INSERT INTO mailbox(device_id, message, delivered)
  SELECT recipients, id, CASE WHEN id % 2 = 0 THEN extract(epoch FROM now())::bigint ELSE 0 END
  FROM messages WHERE metadata = 'filled';
ALTER TABLE mailbox ENABLE TRIGGER pending;
ANALYZE mailbox;
UPDATE devices d SET pending = d.pending + s.n
  FROM (SELECT device_id, count(*) n FROM mailbox b JOIN messages m ON m.id = b.message
        WHERE m.metadata = 'filled' AND b.delivered = 0 GROUP BY 1) s
  WHERE d.id = s.device_id;
INSERT INTO receipts(message, sender_id, device_id, state, at)
  SELECT id, sender_id, recipients, 'delivered', extract(epoch FROM now())::bigint
  FROM messages WHERE metadata = 'filled' AND id % 2 = 0;
UPDATE families f SET bytes = f.bytes + s.b
  FROM (SELECT family_id, sum(length) b FROM messages WHERE metadata = 'filled' GROUP BY 1) s
  WHERE f.id = s.family_id;
SQL
  pg_psql bench -c "VACUUM ANALYZE" >/dev/null
}

fill_sqlite() { # DB
  local now
  now=$(date +%s)
  sqlite3 "$1" <<SQL >/dev/null
.timeout 10000
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(f) AS (SELECT 0 UNION ALL SELECT f + 1 FROM n WHERE f < $FAMILIES - 1)
INSERT INTO families(id, created) SELECT printf('f%031x', f), 0 FROM n;
WITH RECURSIVE n(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM n WHERE d < $FAMILIES * 4 - 1)
INSERT INTO devices(id, family_id, name, token_hash, joined)
  SELECT printf('d%031x', d), printf('f%031x', d / 4), 'device ' || d % 4, randomblob(32), 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $MESSAGES)
INSERT INTO messages(upload_id, message_id, family_id, sender_id, length, received, duration_ms,
  recipients, metadata, created, expires, completed, sha256, data)
SELECT printf('u%031x', i), printf('f0000000-0000-4000-8000-%012x', i),
  printf('f%031x', i % $FAMILIES), printf('d%031x', (i % $FAMILIES) * 4), 61440, 61440, 5000,
  printf('d%031x', (i % $FAMILIES) * 4 + 1 + i % 3), 'filled', $now, $now, $now, randomblob(32),
  randomblob($AUDIO_BYTES) FROM n;
INSERT INTO mailbox(device_id, message, delivered)
  SELECT recipients, id, CASE WHEN id % 2 = 0 THEN $now ELSE 0 END FROM messages
  WHERE metadata = 'filled';
INSERT INTO receipts(message, device_id, state, at)
  SELECT id, recipients, 'delivered', $now FROM messages WHERE metadata = 'filled' AND id % 2 = 0;
UPDATE devices SET pending = (SELECT count(*) FROM mailbox b WHERE b.device_id = devices.id
  AND b.delivered = 0) WHERE id LIKE 'd%';
COMMIT;
PRAGMA journal_mode = WAL;
ANALYZE;
SQL
}

REPORT=()
case " $PARTS " in *" polls "*)
  for backend in sqlite postgresql; do
    if [ $backend = sqlite ]; then RELAY_DB=$SCRATCH/polls.db; else unset RELAY_DB; fi
    start_relay "polls-$backend" "${OPTS[@]}"
    setup_family
    hold_polls "$backend"
    REPORT+=("idle long polls, one relay process on $POLL_REPORT")
    stop_relays
  done
  unset RELAY_DB
  ;;
esac

case " $PARTS " in *" million "*)
  # PostgreSQL: measured empty, filled while the relay runs, measured again.
  MILLION_LINES=("throughput of one relay process, empty database against 1,000,000 messages (medians of $ROUNDS rounds, wrk -t2 -c$CONNS -d${DURATION}s):")
  if [[ " $BACKENDS " = *" postgresql "* ]]; then
  start_relay bench "${OPTS[@]}"
  setup_family
  measure pg_empty
  T0=$(date +%s)
  fill_pg || fail "cannot fill the PostgreSQL database"
  PG_GEN_S=$(($(date +%s) - T0))
  PG_ROWS=$(pg_psql bench -c "SELECT count(*) FROM messages")
  PG_SIZE=$(pg_psql bench -c "SELECT pg_size_pretty(pg_database_size('bench'))")
  measure pg_full
  stop_relays
  MILLION_LINES+=("  PostgreSQL empty:              ${UP[pg_empty]} uploads/s   ${IN[pg_empty]} inbox/s   (${ROUNDS_OF[pg_empty]})"
    "  PostgreSQL $PG_ROWS messages: ${UP[pg_full]} uploads/s   ${IN[pg_full]} inbox/s   (${ROUNDS_OF[pg_full]})   full/empty $(ratio "${UP[pg_full]}" "${UP[pg_empty]}") uploads, $(ratio "${IN[pg_full]}" "${IN[pg_empty]}") inbox; made with SQL in ${PG_GEN_S} s, database $PG_SIZE")
  fi
  if [[ " $BACKENDS " = *" sqlite "* ]]; then
  # SQLite: measured empty, stopped, filled, started again on it.
  RELAY_DB=$SCRATCH/sqlite.db start_relay sqlite "${OPTS[@]}"
  setup_family
  measure sqlite_empty
  stop_relays
  T0=$(date +%s)
  fill_sqlite "$SCRATCH/sqlite.db" || fail "cannot fill the SQLite database"
  SQ_GEN_S=$(($(date +%s) - T0))
  SQ_ROWS=$(sqlite3 "$SCRATCH/sqlite.db" "SELECT count(*) FROM messages")
  SQ_SIZE=$(($(stat -c %s "$SCRATCH/sqlite.db") / 1048576))
  RELAY_DB=$SCRATCH/sqlite.db start_relay sqlite "${OPTS[@]}"
  measure sqlite_full
  stop_relays
  MILLION_LINES+=("  SQLite empty:                  ${UP[sqlite_empty]} uploads/s   ${IN[sqlite_empty]} inbox/s   (${ROUNDS_OF[sqlite_empty]})"
    "  SQLite $SQ_ROWS messages:     ${UP[sqlite_full]} uploads/s   ${IN[sqlite_full]} inbox/s   (${ROUNDS_OF[sqlite_full]})   full/empty $(ratio "${UP[sqlite_full]}" "${UP[sqlite_empty]}") uploads, $(ratio "${IN[sqlite_full]}" "${IN[sqlite_empty]}") inbox; made in ${SQ_GEN_S} s, file $SQ_SIZE MB")
  fi
  REPORT+=("${MILLION_LINES[@]}")
  ;;
esac

echo "relay scale benchmark ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, loopback, open-file hard limit $(ulimit -Hn), $(psql --version | sed 's/.*) //') with fsync on, $AUDIO_BYTES audio bytes per filled message)"
for line in "${REPORT[@]}"; do echo "  $line"; done
