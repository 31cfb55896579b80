#!/bin/bash
# The tus upload client against @tus/server + @tus/file-store: every byte
# arrives whole through cut connections, a killed and restarted server, and
# a killed client that resumes from the URL it kept.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/peer_lib.sh"
need_tus_peer
trap 'stop_peer; cleanup_scratch' EXIT
export JIASHU_BACKOFF_MS=100,1000

head -c 400000 /dev/urandom >"$SCRATCH/note.bin"
stored() { echo "$SCRATCH/peer/uploads/${1##*/}"; }

# 1. Cut every connection after 40 kB: each PATCH of 16 kB chunks dies
#    somewhere; the client asks the offset and goes on.
start_peer "$SCRATCH/peer" 0 --cut-bytes 40000
out=$("$SYNC_PROBE" upload "http://127.0.0.1:$PEER_PORT" /files "$SCRATCH/note.bin" 16384) ||
  fail "upload through cut connections failed"
url=$(echo "$out" | sed -n 's/.*url=\([^ ]*\).*/\1/p')
cmp "$SCRATCH/note.bin" "$(stored "$url")" || fail "the server holds other bytes than were sent"
cuts=$(curl -s "http://127.0.0.1:$PEER_PORT/cuts")
[ "$cuts" -ge 5 ] || fail "expected the peer to cut at least 5 connections, it cut $cuts"
connections=$(echo "$out" | sed -n 's/.*connections=\([0-9]*\).*/\1/p')
[ "$connections" -gt "$cuts" ] || fail "the client opened $connections connections for $cuts cuts"
resent=$(echo "$out" | sed -n 's/.* resent=\([0-9]*\).*/\1/p')
[ "$resent" -gt 0 ] || fail "nothing was resent although connections were cut"
[ "$resent" -le $((cuts * 16384)) ] || fail "resent $resent bytes for $cuts cuts: more than one chunk per cut"
echo "cut connections: $out"
stop_peer

# 2. The server is killed and restarted (same store) while the upload runs.
start_peer "$SCRATCH/peer2" 0 --cut-bytes 60000 --delay-ms 100
port=$PEER_PORT
"$SYNC_PROBE" upload "http://127.0.0.1:$port" /files "$SCRATCH/note.bin" 16384 \
  "$SCRATCH/url2" >"$SCRATCH/out2" 2>&1 &
client=$!
sleep 0.6
stop_peer
sleep 1
start_peer "$SCRATCH/peer2" "$port" --cut-bytes 60000 --delay-ms 100
wait "$client" || fail "upload across a server restart failed: $(cat "$SCRATCH/out2")"
url=$(sed -n 's/.*url=\([^ ]*\).*/\1/p' "$SCRATCH/out2")
[ "$url" = "$(cat "$SCRATCH/url2")" ] || fail "the upload was created twice"
cmp "$SCRATCH/note.bin" "$SCRATCH/peer2/uploads/${url##*/}" || fail "bytes differ after a server restart"
grep -q 'interruptions=[1-9]' "$SCRATCH/out2" || fail "the server was not killed mid-upload: $(cat "$SCRATCH/out2")"
echo "server restart: $(cat "$SCRATCH/out2")"
stop_peer

# 3. The client is killed mid-upload (SIGKILL) and a new one resumes from the
#    URL the first one saved, without creating a second upload.
start_peer "$SCRATCH/peer3" 0 --cut-bytes 30000 --delay-ms 50
"$SYNC_PROBE" upload "http://127.0.0.1:$PEER_PORT" /files "$SCRATCH/note.bin" 16384 \
  "$SCRATCH/url3" >"$SCRATCH/out3" 2>&1 &
client=$!
for _ in $(seq 100); do [ -s "$SCRATCH/url3" ] && break; sleep 0.05; done
sleep 0.2
kill -9 "$client"; wait "$client" 2>/dev/null || true
first=$(cat "$SCRATCH/url3")
partial=$(stat -c %s "$SCRATCH/peer3/uploads/${first##*/}")
[ "$partial" -lt 400000 ] || fail "the first client finished before it was killed"
out=$("$SYNC_PROBE" upload "http://127.0.0.1:$PEER_PORT" /files "$SCRATCH/note.bin" 16384 \
  "$SCRATCH/url3") || fail "resumed upload failed"
url=$(echo "$out" | sed -n 's/.*url=\([^ ]*\).*/\1/p')
[ "$url" = "$first" ] || fail "the resumed client created a new upload ($url != $first)"
cmp "$SCRATCH/note.bin" "$SCRATCH/peer3/uploads/${url##*/}" || fail "bytes differ after a client kill"
[ "$(ls "$SCRATCH/peer3/uploads" | grep -vc json)" -eq 1 ] || fail "more than one upload on the server"
echo "client killed at $partial bytes, resumed: $out"
echo ok
