#!/bin/sh
# The database file itself: db check on a sound and a damaged file, writers refusing a
# damaged file and leaving it byte for byte, concurrent first syncs, and a full disk.
. "$(dirname "$0")/lib.sh"

R="$TMP/vulns"
git init -q -b master "$R"
mkdir -p "$R/cve/published/2024"
# Enough records, with long descriptions, that the cve table spans many pages and a first
# sync writes well over a megabyte.
i=0
while [ $i -lt 400 ]; do
    id=CVE-2024-$((10000 + i))
    printf '{"containers":{"cna":{"title":"fix %s","descriptions":[{"lang":"en","value":"%s"}],"affected":[]}},"cveMetadata":{"cveId":"%s","state":"PUBLISHED"},"dataType":"CVE_RECORD","dataVersion":"5.1"}' \
        "$i" "$(head -c 3000 /dev/zero | tr '\0' 'x')" "$id" >"$R/cve/published/2024/$id.json"
    i=$((i + 1))
done
git -C "$R" add -A
git -C "$R" -c user.email=t@example.org -c user.name=test commit -qm records

DB="$TMP/db/t.db"
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync --repo "$R"
expect_exit 0 "$TUXTAPE" --db "$DB" db check
check "sound: prints ok" [ "$(cat "$TMP/out")" = ok ]
expect_exit 0 "$TUXTAPE" --db "$DB" --json db check
check "sound: json ok" grep -q '"ok": true' "$TMP/out"
expect_exit 0 "$TUXTAPE" --db "$DB" db check --quick
expect_exit 1 "$TUXTAPE" --db "$TMP/none.db" db check
err_has "no database at '$TMP/none.db'"
check "db check creates nothing" [ ! -e "$TMP/none.db" ]
expect_exit 64 "$TUXTAPE" --db "$DB" db check extra

# Damage one leaf page of the cve table: its cell pointers become 0xffff.
cp "$DB" "$TMP/bad.db"
page=$(sqlite3 "$TMP/bad.db" "SELECT pageno FROM dbstat WHERE name = 'cve' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 3")
check "found a cve leaf page" [ -n "$page" ]
printf '\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377' |
    dd of="$TMP/bad.db" bs=1 seek=$(((page - 1) * 4096 + 8)) conv=notrunc 2>/dev/null
check "sqlite's own integrity_check reports the damage" \
    sh -c "! sqlite3 '$TMP/bad.db' 'PRAGMA integrity_check' 2>&1 | grep -qx ok"
sum=$(sha256sum <"$TMP/bad.db")

expect_exit 1 "$TUXTAPE" --db "$TMP/bad.db" db check
check "db check prints the problem" grep -q "page $page" "$TMP/out"
err_has "'$TMP/bad.db' is damaged"
expect_exit 1 "$TUXTAPE" --db "$TMP/bad.db" --json db check
check "json: ok false" grep -q '"ok": false' "$TMP/out"
check "json: one document, no error object" sh -c "python3 -c 'import json,sys; d=json.load(open(\"$TMP/out\")); assert d[\"problems\"] and \"error\" not in d'"
expect_exit 1 "$TUXTAPE" --db "$TMP/bad.db" db check --quick

# A new commit to sync: the writer must refuse before writing anything.
printf '{"containers":{"cna":{"title":"new","descriptions":[{"lang":"en","value":"n"}],"affected":[]}},"cveMetadata":{"cveId":"CVE-2024-99999","state":"PUBLISHED"},"dataType":"CVE_RECORD","dataVersion":"5.1"}' \
    >"$R/cve/published/2024/CVE-2024-99999.json"
git -C "$R" add -A
git -C "$R" -c user.email=t@example.org -c user.name=test commit -qm more
expect_exit 1 "$TUXTAPE" --db "$TMP/bad.db" cve sync --repo "$R"
err_has "'$TMP/bad.db' is damaged"
err_has "restore it from a backup"
check "sync left the damaged file as it was" [ "$(sha256sum <"$TMP/bad.db")" = "$sum" ]
check "sync left no WAL" [ ! -e "$TMP/bad.db-wal" ]
expect_exit 1 "$TUXTAPE" --db "$TMP/bad.db" --json cve sync --repo "$R"
check "json sync error names the file" grep -q "bad.db' is damaged" "$TMP/out"
check "json sync left the file as it was" [ "$(sha256sum <"$TMP/bad.db")" = "$sum" ]

# Damage where the sync never reads (epss, enrichment data): the sync does all its work,
# and the quick check beside it stops the commit; the file stays byte for byte.
cp "$DB" "$TMP/aside.db"
sqlite3 "$TMP/aside.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO epss SELECT 'CVE-2024-' || (20000 + i), 0.5, 0.5, printf('%.100c', 'd') FROM n"
page=$(sqlite3 "$TMP/aside.db" "SELECT pageno FROM dbstat WHERE name = 'epss' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 3")
check "found an epss leaf page" [ -n "$page" ]
printf '\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377' |
    dd of="$TMP/aside.db" bs=1 seek=$(((page - 1) * 4096 + 8)) conv=notrunc 2>/dev/null
check "the epss damage is there" \
    sh -c "! sqlite3 '$TMP/aside.db' 'PRAGMA quick_check' 2>&1 | grep -qx ok"
sum=$(sha256sum <"$TMP/aside.db")
expect_exit 1 "$TUXTAPE" -vv --db "$TMP/aside.db" cve sync --repo "$R" --mirror "$TMP/db/vulns.git"
err_has "quick_check of '$TMP/aside.db' beside the writer"
err_has "'$TMP/aside.db' is damaged"
err_has "restore it from a backup"
check "aside: the records were stored before the refusal" grep -q "records stored" "$TMP/err"
check "aside: the commit was refused" sh -c "! grep -q 'sync: committed' '$TMP/err'"
check "aside: sync left the damaged file as it was" [ "$(sha256sum <"$TMP/aside.db")" = "$sum" ]
check "aside: no WAL left" [ ! -e "$TMP/aside.db-wal" ]
check "aside: the new record is not there" \
    [ "$(sqlite3 "$TMP/aside.db" "SELECT count(*) FROM cve WHERE id = 'CVE-2024-99999'")" = 0 ]

# A sync with nothing new writes nothing, so it does not check: the damaged file is left as
# it was, and the next sync that has something to write refuses it.
cp "$TMP/aside.db" "$TMP/aside2.db"
sqlite3 "$TMP/aside2.db" "UPDATE meta SET value = '$(git -C "$R" rev-parse HEAD)' WHERE key IN ('vulns_commit', 'history_commit')"
sum=$(sha256sum <"$TMP/aside2.db")
expect_exit 0 "$TUXTAPE" -vv --db "$TMP/aside2.db" cve sync --offline --mirror "$TMP/db/vulns.git"
check "up to date: no check ran" sh -c "! grep -q quick_check '$TMP/err'"
check "up to date: the file is as it was" [ "$(sha256sum <"$TMP/aside2.db")" = "$sum" ]

# Concurrent first syncs of one new database: all succeed, the schema is made once.
for round in 1 2 3 4 5; do
    d="$TMP/race$round"
    for n in 1 2 3; do
        (rc=0; "$TUXTAPE" -q --db "$d/t.db" cve sync --repo "$R" >"$d.out$n" 2>"$d.err$n" ||
             rc=$?; echo $rc >"$d.rc$n") &
    done
    wait
    for n in 1 2 3; do
        if [ "$(cat "$d.rc$n")" = 0 ]; then pass; else
            fail "concurrent first sync $n of round $round exited $(cat "$d.rc$n")"
            sed 's/^/    stderr: /' "$d.err$n" | head -c 400; echo
        fi
    done
    check "round $round: records stored once" \
        [ "$(sqlite3 "$d/t.db" 'SELECT count(*) FROM cve')" = 401 ]
done

# No error message may end without its cause.
lost_cause() { ! grep -E '^tuxtape: .*: ?$' "$TMP/err"; }

# A file size limit (EFBIG): the cause is named, and the database is usable afterwards.
rc=0
(trap '' XFSZ; ulimit -f 600; "$TUXTAPE" --db "$TMP/fsize/t.db" cve sync --repo "$R" \
    --mirror "$TMP/race1/vulns.git" >"$TMP/out" 2>"$TMP/err") || rc=$?
check "fsize: sync fails" [ "$rc" = 1 ]
err_has "File too large"
check "fsize: no message without a cause" lost_cause
expect_exit 0 "$TUXTAPE" --db "$TMP/fsize/t.db" db check
expect_exit 0 "$TUXTAPE" --db "$TMP/fsize/t.db" cve sync --repo "$R"

# A full disk (a 1 MiB tmpfs; needs root): a failed first sync removes its WAL.
mkdir "$TMP/small"
if mount -t tmpfs -o size=1m tmpfs "$TMP/small" 2>/dev/null; then
    trap 'umount "$TMP/small" 2>/dev/null; rm -rf "$TMP"' EXIT
    expect_exit 1 "$TUXTAPE" --db "$TMP/small/t.db" cve sync --repo "$R" \
        --mirror "$TMP/race1/vulns.git"
    err_has "cannot write '$TMP/small/t.db'"
    check "full disk: no message without a cause" lost_cause
    check "full disk: no WAL left" [ ! -e "$TMP/small/t.db-wal" ]
    expect_exit 0 "$TUXTAPE" --db "$TMP/small/t.db" db check
    umount "$TMP/small"
    trap 'rm -rf "$TMP"' EXIT
else
    echo "(full-disk case skipped: cannot mount a tmpfs here)"
fi
finish
