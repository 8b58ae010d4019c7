#!/bin/sh
# Acceptance on the real CVE records of ../shared/data: incremental and direct syncs agree,
# the published and rejected sets are exactly the repository's, and every CNA CVSS base score
# equals tuxtape's own calculation from the vector.
. "$(dirname "$0")/lib.sh"
BUNDLE=$(shared_data)
OLD=518d67ad3a5ab7d04ad8240673cd93163e721603
MID=7ef679cd2d92e1f098de514b96b2f083e782eedb
NEW=4b7dbd40c5788b772ec943293f950998fef0e97b

git clone -q "$BUNDLE" "$TMP/vulns"

expect_exit 0 "$TUXTAPE" --db "$TMP/inc/t.db" cve sync --repo "$TMP/vulns" --rev $OLD
expect_exit 0 "$TUXTAPE" --db "$TMP/inc/t.db" cve sync --rev $NEW
expect_exit 0 "$TUXTAPE" --db "$TMP/direct/t.db" cve sync --repo "$TMP/vulns" --rev $NEW
dump_db "$TMP/inc/t.db" >"$TMP/inc.dump"
dump_db "$TMP/direct/t.db" >"$TMP/direct.dump"
check "518d67ad -> 4b7dbd40 equals a direct sync of 4b7dbd40" cmp -s "$TMP/inc.dump" "$TMP/direct.dump"
check "dump is not trivially empty" [ "$(wc -l <"$TMP/direct.dump")" -gt 100000 ]

# The exact published and rejected sets of the commit.
for state in published rejected; do
    git -C "$TMP/vulns" ls-tree -r --name-only $NEW "cve/$state" | sed -n 's,.*/\(CVE-[0-9-]*\)\.json$,\1,p' | sort >"$TMP/want.$state"
    sqlite3 "$TMP/inc/t.db" "SELECT id FROM cve WHERE state = '$state'" | sort >"$TMP/got.$state"
    check "$state set equals the repository's" cmp -s "$TMP/want.$state" "$TMP/got.$state"
done
check "14,626 published" [ "$(wc -l <"$TMP/got.published")" = 14626 ]
check "312 rejected" [ "$(wc -l <"$TMP/got.rejected")" = 312 ]

# Every record with a CNA score: stored, recomputed, equal.
want=$(git -C "$TMP/vulns" grep -l '"baseScore"' $NEW -- 'cve/*.json' | wc -l)
got=$(sqlite3 "$TMP/inc/t.db" "SELECT count(*) FROM cve_cvss WHERE source = 'cna' AND base_score IS NOT NULL")
computed=$(sqlite3 "$TMP/inc/t.db" "SELECT count(*) FROM cve_cvss WHERE source = 'cna' AND base_score IS NOT NULL AND computed_score IS NOT NULL")
equal=$(sqlite3 "$TMP/inc/t.db" "SELECT count(*) FROM cve_cvss WHERE source = 'cna' AND round(base_score, 1) = round(computed_score, 1)")
echo "records with a CNA baseScore: $want; stored $got; computed $computed; equal $equal"
check "every scored record stored" [ "$got" = "$want" ]
check "every score computed" [ "$computed" = "$want" ]
check "every computed score equals the record's" [ "$equal" = "$want" ]
check "more than 5,000 scores walked" [ "$want" -gt 5000 ]
check "rationale kept" [ "$(sqlite3 "$TMP/inc/t.db" "SELECT count(*) FROM cve_cvss WHERE rationale LIKE 'AV:%'")" -gt 5000 ]

# Going back to an older commit equals a direct sync of it.
expect_exit 0 "$TUXTAPE" --db "$TMP/inc/t.db" cve sync --rev $MID
expect_exit 0 "$TUXTAPE" --db "$TMP/mid/t.db" cve sync --repo "$TMP/vulns" --rev $MID
dump_db "$TMP/inc/t.db" >"$TMP/a"; dump_db "$TMP/mid/t.db" >"$TMP/b"
check "4b7dbd40 -> 7ef679cd equals a direct sync of 7ef679cd" cmp -s "$TMP/a" "$TMP/b"

# Queries on the real data.
"$TUXTAPE" --db "$TMP/direct/t.db" --json cve show CVE-2024-14040 >"$TMP/show.json"
for key in '"id": "CVE-2024-14040"' '"state": "published"' '"program_files"' '"net/ipv4/nexthop.c"' \
           '"introduced_version": "5.13"' '"fixed_commit": "b72a6a7ab9573e06d5c2fcb92eaa28614a735bfd"' \
           '"versionType": "original_commit_for_fix"' '"base_score": 7.8' '"source": "cna"' '"fix_commits"'; do
    check "show has $key" grep -qF "$key" "$TMP/show.json"
done
"$TUXTAPE" --db "$TMP/direct/t.db" --json cve list --min-score 9 >"$TMP/list.json"
check "list --min-score 9 only has scores >= 9" python3 -c "
import json,sys; a=json.load(open('$TMP/list.json')); assert a and all(x['base_score']>=9 for x in a)
assert all(a[i]['priority']>=a[i+1]['priority'] for i in range(len(a)-1))
assert set(a[0]) >= {'id','priority','base_score','title'}"
"$TUXTAPE" --db "$TMP/direct/t.db" --json cve list --file 'net/ipv4/*' >"$TMP/list2.json"
check "list --file matches program files" python3 -c "
import json; a=json.load(open('$TMP/list2.json')); assert len(a)>100, len(a)"
finish
