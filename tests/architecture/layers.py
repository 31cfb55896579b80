#!/usr/bin/env python3
"""Checks the include graph of the product code against the architecture
(docs/architecture.md): a file includes the public header of a part below
it, its own part's headers by name, and nothing else of the project.
Usage: layers.py TOP. Prints one line per violation; exits 1 if any."""
import os
import re
import sys

# Each part, the parts it may include (itself aside), and its public header
# (util has two: util/sqlite.h is for the parts that use SQLite).
BELOW = {
    "util": [],
    "codec": ["util"],
    "store": ["codec", "util"],
    "net/e2e": ["store", "codec", "util"],
    "net/sync": ["net/e2e", "store", "codec", "util"],
    "net/relay": ["util"],
    "app/audio": ["net/sync", "net/e2e", "store", "codec", "util"],
    "app/station": ["app/audio", "net/sync", "net/e2e", "store", "codec", "util"],
    "app/cli": ["app/station", "app/audio", "net/sync", "net/e2e", "store", "codec", "util"],
}
PUBLIC = {
    "util": ("util/util.h", "util/sqlite.h"), "codec": "codec/codec.h", "store": "store/store.h",
    "net/e2e": "net/e2e/e2e.h", "net/sync": "net/sync/sync.h", "net/relay": "net/relay/relay.h",
    "app/audio": "app/audio/audio.h", "app/station": "app/station/station.h",
}
SOURCE = re.compile(r"\.(c|h|cpp)$")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def public(part):
    """The public headers of a part: one, or util's two."""
    headers = PUBLIC.get(part, ())
    return headers if isinstance(headers, tuple) else (headers,)


def part_of(path):
    for part in sorted(BELOW, key=len, reverse=True):
        if path == part or path.startswith(part + "/"):
            return part
    return None


def main():
    top = sys.argv[1]
    errors, files = [], 0
    for part in BELOW:
        for dirpath, _, names in os.walk(os.path.join(top, part)):
            for name in sorted(names):
                if not SOURCE.search(name):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), top)
                files += 1
                text = open(os.path.join(top, path), encoding="utf-8", errors="replace").read()
                for target in INCLUDE.findall(text):
                    if "/" not in target:
                        # Its own part's private header, next to it; config.h is the build's.
                        if target != "config.h" and not os.path.exists(os.path.join(dirpath, target)):
                            errors.append(f"{path}: includes \"{target}\", which is not beside it")
                        continue
                    home = part_of(os.path.normpath(os.path.join(os.path.dirname(path), target))
                                   if target.startswith(".") else target)
                    if home is None:
                        errors.append(f"{path}: includes \"{target}\", which is no part's")
                    elif home == part:
                        if target not in public(part):
                            errors.append(f"{path}: names its own part's header \"{target}\" by path; use its name")
                    elif home not in BELOW[part]:
                        errors.append(f"{path} ({part}): includes \"{target}\" of {home}, above or beside it")
                    elif target not in public(home):
                        errors.append(f"{path}: includes \"{target}\", a private header of {home}")
    if files < 50:
        errors.append(f"only {files} source files found under {top}: wrong top?")
    for e in errors:
        print(e)
    return 1 if errors else 0


sys.exit(main())
