#!/bin/bash
# tuxtape cache list/clean on a fake cache: a tree a build holds is listed "in use" and never
# removed; an idle tree, a killed run's leftover and an old source are; --older-than and
# --dry-run hold back.
set -u
: "${TUXTAPE:?}"
W=$(mktemp -d /tmp/tt-cli-cache.XXXXXX)
holder=
trap '[ -n "$holder" ] && kill "$holder" 2> /dev/null; rm -rf "$W"' EXIT
export XDG_CACHE_HOME=$W/cache
C=$XDG_CACHE_HOME/tuxtape
fail=0
bad() { echo "FAIL: $*"; fail=1; }

mktree() { # mktree KEY: a published tree
	mkdir -p "$C/trees/$1.100.1/linux"
	head -c 100000 /dev/zero > "$C/trees/$1.100.1/linux/big"
	printf 'format x\nsource /src.tar.xz\nconfig /cfg\nrelease 6.1.0-test\n' > "$C/trees/$1.100.1/tree.info"
	: > "$C/trees/$1.100.1/lock"
	: > "$C/trees/$1.lock"
	ln -s "$1.100.1" "$C/trees/$1"
}
mktree busy
mktree idle
mkdir -p "$C/trees/idle.200.99999999/linux"          # a killed preparation
mkdir -p "$C/sources/abcd/linux" "$C/sources/abcd.tmp-99999999"
touch -d '2 days ago' "$C/sources/abcd"

# A build holds the busy tree's lock.
flock "$C/trees/busy.100.1/lock" sleep 60 > /dev/null 2>&1 &
holder=$!
for _ in $(seq 50); do flock -n "$C/trees/busy.100.1/lock" true || break; sleep 0.1; done

"$TUXTAPE" --json cache list > "$W/list.json" || bad "cache list failed"
python3 - "$W/list.json" <<'PY' || fail=1
import json, sys
l = json.load(open(sys.argv[1]))
by = {e["path"].rsplit("/", 1)[1]: e for e in l}
want = {"busy.100.1": ("tree", True), "idle.100.1": ("tree", False),
        "idle.200.99999999": ("leftover", False), "abcd": ("source", False),
        "abcd.tmp-99999999": ("leftover", False)}
for k, (kind, busy) in want.items():
    e = by.get(k)
    if not e or e["kind"] != kind or e["in_use"] != busy:
        print("FAIL: list entry", k, e); sys.exit(1)
if by["idle.100.1"]["release"] != "6.1.0-test" or by["idle.100.1"]["bytes"] < 100000:
    print("FAIL: tree details", by["idle.100.1"]); sys.exit(1)
PY

"$TUXTAPE" cache clean --dry-run > "$W/dry" || bad "dry run failed"
[ -d "$C/trees/idle.100.1" ] && [ -d "$C/sources/abcd" ] || bad "--dry-run removed something"
grep -q "would remove 4 entries" "$W/dry" || { bad "dry run count"; cat "$W/dry"; }

"$TUXTAPE" cache clean --older-than 1 > "$W/old" || bad "clean --older-than failed"
[ ! -d "$C/sources/abcd" ] || bad "the 2-day-old source was kept"
[ -d "$C/trees/idle.100.1" ] || bad "--older-than 1 removed a tree used today"

"$TUXTAPE" cache clean > "$W/all" || bad "clean failed"
[ -d "$C/trees/busy.100.1" ] && [ -L "$C/trees/busy" ] || bad "the tree in use was removed"
[ ! -e "$C/trees/idle" ] && [ ! -d "$C/trees/idle.100.1" ] || bad "the idle tree was kept"
[ ! -d "$C/trees/idle.200.99999999" ] || bad "the killed run's leftover was kept"
[ ! -d "$C/sources/abcd.tmp-99999999" ] || bad "the killed extraction was kept"

[ $fail = 0 ] && echo "cache: 1 passed, 0 failed" || echo "cache: 0 passed, 1 failed"
exit $fail
