#!/bin/bash
# Benchmark: 60 KB uploads to a loopback relay against nginx (its dav module
# taking the same bytes as PUTs) and @tus/server (file store, the relay's own
# tus creation-with-upload requests) in the same run, driven by wrk; the same
# uploads once the relay holds FILL more messages; the group commit's
# requests per fdatasync; and idle long polls with the relay's memory.
# Prints the figures and asserts nothing about speed, but fails when any
# run of any server had an answer that was not a success or a socket error
# (an error answer is quick and would inflate its figure), when another
# device is not served while the long polls wait, or when fewer than 90 %
# of them are held.
#   meson test -C BUILD --benchmark relay_bench --verbose
# DURATION (seconds per wrk run, default 10), ROUNDS (3), FILL (100000),
# CONNS (16), POLLS (5000) and NGINX_WORKERS (1) may be set.
: "${JIASHU:=unused}"
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

DURATION=${DURATION:-10}
POLLS=${POLLS:-5000}
CONNS=${CONNS:-16}
command -v wrk >/dev/null || fail "wrk is not installed"
command -v nginx >/dev/null || fail "nginx is not installed"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

NGINX_PID=""
stop_all() { [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null; stop_peer; stop_relays; cleanup_scratch; }
trap stop_all EXIT

# Every wrk connection comes from 127.0.0.1: the per-address connection
# limit (64 by default) would refuse all but 64 of the idle long polls, and
# then the side request too.
RELAY_OPTS=(--quiet --token-rate 1000000 --token-burst 1000000 --max-mailbox 10000000
  --max-family-bytes 100000000000 --max-wait 60 --max-connections-per-ip 0)
start_relay bench "${RELAY_OPTS[@]}"
new_family dad; DAD=$TOKEN DAD_ID=$DEVICE FAM=$FAMILY
join "$CODE" grandma; MA_ID=$DEVICE
as "$DAD" POST /v1/invites; join "$(json .code)" child; KID=$TOKEN KID_ID=$DEVICE
as "$DAD" POST /v1/invites; join "$(json .code)" idle; IDLE=$TOKEN
head -c 61440 /dev/urandom >"$SCRATCH/60k"
send "$DAD" "$KID_ID" "$SCRATCH/60k"   # the child's inbox holds one message

# --- 60 KB uploads: tus creation-with-upload, one request per message -----
cat >"$SCRATCH/upload.lua" <<LUA
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
local rcpt = b64("$MA_ID"); local dur = b64("5000")
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", math.random(0, 0xffff))
  table.insert(threads, thread)
end
function init(args) math.randomseed(os.time() + tid) end
-- The path is the URL's: /v1/uploads on the relay, /files on @tus/server.
function request()
  counter = counter + 1
  local id = string.format("%08x-%04x-4%03x-8%03x-%012x", math.random(0, 0x7fffffff), tid,
    math.random(0, 0xfff), math.random(0, 0xfff), counter * 65536 + math.random(0, 0xffff))
  return wrk.format("POST", wrk.path, {
    ["Authorization"] = "Bearer $DAD", ["Tus-Resumable"] = "1.0.0",
    ["Upload-Length"] = tostring(#body),
    ["Upload-Metadata"] = "message_id " .. b64(id) .. ",recipients " .. rcpt .. ",duration_ms " .. dur,
    ["Content-Type"] = "application/offset+octet-stream" }, body)
end
-- Every answer must be a complete creation: 201 with the whole body taken.
bad = 0
function response(status, headers, body)
  local offset
  for k, v in pairs(headers) do if k:lower() == "upload-offset" then offset = v end end
  if status ~= 201 or offset ~= "61440" then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("Not 201 with Upload-Offset 61440: %d\n", n))
end
LUA

# --- nginx: the same bodies PUT through its dav module --------------------
NG=$SCRATCH/nginx
mkdir -p "$NG/root/up" "$NG/tmp"
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NGINX_WORKERS=${NGINX_WORKERS:-1}
cat >"$NG/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_processes $NGINX_WORKERS;
daemon off;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path $NG/tmp;
  proxy_temp_path $NG/tmp; fastcgi_temp_path $NG/tmp; uwsgi_temp_path $NG/tmp; scgi_temp_path $NG/tmp;
  client_max_body_size 4m;
  client_body_buffer_size 128k;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $NG/root;
    location /up/ { dav_methods PUT DELETE; create_full_put_path on; dav_access user:rw; }
    location / { }
  }
}
CONF
echo '{"messages":[],"cursor":0}' >"$NG/root/inbox.json"
nginx -c "$NG/nginx.conf" -p "$NG" 2>"$NG/stderr" &
NGINX_PID=$!
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/inbox.json" && break; sleep 0.1; done

cat >"$SCRATCH/put.lua" <<LUA
local f = io.open("$SCRATCH/60k", "rb"); local body = f:read("*a"); f:close()
local counter = 0
function setup(thread) thread:set("tid", math.random(0, 0xffffff)) end
function request()
  counter = counter + 1
  return wrk.format("PUT", string.format("/up/%x-%d.bin", tid, counter), {}, body)
end
LUA

# --- @tus/server (file store): the same creation-with-upload requests ----
. "$TESTS_DIR/sync/peer_lib.sh"
need_tus_peer
start_peer "$SCRATCH/tuspeer"
TUS_PID=$PEER_PID
sed -e 's|\["Authorization"\] = "Bearer [0-9a-f]*", ||' "$SCRATCH/upload.lua" >"$SCRATCH/upload-tus.lua"

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
# Lines of wrk's output that say some answers were not successes: any one
# fails the benchmark, for every server alike (an error answer is quick, and
# would be counted as a request served).
errors() { grep -E 'Non-2xx|Socket errors|Not 201 with Upload-Offset 61440: [1-9]' "$1" | tr -s ' ' || true; }
check() { # OUT WHAT
  if errors "$1" | grep .; then fail "$2: $(cat "$1")"; fi
  [ -n "$(rps "$1")" ] || fail "$2: no rate in wrk's output: $(cat "$1")"
}
# The upload script's own count of its answers must be there, and zero.
check_upload() { # OUT WHAT
  check "$@"
  grep -q '^Not 201 with Upload-Offset 61440: 0$' "$1" || fail "$2: the answers were not counted: $(cat "$1")"
}
run_wrk() { # OUT ARGS...
  local out=$1; shift
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$@" >"$out" 2>&1 || fail "wrk failed: $(cat "$out")"
}

# The machine is shared: relay and nginx take turns, ROUNDS times, and the
# median round of each is reported.
ROUNDS=${ROUNDS:-3}
UP_R=() UP_N=() IN_R=() IN_N=() UP_T=()
for round in $(seq "$ROUNDS"); do
  run_wrk "$SCRATCH/w-relay-up" -s "$SCRATCH/upload.lua" "$BASE/v1/uploads"
  check_upload "$SCRATCH/w-relay-up" "relay upload errors"
  UP_R+=("$(rps "$SCRATCH/w-relay-up")")
  run_wrk "$SCRATCH/w-tus-up" -s "$SCRATCH/upload-tus.lua" "http://127.0.0.1:$PEER_PORT/files"
  check_upload "$SCRATCH/w-tus-up" "@tus/server upload errors"
  UP_T+=("$(rps "$SCRATCH/w-tus-up")")
  run_wrk "$SCRATCH/w-nginx-put" -s "$SCRATCH/put.lua" "http://127.0.0.1:$NGINX_PORT/up/"
  check "$SCRATCH/w-nginx-put" "nginx PUT errors"
  UP_N+=("$(rps "$SCRATCH/w-nginx-put")")
  run_wrk "$SCRATCH/w-relay-inbox" -H "Authorization: Bearer $KID" "$BASE/v1/inbox?after=0"
  check "$SCRATCH/w-relay-inbox" "relay inbox errors"
  IN_R+=("$(rps "$SCRATCH/w-relay-inbox")")
  run_wrk "$SCRATCH/w-nginx-get" "http://127.0.0.1:$NGINX_PORT/inbox.json"
  check "$SCRATCH/w-nginx-get" "nginx GET errors"
  IN_N+=("$(rps "$SCRATCH/w-nginx-get")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

as "$KID" GET /v1/inbox
[ "$(json '.messages | length')" = 1 ] || fail "the child's inbox changed during the benchmark"
stored=$(sqlite3 "$SCRATCH/bench.db" "SELECT count(*) FROM messages WHERE completed > 0" 2>/dev/null || echo "?")

RELAY_UP=$(median "${UP_R[@]}"); NGINX_PUT=$(median "${UP_N[@]}")
RELAY_INBOX=$(median "${IN_R[@]}"); NGINX_GET=$(median "${IN_N[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# The ratio of each round (its two runs were next to each other in time),
# and their median: steadier than the ratio of the medians on a busy machine.
UP_RATIOS=() IN_RATIOS=() TUS_RATIOS=()
for i in "${!UP_R[@]}"; do
  UP_RATIOS+=("$(ratio "${UP_R[$i]}" "${UP_N[$i]}")")
  TUS_RATIOS+=("$(ratio "${UP_R[$i]}" "${UP_T[$i]}")")
  IN_RATIOS+=("$(ratio "${IN_R[$i]}" "${IN_N[$i]}")")
done

# --- the same uploads on a relay that holds FILL messages -----------------
# The relay stops (its last line counts the fdatasyncs of the empty-relay
# runs), FILL complete 60 KB messages go straight into its database, and it
# starts again on it.
FILL=${FILL:-100000}
kill -TERM "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
RELAY_PIDS=""
SYNC_EMPTY=$(sed -n 's/.*: \([0-9]*\) writing requests acknowledged after \([0-9]*\) fdatasyncs/\1 \2/p' "$SCRATCH/bench.log" | tail -1)
now=$(date +%s)
# Written without the WAL (the relay is stopped): the fill is set-up, not measured.
sqlite3 "$SCRATCH/bench.db" <<SQL >/dev/null || fail "cannot fill the relay's database"
.timeout 10000
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $FILL)
INSERT INTO messages(upload_id, message_id, family_id, sender_id, length, received, duration_ms,
  recipients, metadata, created, expires, completed, sha256, data)
SELECT printf('f%031x', i), printf('f0000000-0000-4000-8000-%012x', i), '$FAM', '$DAD_ID', 61440,
  61440, 5000, '$MA_ID', '', $now, $now + 86400, $now, randomblob(32), zeroblob(61440) FROM n;
INSERT INTO mailbox(device_id, message)
  SELECT '$MA_ID', id FROM messages WHERE message_id LIKE 'f0000000-0000-4000-8000-%';
COMMIT;
PRAGMA journal_mode = WAL;
SQL
# What one cleanup costs on it: the scan it used to run, and the indexed
# queries it runs now (both rolled back; seconds of wall time).
cleanup_s() {
  local t0 t1
  t0=$(date +%s.%N)
  sqlite3 "$SCRATCH/bench.db" "BEGIN; $1; ROLLBACK;" >/dev/null || fail "cleanup query failed: $1"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
CLEAN_OLD=$(cleanup_s "DELETE FROM messages WHERE completed = 0 AND expires < $now; DELETE FROM messages WHERE completed > 0 AND (completed < $now - 2592000 OR (NOT EXISTS (SELECT 1 FROM mailbox b WHERE b.message = messages.id AND (b.delivered = 0 OR b.delivered >= $now - 604800))))")
CLEAN_NEW=$(cleanup_s "DELETE FROM messages WHERE completed = 0 AND expires < $now; DELETE FROM messages WHERE completed > 0 AND completed < $now - 2592000; DELETE FROM messages WHERE id IN (SELECT b.message FROM mailbox b WHERE b.delivered > 0 AND b.delivered < $now - 604800) AND completed > 0 AND NOT EXISTS (SELECT 1 FROM mailbox b WHERE b.message = messages.id AND (b.delivered = 0 OR b.delivered >= $now - 604800))")
DB_MB=$(( $(stat -c %s "$SCRATCH/bench.db") / 1048576 ))
# A cleanup every 2 s, so that several fall inside each measured run.
start_relay bench "${RELAY_OPTS[@]}" --cleanup-interval 2
UP_F=()
for round in $(seq "$ROUNDS"); do
  run_wrk "$SCRATCH/w-relay-full" -s "$SCRATCH/upload.lua" "$BASE/v1/uploads"
  check_upload "$SCRATCH/w-relay-full" "relay upload errors (full)"
  UP_F+=("$(rps "$SCRATCH/w-relay-full")")
done
RELAY_FULL=$(median "${UP_F[@]}") TUS_UP=$(median "${UP_T[@]}")
kill -TERM "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
RELAY_PIDS=""
SYNC_FULL=$(sed -n 's/.*: \([0-9]*\) writing requests acknowledged after \([0-9]*\) fdatasyncs/\1 \2/p' "$SCRATCH/bench.log" | tail -1)
start_relay bench "${RELAY_OPTS[@]}"

# --- idle long polls -------------------------------------------------------
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
RSS_BEFORE=$(rss_kb "$RELAY_PID")
wrk -t2 -c"$POLLS" -d40s --timeout 70s -H "Authorization: Bearer $IDLE" "$BASE/v1/inbox?wait=60" \
  >"$SCRATCH/w-polls" 2>&1 &
WRK_POLLS=$!
HELD=0
for i in $(seq 30); do
  sleep 1
  HELD=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
  [ "$HELD" -ge "$POLLS" ] && break
done
sleep 2
HELD=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
RSS_POLLS=$(rss_kb "$RELAY_PID")
# The relay still answers others while they wait.
as "$KID" GET /v1/inbox --max-time 10
POLL_SIDE_STATUS=$STATUS
kill -INT "$WRK_POLLS" 2>/dev/null || true
wait "$WRK_POLLS" 2>/dev/null || true
relay_alive bench
[ "$POLL_SIDE_STATUS" = 200 ] ||
  fail "another device was not served while $HELD long polls waited: HTTP $POLL_SIDE_STATUS ($(tail -3 "$SCRATCH/bench.log"))"
[ $((HELD * 10)) -ge $((POLLS * 9)) ] ||
  fail "only $HELD of $POLLS idle long polls were held ($(tail -3 "$SCRATCH/bench.log"))"

# Group commit: the relay's last log line counts the writing requests it
# acknowledged and the fdatasyncs that made them durable, over its whole
# life: for the empty relay the set-up and every round's uploads, for the
# full one its rounds of uploads (inbox reads write nothing and are not
# counted). Requests per fdatasync is the batch's average size: 1.00 would
# be one sync per request, CONNS the most that CONNS connections can give.
per_sync() { # "ACKED SYNCS"
  set -- $1
  [ -n "${2:-}" ] || { echo "? (no count in the relay's log)"; return; }
  echo "$1 requests acknowledged, $2 fdatasyncs: $(ratio "$1" "$2") requests per fdatasync ($(ratio "$2" "$1") fdatasyncs per request)"
}

cat <<REPORT
relay benchmark ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, loopback, wrk -t2 -c$CONNS -d${DURATION}s, median of $ROUNDS alternating rounds)
  relay: $(ls /proc/"$RELAY_PID"/task | wc -l) threads (requests on one), fdatasync of the WAL before each answer that wrote
  nginx $(nginx -v 2>&1 | sed 's/.*\///'): $NGINX_WORKERS worker process(es) (NGINX_WORKERS), dav PUT to a file, no fsync
  rounds: relay uploads ${UP_R[*]} | nginx PUT ${UP_N[*]} | relay inbox ${IN_R[*]} | nginx GET ${IN_N[*]}
  60 KB uploads/s   relay (tus creation-with-upload, fsync'd): $RELAY_UP   nginx dav PUT: $NGINX_PUT   ratio $(ratio "$RELAY_UP" "$NGINX_PUT")
  inbox requests/s  relay GET /v1/inbox: $RELAY_INBOX   nginx static 27-byte JSON: $NGINX_GET   ratio $(ratio "$RELAY_INBOX" "$NGINX_GET")
  60 KB uploads/s   @tus/server $(jq -r .version "$PEERS_DIR/@tus/server/package.json") (@tus/file-store $(jq -r .version "$PEERS_DIR/@tus/file-store/package.json"), creation-with-upload, no fsync): $TUS_UP (rounds ${UP_T[*]})   relay/@tus ratio $(ratio "$RELAY_UP" "$TUS_UP")
  60 KB uploads/s   relay holding $FILL more messages (database $DB_MB MB, a cleanup every 2 s): $RELAY_FULL (rounds ${UP_F[*]})   full/empty $(ratio "$RELAY_FULL" "$RELAY_UP")
  one cleanup on that database: the old full scan $CLEAN_OLD s, the indexed queries $CLEAN_NEW s
  group commit, -c$CONNS (a batch's average size: 1.00 is one fdatasync per writing request, $CONNS all $CONNS connections' requests in one)
    empty relay (set-up and its upload rounds): $(per_sync "$SYNC_EMPTY")
    full relay (its upload rounds):             $(per_sync "$SYNC_FULL")
  per-round ratios: relay/nginx uploads ${UP_RATIOS[*]} (median $(median "${UP_RATIOS[@]}")) | relay/@tus uploads ${TUS_RATIOS[*]} (median $(median "${TUS_RATIOS[@]}")) | inbox ${IN_RATIOS[*]} (median $(median "${IN_RATIOS[@]}"))
  every run above: all answers 2xx (uploads: 201 with Upload-Offset 61440), no socket errors
  messages stored by the relay: $stored
  idle long polls on the relay holding $FILL more (restarted): $HELD of $POLLS connections held, relay RSS $((RSS_POLLS / 1024)) MB (before: $((RSS_BEFORE / 1024)) MB); another device served meanwhile: HTTP $POLL_SIDE_STATUS
REPORT
