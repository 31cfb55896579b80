#!/bin/bash
# The man pages render without a groff warning, and jiashu(1) describes
# every command that `jiashu --help` lists, jiashu-relay(1) every option of
# `jiashu-relay --help`.
. "$TESTS_DIR/lib.sh"

man_dir="$TESTS_DIR/../packaging"
for page in jiashu.1 jiashu-relay.1; do
  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$man_dir/$page" >"$SCRATCH/$page.txt" 2>"$SCRATCH/warn" ||
    fail "$page does not render"
  [ ! -s "$SCRATCH/warn" ] || fail "$page: $(head -3 "$SCRATCH/warn")"
  grep -q 'SYNOPSIS' "$SCRATCH/$page.txt" || fail "$page has no synopsis"
done
for cmd in $(LC_ALL=C "$JIASHU" --help | awk '/^  [a-z]/ {print $1}' | sort -u); do
  grep -Eq "^ {7}$cmd\b|^ {7}[a-z]+ \| $cmd\b| $cmd \||^ {7}.*\b$cmd\b" "$SCRATCH/jiashu.1.txt" ||
    fail "jiashu(1) does not describe '$cmd'"
done
for opt in $(LC_ALL=C "$JIASHU_RELAY" --help | grep -Eo -- '--[a-z-]+' | sort -u); do
  grep -q -- "$opt" "$SCRATCH/jiashu-relay.1.txt" || fail "jiashu-relay(1) does not describe $opt"
done
echo ok
