#!/bin/bash
# Behind a trusted reverse proxy each client has its own per-address
# bucket (the address the proxy names); anyone else's Forwarded headers are
# ignored; and malformed join attempts spend no relay-wide budget, so a
# right code from someone else still gets in.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

start_relay proxy --trusted-proxy 127.0.0.9,::1
from() { local src=$1; shift; req "$@" --interface "$src"; }
create_from() {  # SOURCE CLIENT-HEADER...
  local src=$1; shift
  from "$src" POST /v1/families -H 'Content-Type: application/json' -d '{"name":"x"}' "$@"
}

# --- per-address limits behind the proxy (join_burst 5) -------------------
for i in 1 2 3 4 5; do
  create_from 127.0.0.9 -H 'X-Forwarded-For: 198.51.100.7, 203.0.113.1'
  expect_status "client 203.0.113.1 through the proxy, creation $i" 201
done
create_from 127.0.0.9 -H 'X-Forwarded-For: 203.0.113.1'
expect_error "client 203.0.113.1 past its burst" 429 rate_limited
create_from 127.0.0.9 -H 'X-Forwarded-For: 203.0.113.2'
expect_status "another client through the same proxy" 201
create_from 127.0.0.9 -H 'Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"'
expect_status "a client named by Forwarded" 201
# Not a trusted proxy: its headers are ignored, its own address counts.
for i in 1 2 3 4 5; do
  create_from 127.0.0.4 -H "X-Forwarded-For: 203.0.113.$((100 + i))"
  expect_status "untrusted 127.0.0.4, creation $i" 201
done
create_from 127.0.0.4 -H 'X-Forwarded-For: 203.0.113.200'
expect_error "untrusted 127.0.0.4 choosing a new X-Forwarded-For" 429 rate_limited
create_from 127.0.0.4 -H 'Forwarded: for=203.0.113.201'
expect_error "untrusted 127.0.0.4 choosing a new Forwarded" 429 rate_limited
stop_relays

# --- malformed joins and the relay-wide bucket (30) -----------------------
start_relay joins --join-burst 1000 --join-rate 1000 --join-rate-global 0.01
new_family dad; INVITE=$CODE
for i in $(seq 40); do
  from 127.0.0.5 POST /v1/join -H 'Content-Type: application/json' -d '{"code":"12'
  expect_error "malformed join $i" 400 malformed
done
from 127.0.0.6 POST /v1/join -H 'Content-Type: application/json' -d "{\"code\":\"$INVITE\",\"name\":\"ma\"}"
expect_status "a right code after 40 malformed attempts from another address" 201
# Well-formed wrong codes do spend it (30, then one every 100 s here).
limited=0
for i in $(seq 60); do
  from 127.0.0.5 POST /v1/join -H 'Content-Type: application/json' -d "{\"code\":\"$(printf '%010d' "$i")\",\"name\":\"g\"}"
  [ "$STATUS" = 429 ] && { limited=$i; break; }
  expect_error "wrong code $i" 404 not_found
done
[ "$limited" -gt 0 ] || fail "60 wrong codes never met the relay-wide bucket"
relay_alive joins
