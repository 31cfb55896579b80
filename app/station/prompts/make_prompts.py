#!/usr/bin/env python3
"""Makes the station's spoken prompts at build time.

The sentences come from app/station/station_prompts.c (English, the
source) and their Mandarin from the translation catalogue
(packaging/po/zh_CN.po). Each is spoken by espeak-ng and encoded as a voice
note by the project's own `jiashu encode`, so a prompt plays through the
same decoder as any letter.

  make_prompts.py --list SOURCE                 prints the output file names
  make_prompts.py --jiashu EXE --espeak EXE --po zh_CN.po --out DIR SOURCE

A sentence with {n} becomes two clips around a number clip (.a before,
.b after); a side with no words is an empty file, which the station skips.
A sentence with no Mandarin yet is spoken in English rather than not at all.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

NUMBER_MAX = 99  # ST_PROMPT_NUMBER_MAX
LANGS = {"en": "en-us", "zh": "cmn"}
# One table entry: [ST_PROMPT_X] = {"id", N_("..." "...")}, however a
# formatter wraps it (adjacent literals are one string, as in C).
ENTRY = re.compile(r'\[ST_PROMPT_\w+\]\s*=\s*\{\s*"([a-z0-9-]+)",\s*N_\(((?:\s*"(?:[^"\\]|\\.)*")+)\s*\)\s*\}')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
SLOT = re.compile(r'\[ST_PROMPT_(?!NONE\]|COUNT\])\w+\]\s*=')


def read_prompts(source):
    with open(source, encoding="utf-8") as f:
        text = f.read()
    found = ENTRY.findall(text)
    if not found:
        sys.exit(f"make_prompts: no prompts found in {source}")
    # A sentence this reader cannot parse must stop the build, not go silent.
    slots = len(SLOT.findall(text))
    if slots != len(found):
        sys.exit(f"make_prompts: {source} has {slots} prompts, {len(found)} of them readable")
    return [(pid, "".join(LITERAL.findall(lits)).replace('\\"', '"')) for pid, lits in found]


def po_unquote(s):
    s = s.strip()
    if not (s.startswith('"') and s.endswith('"')):
        return ""
    return bytes(s[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def read_po(path):
    """msgid -> msgstr of the translated, non-fuzzy entries."""
    table, msgid, msgstr, field, fuzzy = {}, None, None, None, False

    def flush():
        if msgid and msgstr and not fuzzy:
            table[msgid] = msgstr

    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith("msgid "):
                flush()
                msgid, msgstr, field = po_unquote(line[6:]), None, "id"
            elif line.startswith("msgstr "):
                msgstr, field = po_unquote(line[7:]), "str"
            elif line.startswith('"'):
                if field == "id":
                    msgid += po_unquote(line)
                elif field == "str":
                    msgstr += po_unquote(line)
            elif not line.strip():
                flush()
                msgid, msgstr, field, fuzzy = None, None, None, False
    flush()
    return table


def clips(prompts, po, warn=True):
    """(file name, espeak voice, words) for every clip; words may be empty."""
    out = []
    for lang, voice in LANGS.items():
        for pid, english in prompts:
            text, v = english, LANGS["en"]
            if lang == "zh" and po.get(english):
                text, v = po[english], voice
            elif lang == "zh" and warn:
                print(f"make_prompts: no Mandarin for '{english}', spoken in English",
                      file=sys.stderr)
            if "{n}" in english:
                before, _, after = text.partition("{n}")
                out.append((f"prompt-{lang}-{pid}.a.opus", v, before.strip()))
                out.append((f"prompt-{lang}-{pid}.b.opus", v, after.strip()))
            else:
                out.append((f"prompt-{lang}-{pid}.opus", v, text))
        for n in range(NUMBER_MAX + 1):
            out.append((f"prompt-{lang}-num-{n}.opus", voice, str(n)))
    return out


def make(clip, args, tmp):
    name, voice, words = clip
    dest = os.path.join(args.out, name)
    if not words:
        open(dest, "wb").close()
        return
    wav = os.path.join(tmp, name + ".wav")
    # 150 words a minute: slower than espeak's default, for older ears; the
    # station's own setting slows or hurries it further when it plays.
    subprocess.run([args.espeak, "-v", voice, "-s", "150", "-w", wav, words], check=True,
                   stderr=subprocess.DEVNULL)
    # Synthetic speech is clean already: the clean-up would only cost quality.
    subprocess.run([args.jiashu, "encode", "--no-cleanup", wav, dest], check=True,
                   stdout=subprocess.DEVNULL)
    os.unlink(wav)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--jiashu")
    ap.add_argument("--espeak")
    ap.add_argument("--po")
    ap.add_argument("--out")
    ap.add_argument("source")
    args = ap.parse_args()
    prompts = read_prompts(args.source)
    if args.list:
        for name, _, _ in clips(prompts, {}, warn=False):
            print(name)
        return
    todo = clips(prompts, read_po(args.po))
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for f in [pool.submit(make, c, args, tmp) for c in todo]:
            f.result()


if __name__ == "__main__":
    main()
