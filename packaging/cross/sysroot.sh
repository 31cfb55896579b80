#!/bin/sh
# Prints the path of a sysroot for ARCH (arm64 or armhf), making it first
# if needed: the -dev packages jiashu builds against, and their
# dependencies, downloaded for ARCH and unpacked by mmdebstrap (variant
# "extract": nothing is configured, no maintainer script runs), plus a dpkg
# database of them so that dpkg-shlibdeps can compute a package's Depends.
# Nothing of ARCH is installed on this machine: a multiarch install moves
# the amd64 packages in lock-step and stops whenever Debian's ARCH index
# lags amd64's (armhf's security index often does).
#   packaging/cross/sysroot.sh ARCH [DIR]     (DIR: build-cross/sysroot-ARCH)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
arch=$1
dir=${2:-$top/build-cross/sysroot-$arch}
packages="libc6-dev libstdc++-12-dev libogg-dev libopus-dev libopusfile-dev libspeexdsp-dev
  libsqlite3-dev libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libssl-dev libsodium-dev libpq-dev
  portaudio19-dev libasound2-dev libasound2-plugins libncurses-dev libsoundtouch-dev"
key=$(echo "$arch $packages" | sha256sum | cut -c1-16)
if ! [ -f "$dir/.jiashu-sysroot" ] || [ "$(cat "$dir/.jiashu-sysroot")" != "$key" ]; then
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
include=$(echo $packages | tr ' ' ',')
main="deb http://deb.debian.org/debian bookworm main"
updates="deb http://deb.debian.org/debian bookworm-updates main"
security="deb http://deb.debian.org/debian-security bookworm-security main"
log=$dir.log
# With the security updates when ARCH's index is in step, else without:
# the sysroot is only built against, and the board gets its updates from
# its own apt.
if ! nice mmdebstrap --variant=extract --arch="$arch" --include="$include" \
    --skip=cleanup/apt/cache --format=directory bookworm "$dir" "$main" "$updates" "$security" >"$log" 2>&1; then
  echo "sysroot: $arch with security updates failed (index lag?); without them" >&2
  rm -rf "$dir"
  nice mmdebstrap --variant=extract --arch="$arch" --include="$include" \
    --skip=cleanup/apt/cache --format=directory bookworm "$dir" "$main" "$updates" >"$log" 2>&1 ||
    { tail -20 "$log" >&2; echo "sysroot: mmdebstrap failed; log in $log" >&2; exit 1; }
fi
echo "$key" >"$dir/.jiashu-sysroot"
fi

# A dpkg database of what was unpacked (status, file lists, shlibs and
# symbols files): dpkg-shlibdeps --admindir reads it to find which package
# and version provides each library. It serves only that (the package
# builds); dpkg never installs into this folder. Made once per sysroot;
# SYSROOT_DPKG_DB=no leaves it out (the test builds need none, and listing
# two hundred packages' files takes minutes on a busy machine).
admin=$dir/var/lib/dpkg
if [ "${SYSROOT_DPKG_DB:-yes}" != no ] && ! [ -f "$admin/.jiashu-db" ]; then
rm -rf "$admin"
mkdir -p "$admin/info" "$admin/updates"
: >"$admin/status"
ctl=$(mktemp -d)
for deb in "$dir"/var/cache/apt/archives/*.deb; do
  rm -rf "$ctl"/*
  dpkg-deb -e "$deb" "$ctl"
  name=$(sed -n 's/^Package: //p' "$ctl/control")
  multi=$(sed -n 's/^Multi-Arch: //p' "$ctl/control")
  pkgarch=$(sed -n 's/^Architecture: //p' "$ctl/control")
  entry=$name
  if [ "$multi" = same ]; then entry=$name:$pkgarch; fi
  { sed '/^Package:/a Status: install ok installed' "$ctl/control"; echo; } >>"$admin/status"
  # Paths carry the sysroot's own prefix: dpkg-shlibdeps asks for the
  # libraries where it found them, under the sysroot.
  dpkg-deb -c "$deb" | awk -v root="$dir" '{ p = $6; sub(/^\./, "", p); sub(/\/$/, "", p); print root p }' \
    >"$admin/info/$entry.list"
  for f in shlibs symbols; do
    if [ -f "$ctl/$f" ]; then cp "$ctl/$f" "$admin/info/$entry.$f"; fi
  done
done
rm -rf "$ctl"
: >"$admin/.jiashu-db"
fi
echo "$dir"
