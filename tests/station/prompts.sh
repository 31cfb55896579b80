#!/bin/bash
# Every screen, refusal and notice of the station is spoken, from the
# prompts the build made (espeak-ng, encoded by `jiashu encode`): Mandarin
# when the station is Chinese, English otherwise. The station's sound trace
# says what was asked for ("say ...") and how each prompt ended on the
# (virtual) speaker ("spoke ..." or "cut ..."): a key cuts a prompt short, a
# letter that arrives is announced at once, the end of the new letters says
# so, the teacher turns prompts off, and a missing prompt falls back to its
# earcon.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
FIXTURE=$1
ST=$SCRATCH/station
AUDIO=$SCRATCH/audio
TRACE=$SCRATCH/trace
mkdir -p "$AUDIO"

echo 2468 | "$JIASHU" --home "$ST" station init --relay http://127.0.0.1:9
[ "$("$FIXTURE" "$ST" add 1111)" = 1 ] || fail "first family is not 1"
speech "$SCRATCH/a.wav" 16000 "奶奶好，我是爸爸。"
"$JIASHU" --home "$SCRATCH/tools" encode "$SCRATCH/a.wav" "$SCRATCH/a.opus"
"$FIXTURE" "$ST/families/1" deliver "$SCRATCH/a.opus" papa >/dev/null
sleep 0.01
"$FIXTURE" "$ST/families/1" deliver "$SCRATCH/a.opus" mama >/dev/null

run_station() { # LANG, then more environment
  local lang=$1; shift
  rm -f "$TRACE"
  screen_start 80 24 env LANG="$lang" JIASHU_STATION_AUDIO_DIR="$AUDIO" JIASHU_STATION_TRACE="$TRACE" \
    JIASHU_STATION_PIN_DELAY_MS=2000 JIASHU_STATION_SYNC_SECONDS=3600 JIASHU_STATION_IDLE_SECONDS=120 \
    "$@" "$JIASHU" --home "$ST" station
}

sound_devices
run_station zh_CN.UTF-8
screen_wait "输入家庭号码"
trace_wait "say zh start"
# The start prompt is long: once the speaker has it, a key cuts it short.
speaker_grows_by 16000 20 || fail "the start prompt did not reach the speaker"
screen_keys 1
trace_wait "cut zh start" 20
screen_keys Enter
trace_wait "say zh pin 1"
# Let this one play to its end, through the speaker.
trace_wait "spoke zh pin 1" 30
screen_keys 9 9 9 9 Enter
trace_wait "say zh refused 2"
screen_keys 5
trace_wait "say zh wait 2" 5
screen_wait "输入家庭号码" 20
screen_keys 1 Enter 1 1 1 1 Enter
screen_wait "2 条新消息"
trace_wait "say zh home-count 2"
screen_keys 9
trace_wait "say zh key-refused"
# A letter that arrives while the home screen shows is announced at once.
"$FIXTURE" "$ST/families/1" deliver "$SCRATCH/a.opus" papa >/dev/null
screen_wait "3 条新消息" 20
trace_wait "say zh arrived 3"
screen_keys 1
screen_wait "正在播放"
screen_wait "没有新消息" 60
trace_wait "say zh all-done"
screen_keys 3
screen_wait "没有新消息" 30
screen_keys '*'
screen_wait "输入家庭号码"
# The teacher's screens, and the teacher turns the prompts off.
screen_keys '*'
trace_wait "say zh teacher-pin"
screen_keys 2 4 6 8 Enter
trace_wait "say zh teacher-menu"
screen_keys 2
trace_wait "say zh teacher-list 1"
screen_keys '*' 5
trace_wait "say zh voice"
screen_keys 0
# "Saved" is still said; what follows is not.
trace_wait "say zh saved"
trace_wait "say zh teacher-menu off"
# Every prompt asked for was found (none fell back to an earcon).
trace_lacks " missing$" "a prompt the build should have made is missing"
# And every one of them was really made, in both languages.
PROMPTS_DIR=$BUILD_DIR/app/station/prompts
for id in $(grep '^say ' "$TRACE" | awk '{print $3}' | sort -u); do
  for lang in en zh; do
    [ -s "$PROMPTS_DIR/prompt-$lang-$id.opus" ] || [ -e "$PROMPTS_DIR/prompt-$lang-$id.a.opus" ] ||
      fail "no $lang prompt for $id in $PROMPTS_DIR"
  done
done
screen_stop

# Off stays off after a restart; back on at normal speed.
run_station zh_CN.UTF-8
screen_wait "输入家庭号码"
trace_wait "say zh start off"
screen_keys '*' 2 4 6 8 Enter 5 2
trace_wait "say zh teacher-menu"
screen_stop

# English when the station is not Chinese.
run_station C
screen_wait "Type your family number"
trace_wait "say en start"
trace_wait "spoke en start" 30
screen_stop

# A missing prompt falls back to its earcon.
run_station C JIASHU_PROMPTS_DIR="$SCRATCH/none"
screen_wait "Type your family number"
trace_wait "say en start missing"
screen_keys 1 Enter 1 1 1 Enter
trace_wait "say en key-refused missing"
grep -qx "earcon error" "$TRACE" || fail "the missing refusal prompt did not fall back to its earcon"
echo ok
