#!/bin/bash
# The Debian packages as an administrator meets them: built for amd64 by
# packaging/build-debs.sh, checked by lintian (no error, no warning), then
# installed into a clean Debian 12 chroot made by mmdebstrap from the same
# archive. There: both programs answer --version; the relay runs as its
# system user with the packaged /etc/jiashu/relay.conf and the packaged
# client makes a family through it; removing jiashu-relay keeps the
# database (a reinstalled relay still knows the family); purging leaves
# nothing of the relay behind. The chroot has its own network namespace, so
# the packaged port 8080 collides with nothing.
. "$TESTS_DIR/lib.sh"
top=$(dirname "$TESTS_DIR")
work=$BUILD_DIR/packaging
debs=$work/debs-amd64
mkdir -p "$work"

# --- build and lint ---------------------------------------------------------
# JIASHU_DEBS=DIR tests packages built before instead (a quicker rerun).
if [ -n "${JIASHU_DEBS:-}" ]; then
  debs=$JIASHU_DEBS
else
  "$top/packaging/build-debs.sh" amd64 "$debs" >"$SCRATCH/build.out" 2>&1 ||
    { cat "$SCRATCH/build.out" >&2; fail "the packages did not build"; }
fi
for p in jiashu jiashu-relay jiashu-station jiashu-common; do
  ls "$debs"/${p}_*.deb >/dev/null 2>&1 || fail "no package $p"
done
lintian --fail-on error,warning --tag-display-limit 0 "$debs"/*.changes >"$SCRATCH/lintian" 2>&1 ||
  { cat "$SCRATCH/lintian" >&2; fail "lintian found errors or warnings"; }
if grep -E '^[EW]: ' "$SCRATCH/lintian"; then fail "lintian: errors or warnings above"; fi
echo "lintian: no errors, no warnings ($(grep -c '^[IPN]: ' "$SCRATCH/lintian" || true) notes)"

# --- a clean Debian 12, cached: the base system plus what the packages depend on
deps=$(for d in "$debs"/*.deb; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
  sed 's/[|(].*//; s/ //g' | grep -v '^jiashu' | grep -v '^$' | sort -u | tr '\n' ',')
deps=${deps%,}
mirrors=("deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main")
key=$(printf '%s\n' "$deps" "${mirrors[@]}" | sha256sum | cut -c1-16)
base=$work/bookworm-$key.tar
if [ ! -s "$base" ]; then
  rm -rf "$work"/bookworm-*.tar "$work"/bookworm-*.tar.part
  nice mmdebstrap --variant=minbase --format=tar --include="$deps" bookworm "$base.part" "${mirrors[@]}" \
    >"$SCRATCH/mmdebstrap.log" 2>&1 || { tail -20 "$SCRATCH/mmdebstrap.log" >&2; fail "mmdebstrap"; }
  mv "$base.part" "$base"
fi
root=$SCRATCH/root
mkdir "$root"
tar -xf "$base" -C "$root"
mkdir "$root/debs"
cp "$debs"/jiashu*_*.deb "$root/debs/"
rm -f "$root"/debs/*dbgsym*

# in_root SCRIPT: runs SCRIPT with sh in the chroot, in a mount and network
# namespace of its own (loopback only), with /proc and /dev; the mounts go
# away with the namespace whatever happens.
in_root() {
  unshare --mount --net --pid --fork sh -c '
    set -e
    ip link set lo up 2>/dev/null || true
    mount -t proc proc "$1/proc"
    mount --rbind /dev "$1/dev"
    exec chroot "$1" /bin/sh -ec "$2"' in_root "$root" "$1"
}

# --- install, run, make a family ----------------------------------------------
cat >"$root/run-relay.sh" <<'SH'
# Starts the relay as the packaged service would: its user, its config.
setpriv --reuid=jiashu-relay --regid=jiashu-relay --clear-groups \
  /usr/bin/jiashu-relay --config /etc/jiashu/relay.conf 2>/tmp/relay.log &
i=0
until grep -q 'listening on 127.0.0.1:8080' /tmp/relay.log; do
  i=$((i + 1)); [ $i -lt 200 ] || { cat /tmp/relay.log; exit 1; }
  sleep 0.05
done
SH
in_root '
  dpkg -i /debs/*.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
  jiashu --version
  jiashu-relay --version
  getent passwd jiashu-relay
  id -nG jiashu-station | grep -qw audio
  [ "$(stat -c "%a %U" /var/lib/jiashu-relay)" = "700 jiashu-relay" ]
  [ "$(stat -c "%a %U" /var/lib/jiashu-station)" = "700 jiashu-station" ]
  [ -f /etc/jiashu/relay.conf ]
  # The parents page the relay serves, and the stations spoken prompts.
  [ -s /usr/share/jiashu/web/index.html ] && [ -s /usr/share/jiashu/web/sw.js ]
  [ "$(ls /usr/share/jiashu/prompts | grep -c "^prompt-zh-.*[.]opus$")" -ge 100 ]
  . /run-relay.sh
  jiashu --home /root/dad setup --relay http://127.0.0.1:8080 --name dad >/dev/null
  code=$(jiashu --home /root/dad family create)
  jiashu --home /root/ma setup --relay http://127.0.0.1:8080 --name grandma >/dev/null
  jiashu --home /root/ma family join "$code" >/dev/null
  # Pairing ends with a sync of the inviter, then of the joiner.
  jiashu --home /root/dad sync >/dev/null
  jiashu --home /root/ma sync >/dev/null
  jiashu --home /root/dad family >/family.txt
  kill -TERM $!; wait $! || true
  [ "$(stat -c %U /var/lib/jiashu-relay/relay.db)" = jiashu-relay ]
' >"$SCRATCH/install.out" 2>&1 || { cat "$SCRATCH/install.out" >&2; fail "install and first run in the chroot"; }
cat "$SCRATCH/install.out"
grep -q '^jiashu 0\.' "$SCRATCH/install.out" || fail "jiashu --version"
grep -q '^jiashu-relay 0\.' "$SCRATCH/install.out" || fail "jiashu-relay --version"
grep -q '^grandma' "$root/family.txt" || fail "the family made through the packaged relay: $(cat "$root/family.txt")"

# --- remove keeps the data; a reinstalled relay still knows the family ---------
in_root '
  dpkg -r jiashu-relay >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
  [ ! -e /usr/bin/jiashu-relay ]
  [ -s /var/lib/jiashu-relay/relay.db ]
  [ -f /etc/jiashu/relay.conf ]
  getent passwd jiashu-relay >/dev/null
  dpkg -i /debs/jiashu-relay_*.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
  . /run-relay.sh
  jiashu --home /root/ma family >/family-again.txt
  kill -TERM $!; wait $! || true
' >"$SCRATCH/remove.out" 2>&1 || { cat "$SCRATCH/remove.out" >&2; fail "remove and reinstall"; }
grep -q '^dad' "$root/family-again.txt" || fail "the family after remove and reinstall: $(cat "$root/family-again.txt")"

# --- purge leaves nothing of the relay ----------------------------------------
in_root '
  dpkg -L jiashu-common >/tmp/common.list
  dpkg --purge jiashu-station jiashu-relay >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
  for f in /var/lib/jiashu-relay /etc/jiashu /var/lib/jiashu-station; do
    [ ! -e "$f" ] || { echo "left after purge: $f"; exit 1; }
  done
  if grep -E "^jiashu-(relay|station):" /etc/passwd /etc/group /etc/shadow /etc/gshadow; then
    echo "a system user or group left after purge"; exit 1
  fi
  left=$(find / -xdev \( -name "*jiashu-relay*" -o -name "*jiashu-station*" \) -not -path "/debs/*" -not -path "/run-relay.sh" |
    grep -vxF -f /tmp/common.list || true)
  [ -z "$left" ] || { echo "left after purge:"; echo "$left"; exit 1; }
  dpkg --purge jiashu jiashu-common >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
  # /root holds the client homes of this test: user data, not the packages.
  left=$(find / -xdev -name "*jiashu*" -not -path "/debs/*" -not -path "/run-relay.sh" -not -path "/root/*")
  [ -z "$left" ] || { echo "left after purging everything:"; echo "$left"; exit 1; }
' >"$SCRATCH/purge.out" 2>&1 || { cat "$SCRATCH/purge.out" >&2; fail "purge"; }
echo "packages: built, lint-clean, installed, run, removed with data kept, purged clean"
