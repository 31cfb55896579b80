#!/bin/bash
# The architecture of docs/architecture.md, held by the tree itself:
# includes point down (layers.py); each program links only what it calls
# (readelf -d); libraries leave the environment and stderr to the programs;
# util/errors.c, which holds every error code as a number,
# agrees with each part's header enum, both ways.
. "$TESTS_DIR/lib.sh"
top=$(cd "$TESTS_DIR/.." && pwd)

"$PYTHON" "$TESTS_DIR/architecture/layers.py" "$top" >"$SCRATCH/layers" ||
  fail "includes against the layers: $(cat "$SCRATCH/layers")"

# needed PROGRAM: the libraries it asks the dynamic loader for.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
needed "$JIASHU_RELAY" >"$SCRATCH/relay.needed"
needed "$JIASHU" >"$SCRATCH/jiashu.needed"
grep -q '^libmicrohttpd' "$SCRATCH/relay.needed" || fail "readelf found no libmicrohttpd in jiashu-relay: wrong program?"
grep -q '^libcurl' "$SCRATCH/jiashu.needed" || fail "readelf found no libcurl in jiashu: wrong program?"
for lib in libopus libogg libspeexdsp libportaudio libasound libncurses libtinfo libcurl libnettle libsodium libSoundTouch libjiashu; do
  grep -q "^$lib" "$SCRATCH/relay.needed" && fail "jiashu-relay links $lib, which no relay code calls: $(tr '\n' ' ' <"$SCRATCH/relay.needed")"
done
grep -q '^libmicrohttpd' "$SCRATCH/jiashu.needed" && fail "jiashu links libmicrohttpd, the relay's server library"
# The parts are static libraries: the relay's code stays out of the client
# when none of the relay library's global functions is in it.
nm -g --defined-only "$BUILD_DIR/net/relay/libjiashu-relay.a" | awk 'NF == 3 && $2 == "T" { print $3 }' | sort -u >"$SCRATCH/relay.symbols"
[ -s "$SCRATCH/relay.symbols" ] || fail "nm found no function in the relay library"
nm "$JIASHU" | awk '$2 ~ /^[Tt]$/ { print $3 }' | sort -u | comm -12 - "$SCRATCH/relay.symbols" >"$SCRATCH/carried"
[ -s "$SCRATCH/carried" ] && fail "jiashu carries relay code: $(head -3 "$SCRATCH/carried" | tr '\n' ' ')"

# Libraries neither read nor change the environment, nor point the
# process's stderr elsewhere: programs decide (main.c of each program, and
# the programs' command files under app/cli). The station redirects fd 2
# only in a child between fork and exec, so it is left out of the fd check.
libraries="app/audio app/station codec store net util"
for dir in $libraries; do [ -d "$top/$dir" ] || fail "no $dir: the library list is out of date"; done
(cd "$top" && grep -rnE '\b(getenv|secure_getenv|setenv|unsetenv|putenv|clearenv)[[:space:]]*\(' \
  --include='*.c' --include='*.cpp' --include='*.h' $libraries | grep -v '^net/relay/main\.c:') >"$SCRATCH/env" &&
  fail "a library touches the environment: $(head -3 "$SCRATCH/env" | tr '\n' ' ')"
(cd "$top" && grep -rnE '\b(dup2|dup3)[[:space:]]*\([^;]*(STDERR_FILENO|, *2 *[,)])|\bfreopen[[:space:]]*\([^;]*stderr|\bclose[[:space:]]*\((STDERR_FILENO|2)\)' \
  --include='*.c' --include='*.cpp' --include='*.h' $(echo "$libraries" | sed 's| app/station||') |
  grep -v '^net/relay/main\.c:') >"$SCRATCH/fd2" &&
  fail "a library points stderr elsewhere: $(head -3 "$SCRATCH/fd2" | tr '\n' ' ')"

# util/errors.c: every {-NNNN, "..."}, /* NAME */ line against NAME in its
# part's header, compiled, and every NAME of the headers present there.
declare -A header=([JC]=codec/codec.h [JS]=store/store.h [AUDIO]=app/audio/audio.h)
sed -n 's/^ *{\(-[0-9]*\), ".*}, *\/\* \([A-Z_]*\) \*\/$/\1 \2/p' "$top/util/errors.c" >"$SCRATCH/table"
[ "$(wc -l <"$SCRATCH/table")" -ge 40 ] || fail "read only $(wc -l <"$SCRATCH/table") codes from util/errors.c"
headers="codec/codec.h store/store.h net/relay/relay.h net/sync/sync.h app/audio/audio.h net/e2e/e2e.h"
{ echo "#include <stdio.h>"; for h in $headers; do echo "#include \"$h\""; done
  echo "int main(void) { int bad = 0;"; } >"$SCRATCH/check.c"
for h in $headers; do
  case $h in
    codec/*) range='^-1[0-9][0-9][0-9] ' ;;
    store/*) range='^-2[0-9][0-9][0-9] ' ;;
    net/relay/*) range='^-30[0-9][0-9] ' ;;
    net/sync/*) range='^-3[1-9][0-9][0-9] ' ;;
    app/audio/*) range='^-4[0-9][0-9][0-9] ' ;;
    net/e2e/*) range='^-5[0-9][0-9][0-9] ' ;;
  esac
  grep -E "$range" "$SCRATCH/table" >"$SCRATCH/part" || fail "util/errors.c has no code for $h"
  for name in $(sed -n 's/^ *\([A-Z]*_ERR_[A-Z_]*\) *=.*/\1/p' "$top/$h"); do
    grep -q " $name\$" "$SCRATCH/part" || fail "$name of $h has no message in util/errors.c, or one outside its part's range"
  done
  while read -r code name; do
    grep -Eq "^ *$name *=" "$top/$h" || fail "util/errors.c gives $code to $name, which $h does not declare"
    echo "  if ($name != $code) { printf(\"util/errors.c says $name is $code; $h says %d\\n\", (int)$name); bad = 1; }"
  done <"$SCRATCH/part" >>"$SCRATCH/check.c"
done
echo "  return bad; }" >>"$SCRATCH/check.c"
"${CC:-cc}" -I"$top" -o "$SCRATCH/check" "$SCRATCH/check.c" 2>"$SCRATCH/cc.err" ||
  fail "the error codes do not compile: $(grep error "$SCRATCH/cc.err" | head -3)"
"$SCRATCH/check" || fail "util/errors.c disagrees with the parts' headers"
echo ok
