#!/bin/sh
# Every command in every table answers --help with a usage line and exit 0.
set -eu
: "${TUXTAPE:?}"
fail=0
check() {
    out=$("$TUXTAPE" "$@" --help 2>&1) || { echo "FAIL: tuxtape $* --help exited $?"; fail=1; return; }
    echo "$out" | grep -q '^usage: tuxtape' || { echo "FAIL: tuxtape $* --help: no usage line"; fail=1; }
}
check
"$TUXTAPE" --version | grep -q '^tuxtape [0-9]' || { echo "FAIL: --version"; fail=1; }
# Walk the tables from the help output itself, so a new command is covered without editing.
for group in $("$TUXTAPE" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
    check "$group"
    for sub in $("$TUXTAPE" "$group" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
        check "$group" "$sub"
        n=$((${n:-0} + 1))
    done
done
"$TUXTAPE" no-such-command >/dev/null 2>&1 && { echo "FAIL: unknown command accepted"; fail=1; }
rc=0; "$TUXTAPE" no-such-command >/dev/null 2>&1 || rc=$?
[ "$rc" = 64 ] || { echo "FAIL: unknown command exit $rc, want 64"; fail=1; }
echo "checked ${n:-0} commands"
exit $fail
