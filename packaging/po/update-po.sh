#!/bin/sh
# Regenerates jiashu.pot from the sources and merges it into every
# translation. Two passes: the programs' messages (marked with _() and N_(),
# and every format given to app_fail, app_usage and the relay's fail), and
# every string of the parts' errors.c files, which know nothing of gettext
# (the programs translate what js_strerror() and friends return).
set -eu
po=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$po/../.." && pwd)
cd "$top"
xgettext --from-code=UTF-8 --language=C --package-name=jiashu --msgid-bugs-address= \
  --keyword=_ --keyword=N_ --keyword=app_fail:1 --keyword=app_usage:1 --keyword=fail:2 \
  --flag=app_fail:1:c-format --flag=app_usage:1:c-format --flag=fail:2:c-format \
  --add-comments=TRANSLATORS: -o "$po/programs.pot" $(grep '^app/' "$po/POTFILES")
xgettext --from-code=UTF-8 --language=C --extract-all --package-name=jiashu --msgid-bugs-address= \
  -o "$po/errors.pot" $(grep -v '^app/' "$po/POTFILES")
msgcat --use-first "$po/programs.pot" "$po/errors.pot" -o "$po/jiashu.pot"
rm -f "$po/programs.pot" "$po/errors.pot"
for lang in $(cat "$po/LINGUAS"); do
  msgmerge --quiet --update --backup=none "$po/$lang.po" "$po/jiashu.pot"
done
