#!/bin/bash
# The relay-wide limits hold exactly when three relay processes on one
# PostgreSQL take requests at the same moment: --max-families and
# --max-storage-bytes are never passed, however the requests interleave.
#
# The race is made certain, not hoped for: the test holds a table lock that
# lets every relay read the totals but stops each at its INSERT, waits until
# all three wait there (pg_stat_activity), then lets them go. A relay that
# read the totals before its transaction's lock would now pass the limit.
JIASHU_TEST_DB=postgresql
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

RELAY_DB_NAME=caps
pg_createdb caps
OPTS=(--max-families 4 --max-storage-bytes 2500 --join-burst 100 --join-rate 100
  --token-rate 1000 --token-burst 1000)
declare -a PORTS
for n in 1 2 3; do
  start_relay "r$n" "${OPTS[@]}"
  PORTS[$n]=$PORT
done
at() { BASE=http://127.0.0.1:${PORTS[$1]}; }
sql() { pg_psql caps -c "$1"; }

# hold_lock TABLE: a session holding TABLE in SHARE ROW EXCLUSIVE mode
# (reads pass, inserts wait) until release_lock.
hold_lock() {
  rm -f "$SCRATCH/lock.in"
  mkfifo "$SCRATCH/lock.in"
  pg_psql caps <"$SCRATCH/lock.in" >"$SCRATCH/lock.out" 2>&1 &
  LOCK_PID=$!
  exec 7>"$SCRATCH/lock.in"
  echo "BEGIN; LOCK TABLE $1 IN SHARE ROW EXCLUSIVE MODE;" >&7
  local i
  for i in $(seq 100); do
    [ "$(sql "SELECT count(*) FROM pg_locks WHERE relation = '$1'::regclass
      AND mode = 'ShareRowExclusiveLock' AND granted")" = 1 ] && return 0
    sleep 0.1
  done
  fail "the test could not lock $1: $(cat "$SCRATCH/lock.out")"
}
release_lock() {
  echo "COMMIT;" >&7
  exec 7>&-
  wait "$LOCK_PID" || fail "the lock session failed: $(cat "$SCRATCH/lock.out")"
}
# wait_for_waiters N: until N relay sessions wait for a lock (the relays'
# lock_timeout is 10 s: the test lets them go well before).
wait_for_waiters() {
  local i n=0
  for i in $(seq 60); do
    n=$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'caps' AND wait_event_type = 'Lock'")
    [ "$n" -ge "$1" ] && return 0
    sleep 0.1
  done
  fail "only $n relay sessions reached the lock, expected $1"
}
# fire NAME N PATH CURL_ARGS...: a request to relay N in the background;
# its status goes to $SCRATCH/NAME.status.
fire() {
  local name=$1 n=$2 path=$3; shift 3
  curl -s -o "$SCRATCH/$name.body" -w '%{http_code}\n' "$@" "http://127.0.0.1:${PORTS[$n]}$path" \
    >"$SCRATCH/$name.status" &
  FIRED+=($!)
}
statuses() { cat "$SCRATCH"/"$1"*.status | sort | uniq -c | tr -s ' ' | tr '\n' ';'; }

# --- three families (one per relay), each with a second device ---------------
declare -a TOK RCPT
for n in 1 2 3; do
  at "$n"
  new_family "parent$n"; TOK[$n]=$TOKEN
  join "$CODE" "child$n"; RCPT[$n]=$DEVICE
done
[ "$(sql "SELECT count(*) FROM families")" = 3 ] || fail "three families expected"

# --- 1. --max-families 4: one place left, six creations across three relays ---
hold_lock families
FIRED=()
for k in 1 2; do
  for n in 1 2 3; do
    fire "fam$k$n" "$n" /v1/families -X POST -H 'Content-Type: application/json' \
      -d "{\"name\":\"f$k$n\"}"
  done
done
# One request per relay reaches the database at a time (its requests run
# on one thread): three wait.
wait_for_waiters 3
release_lock
wait "${FIRED[@]}"
families=$(sql "SELECT count(*) FROM families")
created=$(cat "$SCRATCH"/fam*.status | grep -c '^201$' || true)
[ "$families" = 4 ] || fail "--max-families 4, but the relays hold $families families ($(statuses fam))"
[ "$created" = 1 ] || fail "$created families created for one place left ($(statuses fam))"
refused=$(cat "$SCRATCH"/fam*.status | grep -c '^507$' || true)
[ "$refused" = 5 ] || fail "the other creations: $(statuses fam), expected five 507"

# --- 2. --max-storage-bytes 2500: room for two 1000-byte messages, three
# families uploading at once through three relays ---------------------------
hold_lock messages
FIRED=()
for n in 1 2 3; do
  md=$(metadata "$(uuid)" "${RCPT[$n]}")
  fire "up$n" "$n" /v1/uploads -X POST -H "Authorization: Bearer ${TOK[$n]}" \
    -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 1000' -H "Upload-Metadata: $md"
done
wait_for_waiters 3
release_lock
wait "${FIRED[@]}"
held=$(sql "SELECT sum(bytes) FROM families")
messages=$(sql "SELECT count(*) FROM messages")
[ "$held" -le 2500 ] || fail "--max-storage-bytes 2500, but the relays hold $held bytes ($(statuses up))"
[ "$messages" = 2 ] || fail "$messages uploads created where two fit ($(statuses up))"
[ "$(cat "$SCRATCH"/up*.status | grep -c '^507$')" = 1 ] || fail "the third upload: $(statuses up), expected one 507"
grep -q 'storage full: .*max-storage-bytes' "$SCRATCH"/r?.log || fail "no operator line for the storage limit"

echo "ok: relay-wide limits exact across three processes"
