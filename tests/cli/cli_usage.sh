#!/bin/bash
# The command line's own contract: --help, --version, usage errors.
. "$TESTS_DIR/lib.sh"

"$JIASHU" --help | grep -q 'Usage: jiashu' || fail "--help prints the usage"
"$JIASHU" --version | grep -Eq '^jiashu [0-9]+\.[0-9]+' || fail "--version prints a version"
expect_error_matching "unknown command" "unknown command" "$JIASHU" frobnicate
expect_error_matching "no command" "no command" "$JIASHU"
expect_error_matching "--home without a value" "needs a directory" "$JIASHU" --home
echo ok
