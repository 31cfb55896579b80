# The tmux harness for the keypad screen. Source it after tests/lib.sh.
#
#   screen_start COLS ROWS CMD...  runs CMD in a detached tmux session of
#                                  that size, on a server of this test's own
#   screen_keys KEY...             tmux send-keys (Enter, BSpace, 1, '*', ...)
#   screen_text                    the screen as text (capture-pane -p)
#   screen_wait TEXT [SECONDS]     waits until TEXT is on the screen
#   screen_wait_gone TEXT [SECONDS] waits until it is not
#   screen_stop                    ends the session and the program in it
TMUX_SOCKET="$SCRATCH/tmux.sock"
# The station opens the sound card for its earcons: in the sanitizer build,
# what PortAudio and alsa-lib leak is theirs (the audio tests' list).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$TESTS_DIR/audio/lsan.supp:print_suppressions=0}"
TMUX_SESSION=station

SCREEN_PID=""
screen_stop() {
  local i
  tmux -S "$TMUX_SOCKET" kill-server 2>/dev/null || true
  # The station ends on the hang-up, stopping its children first; wait for
  # it, so nothing still writes into the scratch directory afterwards.
  if [ -n "$SCREEN_PID" ]; then
    for i in $(seq 100); do
      kill -0 "$SCREEN_PID" 2>/dev/null || break
      sleep 0.1
    done
    SCREEN_PID=""
  fi
  # Until the server is gone, a new session could land on the dying one.
  for i in $(seq 50); do
    tmux -S "$TMUX_SOCKET" has-session 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$TMUX_SOCKET"
}

cleanup_screen() {
  screen_stop
  cleanup_scratch
}
trap cleanup_screen EXIT

screen_start() {
  local cols=$1 rows=$2; shift 2
  local cmd="" arg
  for arg in "$@"; do cmd="$cmd $(printf '%q' "$arg")"; done
  # The program's stderr goes to a file, so a failure says why.
  # remain-on-exit from the start, so a program that ends at once still
  # leaves its last screen to read.
  echo "set -g remain-on-exit on" >"$SCRATCH/tmux.conf"
  tmux -S "$TMUX_SOCKET" -f "$SCRATCH/tmux.conf" new-session -d -s "$TMUX_SESSION" \
    -x "$cols" -y "$rows" "exec $cmd 2>>$(printf '%q' "$SCRATCH/screen.stderr")" ||
    fail "tmux did not start"
  SCREEN_PID=$(tmux -S "$TMUX_SOCKET" display-message -p -t "$TMUX_SESSION" '#{pane_pid}')
}

screen_keys() {
  tmux -S "$TMUX_SOCKET" send-keys -t "$TMUX_SESSION" "$@"
}

screen_text() {
  tmux -S "$TMUX_SOCKET" capture-pane -p -t "$TMUX_SESSION"
}

# The program ended (remain-on-exit keeps the pane to say so).
screen_dead() {
  [ "$(tmux -S "$TMUX_SOCKET" display-message -p -t "$TMUX_SESSION" '#{pane_dead}')" = 1 ]
}

screen_wait() {
  local text=$1 timeout=${2:-10} waited=0
  while ! screen_text | grep -qF -- "$text"; do
    if screen_dead; then
      screen_text >&2; cat "$SCRATCH/screen.stderr" >&2 2>/dev/null || true
      fail "the station ended while waiting for '$text'"
    fi
    if [ "$waited" -ge $((timeout * 10)) ]; then
      echo "--- screen:" >&2; screen_text >&2
      echo "--- the station's stderr:" >&2; cat "$SCRATCH/screen.stderr" >&2 2>/dev/null || true
      fail "'$text' did not appear within ${timeout}s"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# screen_wait_both A B [SECONDS]: waits until A and B are on one screen.
screen_wait_both() {
  local a=$1 b=$2 timeout=${3:-10} waited=0 text
  while :; do
    text=$(screen_text)
    if echo "$text" | grep -qF -- "$a" && echo "$text" | grep -qF -- "$b"; then
      return 0
    fi
    if [ "$waited" -ge $((timeout * 10)) ]; then
      echo "--- screen:" >&2; echo "$text" >&2
      fail "'$a' and '$b' did not appear together within ${timeout}s"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

screen_wait_gone() {
  local text=$1 timeout=${2:-10} waited=0
  while screen_text | grep -qF -- "$text"; do
    if [ "$waited" -ge $((timeout * 10)) ]; then
      echo "--- screen:" >&2; screen_text >&2
      fail "'$text' stayed on the screen for ${timeout}s"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# screen_lacks TEXT WHAT: TEXT must not be on the screen now.
screen_lacks() {
  if screen_text | grep -qF -- "$1"; then
    echo "--- screen:" >&2; screen_text >&2
    fail "$2"
  fi
}

# The station's sound trace ($TRACE, JIASHU_STATION_TRACE):
# trace_wait LINE [SECONDS]: waits until the trace holds LINE (a whole line).
# trace_lacks REGEX WHY: fails with WHY if a line of the trace matches REGEX.
trace_wait() {
  echo "[$SECONDS] trace_wait $1" >&2
  local line=$1 timeout=${2:-10} waited=0
  while ! grep -qxF -- "$line" "$TRACE" 2>/dev/null; do
    if [ "$waited" -ge $((timeout * 10)) ]; then
      echo "--- trace:" >&2; cat "$TRACE" >&2 2>/dev/null || true
      echo "--- screen:" >&2; screen_text >&2
      fail "the trace did not say '$line' within ${timeout}s"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}
trace_lacks() {
  if grep -qE -- "$1" "$TRACE" 2>/dev/null; then
    cat "$TRACE" >&2
    fail "$2"
  fi
}
