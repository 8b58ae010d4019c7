#!/bin/bash
# Runs one test patch of tests/livepatch/patches through `tuxtape livepatch build` and, when
# a module is expected, through the qemu harness: livepatch-test.sh NAME
# (NAME.patch + NAME.expect; the expectation's "exit: N" is the build's expected status).
set -u
here=$(cd "$(dirname "$0")" && pwd)
name=$1
patches=$here/../livepatch/patches
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
. "$here"/lp-env.sh

exp=$patches/$name.expect
want_exit=$(sed -n 's/^exit: *//p' "$exp")
want_exit=${want_exit:-0}

# The symbol table: /proc/kallsyms of the target kernel booted in qemu, cached per image.
syms=$("$here"/qemu-run.sh --kver "$KVER" kallsyms-cached) || { echo "FAIL: no kallsyms dump" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tt-lp-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
set +e
"$TUXTAPE" --json livepatch build --patch "$patches/$name.patch" --source-tarball "$TARBALL" \
	--config "$CONFIG" --symbols "$syms" --kbuild "$KBUILD" -o "$work/$name.ko" \
	> "$work"/build.json 2> "$work"/build.err
rc=$?
set -e
cat "$work"/build.json
if [ "$rc" != "$want_exit" ]; then
	cat "$work"/build.err >&2
	echo "FAIL: tuxtape livepatch build exited $rc, expected $want_exit" >&2
	exit 1
fi
# The report, written or refused, against the shape tuxtape(1) documents (json-shapes.py).
mkdir "$work/shapes" && cp "$work/build.json" "$work/shapes/livepatch-build.json"
JSON_SHAPES_ONE=1 python3 "$here/../cli/json-shapes.py" "$work/shapes" >&2 ||
	{ echo "FAIL: the --json report is not the documented livepatch-build shape" >&2; exit 1; }
if [ "$want_exit" != 0 ]; then
	echo "PASS: $name refused with exit $rc as expected"
	exit 0
fi
# The module says it is a livepatch, for exactly the target kernel, and carries klp relocations.
[ "$(modinfo -F livepatch "$work/$name.ko")" = Y ] ||
	{ echo "FAIL: modinfo does not show livepatch: Y" >&2; exit 1; }
case "$(modinfo -F vermagic "$work/$name.ko")" in
"$KVER "*) ;;
*) echo "FAIL: vermagic '$(modinfo -F vermagic "$work/$name.ko")' is not $KVER's" >&2; exit 1 ;;
esac
exec "$here"/qemu-run.sh --kver "$KVER" livepatch "$work/$name.ko" "$exp"
