#!/bin/bash
# Home mode through the sound card (ALSA's virtual devices, the real
# PortAudio path): a grandparent hears two new messages with one key, every
# key answers with a sound, and a reply recorded from the microphone lands
# in the outbox.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
FIXTURE=$1
G=$SCRATCH/grandma
# found REF.wav GOT.raw|GOT.wav WHAT [MIN]: a second of REF (from 0.3 s in)
# is in GOT, by correlation at 4 kHz of at least MIN (0.8): content, not
# only bytes or loudness.
found() {
  sox -q "$1" -r 4000 -c 1 -b 16 -e signed -t raw "$SCRATCH/ref.raw" trim 0.3 1
  case $2 in
    *.raw) sox -q -r 16000 -c 1 -b 16 -e signed -t raw "$2" -r 4000 -t raw "$SCRATCH/got.raw" ;;
    *) sox -q "$2" -r 4000 -c 1 -b 16 -e signed -t raw "$SCRATCH/got.raw" ;;
  esac
  "$SIGNAL_CHECK" find "$SCRATCH/ref.raw" "$SCRATCH/got.raw" "${4:-0.8}" >/dev/null || fail "$3"
}
mkdir -p "$G"

speech "$SCRATCH/a.wav" 16000 "妈妈，我是小明的爸爸，今天下班早。"
speech "$SCRATCH/b.wav" 16000 "过年我们就回家了。"
speech "$SCRATCH/reply.wav" 16000 "收到了，家里都好，放心吧，你们也要注意身体。"
for n in a b; do
  "$JIASHU" --home "$SCRATCH/tools" encode "$SCRATCH/$n.wav" "$SCRATCH/$n.opus"
  "$FIXTURE" "$G" deliver "$SCRATCH/$n.opus" papa >/dev/null
  sleep 0.01
done
sound_devices
live_microphone

screen_start 40 12 env LANG=zh_CN.UTF-8 JIASHU_STATION_SYNC_SECONDS=3600 "$JIASHU" --home "$G" station
screen_wait "2 条新消息"

# A key that does nothing here still answers with a sound.
screen_keys '#'
speaker_grows_by 1000 5 || fail "the '#' key made no sound"

# One key: both messages, oldest first, through the speaker.
before=$(speaker_bytes)
screen_keys 1
screen_wait "正在播放"
screen_wait "没有新消息" 60
heard=$(($(speaker_bytes) - before))
need=$(soxi -s "$SCRATCH/a.wav")
need=$(( (need + $(soxi -s "$SCRATCH/b.wav")) * 2 * 9 / 10 ))
[ "$heard" -ge "$need" ] || fail "the speaker got $heard bytes, the two messages need $need"
"$JIASHU" --home "$G" inbox --json | grep -c '"state": "played"' | grep -qx 2 ||
  fail "the two messages are not marked played"
cat "$SCRATCH"/speaker.raw* >"$SCRATCH/heard.raw"
for n in a b; do
  "$JIASHU" --home "$SCRATCH/tools" decode "$SCRATCH/$n.opus" "$SCRATCH/$n.dec.wav"
  found "$SCRATCH/$n.dec.wav" "$SCRATCH/heard.raw" "message $n did not reach the speaker"
done

# One key records, the same key stops; the reply is heard through the
# speaker before 3 sends it.
screen_keys 2
screen_wait "正在录音" 20
mic_says "$SCRATCH/reply.wav"
screen_keys 2
screen_wait "回复还没有发出" 15
"$JIASHU" --home "$G" outbox --json | grep -q '"state": "draft"' || fail "the reply is not kept back as a draft"
before=$(speaker_bytes)
screen_keys 1
screen_wait "正在播放"
screen_wait "回复还没有发出" 30
[ $(($(speaker_bytes) - before)) -ge 64000 ] || fail "listening to the reply played only $(($(speaker_bytes) - before)) bytes"
screen_keys 3
# The reply is queued ("已发送" shows a moment, then home).
for i in $(seq 200); do
  "$JIASHU" --home "$G" outbox --json >"$SCRATCH/outbox.json"
  grep -q '"state": "ready"' "$SCRATCH/outbox.json" && break
  sleep 0.1
done
grep -q '"state": "ready"' "$SCRATCH/outbox.json" || fail "the reply is not in the outbox"
screen_wait "1 听新消息" 15
ms=$(grep -o '"duration_ms": [0-9]*' "$SCRATCH/outbox.json" | grep -o '[0-9]*$')
[ "$ms" -ge 2000 ] || fail "the reply lasts only $ms ms"
id=$(grep -o '"id": "[^"]*"' "$SCRATCH/outbox.json" | cut -d'"' -f4)
"$JIASHU" --home "$G" export "$id" "$SCRATCH/reply.opus"
"$JIASHU" --home "$SCRATCH/tools" decode "$SCRATCH/reply.opus" "$SCRATCH/reply.dec.wav"
# The reply is what the microphone said.
# (The clean-up's gain control and noise suppression stand between them.)
found "$SCRATCH/reply.wav" "$SCRATCH/reply.dec.wav" "the recorded reply is not what the microphone said" 0.6
echo ok
