#!/bin/bash
# Proves the qemu harness with a hand-written livepatch built against the kernel's headers:
# load, transition, new /proc/version, disable, unload.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here"/lp-env.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/tt-handmade.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$here"/handmade/tt_handmade.c "$here"/handmade/Kbuild "$work"/
if ! make -C "$KBUILD" M="$work" modules > "$work"/build.log 2>&1; then
	cat "$work"/build.log >&2
	echo "FAIL: cannot build the hand-written livepatch" >&2
	exit 1
fi
exec "$here"/qemu-run.sh --kver "$KVER" livepatch "$work"/tt_handmade.ko "$here"/handmade/tt_handmade.expect
