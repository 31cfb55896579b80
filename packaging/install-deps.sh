#!/bin/sh
# Installs everything jiashu needs to build, run and test on Debian 12, as
# root; does nothing that is already done.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

packages="meson ninja-build pkg-config gcc g++ clang libclang-rt-14-dev gettext
  nettle-dev libogg-dev libopus-dev libopusfile-dev libspeexdsp-dev libsqlite3-dev sqlite3
  libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libssl-dev libsodium-dev
  portaudio19-dev libasound2-plugins alsa-utils libncursesw5-dev libsoundtouch-dev
  espeak-ng opus-tools ffmpeg sox libfiu-dev fiu-utils pulseaudio pulseaudio-utils
  jq bc xxd python3 openssl curl wrk nginx libnginx-mod-http-dav-ext tmux iproute2 nftables iptables strace
  chromium fonts-wqy-microhei libpq-dev postgresql haproxy
  debhelper lintian mmdebstrap systemd valgrind
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf
  qemu-user qemu-user-static binfmt-support
  file"

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The ARM builds need no arm64 or armhf package installed here: their
# libraries are unpacked into a sysroot per architecture by
# packaging/cross/sysroot.sh (mmdebstrap, above), because a multiarch
# install moves the amd64 packages in lock-step and stops whenever Debian's
# armhf index lags amd64's. The cross compilers, qemu-user and
# binfmt-support above are all they need from this machine.
# Node.js may come from elsewhere than Debian (it does on some images); only
# ask Debian for it when there is none.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
  echo "install-deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# JavaScript from the npm registry, never committed: the peers the tests use
# (tus-js-client, @tus/server, playwright-core, axe-core) and the parents'
# page's cryptography libraries and bundler (app/web).
for dir in tests/peers app/web; do
  if [ -f "$top/$dir/package.json" ] && [ ! -d "$top/$dir/node_modules" ]; then
    (cd "$top/$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
