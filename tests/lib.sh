# Helpers for the shell tests. Source it; it sets -eu and a scratch dir.
set -eu

: "${JIASHU:?run through meson test}"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/jiashu-test.XXXXXX")
cleanup_scratch() { rm -rf "$SCRATCH"; }
trap cleanup_scratch EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_until SECONDS WHAT CMD...: runs CMD every 0.05 s until it succeeds;
# if it has not by SECONDS of wall time (not of tries: a loaded machine
# stretches each try), fails with WHAT, which says what did not happen.
wait_until() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((${EPOCHREALTIME//[.,]/} + seconds * 1000000))
  until "$@"; do
    [ "${EPOCHREALTIME//[.,]/}" -lt "$deadline" ] || fail "$what (waited ${seconds}s)"
    sleep 0.05
  done
}

# expect_clean_error WHAT CMD...: the command must exit non-zero by itself
# (not by a signal), and say exactly one line on stderr.
expect_clean_error() {
  local what=$1; shift
  local rc=0
  "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  [ "$rc" -ne 0 ] || fail "$what: succeeded but should have failed"
  [ "$rc" -lt 128 ] || fail "$what: died by signal $((rc - 128))"
  local lines
  lines=$(wc -l <"$SCRATCH/err")
  [ "$lines" -eq 1 ] || { cat "$SCRATCH/err" >&2; fail "$what: expected one line on stderr, got $lines"; }
  LAST_ERROR=$(cat "$SCRATCH/err")
}

# expect_error_matching WHAT REGEX CMD...: expect_clean_error whose line matches REGEX.
expect_error_matching() {
  local what=$1 regex=$2; shift 2
  expect_clean_error "$what" "$@"
  echo "$LAST_ERROR" | grep -Eiq -- "$regex" || fail "$what: error '$LAST_ERROR' does not match /$regex/"
}

# speech FILE.wav [RATE] [TEXT]: synthesised Mandarin speech, resampled with sox.
speech() {
  local out=$1 rate=${2:-16000} text=${3:-"今天工厂下班早，我给你们录一段话。奶奶身体好吗？宝贝要听话，好好学习，过年爸爸妈妈就回家了。"}
  espeak-ng -v cmn -s 150 -w "$SCRATCH/espeak.wav" "$text" 2>/dev/null
  sox -q "$SCRATCH/espeak.wav" -r "$rate" -c 1 -b 16 "$out"
}

# Debian's own python3 when there is one: a version manager's shim found
# first on PATH can take seconds to start.
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

# check_schema NAME FILE [--lines]: FILE (one document, or one per line)
# follows docs/schema/NAME.schema.json.
check_schema() {
  "$PYTHON" "$TESTS_DIR/json_schema.py" "$TESTS_DIR/../docs/schema/$1.schema.json" ${3:+"$3"} "$2" >"$SCRATCH/schema.err" ||
    fail "$2 does not follow docs/schema/$1.schema.json: $(head -5 "$SCRATCH/schema.err")"
}
