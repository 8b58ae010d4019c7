#!/bin/bash
# Precision and recall of the static Kbuild evaluation ('tuxtape kernel eval --source --config')
# against the exact set read from DWARF (--debuginfo), for Debian's own kernel: the tree of the
# linux-source-6.1 package, the config of linux-image-amd64, the -dbg package's vmlinux and
# modules. Needs: apt-get install linux-source-6.1 linux-image-amd64 linux-image-<abi>-amd64-dbg
set -euo pipefail

TUXTAPE=${TUXTAPE:-$(dirname "$0")/../build/src/cli/tuxtape}
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
CONFIG=${CONFIG:-$(ls /boot/config-6.1.0-*-amd64 2>/dev/null | grep -Ev -e -cloud- -e -rt- | sort -V | tail -1 || true)}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tuxtape-bench

if [ ! -f "$TARBALL" ] || [ -z "$CONFIG" ]; then
	echo "needs linux-source-6.1 and linux-image-amd64: apt-get install linux-source-6.1 linux-image-amd64" >&2
	exit 1
fi
ABI=$(basename "$CONFIG" | sed 's/^config-//')
DEBUG=${DEBUG:-/usr/lib/debug/lib/modules/$ABI}
if [ ! -d "$DEBUG" ]; then
	echo "needs the DWARF of $ABI: apt-get install linux-image-$ABI-dbg" >&2
	exit 1
fi
src_ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo "?")
dbg_ver=$(dpkg-query -W -f='${Version}' "linux-image-$ABI-dbg" 2>/dev/null || echo "?")

SRC="$CACHE/linux-source-6.1"
stamp="$(stat -c '%s %Y' "$TARBALL")"
if [ ! -f "$CACHE/source.stamp" ] || [ "$(cat "$CACHE/source.stamp")" != "$stamp" ]; then
	mkdir -p "$CACHE"
	rm -rf "$SRC"
	tar -C "$CACHE" -xJf "$TARBALL"
	echo "$stamp" >"$CACHE/source.stamp"
fi

echo "kernel: $ABI, linux-source-6.1 $src_ver, dbg $dbg_ver"
echo "config: $CONFIG"
echo "command: tuxtape kernel eval --source $SRC --config $CONFIG --debuginfo $DEBUG [--suffix .c]"
diff_file="$CACHE/kbuild-accuracy.diff"
"$TUXTAPE" kernel eval --source "$SRC" --config "$CONFIG" --debuginfo "$DEBUG" --diff \
	>"$diff_file"
echo "== all sources (.c, .S, generated)"
grep -E "^(static vs|precision|recall|same)" "$diff_file"
echo "== C sources only"
"$TUXTAPE" kernel eval --source "$SRC" --config "$CONFIG" --debuginfo "$DEBUG" --suffix .c |
	grep -E "^(static vs|precision|recall|same)"
echo "== disagreements (+ only static, - only DWARF); full list in $diff_file"
grep -E '^[+-] ' "$diff_file" | cut -f1 | head -40
