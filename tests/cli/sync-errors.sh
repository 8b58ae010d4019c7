#!/bin/sh
# cve sync on a small repository the test builds: incremental changes, moves to rejected,
# going back, and every kind of bad input, each with a clear error and nothing half-stored.
. "$(dirname "$0")/lib.sh"

R="$TMP/vulns"
DB="$TMP/db/t.db"
git init -q -b master "$R"
git -C "$R" config user.email t@example.org
git -C "$R" config user.name test

record() { # record DIR ID TITLE [extra-affected-version-json]
    mkdir -p "$R/cve/$1/${2#CVE-}"; dir="$R/cve/$1/$(echo "$2" | cut -d- -f2)"
    mkdir -p "$dir"
    cat >"$dir/$2.json" <<JSON
{"containers":{"cna":{"title":"$3","descriptions":[{"lang":"en","value":"In the Linux kernel: $3"}],
 "affected":[{"product":"Linux","vendor":"Linux","defaultStatus":"unaffected","repo":"https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
   "programFiles":["net/core/dev.c"],
   "versions":[{"version":"1da177e4c3f41524e886b7f1b8a0c1fc7321cac2","lessThan":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"affected","versionType":"git"}]},
  {"product":"Linux","vendor":"Linux","defaultStatus":"affected","programFiles":["net/core/dev.c"],
   "versions":[{"version":"2.6.12","status":"affected"},{"version":"6.1.50","lessThanOrEqual":"6.1.*","status":"unaffected","versionType":"semver"}${4:-}]}],
 "metrics":[{"cvssV3_1":{"version":"3.1","vectorString":"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H","baseScore":7.8,"baseSeverity":"HIGH"}}]}},
 "cveMetadata":{"cveId":"$2","state":"PUBLISHED"},"dataType":"CVE_RECORD","dataVersion":"5.1"}
JSON
    printf '# dyad\n2.6.12:1da177e4c3f41524e886b7f1b8a0c1fc7321cac2:6.1.50:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n' >"$dir/$2.dyad"
    echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa >"$dir/$2.sha1"
}
commit() { git -C "$R" add -A && git -C "$R" commit -qm "$1" && git -C "$R" rev-parse HEAD; }

record published CVE-2024-1001 "net: fix one"
record published CVE-2024-1002 "net: fix two"
record published CVE-2025-2001 "mm: fix three"
C1=$(commit one)

# First sync: three records.
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync --repo "$R"
check "three published" [ "$("$TUXTAPE" --db "$DB" --json cve stats | grep -c '"published": 3')" = 1 ]
"$TUXTAPE" --db "$DB" --json cve show CVE-2024-1001 >"$TMP/show.json"
check "show has the dyad" grep -q '"fixed_version": "6.1.50"' "$TMP/show.json"
check "show has the range" grep -q '"lessThanOrEqual": "6.1.\*"' "$TMP/show.json"
check "show has the cvss" grep -q '"vector": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"' "$TMP/show.json"
check "show has the computed score" grep -q '"computed_score": 7.8' "$TMP/show.json"
check "show has the fix commit" grep -q '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"' "$TMP/show.json"

# Nothing new: up to date.
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync
err_has "up to date"

# Move one to rejected, change one, add one, delete one.
mkdir -p "$R/cve/rejected/2024"
git -C "$R" mv cve/published/2024/CVE-2024-1002.json cve/rejected/2024/CVE-2024-1002.json
git -C "$R" rm -q cve/published/2024/CVE-2024-1002.dyad cve/published/2024/CVE-2024-1002.sha1
record published CVE-2024-1001 "net: fix one, retitled"
record published CVE-2025-2002 "mm: fix four"
git -C "$R" rm -q -r cve/published/2025/CVE-2025-2001.*
C2=$(commit two)
expect_exit 0 "$TUXTAPE" --db "$DB" --json cve sync
check "incremental counts" grep -q '"added": 1' "$TMP/out"
check "one removed" grep -q '"removed_count": 1' "$TMP/out"
check "rejected state" sh -c "\"$TUXTAPE\" --db \"$DB\" --json cve show CVE-2024-1002 | grep -q '\"state\": \"rejected\"'"
check "retitled" sh -c "\"$TUXTAPE\" --db \"$DB\" cve show CVE-2024-1001 | grep -q 'retitled'"
expect_exit 1 "$TUXTAPE" --db "$DB" cve show CVE-2025-2001
err_has "no CVE 'CVE-2025-2001'"
check "list hides rejected" sh -c "! \"$TUXTAPE\" --db \"$DB\" cve list | grep -q CVE-2024-1002"
check "list --state rejected" sh -c "\"$TUXTAPE\" --db \"$DB\" cve list --state rejected | grep -q CVE-2024-1002"

# Files that arrive before the record's JSON (the CNA does this) are read with it later;
# a record whose .dyad alone changes gets the new pairs.
record published CVE-2024-5001 "late json"
mv "$R/cve/published/2024/CVE-2024-5001.json" "$TMP/late.json"
commit "dyad first" >/dev/null
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync
mv "$TMP/late.json" "$R/cve/published/2024/CVE-2024-5001.json"
commit "json later" >/dev/null
expect_exit 0 "$TUXTAPE" --db "$DB" --json cve sync
check "late record has the earlier dyad" sh -c "\"$TUXTAPE\" --db \"$DB\" --json cve show CVE-2024-5001 | grep -q '\"fixed_version\": \"6.1.50\"'"
printf '2.6.12:1da177e4c3f41524e886b7f1b8a0c1fc7321cac2:6.1.60:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n' >"$R/cve/published/2024/CVE-2024-5001.dyad"
commit "dyad only" >/dev/null
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync
check "dyad-only change stored" sh -c "\"$TUXTAPE\" --db \"$DB\" --json cve show CVE-2024-5001 | grep -q '\"fixed_version\": \"6.1.60\"'"
git -C "$R" rm -q cve/published/2024/CVE-2024-5001.*
commit "drop 5001" >/dev/null
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync
C2=$(git -C "$R" rev-parse HEAD)

# Going back to the first commit gives exactly a direct sync of it.
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync --rev "$C1"
expect_exit 0 "$TUXTAPE" --db "$TMP/direct1.db" cve sync --repo "$R" --rev "$C1"
dump_db "$DB" >"$TMP/a"; dump_db "$TMP/direct1.db" >"$TMP/b"
check "back to C1 equals direct C1" cmp -s "$TMP/a" "$TMP/b"
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync --rev "$C2"

# Bad records: each skipped with a warning naming file and field; the rest goes on; exit 4.
Y=$R/cve/published/2024
printf '{"containers": {"cna": {' >"$Y/CVE-2024-3001.json"                 # truncated JSON
record published CVE-2024-3002 "type error"
sed -i 's/"versions":\[{"version":"2.6.12"/"versions":"oops","x":[{"version":"2.6.12"/' "$Y/CVE-2024-3002.json"
record published CVE-2024-3003 "bad utf8"
printf '{"containers":{"cna":{"title":"x","descriptions":[{"lang":"en","value":"caf\351"}]}},"cveMetadata":{"cveId":"CVE-2024-3003"}}' >"$Y/CVE-2024-3003.json"
record published CVE-2024-3004 "truncated dyad"
printf '# dyad\n2.6.12:1da177e4c3f41524e886b7f1b8a0c1fc7321cac2:6.1\n' >"$Y/CVE-2024-3004.dyad"
record published CVE-2024-3005 "wrong type"
sed -i 's/"title":"wrong type"/"title":42/' "$Y/CVE-2024-3005.json"
record published CVE-2024-3006 "good one"
commit bad >/dev/null
expect_exit 4 "$TUXTAPE" --db "$DB" cve sync
err_has "CVE-2024-3001.json: invalid JSON"
err_has "CVE-2024-3002.json: field 'containers.cna.affected\[1\].versions'"
err_has "CVE-2024-3003.json"
err_has "CVE-2024-3004.dyad:2: expected 'version:commit:version:commit', got 3 fields"
err_has "CVE-2024-3005.json: field 'containers.cna.title': expected a string"
check "good record stored" sh -c "\"$TUXTAPE\" --db \"$DB\" cve show CVE-2024-3006 >/dev/null"
check "bad record not stored" sh -c "! \"$TUXTAPE\" --db \"$DB\" cve show CVE-2024-3001 >/dev/null 2>&1"
# A record that was fine and turns bad keeps its last good content.
sed -i 's/"title":"net: fix one, retitled"/"title":[]/' "$Y/CVE-2024-1001.json"
commit worse >/dev/null
expect_exit 4 "$TUXTAPE" --db "$DB" cve sync
check "old content kept" sh -c "\"$TUXTAPE\" --db \"$DB\" cve show CVE-2024-1001 | grep -q retitled"
# Fixing the files clears the skips, with no other change needed.
rm "$Y"/CVE-2024-300[1-5].*
record published CVE-2024-1001 "net: fix one, mended"
commit fixed >/dev/null
expect_exit 0 "$TUXTAPE" --db "$DB" --json cve sync
check "skips cleared" sh -c "\"$TUXTAPE\" --db \"$DB\" --json cve stats | grep -q '\"skipped_records\": 0'"

# Repository errors leave the database as it was.
dump_db "$DB" >"$TMP/before"
expect_exit 1 "$TUXTAPE" --db "$DB" cve sync --repo "$TMP/does-not-exist"
err_has "does not exist"
mkdir "$TMP/plain"
expect_exit 1 "$TUXTAPE" --db "$TMP/o1/other.db" cve sync --repo "$TMP/plain"
err_has "cannot clone '$TMP/plain'"
check "no half-made mirror" [ ! -e "$TMP/o1/vulns.git" ]
expect_exit 1 "$TUXTAPE" --db "$TMP/o2/other.db" cve sync --repo "http://127.0.0.1:1/vulns.git"
err_has "127.0.0.1:1"
expect_exit 1 "$TUXTAPE" --db "$DB" cve sync --rev no-such-rev
err_has "revision 'no-such-rev' not found"
dump_db "$DB" >"$TMP/after"
check "database unchanged by failed syncs" cmp -s "$TMP/before" "$TMP/after"

# A corrupt database file is named, and not overwritten.
head -c 8192 /dev/urandom >"$TMP/corrupt.db"
cp "$TMP/corrupt.db" "$TMP/corrupt.orig"
expect_exit 1 "$TUXTAPE" --db "$TMP/corrupt.db" cve sync --repo "$R"
err_has "corrupt.db"
check "corrupt file untouched" cmp -s "$TMP/corrupt.db" "$TMP/corrupt.orig"

# --json errors are JSON on stdout.
expect_exit 1 "$TUXTAPE" --db "$DB" --json cve show CVE-1999-0001
check "json error" grep -q '"error"' "$TMP/out"
# Bad options are usage errors.
expect_exit 64 "$TUXTAPE" --db "$DB" cve list --min-score eleven
expect_exit 64 "$TUXTAPE" --db "$DB" cve list --state maybe
finish
