#!/bin/bash
# Every message goes through gettext: under a zh_CN.UTF-8 locale the
# programs speak Chinese, under C and en_US English, from the same binary.
# The locale is compiled into the scratch directory (LOCPATH), so the test
# does not depend on which locales the machine has.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

command -v localedef >/dev/null || { echo "no localedef"; exit 77; }
mkdir -p "$SCRATCH/locale"
localedef -i zh_CN -f UTF-8 "$SCRATCH/locale/zh_CN.UTF-8" 2>/dev/null ||
  { echo "cannot compile the zh_CN locale"; exit 77; }
localedef -i en_US -f UTF-8 "$SCRATCH/locale/en_US.UTF-8" 2>/dev/null || true
export LOCPATH="$SCRATCH/locale" JIASHU_LOCALEDIR="$BUILD_DIR/packaging/po"
unset LANGUAGE LC_MESSAGES
zh() { LC_ALL=zh_CN.UTF-8 "$@"; }
en() { LC_ALL=C "$@"; }

# a usage error, with the translated suffix
zh expect_error_matching "unknown command (zh)" "^jiashu: 未知命令“frobnicate”（见“jiashu --help”）$" \
  "$JIASHU" frobnicate
en expect_error_matching "unknown command (C)" "^jiashu: unknown command 'frobnicate' \(see 'jiashu --help'\)$" \
  "$JIASHU" frobnicate
if [ -d "$SCRATCH/locale/en_US.UTF-8" ]; then
  LC_ALL=en_US.UTF-8 expect_error_matching "unknown command (en_US)" "unknown command 'frobnicate'" \
    "$JIASHU" frobnicate
fi
# --help
zh "$JIASHU" --help | grep -q '^用法：jiashu' || fail "--help is not in Chinese"
en "$JIASHU" --help | grep -q '^Usage: jiashu' || fail "--help is not in English"
zh "$JIASHU_RELAY" --help | grep -q '^用法：jiashu-relay' || fail "relay --help is not in Chinese"
zh expect_error_matching "relay without options" "^jiashu-relay: 必须给出 --listen" "$JIASHU_RELAY"
# an error of a lower part (the store), passed through app_strerror
zh expect_error_matching "play unknown id (zh)" "^jiashu: play 00000000-0000-4000-8000-000000000000: 没有这条消息$" \
  "$JIASHU" --home "$SCRATCH/jh" play 00000000-0000-4000-8000-000000000000 --output "$SCRATCH/x.wav"
# the sync engine's errors (the net part's, translated where printed)
zh expect_error_matching "sync before setup (zh)" "^jiashu: sync：尚未设置：请运行“jiashu setup”" \
  "$JIASHU" --home "$SCRATCH/jh" sync
zh expect_error_matching "setup without arguments (zh)" "^jiashu: setup 需要 --relay URL 和/或 --name 名字（见“jiashu --help”）$" \
  "$JIASHU" --home "$SCRATCH/jh" setup
# an audio error
virtual_audio --no-capture
zh expect_error_matching "record without microphone (zh)" "^jiashu: record：找不到麦克风$" \
  "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 2
en expect_error_matching "record without microphone (C)" "^jiashu: record: no microphone was found$" \
  "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 2
echo ok
