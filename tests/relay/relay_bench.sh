#!/bin/bash
# Benchmark: a loopback relay against nginx (its dav module taking the same
# PUTs) in the same run, driven by wrk, and 5,000 idle long polls with the
# relay's memory. Prints the figures; asserts nothing about speed.
#   meson test -C BUILD --benchmark relay_bench   (or run it with JIASHU_RELAY set)
# DURATION (seconds per wrk run, default 10) and POLLS (default 5000) may be set.
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
stop_all() { [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null; stop_relays; cleanup_scratch; }
trap stop_all EXIT

start_relay bench --quiet --token-rate 1000000 --token-burst 1000000 --max-mailbox 10000000 \
  --max-family-bytes 100000000000 --max-wait 60
new_family dad; DAD=$TOKEN
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
function setup(thread) thread:set("tid", math.random(0, 0xffff)) end
function init(args) math.randomseed(os.time() + tid) end
function request()
  counter = counter + 1
  local id = string.format("%08x-%04x-4%03x-8%03x-%012x", math.random(0, 0x7fffffff), tid,
    math.random(0, 0xfff), math.random(0, 0xfff), counter * 65536 + math.random(0, 0xffff))
  return wrk.format("POST", "/v1/uploads", {
    ["Authorization"] = "Bearer $DAD", ["Tus-Resumable"] = "1.0.0",
    ["Upload-Length"] = tostring(#body),
    ["Upload-Metadata"] = "message_id " .. b64(id) .. ",recipients " .. rcpt .. ",duration_ms " .. dur,
    ["Content-Type"] = "application/offset+octet-stream" }, body)
end
local bad = 0
function response(status, headers, body)
  if status ~= 201 or headers["Upload-Offset"] ~= "61440" then bad = bad + 1 end
end
function done(summary, latency, requests) end
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

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
errors() { grep -E 'Non-2xx|Socket errors' "$1" | tr -s ' ' || true; }
run_wrk() { # OUT ARGS...
  local out=$1; shift
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$@" >"$out" 2>&1 || fail "wrk failed: $(cat "$out")"
}

# The machine is shared: relay and nginx take turns, ROUNDS times, and the
# median round of each is reported.
ROUNDS=${ROUNDS:-3}
UP_R=() UP_N=() IN_R=() IN_N=()
for round in $(seq "$ROUNDS"); do
  run_wrk "$SCRATCH/w-relay-up" -s "$SCRATCH/upload.lua" "$BASE/v1/uploads"
  UP_R+=("$(rps "$SCRATCH/w-relay-up")")
  errors "$SCRATCH/w-relay-up" | grep . && fail "relay upload errors: $(cat "$SCRATCH/w-relay-up")"
  run_wrk "$SCRATCH/w-nginx-put" -s "$SCRATCH/put.lua" "http://127.0.0.1:$NGINX_PORT/"
  UP_N+=("$(rps "$SCRATCH/w-nginx-put")")
  run_wrk "$SCRATCH/w-relay-inbox" -H "Authorization: Bearer $KID" "$BASE/v1/inbox?after=0"
  IN_R+=("$(rps "$SCRATCH/w-relay-inbox")")
  errors "$SCRATCH/w-relay-inbox" | grep . && fail "relay inbox errors: $(cat "$SCRATCH/w-relay-inbox")"
  run_wrk "$SCRATCH/w-nginx-get" "http://127.0.0.1:$NGINX_PORT/inbox.json"
  IN_N+=("$(rps "$SCRATCH/w-nginx-get")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

as "$KID" GET /v1/inbox
[ "$(json '.messages | length')" = 1 ] || fail "the child's inbox changed during the benchmark"
stored=$(sqlite3 "$SCRATCH/bench.db" "SELECT count(*) FROM messages WHERE completed > 0" 2>/dev/null || echo "?")

RELAY_UP=$(median "${UP_R[@]}"); NGINX_PUT=$(median "${UP_N[@]}")
RELAY_INBOX=$(median "${IN_R[@]}"); NGINX_GET=$(median "${IN_N[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

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
as "$KID" GET /v1/inbox
POLL_SIDE_STATUS=$STATUS
kill -INT "$WRK_POLLS" 2>/dev/null || true
wait "$WRK_POLLS" 2>/dev/null || true

cat <<REPORT
relay benchmark ($(nproc) cores, loopback, wrk -t2 -c$CONNS -d${DURATION}s, median of $ROUNDS alternating rounds; nginx $(nginx -v 2>&1 | sed 's/.*\///') with $NGINX_WORKERS worker(s))
  rounds: relay uploads ${UP_R[*]} | nginx PUT ${UP_N[*]} | relay inbox ${IN_R[*]} | nginx GET ${IN_N[*]}
  60 KB uploads/s   relay (tus creation-with-upload, fsync'd): $RELAY_UP   nginx dav PUT: $NGINX_PUT   ratio $(ratio "$RELAY_UP" "$NGINX_PUT")
  inbox requests/s  relay GET /v1/inbox: $RELAY_INBOX   nginx static 27-byte JSON: $NGINX_GET   ratio $(ratio "$RELAY_INBOX" "$NGINX_GET")
  nginx put errors (last round): $(errors "$SCRATCH/w-nginx-put")
  messages stored by the relay: $stored
  idle long polls: $HELD connections held, relay RSS $((RSS_POLLS / 1024)) MB (before: $((RSS_BEFORE / 1024)) MB); another device served meanwhile: HTTP $POLL_SIDE_STATUS
REPORT
