#!/bin/bash
# 'tuxtape kernel eval' on a small kernel-shaped tree: plain and JSON output, the comparison
# with a build directory, and its errors (not a tree, not a config) with their messages.
set -euo pipefail
: "${TUXTAPE:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
t="$tmp/tree"
mkdir -p "$t/scripts" "$t/arch/x86" "$t/init" "$t/drivers/net"
printf 'VERSION = 6\nPATCHLEVEL = 1\ninclude $(srctree)/arch/$(SRCARCH)/Makefile\n' >"$t/Makefile"
printf 'obj-y += init/ drivers/\n' >"$t/Kbuild"
: >"$t/scripts/Makefile.build"
: >"$t/arch/x86/Makefile"
printf 'obj-y := main.o\n' >"$t/init/Makefile"
printf 'obj-$(CONFIG_NET_X) += netx.o\nnetx-y := a.o b.o\n' >"$t/drivers/Makefile"
mv "$t/drivers/Makefile" "$t/drivers/net/Makefile"
printf 'obj-y += net/\n' >"$t/drivers/Makefile"
touch "$t/init/main.c" "$t/drivers/net/a.c" "$t/drivers/net/b.S"
printf 'CONFIG_NET_X=m\n' >"$tmp/config"

expect() { # NAME WANT GOT
	if [ "$2" != "$3" ]; then
		printf 'FAIL: %s\n--- want\n%s\n--- got\n%s\n' "$1" "$2" "$3"
		fail=1
	fi
}

got=$("$TUXTAPE" kernel eval --source "$t" --config "$tmp/config" 2>/dev/null | cut -f1,2)
expect "plain output" "$(printf 'drivers/net/a.c\tmodule\ndrivers/net/b.S\tmodule\ninit/main.c\tbuiltin')" "$got"

got=$("$TUXTAPE" --json kernel eval --source "$t" --config "$tmp/config" --suffix .c 2>/dev/null |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["method"], d["file_count"], [f["path"] for f in d["files"]])')
expect "json output" "static 3 ['drivers/net/a.c', 'drivers/net/b.S', 'init/main.c']" "$got"

rc=0
err=$("$TUXTAPE" kernel eval --source "$tmp" --config "$tmp/config" 2>&1 >/dev/null) || rc=$?
expect "not a tree: exit" 1 "$rc"
case "$err" in *"is not a kernel source tree"*) ;; *) echo "FAIL: not a tree: '$err'"; fail=1 ;; esac

rc=0
err=$("$TUXTAPE" kernel eval --source "$t" --config "$t/Makefile" 2>&1 >/dev/null) || rc=$?
expect "not a config: exit" 1 "$rc"
case "$err" in *"$t/Makefile' line 1"*) ;; *) echo "FAIL: not a config: '$err'"; fail=1 ;; esac

out=$("$TUXTAPE" --json kernel eval --source "$t" --config "$t/Makefile" 2>/dev/null || true)
case "$out" in *'"error"'*) ;; *) echo "FAIL: --json error: '$out'"; fail=1 ;; esac

rc=0
"$TUXTAPE" kernel eval --config "$tmp/config" >/dev/null 2>&1 || rc=$?
expect "usage: exit" 64 "$rc"

rc=0
err=$("$TUXTAPE" kernel eval --build-dir "$t" 2>&1 >/dev/null) || rc=$?
case "$err" in *"is not a kernel build directory"*) ;; *) echo "FAIL: not a build dir: '$err'"; fail=1 ;; esac

if [ "$fail" = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit "$fail"
