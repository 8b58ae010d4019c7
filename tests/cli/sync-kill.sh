#!/bin/sh
# A sync killed with SIGKILL at any moment leaves the previous state intact, and the next run
# completes it: the database then equals a direct sync.
. "$(dirname "$0")/lib.sh"
BUNDLE=$(shared_data)
OLD=518d67ad3a5ab7d04ad8240673cd93163e721603
NEW=4b7dbd40c5788b772ec943293f950998fef0e97b
git clone -q "$BUNDLE" "$TMP/vulns"
DB="$TMP/k/t.db"

state_ok() { # the database is whole and at OLD or NEW with that commit's counts
    ic=$(sqlite3 "$DB" "PRAGMA integrity_check" 2>&1)
    [ "$ic" = ok ] || { echo "integrity: $ic"; return 1; }
    at=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'vulns_commit'")
    n=$(sqlite3 "$DB" "SELECT count(*) FROM cve WHERE state = 'published'")
    case "$at:$n" in
        ":0"|"$OLD:10436"|"$NEW:14626") return 0 ;;
    esac
    echo "inconsistent: commit '$at' with $n published"; return 1
}

# Kill at a spread of moments, some fixed and some random, across clone, read and commit.
delays="0.02 0.1 0.3 0.6 1.0 1.5 2.0 2.5 3.0 4.0"
for i in 1 2 3 4; do
    delays="$delays $(od -An -N2 -tu2 /dev/urandom | awk '{printf "%.2f", ($1 % 400) / 100}')"
done
for d in $delays; do
    "$TUXTAPE" --db "$DB" -q cve sync --repo "$TMP/vulns" --rev $NEW &
    pid=$!
    sleep "$d"
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    if [ -f "$DB" ]; then
        check "consistent after SIGKILL at ${d}s" state_ok
        at=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'vulns_commit'")
        echo "killed at ${d}s: database at '${at:-empty}'"
        # Go back to the old state so the next kill lands in a real incremental sync.
        [ "$at" = "$NEW" ] && "$TUXTAPE" --db "$DB" -q cve sync --rev $OLD
    else
        echo "killed at ${d}s: no database yet"
    fi
done

expect_exit 0 "$TUXTAPE" --db "$DB" cve sync --repo "$TMP/vulns" --rev $NEW
expect_exit 0 "$TUXTAPE" --db "$TMP/direct/t.db" cve sync --repo "$TMP/vulns" --rev $NEW
dump_db "$DB" >"$TMP/a"; dump_db "$TMP/direct/t.db" >"$TMP/b"
check "completed after kills equals a direct sync" cmp -s "$TMP/a" "$TMP/b"
finish
