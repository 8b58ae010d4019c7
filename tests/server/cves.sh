#!/bin/sh
# On the real CVE records of ../shared/data: GET /v1/cves and /v1/cves/ID answer exactly what
# `tuxtape --json cve list/show` prints for the same database and filters.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/lib.sh"
BUNDLE=$(shared_data)
OLD=518d67ad3a5ab7d04ad8240673cd93163e721603

DB="$TMP/db/t.db"
git clone -q "$BUNDLE" "$TMP/vulns"
expect_exit 0 "$TUXTAPE" --db "$DB" cve sync --repo "$TMP/vulns" --rev $OLD
make_certs
expect_exit 0 "$TUXTAPE_SERVER" --db "$DB" token create --role viewer v
TOKEN_viewer=$(cat "$TMP/out")
start_server "$TMP/server.log" --db "$DB"

same() { # same PATH TUXTAPE-ARGS...
    path=$1; shift
    api "$path" -H "$(as viewer)"
    "$TUXTAPE" --db "$DB" --json "$@" >"$TMP/cli.json"
    if [ "$STATUS" = 200 ] && cmp -s "$TMP/body" "$TMP/cli.json"; then pass; else
        fail "$path ($STATUS) differs from tuxtape --json $*"; diff "$TMP/cli.json" "$TMP/body" | head -5
    fi
}
same "/v1/cves?limit=50" cve list --limit 50
same "/v1/cves?min_score=9&limit=0" cve list --min-score 9
same "/v1/cves?file=net/ipv4/*&limit=0" cve list --file 'net/ipv4/*'
same "/v1/cves?since=2025-06-01&limit=200" cve list --since 2025-06-01 --limit 200
same "/v1/cves?state=rejected&limit=0" cve list --state rejected
same "/v1/cves?state=all&limit=0" cve list --state all
same /v1/cves/stats cve stats
# CVEs spread over the whole database.
sqlite3 "$DB" "SELECT id FROM cve ORDER BY id" | awk 'NR % 400 == 1' >"$TMP/ids"
while read -r id; do
    same "/v1/cves/$id" cve show "$id"
done <"$TMP/ids"
check "25 or more CVEs compared" [ "$(wc -l <"$TMP/ids")" -ge 25 ]
stop_server "$PID"
finish
