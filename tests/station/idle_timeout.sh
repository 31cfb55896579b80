#!/bin/bash
# On a 40x12 screen in Chinese: a family's session ends by itself after the
# idle timeout, and nothing of it stays on the screen; '*' ends it at once.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
FIXTURE=$1
ST=$SCRATCH/station

echo 2468 | "$JIASHU" --home "$ST" station init --relay http://127.0.0.1:9
"$FIXTURE" "$ST" add 4321 >/dev/null
"$FIXTURE" "$ST" add 8765 >/dev/null

sound_devices
screen_start 40 12 env LANG=zh_CN.UTF-8 JIASHU_STATION_IDLE_SECONDS=4 JIASHU_STATION_PIN_DELAY_MS=100 \
  "$JIASHU" --home "$ST" station
screen_wait "输入家庭号码"
screen_keys 2 Enter 8 7 6 5 Enter
screen_wait "1 听新消息"
screen_wait "[2]"
# The small layout keeps every key hint on the screen.
for hint in "2 录音回复" "3 再听一遍" "* 离开"; do
  screen_text | grep -qF "$hint" || { screen_text >&2; fail "'$hint' is missing at 40x12"; }
done
[ "$(screen_text | wc -l)" -le 12 ] || fail "the screen is taller than 12 rows"
[ "$(screen_text | LC_ALL=C.UTF-8 wc -L)" -le 40 ] || fail "a row is wider than 40 columns"

# Idle: back to the start, the family gone from the screen.
screen_wait "输入家庭号码" 12
screen_lacks "[2]" "the last family's number stays on the screen"
screen_lacks "听新消息" "the last family's screen stays visible"

# A half-typed number is forgotten too.
screen_keys 4 5
screen_wait "█"
screen_wait_gone "█" 12

# '*' leaves at once.
screen_keys 1 Enter 4 3 2 1 Enter
screen_wait "[1]"
screen_keys '*'
screen_wait "输入家庭号码" 1
screen_lacks "[1]" "'*' left the family on the screen"
echo ok
