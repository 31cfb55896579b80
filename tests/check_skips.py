#!/usr/bin/env python3
"""Fails when a test skipped (exit 77) that tests/skip-allowlist does not
name. Usage: check_skips.py BUILD_DIR/meson-logs/testlog.json ALLOWLIST.
Prints the skipped tests; exits 1 if any was not allowed."""
import json
import sys

allowed = set()
for line in open(sys.argv[2]):
    name = line.split(" # ")[0].strip()
    if name and not name.startswith("#"):
        allowed.add(name)
bad = []
with open(sys.argv[1]) as log:
    for line in log:
        test = json.loads(line)
        if test.get("result") == "SKIP":
            name = test["name"].split(" / ")[-1]
            state = "allowed" if name in allowed else "NOT ALLOWED"
            print(f"skipped: {name} ({state})")
            if name not in allowed:
                bad.append(name)
if bad:
    print(f"run-all: {len(bad)} test(s) skipped without being on tests/skip-allowlist: {', '.join(bad)}")
sys.exit(1 if bad else 0)
