#!/bin/bash
# Benchmark of the relay on PostgreSQL (docs/relay-postgresql.md), side by
# side in one run on loopback, driven by wrk:
#  1. where audio lives: bytea rows, large objects, shared files;
#  2. 60 KB uploads/s and inbox requests/s for 1, 2 and 4 relay processes on
#     one PostgreSQL, one relay on SQLite, and @tus/server with its file
#     store (uploads; HEAD of an upload as its small read);
#  3. the same for one relay after the database holds 1,000,000 messages;
#  4. idle long polls held by one process and its memory.
# Prints the figures; asserts nothing about speed.
#   meson test -C BUILD --benchmark relay_pg_bench
# DURATION (s per wrk run, default 6), CONNS (default 16), POLLS (default
# 15000, capped by the open-file limit), MESSAGES (default 1000000).
: "${JIASHU:=unused}"
JIASHU_TEST_DB=postgresql
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

DURATION=${DURATION:-6}
CONNS=${CONNS:-16}
MESSAGES=${MESSAGES:-1000000}
command -v wrk >/dev/null || fail "wrk is not installed"
ulimit -n "$(ulimit -Hn)"
POLLS=${POLLS:-15000}
[ "$POLLS" -gt $(($(ulimit -n) - 200)) ] && POLLS=$(($(ulimit -n) - 200))
PG_SHARED_BUFFERS=256MB
PG_MAX_CONNECTIONS=100
pg_start

TUS_PID=""
stop_all() {
  [ -n "$TUS_PID" ] && kill "$TUS_PID" 2>/dev/null
  stop_relays || true
  pg_stop
  cleanup_scratch
}
trap stop_all EXIT

OPTS=(--quiet --token-rate 1000000 --token-burst 1000000 --max-mailbox 100000000
  --max-family-bytes 100000000000 --max-connections 19000 --max-connections-per-ip 0 --max-wait 60)
head -c 61440 /dev/urandom >"$SCRATCH/60k"
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
sum() { awk '{ s += $1 } END { printf "%.0f", s }'; }

# --- 1. where audio lives ----------------------------------------------------
pg_createdb audio
mkdir -p "$SCRATCH/shared-audio"
AUDIO=$("$BUILD_DIR/tests/relay/bench_audio_store" "$(pg_url audio)" "$SCRATCH/shared-audio" \
  "${AUDIO_COUNT:-400}") || fail "bench_audio_store failed"

# upload_lua FILE TOKEN RECIPIENT: wrk script for tus creation-with-upload.
upload_lua() {
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

# wrk_all OUT ARGS... -- URL...: one wrk per URL at once (CONNS shared out),
# the summed requests/s on stdout; fails on any error answer.
wrk_all() {
  local out=$1; shift
  local args=() urls=() seen=0 i=0 pids=()
  for a in "$@"; do
    if [ "$a" = -- ]; then seen=1; elif [ $seen = 0 ]; then args+=("$a"); else urls+=("$a"); fi
  done
  local c=$((CONNS / ${#urls[@]}))
  for u in "${urls[@]}"; do
    wrk -t1 -c"$c" -d"${DURATION}s" --timeout 30s "${args[@]}" "$u" >"$out.$i" 2>&1 &
    pids+=($!)
    i=$((i + 1))
  done
  for p in "${pids[@]}"; do wait "$p" || fail "wrk failed: $(cat "$out".*)"; done
  if grep -E 'Non-2xx|Socket errors' "$out".* >&2; then fail "error answers: $(cat "$out".*)"; fi
  for f in "$out".*; do rps "$f"; done | sum
  rm -f "$out".*
}

# setup_family BASE: a sender, a recipient, and a reader whose inbox holds
# one message; sets DAD, MA_ID, KID.
setup_family() {
  BASE=$1
  new_family dad; DAD=$TOKEN
  join "$CODE" grandma; MA_ID=$DEVICE
  as "$DAD" POST /v1/invites; join "$(json .code)" child; KID=$TOKEN KID_ID=$DEVICE
  send "$DAD" "$KID_ID" "$SCRATCH/60k"
}

declare -A UP INBOX
# measure NAME URL...: uploads and inbox reads through these relays.
measure() {
  local name=$1; shift
  local urls=("$@")
  upload_lua "$SCRATCH/up.lua" "$DAD" "$MA_ID"
  UP[$name]=$(wrk_all "$SCRATCH/w" -s "$SCRATCH/up.lua" -- "${urls[@]/%//v1/uploads}")
  INBOX[$name]=$(wrk_all "$SCRATCH/w" -H "Authorization: Bearer $KID" -- "${urls[@]/%//v1/inbox?after=0}")
  echo "  measured $name: uploads ${UP[$name]}/s, inbox ${INBOX[$name]}/s" >&2
}

# --- 2. relays on PostgreSQL, SQLite, the tus peer -----------------------------
RELAY_DB_NAME=bench
URLS=()
for n in 1 2 3 4; do
  start_relay "pg$n" "${OPTS[@]}"
  URLS+=("$BASE")
  eval "PG${n}_PID=$RELAY_PID"
done
setup_family "${URLS[0]}"
measure pg1 "${URLS[0]}"
measure pg2 "${URLS[@]:0:2}"
measure pg4 "${URLS[@]}"
unset RELAY_DB_NAME

RELAY_DB=$SCRATCH/sqlite.db start_relay sqlite "${OPTS[@]}"
SAVED=("$DAD" "$MA_ID" "$KID")
setup_family "$BASE"
measure sqlite "$BASE"
DAD=${SAVED[0]} MA_ID=${SAVED[1]} KID=${SAVED[2]}

cat >"$SCRATCH/tus.js" <<'JS'
const http = require('http');
const { Server } = require('@tus/server');
const { FileStore } = require('@tus/file-store');
const tus = new Server({ path: '/files', datastore: new FileStore({ directory: process.argv[3] }) });
http.createServer((req, res) => tus.handle(req, res)).listen(Number(process.argv[2]), '127.0.0.1');
JS
TUS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$SCRATCH/tus"
NODE_PATH=$TESTS_DIR/peers/node_modules node "$SCRATCH/tus.js" "$TUS_PORT" "$SCRATCH/tus" \
  >"$SCRATCH/tus.log" 2>&1 &
TUS_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$TUS_PORT/files" && break; sleep 0.1; done
cat >"$SCRATCH/tus-up.lua" <<LUA
local f = io.open("$SCRATCH/60k", "rb"); local body = f:read("*a"); f:close()
function request()
  return wrk.format("POST", "/files", { ["Tus-Resumable"] = "1.0.0",
    ["Upload-Length"] = tostring(#body), ["Content-Type"] = "application/offset+octet-stream" }, body)
end
LUA
TUS_LOC=$(curl -s -D - -o /dev/null -X POST -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 61440' \
  -H 'Content-Type: application/offset+octet-stream' --data-binary "@$SCRATCH/60k" \
  "http://127.0.0.1:$TUS_PORT/files" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
[ -n "$TUS_LOC" ] || fail "the tus peer did not create an upload: $(cat "$SCRATCH/tus.log")"
UP[tus]=$(wrk_all "$SCRATCH/w" -s "$SCRATCH/tus-up.lua" -- "http://127.0.0.1:$TUS_PORT/files")
echo 'wrk.method = "OPTIONS"; wrk.headers["Tus-Resumable"] = "1.0.0"' >"$SCRATCH/tus-options.lua"
INBOX[tus]=$(wrk_all "$SCRATCH/w" -s "$SCRATCH/tus-options.lua" -- "http://127.0.0.1:$TUS_PORT/files")
echo "  measured tus: uploads ${UP[tus]}/s, OPTIONS ${INBOX[tus]}/s" >&2

# --- 3. one relay after 1,000,000 messages -------------------------------------
T0=$(date +%s)
# One transaction: the relays' cleanup never sees a message without its
# mailbox rows (it would take it for delivered to everyone and remove it).
pg_psql bench -1 <<SQL
INSERT INTO families(id, created) SELECT md5('f' || i), 0 FROM generate_series(1, 10000) i;
INSERT INTO messages(upload_id, message_id, family_id, sender_id, length, received, duration_ms,
  recipients, metadata, created, expires, completed, sha256)
SELECT md5('u' || i), md5('m' || i)::uuid::text, md5('f' || i % 10000), md5('s' || i % 40000),
  61440, 61440, 5000, md5('r' || i % 40000), '', extract(epoch FROM now())::bigint,
  extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint, sha256(int4send(i))
FROM generate_series(1, $MESSAGES) i;
INSERT INTO mailbox(device_id, message) SELECT recipients, id FROM messages WHERE metadata = '';
INSERT INTO receipts(message, sender_id, device_id, state, at)
  SELECT id, sender_id, recipients, 'delivered', 0 FROM messages WHERE metadata = '' AND id % 2 = 0;
ANALYZE;
SQL
GEN_S=$(($(date +%s) - T0))
ROWS=$(pg_psql bench -c "SELECT count(*) FROM messages")
DBSIZE=$(pg_psql bench -c "SELECT pg_size_pretty(pg_database_size('bench'))")
measure pg1_full "${URLS[0]}"

# --- 4. idle long polls -------------------------------------------------------
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
RSS_BEFORE=$(rss_kb "$PG1_PID")
PORT1=${URLS[0]##*:}
BASE=${URLS[0]}
as "$DAD" POST /v1/invites; join "$(json .code)" idle; IDLE=$TOKEN
wrk -t1 -c"$POLLS" -d40s --timeout 70s -H "Authorization: Bearer $IDLE" "${URLS[0]}/v1/inbox?wait=60" \
  >"$SCRATCH/w-polls" 2>&1 &
WRK_POLLS=$!
HELD=0
for _ in $(seq 30); do
  sleep 1
  HELD=$(ss -Htn state established "( sport = :$PORT1 )" | wc -l)
  [ "$HELD" -ge "$POLLS" ] && break
done
sleep 2
HELD=$(ss -Htn state established "( sport = :$PORT1 )" | wc -l)
RSS_POLLS=$(rss_kb "$PG1_PID")
as "$KID" GET /v1/inbox
SIDE=$STATUS
kill -INT "$WRK_POLLS" 2>/dev/null || true
wait "$WRK_POLLS" 2>/dev/null || true
PG_BACKENDS=$(pg_psql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'bench'")
# Proportional set size: shared buffers counted once, not in every backend.
PG_PSS=$(for p in $(pgrep -u postgres -f "postgres.*$PG_DIR" ; pgrep -u postgres -P "$(head -1 "$PG_DIR/data/postmaster.pid")"); do
  sed -n 's/^Pss:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$p/smaps_rollup" 2>/dev/null; done | sum)
PER_POLL=$(awk -v a="$RSS_POLLS" -v b="$RSS_BEFORE" -v n="$HELD" 'BEGIN { printf "%.1f", (n > 0 ? (a - b) / n : 0) }')
AT50K=$(awk -v p="$PER_POLL" -v b="$RSS_BEFORE" 'BEGIN { printf "%.0f", (b + p * 50000) / 1024 }')

cat <<REPORT
relay on PostgreSQL benchmark ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, loopback, wrk -c$CONNS -d${DURATION}s per figure, $(psql --version | sed 's/.*) //') with fsync on)
  where audio lives (each write durable before it returns):
$(echo "$AUDIO" | sed 's/^/    /')
  60 KB uploads/s (tus creation-with-upload) and inbox requests/s:
    PostgreSQL, 1 relay process:   ${UP[pg1]} uploads/s   ${INBOX[pg1]} inbox/s
    PostgreSQL, 2 relay processes: ${UP[pg2]} uploads/s   ${INBOX[pg2]} inbox/s
    PostgreSQL, 4 relay processes: ${UP[pg4]} uploads/s   ${INBOX[pg4]} inbox/s
    SQLite, 1 relay process:       ${UP[sqlite]} uploads/s   ${INBOX[sqlite]} inbox/s
    @tus/server + file store:      ${UP[tus]} uploads/s   ${INBOX[tus]} OPTIONS/s (no inbox: its smallest request)
  after $ROWS messages (made with SQL in ${GEN_S} s; $DBSIZE; rows without audio):
    PostgreSQL, 1 relay process:   ${UP[pg1_full]} uploads/s   ${INBOX[pg1_full]} inbox/s
  idle long polls on one process: $HELD held (open-file limit $(ulimit -n)), relay RSS $((RSS_POLLS / 1024)) MB (before $((RSS_BEFORE / 1024)) MB: $PER_POLL kB each, so 50,000 would take about $AT50K MB); another device served meanwhile: HTTP $SIDE
  PostgreSQL: $PG_BACKENDS connections for 4 relays, all its processes $((PG_PSS / 1024)) MB (proportional set size, shared_buffers $PG_SHARED_BUFFERS)
REPORT
