#!/bin/bash
# packaging/nginx/nginx-relay.conf, the configuration the operator's guide
# gives, in front of a relay: only its ports, name, certificate paths and
# the relay's port are changed (and its IPv6 listens dropped). Through it,
# over TLS with a self-signed certificate: a family is made, a letter
# uploaded with tus and downloaded byte for byte, and a long poll that
# waits its whole --max-wait is answered by the relay, not cut by nginx.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"
conf=$(dirname "$TESTS_DIR")/packaging/nginx/nginx-relay.conf
ng=$SCRATCH/nginx
mkdir -p "$ng/tmp"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_relay behind --max-wait 4s
relay_port=$PORT
https_port=$(free_port); http_port=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$ng/key.pem" -out "$ng/cert.pem" 2>/dev/null
sed -e "s|listen 443 |listen 127.0.0.1:$https_port |; s|listen 80;|listen 127.0.0.1:$http_port;|" \
    -e '/listen \[::\]/d' -e "s|server 127.0.0.1:8080;|server 127.0.0.1:$relay_port;|" \
    -e "s|/etc/letsencrypt/live/relay.example.org/fullchain.pem|$ng/cert.pem|" \
    -e "s|/etc/letsencrypt/live/relay.example.org/privkey.pem|$ng/key.pem|" "$conf" >"$ng/site.conf"
grep -q "proxy_read_timeout" "$ng/site.conf" || fail "the configuration lost its proxy_read_timeout"
cat >"$ng/nginx.conf" <<CONF
worker_processes 1;
error_log $ng/error.log;
pid $ng/nginx.pid;
events { worker_connections 64; }
http {
  access_log $ng/access.log;
  client_body_temp_path $ng/tmp/body;
  proxy_temp_path $ng/tmp/proxy;
  fastcgi_temp_path $ng/tmp/fastcgi;
  uwsgi_temp_path $ng/tmp/uwsgi;
  scgi_temp_path $ng/tmp/scgi;
  include $ng/site.conf;
}
CONF
nginx -t -q -p "$ng" -c "$ng/nginx.conf" 2>"$ng/t.log" || { cat "$ng/t.log" >&2; fail "nginx -t"; }
nginx -p "$ng" -c "$ng/nginx.conf" -g 'daemon off;' 2>>"$ng/error.log" &
NGINX_PID=$!
trap 'kill -QUIT $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rc=$?; stop_relays || rc=1; cleanup_scratch' EXIT
export CURL_CA_BUNDLE=$ng/cert.pem
BASE=https://127.0.0.1:$https_port
for i in $(seq 100); do
  curl -s -o /dev/null "$BASE/" && break
  kill -0 "$NGINX_PID" 2>/dev/null || { cat "$ng/error.log" >&2; fail "nginx did not start"; }
  sleep 0.05
done

# Plain HTTP is sent to HTTPS.
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/v1/inbox")
[ "$STATUS" = 301 ] || fail "plain HTTP: status $STATUS, expected a redirect"

req GET /healthz
expect_status "the health check through nginx" 200

new_family dad; DAD=$TOKEN
join "$CODE" grandma; MA=$TOKEN MA_ID=$DEVICE
head -c 100000 /dev/urandom >"$SCRATCH/audio"
send "$DAD" "$MA_ID" "$SCRATCH/audio"
as "$MA" GET "/v1/messages/$MSG"
expect_status "the letter through nginx" 200
cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "the letter's bytes through nginx"

# A long poll for the relay's whole --max-wait (4 s here, 60 s by default):
# answered by the relay (200), not by nginx (504) however long it waits.
as "$MA" GET /v1/inbox
CUR=$(json .cursor)
T0=$(date +%s%N)
as "$MA" GET "/v1/inbox?after=$CUR&wait=4"
expect_status "a long poll through nginx" 200
ms=$((($(date +%s%N) - T0) / 1000000))
[ "$ms" -ge 3500 ] || fail "the long poll came back after $ms ms, before its wait"
echo "nginx in front: redirect, family, tus upload, download and a ${ms} ms long poll all through TLS"
