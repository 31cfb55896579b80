#!/bin/bash
# Home mode against a real relay and the virtual sound card: a parent sends two voice notes; the
# grandparent's station fetches them in the background, plays both with one
# key, and records a reply with another; the reply reaches the parent, and
# the parent learns the notes were heard.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/relay_lib.sh"
. "$TESTS_DIR/station/sound_devices.sh"
need_sync
start_station_relay
P=$SCRATCH/parent
G=$SCRATCH/grandma

"$JIASHU" --home "$P" setup --relay "$RELAY_URL" --name Papa >/dev/null
"$JIASHU" --home "$P" family create >"$SCRATCH/create.out"
code=$(grep -Eo '[0-9]{4,}' "$SCRATCH/create.out" | tail -1)
[ -n "$code" ] || fail "family create printed no invite code"
"$JIASHU" --home "$G" setup --relay "$RELAY_URL" --name Nainai >/dev/null
"$JIASHU" --home "$G" family join "$code" >/dev/null

speech "$SCRATCH/a.wav" 16000 "妈妈，我是小明的爸爸，今天下班早。"
speech "$SCRATCH/b.wav" 16000 "过年我们就回家了。"
speech "$SCRATCH/reply.wav" 16000 "收到了，家里都好，放心吧，你们也要注意身体。"
"$JIASHU" --home "$P" record --input "$SCRATCH/a.wav" >/dev/null
sleep 0.01
"$JIASHU" --home "$P" record --input "$SCRATCH/b.wav" >/dev/null
"$JIASHU" --home "$P" sync >/dev/null

sound_devices
live_microphone
screen_start 40 12 env LANG=zh_CN.UTF-8 JIASHU_STATION_SYNC_SECONDS=1 "$JIASHU" --home "$G" station
screen_wait "2 条新消息" 60
before=$(speaker_bytes)
screen_keys 1
screen_wait "正在播放"
screen_wait "没有新消息" 60
heard=$(($(speaker_bytes) - before))
need=$(( ($(soxi -s "$SCRATCH/a.wav") + $(soxi -s "$SCRATCH/b.wav")) * 2 * 9 / 10 ))
[ "$heard" -ge "$need" ] || fail "the speaker got $heard bytes, the two messages need $need"
[ "$("$JIASHU" --home "$G" inbox --json | grep -c '"state": "played"')" = 2 ] ||
  fail "the two messages are not marked played"

screen_keys 2
screen_wait "正在录音" 20
mic_says "$SCRATCH/reply.wav"
screen_keys Enter
screen_wait "回复还没有发出" 20
screen_keys 3
screen_wait "1 听新消息" 20
# The background sync sends it; the parent receives it.
wait_for_state "$G" outbox "sent|delivered|played" 60
SYNC=1 wait_for_state "$P" inbox "ready" 60
"$JIASHU" --home "$P" play --next --output "$SCRATCH/heard.wav" >/dev/null
d=$(soxi -D "$SCRATCH/heard.wav")
awk -v d="$d" 'BEGIN { exit !(d > 2.0) }' || fail "the reply the parent heard lasts only ${d}s"
rms=$(sox "$SCRATCH/heard.wav" -n trim 0 3 stat 2>&1 | awk '/RMS +amplitude/ { print $3 }')
awk -v r="$rms" 'BEGIN { exit !(r > 0.01) }' || fail "the reply the parent heard is silent (RMS $rms)"
# And the parent learns its notes were heard.
SYNC=1 wait_for_state "$P" outbox "played" 60
echo ok
