#!/bin/bash
# Two families on one station, each with its own home: each sees its own
# count, hears only its own messages (oldest first), replays its own last
# one, and its reply lands in its own outbox. Sound goes through files (the
# edge this test is not about); the stores and the commands run for real.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
FIXTURE=$1
ST=$SCRATCH/station
AUDIO=$SCRATCH/audio
mkdir -p "$AUDIO"

echo 2468 | "$JIASHU" --home "$ST" station init --relay http://127.0.0.1:9
[ "$("$FIXTURE" "$ST" add 1111)" = 1 ] || fail "first family is not 1"
[ "$("$FIXTURE" "$ST" add 2222)" = 2 ] || fail "second family is not 2"

speech "$SCRATCH/a.wav" 16000 "奶奶好，我是爸爸。"
speech "$SCRATCH/b.wav" 16000 "宝贝要听话，好好学习。"
speech "$SCRATCH/c.wav" 16000 "这是王家的消息。"
speech "$AUDIO/reply.wav" 16000 "收到了，谢谢爸爸妈妈。"
for n in a b c; do
  "$JIASHU" --home "$SCRATCH/tools" encode "$SCRATCH/$n.wav" "$SCRATCH/$n.opus"
  # As the station's player makes it (brought to the playback loudness),
  # from a home of its own.
  id=$("$FIXTURE" "$SCRATCH/ref-$n" deliver "$SCRATCH/$n.opus" ref)
  "$JIASHU" --home "$SCRATCH/ref-$n" play "$id" --output "$SCRATCH/$n.dec.wav" >/dev/null
done
"$FIXTURE" "$ST/families/1" deliver "$SCRATCH/a.opus" papa >/dev/null
sleep 0.01
"$FIXTURE" "$ST/families/1" deliver "$SCRATCH/b.opus" mama >/dev/null
"$FIXTURE" "$ST/families/2" deliver "$SCRATCH/c.opus" wang >/dev/null

# same_audio A B: the two WAV files hold the same samples.
same_audio() {
  [ "$(sox "$1" -t raw - | sha256sum)" = "$(sox "$2" -t raw - | sha256sum)" ]
}
states() { "$JIASHU" --home "$1" "$2" --json | grep -o '"state": "[a-z]*"' | cut -d'"' -f4 | sort | tr '\n' ' '; }

sound_devices
screen_start 80 24 env LANG=C JIASHU_STATION_AUDIO_DIR="$AUDIO" JIASHU_RECORD_PACE_US=20000 \
  JIASHU_STATION_SYNC_SECONDS=3600 JIASHU_STATION_IDLE_SECONDS=60 "$JIASHU" --home "$ST" station
screen_wait "Type your family number"

# Family 1: two new messages, played in order, then a reply.
screen_keys 1 Enter 1 1 1 1 Enter
screen_wait "New messages: 2"
screen_keys 1
screen_wait "Playing"
screen_wait "No new messages" 30
[ -f "$AUDIO/played-1.wav" ] && [ -f "$AUDIO/played-2.wav" ] || fail "family 1 did not hear two messages"
[ ! -e "$AUDIO/played-3.wav" ] || fail "family 1 heard a third message"
same_audio "$AUDIO/played-1.wav" "$SCRATCH/a.dec.wav" || fail "the first message played is not family 1's oldest"
same_audio "$AUDIO/played-2.wav" "$SCRATCH/b.dec.wav" || fail "the second message played is not family 1's second"
[ "$(states "$ST/families/1" inbox)" = "played played " ] || fail "family 1's messages are not marked played"
[ "$(states "$ST/families/2" inbox)" = "ready " ] || fail "family 2's message changed while family 1 listened"

screen_keys 2
screen_wait "Recording"
screen_wait "Recording... 1 s" # a second of it, by the station's clock
screen_keys 2
# Heard before it is sent: nothing leaves until 3.
screen_wait "Your reply is not sent yet" 15
screen_keys 3
screen_wait "Sent" 15
[ "$(states "$ST/families/1" outbox)" = "ready " ] || fail "family 1's reply is not in its outbox"
[ "$(states "$ST/families/2" outbox)" = "" ] || fail "family 1's reply reached family 2's outbox"
screen_keys '*'
screen_wait "Type your family number"
screen_lacks "[1]" "family 1 stays on the screen"

# Family 2: its one message only.
screen_keys 2 Enter 2 2 2 2 Enter
screen_wait "New messages: 1"
screen_keys 1
screen_wait "No new messages" 30
same_audio "$AUDIO/played-3.wav" "$SCRATCH/c.dec.wav" || fail "family 2 heard something else than its message"
# At once, while "that was all" is still said: 3 is the home screen's key
# (the last letter again), not the speed of the letter that ended.
screen_keys 3
# The replay is written in a blink: its file, rather than a screen that
# may show for one redraw, says it played.
for i in $(seq 300); do [ -s "$AUDIO/played-4.wav" ] && break; sleep 0.1; done
screen_wait "No new messages" 30
same_audio "$AUDIO/played-4.wav" "$SCRATCH/c.dec.wav" || fail "3 replayed something else than family 2's last message"
[ ! -e "$AUDIO/played-5.wav" ] || fail "family 2 heard more than its message"
[ "$(states "$ST/families/2" outbox)" = "" ] || fail "family 2 has a reply it never recorded"
[ "$(states "$ST/families/1" outbox)" = "ready " ] || fail "family 1's outbox changed during family 2's session"
echo ok
