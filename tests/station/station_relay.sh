#!/bin/bash
# Station mode against a real relay: the teacher adds two families by invite
# code on the keypad; the station syncs both in the background; each child
# sees and hears only their own family's messages, and a reply reaches only
# their own family.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/relay_lib.sh"
. "$TESTS_DIR/station/sound_devices.sh"
need_sync
start_station_relay
ST=$SCRATCH/station
AUDIO=$SCRATCH/audio
mkdir -p "$AUDIO"

for fam in li wang; do
  "$JIASHU" --home "$SCRATCH/$fam" setup --relay "$RELAY_URL" --name "$fam-papa" >/dev/null
  "$JIASHU" --home "$SCRATCH/$fam" family create >/dev/null
done
echo 2468 | "$JIASHU" --home "$ST" station init --relay "$RELAY_URL" --name School

sound_devices
screen_start 80 24 env LANG=C JIASHU_STATION_AUDIO_DIR="$AUDIO" JIASHU_RECORD_PACE_US=20000 \
  JIASHU_STATION_SYNC_SECONDS=1 JIASHU_STATION_IDLE_SECONDS=120 JIASHU_STATION_NOTICE_MS=30000 "$JIASHU" --home "$ST" station
screen_wait "Type your family number"
add_family() { # CODE PIN: the teacher adds a family; its number appears
  screen_keys '*'
  screen_wait "Teacher: type your PIN"
  screen_keys 2 4 6 8 Enter
  screen_wait "1 Add a family"
  screen_keys 1
  screen_wait "invite code"
  screen_keys $(echo "$1" | grep -o .) Enter
  screen_wait "PIN for the new family"
  screen_keys $(echo "$2" | grep -o .) Enter
  screen_wait "The same PIN again"
  screen_keys $(echo "$2" | grep -o .) Enter
  screen_wait "added" 90
}
add_family "$(invite_code "$SCRATCH/li")" 1111
screen_wait "Family 1 added"
screen_keys '*'
screen_wait "Type your family number"
add_family "$(invite_code "$SCRATCH/wang")" 2222
screen_wait "Family 2 added"
screen_keys '*'
screen_wait "Type your family number"

speech "$SCRATCH/li.wav" 16000 "李家的消息，第一条。"
speech "$SCRATCH/li2.wav" 16000 "李家的消息，第二条。"
speech "$SCRATCH/wang.wav" 16000 "王家的消息。"
speech "$AUDIO/reply.wav" 16000 "我听到了。"
"$JIASHU" --home "$SCRATCH/li" record --input "$SCRATCH/li.wav" >/dev/null
"$JIASHU" --home "$SCRATCH/li" record --input "$SCRATCH/li2.wav" >/dev/null
"$JIASHU" --home "$SCRATCH/wang" record --input "$SCRATCH/wang.wav" >/dev/null
"$JIASHU" --home "$SCRATCH/li" sync >/dev/null
"$JIASHU" --home "$SCRATCH/wang" sync >/dev/null

# The teacher sees both families synced.
wait_for_state "$ST/families/1" inbox ready 60
wait_for_state "$ST/families/2" inbox ready 60

screen_keys 2 Enter 2 2 2 2 Enter
screen_wait "New messages: 1" 30
screen_keys 1
screen_wait "No new messages" 30
[ -s "$AUDIO/played-1.wav" ] && [ ! -e "$AUDIO/played-2.wav" ] || fail "family 2 did not hear exactly its one message"
screen_keys 2
screen_wait "Recording"
screen_wait "Recording... 1 s" # a second of it, by the station's clock
screen_keys 2
screen_wait "Your reply is not sent yet" 15
screen_keys 3
screen_wait "Sent" 15
screen_keys '*'
screen_wait "Type your family number"
screen_lacks "[2]" "family 2 stays on the screen"

screen_keys 1 Enter 1 1 1 1 Enter
screen_wait "New messages: 2" 30
screen_keys 1
screen_wait "No new messages" 30
[ -s "$AUDIO/played-3.wav" ] && [ ! -e "$AUDIO/played-4.wav" ] || fail "family 1 did not hear exactly its two messages"

# Wang's reply reaches Wang's parent, and nobody at Li's.
SYNC=1 wait_for_state "$SCRATCH/wang" inbox ready 60
# The reply is on the relay now (Wang has it): a sync of Li's brings it at
# once if the relay lets it through.
"$JIASHU" --home "$SCRATCH/li" sync >/dev/null
"$JIASHU" --home "$SCRATCH/li" inbox --json | grep -q '"state"' && fail "Li's parent got a message from Wang's child"
echo ok
