#!/bin/bash
# A home that is not a station opens straight on its one family: no PIN,
# no way to leave, the three keys shown; and the command's own errors.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
H=$SCRATCH/home
mkdir -p "$H"

sound_devices
screen_start 40 12 env LANG=zh_CN.UTF-8 JIASHU_STATION_IDLE_SECONDS=1 "$JIASHU" --home "$H" station
screen_wait "1 听新消息"
screen_wait "3 再听一遍"
screen_lacks "离开" "home mode offers to leave"
screen_lacks "家庭号码" "home mode asks for a family number"
screen_keys '*'
# Not a wait for an event: * and the idle time-out (1 s here) are how a
# station leaves a family, and home mode must still offer its keys after both.
sleep 1.5
screen_wait "1 听新消息"
screen_stop

screen_start 80 24 env LANG=C "$JIASHU" --home "$H" station
screen_wait "1 Play new"
screen_wait "2 Record reply"
screen_stop

expect_error_matching "init without a relay" "--relay" "$JIASHU" --home "$SCRATCH/s" station init
expect_error_matching "init with a bad PIN" "PIN" sh -c "echo 12 | '$JIASHU' --home '$SCRATCH/s' station init --relay http://x"
expect_error_matching "station off a terminal" "terminal" "$JIASHU" --home "$H" station </dev/null
expect_error_matching "no such home" "not a jiashu home" "$JIASHU" --home "$SCRATCH/none" station
printf 'garbage that is not sqlite%.0s' $(seq 100) >"$SCRATCH/s2.db"
mkdir -p "$SCRATCH/s2" && mv "$SCRATCH/s2.db" "$SCRATCH/s2/station.db"
expect_error_matching "damaged registry" "damaged|not a jiashu" "$JIASHU" --home "$SCRATCH/s2" station
echo ok
