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
    # Killed before the schema was committed: an empty database, as if never synced.
    tables=$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_master WHERE name = 'meta'")
    [ "$tables" = 0 ] && return 0
    at=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'vulns_commit'")
    n=$(sqlite3 "$DB" "SELECT count(*) FROM cve WHERE state = 'published'")
    case "$at:$n" in
        ":0"|"$OLD:10436"|"$NEW:14626") return 0 ;;
    esac
    echo "inconsistent: commit '$at' with $n published"; return 1
}

kill_sync_at() { # kill_sync_at DELAY REV
    "$TUXTAPE" --db "$DB" -q cve sync --repo "$TMP/vulns" --rev "$2" &
    pid=$!
    sleep "$1"
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    if [ -f "$DB" ]; then
        check "consistent after SIGKILL at ${1}s" state_ok
        at=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'vulns_commit'" 2>/dev/null || true)
        echo "killed at ${1}s: database at '${at:-empty}'"
    else
        echo "killed at ${1}s: no database yet"
    fi
}

# During the first clone and full sync.
for d in 0.02 0.3 1.5; do kill_sync_at $d $OLD; done
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync --repo "$TMP/vulns" --rev $OLD
check "at the old commit" state_ok

# During incremental syncs, at a spread of moments, some fixed and some random.
delays="0.05 0.2 0.4 0.7 1.0 1.4 1.8 2.4 3.0"
for i in 1 2 3; do
    delays="$delays $(od -An -N2 -tu2 /dev/urandom | awk '{printf "%.2f", ($1 % 300) / 100}')"
done
for d in $delays; do
    kill_sync_at "$d" $NEW
    at=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'vulns_commit'")
    # Finished before the kill: go back so the next kill lands in a real sync again.
    [ "$at" = "$NEW" ] && "$TUXTAPE" --db "$DB" -q cve sync --rev $OLD
done

expect_exit 0 "$TUXTAPE" --db "$DB" cve sync --repo "$TMP/vulns" --rev $NEW
expect_exit 0 "$TUXTAPE" --db "$TMP/direct/t.db" cve sync --repo "$TMP/vulns" --rev $NEW
dump_db "$DB" >"$TMP/a"; dump_db "$TMP/direct/t.db" >"$TMP/b"
check "completed after kills equals a direct sync" cmp -s "$TMP/a" "$TMP/b"
finish
