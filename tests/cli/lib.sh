# Shared helpers for CLI tests (sourced). Each test gets its own temporary directory.
set -eu
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
TMP=$(mktemp -d /tmp/tuxtape-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export XDG_DATA_HOME="$TMP/xdg-data" XDG_CACHE_HOME="$TMP/xdg-cache"
unset TUXTAPE_DB
failures=0
passes=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }
check() { # check DESCRIPTION COMMAND... : passes when the command succeeds
    desc=$1; shift
    if "$@"; then pass; else fail "$desc"; fi
}
expect_exit() { # expect_exit CODE COMMAND... ; output in $TMP/out, $TMP/err
    want=$1; shift
    rc=0
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    if [ "$rc" = "$want" ]; then pass; else
        fail "exit $rc, want $want: $*"; sed 's/^/    stderr: /' "$TMP/err" | head -5
    fi
}
err_has() { # err_has PATTERN : the last command's stderr matches
    if grep -q -- "$1" "$TMP/err"; then pass; else
        fail "stderr lacks '$1'"; sed 's/^/    stderr: /' "$TMP/err" | head -5
    fi
}
finish() {
    echo "$passes passed, $failures failed"
    [ "$failures" = 0 ]
}
shared_data() { # prints the path of the CVE bundle, or exits 77 (skip) without it
    for d in "${TUXTAPE_SHARED:-}" "$SRCDIR/../shared" ; do
        if [ -n "$d" ] && [ -f "$d/data/vulns-cve-data.bundle" ]; then
            echo "$d/data/vulns-cve-data.bundle"; return 0
        fi
    done
    echo "SKIP: ../shared/data/vulns-cve-data.bundle not found" >&2
    exit 77
}
# A normalised dump of everything a sync stores, without what legitimately differs between
# two routes to the same commit: the commit a record was read at and first-seen dates.
dump_db() {
    sqlite3 "$1" <<'SQL'
.mode list
SELECT 'cve', id, state, title, description, CASE date_source WHEN 'record' THEN published END,
       path, data_version, affected_json FROM cve ORDER BY id;
SELECT 'cvss', cve_id, source, version, vector, base_score, computed_score, severity, rationale
  FROM cve_cvss ORDER BY 2, 3, 4;
SELECT 'file', * FROM cve_file ORDER BY 2, 3;
SELECT 'aff', * FROM cve_affected ORDER BY 2, 3, 4;
SELECT 'dyad', * FROM cve_dyad ORDER BY 2, 3;
SELECT 'commit', * FROM cve_commit ORDER BY 2, 3, 4;
SELECT 'ref', * FROM cve_reference ORDER BY 2, 3;
SELECT 'skipped', * FROM sync_skipped ORDER BY 2;
SELECT 'history', * FROM cve_history ORDER BY 2;
SQL
}
