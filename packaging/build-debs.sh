#!/bin/sh
# Builds jiashu's Debian packages with debhelper and meson:
#   packaging/build-debs.sh [ARCH] [OUTDIR]
# ARCH is amd64 (the build machine's, by default), arm64 or armhf; OUTDIR
# (default build-deb/ARCH) receives the .deb files and the lintian report.
# The packages are built from a copy of the tree (the files git knows,
# committed or not), so the working tree gains no debian/ folder and no
# build products. Cross builds use packaging/cross/ARCH.ini and a sysroot
# unpacked from ARCH's packages (packaging/cross/sysroot.sh), kept under
# build-cross/ between runs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build_arch=$(dpkg --print-architecture)
arch=${1:-$build_arch}
out=${2:-$top/build-deb/$arch}
version=$(sed -n '1s/.*(\(.*\)).*/\1/p' "$top/packaging/debian/changelog")

rm -rf "$out"
mkdir -p "$out/src"
src=$out/src/jiashu-$version
mkdir -p "$src"
(cd "$top" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - --no-recursion) |
  tar -xf - -C "$src"
cp -r "$top/packaging/debian" "$src/debian"
# The page's bundler and libraries come from npm (install-deps.sh), never
# from the tree: the native build finds them where the tree has them.
[ -d "$top/app/web/node_modules" ] && ln -s "$top/app/web/node_modules" "$src/app/web/node_modules"

set -- -us -uc -b
if [ "$arch" != "$build_arch" ]; then
  sysroot=$("$top/packaging/cross/sysroot.sh" "$arch")
  ini=$out/sysroot.ini
  printf "[constants]\nsysroot = '%s'\n" "$sysroot" >"$ini"
  export JIASHU_SYSROOT_INI="$ini" JIASHU_SYSROOT="$sysroot"
  # The build runs the jiashu it built (the station's prompts are encoded
  # by it): binfmt_misc's qemu finds ARCH's loader and libraries here.
  export QEMU_LD_PREFIX="$sysroot"
  # The build dependencies are in the sysroot, not installed for ARCH; the
  # architecture-independent jiashu-common is the native build's.
  set -- -us -uc -B -a "$arch" -d
fi
echo "build-debs: building $arch packages in $src"
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" nice dpkg-buildpackage "$@" >"$out/build.log" 2>&1) ||
  { tail -40 "$out/build.log" >&2; echo "build-debs: dpkg-buildpackage failed; log in $out/build.log" >&2; exit 1; }
mv "$out/src"/*.deb "$out/src"/*.changes "$out/src"/*.buildinfo "$out/"
rm -rf "$out/src"
ls -l "$out"/*.deb
