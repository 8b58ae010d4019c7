#!/bin/sh
# tuxtape livepatch build: command-line errors exit 64, unreadable or malformed input exits 1
# before any kernel work, and --json reports errors on stdout.
set -u
: "${TUXTAPE:?}"
W=$(mktemp -d /tmp/tt-cli-lpb.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail=0
printf 'CONFIG_X=y\n' > "$W/config"
printf 'x\n' > "$W/syms"
printf 'not a diff\n' > "$W/bad.patch"
printf -- '--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n' > "$W/ok.patch"

expect() { # expect STATUS ARGS...
    want=$1; shift
    "$TUXTAPE" livepatch build "$@" > "$W/out" 2> "$W/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: livepatch build $*: exit $rc, want $want"; cat "$W/err"; fail=1
    fi
}
common="--config $W/config --symbols $W/syms --kbuild $W"
expect 64 --source "$W" $common
expect 64 --patch "$W/ok.patch" $common
expect 64 --patch "$W/ok.patch" --source "$W" --source-tarball "$W/x.tar" $common
expect 64 --patch "$W/ok.patch" --source "$W" --config "$W/config"
expect 64 --patch "$W/ok.patch" --source "$W" $common --name Bad-Name
expect 64 --patch "$W/ok.patch" --source "$W" $common --jobs 0
expect 1 --patch "$W/missing.patch" --source "$W" $common
expect 1 --patch "$W/bad.patch" --source "$W" $common
grep -q "not a unified diff" "$W/err" || { echo "FAIL: no reason for a malformed patch"; fail=1; }
"$TUXTAPE" --json livepatch build --patch "$W/bad.patch" --source "$W" $common > "$W/out" 2> /dev/null
grep -q '"error"' "$W/out" || { echo "FAIL: --json error not on stdout"; cat "$W/out"; fail=1; }
[ $fail = 0 ] && echo "livepatch build: 1 passed, 0 failed" || echo "livepatch build: 0 passed, 1 failed"
exit $fail
