#!/bin/bash
# The sync client against a hostile or broken relay: an upload Location on
# another origin is refused (the token never goes there); a PATCH that
# fails after its bytes were sent counts toward giving up; the trace never
# shows the token; a one-shot sync ends by its deadline when the relay
# stops answering; and a sync that left messages behind exits non-zero
# with one line.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
need_node

start_relay relay
relay_port=$RELAY_PORT
start_proxy "$relay_port"
front=$PROXY_URL
start_proxy "$relay_port"   # a second front: "another host" the token must not reach
elsewhere=$PROXY_URL
PROXY_URL=$front
family "$front"
stats() { curl -sk "$1/__stats"; }
note "$SCRATCH/a.wav" 2

# --- a Location on another origin is refused -------------------------------
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/a.wav")
fault "{\"location\":\"$elsewhere\"}"
rc=0; "$JIASHU" "${PARENT[@]}" sync >"$SCRATCH/l.out" 2>"$SCRATCH/l.err" || rc=$?
[ "$(stats "$elsewhere" | jq .requests)" = 0 ] || fail "the client followed the Location to another port: $(stats "$elsewhere")"
[ "$rc" -ne 0 ] || fail "a sync whose upload went nowhere exited 0"
[ "$(wc -l <"$SCRATCH/l.err")" = 1 ] || fail "expected one error line: $(cat "$SCRATCH/l.err")"
# (With creation-with-upload the relay may hold the bytes already; the client
# does not count the message sent until an answer it trusts says so.)
[ "$(count_state outbox sent "${PARENT[@]}")" = 0 ] || fail "the message counts as sent"
fault '{}'
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync once the Location is honest"
[ "$(count_state outbox sent "${PARENT[@]}")" = 1 ] || fail "the message stayed unsent"

# --- 500 after the bytes of every PATCH: bounded, then non-zero -----------
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/a.wav")
# The creation that carries the bytes fails once, so they go by PATCH; every
# PATCH is answered 500 once its body has been read.
fault '{"fail":[{"status":500,"count":1,"method":"POST","path":"/v1/uploads"},{"status":500,"count":100000,"method":"PATCH"}]}'
rc=0; timeout 120 "$JIASHU" "${PARENT[@]}" sync >"$SCRATCH/p.out" 2>"$SCRATCH/p.err" || rc=$?
[ "$rc" != 124 ] || fail "the sync was still retrying PATCHes after 120 s"
patches=$(stats "$front" | jq '.methods.PATCH // 0')
echo "PATCHes answered 500: $patches"
[ "$patches" -ge 1 ] || fail "no PATCH was tried: $(stats "$front")"
[ "$patches" -le 10 ] || fail "$patches PATCHes for one message that always fails after its bytes"
[ "$rc" -ne 0 ] || fail "a sync that could not send a message exited 0"
[ "$(wc -l <"$SCRATCH/p.err")" = 1 ] || fail "expected one error line: $(cat "$SCRATCH/p.err")"
fault '{}'
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync after the 500s cleared"

# --- the trace shows headers but never the token --------------------------
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/a.wav")
JIASHU_HTTP_TRACE=1 "$JIASHU" "${PARENT[@]}" sync >/dev/null 2>"$SCRATCH/trace" || fail "traced sync"
grep -q '^> Authorization: Bearer \[redacted\]' "$SCRATCH/trace" || fail "no redacted Authorization line in the trace"
grep -Eiq 'bearer [0-9a-f]{16}' "$SCRATCH/trace" && fail "the trace shows the token"
grep -q '^> POST /v1/uploads' "$SCRATCH/trace" || fail "the trace lost the request lines"

# --- a relay that stops answering: the one-shot sync ends by its deadline --
fault '{"hang":[{}]}'
start=$(date +%s)
rc=0; timeout 60 "$JIASHU" "${CHILD[@]}" sync --deadline 4 >"$SCRATCH/d.out" 2>"$SCRATCH/d.err" || rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" != 124 ] || fail "the one-shot sync was still running after 60 s"
[ "$rc" -ne 0 ] || fail "a sync that got no answer exited 0"
[ "$took" -le 20 ] || fail "a sync with --deadline 4 took $took s"
[ "$(wc -l <"$SCRATCH/d.err")" = 1 ] || fail "expected one error line: $(cat "$SCRATCH/d.err")"
fault '{}'
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "sync after the relay answers again"
