#!/bin/bash
# The packaged systemd units: `systemd-analyze verify` says nothing about
# them (it exits 0 even on an unknown value, so any line it prints fails),
# the relay's unit carries the hardening the packaging promises, and the
# exposure `systemd-analyze security` gives each unit stays under its bound.
. "$TESTS_DIR/lib.sh"
units=$(dirname "$TESTS_DIR")/packaging/systemd
mkdir "$SCRATCH/units"
# The programs of this build stand in for the installed /usr/bin ones.
for f in "$units"/*.service; do
  sed -e "s|/usr/bin/jiashu-relay|$JIASHU_RELAY|" -e "s|/usr/bin/jiashu |$JIASHU |" "$f" \
    >"$SCRATCH/units/$(basename "$f")"
done
cd "$SCRATCH/units"
names=(jiashu-relay.service jiashu-station@tty1.service jiashu-sync@alice.service)
systemd-analyze verify --man=no "${names[@]/#/./}" >"$SCRATCH/verify" 2>&1 || true
[ ! -s "$SCRATCH/verify" ] || { cat "$SCRATCH/verify" >&2; fail "systemd-analyze verify complained"; }

relay=jiashu-relay.service
for want in 'User=jiashu-relay' 'StateDirectory=jiashu-relay' 'Restart=on-failure' \
    'ExecStart=.* --config /etc/jiashu/relay.conf$' 'ProtectSystem=strict' 'ProtectHome=yes' \
    'PrivateTmp=yes' 'NoNewPrivileges=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$' \
    'SystemCallFilter=@system-service$' 'MemoryDenyWriteExecute=yes' 'CapabilityBoundingSet=$'; do
  grep -Eq "^$want" "$relay" || fail "$relay lacks $want"
done
station=jiashu-station@tty1.service
for want in 'User=jiashu-station' 'SupplementaryGroups=audio' 'Restart=always' 'TTYPath=/dev/%I' \
    'Conflicts=getty@%i.service' 'NoNewPrivileges=yes' 'ProtectSystem=strict'; do
  grep -Eq "^$want" jiashu-station@.service || fail "the station unit lacks $want"
done

# exposure bounds (0 = locked down, 10 = none): measured 1.2, 1.7, 1.6
declare -A bound=([jiashu-relay.service]=1.5 [jiashu-station@tty1.service]=2.0 [jiashu-sync@alice.service]=2.0)
for u in "${names[@]}"; do
  systemd-analyze security --offline=yes --no-pager "./$u" >"$SCRATCH/security" 2>&1 || true
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$SCRATCH/security")
  [ -n "$score" ] || { cat "$SCRATCH/security" >&2; fail "no exposure level for $u"; }
  echo "$u: exposure $score (bound ${bound[$u]})"
  awk -v s="$score" -v b="${bound[$u]}" 'BEGIN { exit !(s <= b) }' || fail "$u: exposure $score over ${bound[$u]}"
done
