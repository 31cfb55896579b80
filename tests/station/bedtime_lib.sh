# Bedtime letters in tests. Source after tests/lib.sh.
#
# bedtime_clock: exports TZ, a zone where it is now about 01:00, so a letter
# that arrives during the test arrives before 20:30 of the same local day,
# whatever the hour the test runs at; sets BEFORE and AFTER (Unix seconds,
# for JIASHU_NOW) to 20:29:30 and 20:30:05 of that day there.
bedtime_clock() {
  local h
  h=$(date -u +%-H)
  # POSIX TZ: "BED5" is five hours behind UTC.
  export TZ="BED$((h - 1))"
  [ "$(date +%-H)" = 1 ] || fail "the test's time zone $TZ does not make it 01:00"
  BEFORE=$(date -d "today 20:29:30" +%s)
  AFTER=$(date -d "today 20:30:05" +%s)
}
