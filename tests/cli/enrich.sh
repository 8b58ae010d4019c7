#!/bin/sh
# tuxtape cve enrich against a fixture HTTP server on 127.0.0.1: KEV, EPSS, NVD (per CVE,
# bulk, resumed, retried), a local NVD feed, and the errors: bad input, HTTP errors,
# unreachable, oversized, slow.
set -eu
: "${TUXTAPE:?}" "${SRCDIR:?}" "${BUILDDIR:?}"
HTTPD="$BUILDDIR/tests/helpers/httpd-fixture"
FIX="$SRCDIR/tests/fixtures/enrich"
command -v sqlite3 >/dev/null || { echo "no sqlite3 CLI: skipped"; exit 77; }
command -v gzip >/dev/null || { echo "no gzip: skipped"; exit 77; }
[ -x "$HTTPD" ] || { echo "no $HTTPD: skipped"; exit 77; }

tmp=$(mktemp -d /tmp/tt-enrich-cli.XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# What the server serves: the fixtures, a gzip copy of the EPSS file, and an NVD bulk
# "API" whose second page is missing, to interrupt a pass.
www="$tmp/www"
cp -r "$FIX" "$www"
gzip -c "$FIX/epss.csv" > "$www/epss.csv.gz"
gzip -c "$FIX/nvd-feed.json" > "$www/nvd-feed.json.gz"
mkdir "$www/nvd-broken"
cp "$FIX/nvd-bulk/page-0.json" "$www/nvd-broken/"

"$HTTPD" --dir "$www" --port-file "$tmp/port" --log "$tmp/http.log" --lifetime 300 &
pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "FAIL: fixture server did not start"; exit 1; }
    sleep 0.1
done
U="http://127.0.0.1:$(cat "$tmp/port")"

# Nothing of NVD's 30 s window or the back-off is really waited for.
export TUXTAPE_NVD_WINDOW_MS=20 TUXTAPE_HTTP_RETRY_MS=1
unset NVD_API_KEY || true

fail=0
t() { "$TUXTAPE" "$@"; }
q() { sqlite3 "$db" "$1"; }
expect() { # expect WHAT GOT WANT
    [ "$2" = "$3" ] || { echo "FAIL: $1: got '$2', want '$3'"; fail=1; }
}
expect_rc() { # expect_rc WANT CMD...
    want=$1; shift
    rc=0; "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" = "$want" ] || { echo "FAIL: '$*' exited $rc, want $want"; cat "$tmp/err"; fail=1; }
}
expect_err() { # expect_err TEXT: the last command's stderr contains TEXT
    grep -qF -- "$1" "$tmp/err" || { echo "FAIL: stderr lacks '$1':"; cat "$tmp/err"; fail=1; }
}
requests() { grep -cF -- "$1" "$tmp/http.log" || true; }

# A database holding a few real kernel CVEs: CNA-scored 2024-36971, rejected 2023-0266.
newdb() {
    db="$tmp/$1.db"
    t --db "$db" cve enrich --kev "$FIX/kev.json" 2>/dev/null # creates the schema
    q "INSERT INTO cve(id, state, path) VALUES
        ('CVE-2024-1086', 'published', 'cve/published/2024/CVE-2024-1086.json'),
        ('CVE-2024-53104', 'published', 'cve/published/2024/CVE-2024-53104.json'),
        ('CVE-2024-50264', 'published', 'cve/published/2024/CVE-2024-50264.json'),
        ('CVE-2024-26581', 'published', 'cve/published/2024/CVE-2024-26581.json'),
        ('CVE-2024-36971', 'published', 'cve/published/2024/CVE-2024-36971.json'),
        ('CVE-2023-0266', 'rejected', 'cve/rejected/2023/CVE-2023-0266.json');
       INSERT INTO cve_cvss(cve_id, source, version, vector, base_score) VALUES
        ('CVE-2024-36971', 'cna', '3.1', 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8);"
}

## All three sources over HTTP, NVD one CVE at a time with an API key.
newdb main
expect_rc 0 t --db "$db" cve enrich --kev "$U/kev.json" --epss "$U/epss.csv.gz" \
    --nvd --nvd-url "$U/nvd" --nvd-api-key s3cret
expect "kev rows" "$(q 'SELECT group_concat(cve_id) FROM (SELECT cve_id FROM kev ORDER BY 1)')" \
    "CVE-2024-1086,CVE-2024-36971,CVE-2024-53104"
expect "kev fields" "$(q "SELECT date_added||' '||due_date||' '||known_ransomware FROM kev WHERE cve_id='CVE-2024-1086'")" \
    "2024-05-30 2024-06-20 Known"
expect "epss rows" "$(q 'SELECT count(*) FROM epss')" 6
expect "epss 1086" "$(q "SELECT epss||' '||percentile||' '||date FROM epss WHERE cve_id='CVE-2024-1086'")" \
    "0.84719 0.99287 2025-05-01"
expect "nvd rows" "$(q "SELECT group_concat(x) FROM (SELECT cve_id||':'||version||':'||base_score||':'||severity x FROM cve_cvss WHERE source='nvd' ORDER BY 1)")" \
    "CVE-2024-1086:3.1:7.8:HIGH,CVE-2024-53104:3.1:7.8:HIGH,CVE-2024-53104:4.0:8.5:HIGH"
expect "computed scores" "$(q "SELECT group_concat(computed_score) FROM (SELECT computed_score FROM cve_cvss WHERE source='nvd' ORDER BY cve_id, version)")" \
    "7.8,7.8,8.5"
expect "nvd state" "$(q "SELECT group_concat(x) FROM (SELECT cve_id||'='||status x FROM nvd_state ORDER BY 1)")" \
    "CVE-2024-1086=scored,CVE-2024-26581=missing,CVE-2024-50264=unscored,CVE-2024-53104=scored"
expect "nvd requests" "$(requests 'GET /nvd?cveId=')" 4
# NVD's publication date is kept as the second source of a CVE's date.
expect "nvd published" "$(q "SELECT published FROM nvd_state WHERE cve_id = 'CVE-2024-53104'")" 2024-12-02
expect "date source nvd without history" "$(t --db "$db" --json cve show CVE-2024-53104 | python3 -c 'import json,sys; o=json.load(sys.stdin); print(o["published"], o["date_source"])')" "2024-12-02 nvd"
expect "api key sent" "$(requests 'apiKey=s3cret')" 4
expect "CNA-scored CVE not asked" "$(requests 'CVE-2024-36971')" 0
expect "rejected CVE not asked" "$(requests 'CVE-2023-0266')" 0
grep -q "nvd: 4 CVEs due, 3 scores stored, 1 unscored by NVD, 1 not in NVD, 0 skipped, 4 requests" \
    "$tmp/err" || { echo "FAIL: nvd summary:"; cat "$tmp/err"; fail=1; }

## Asked recently: a second run asks nothing.
expect_rc 0 t --db "$db" cve enrich --nvd --nvd-url "$U/nvd"
expect "no new nvd requests" "$(requests 'GET /nvd?cveId=')" 4

## --json: a summary object on stdout.
expect_rc 0 t --db "$db" --json cve enrich --kev "$FIX/kev.json" --epss "$FIX/epss.csv"
expect "json kev stored" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["kev_import"]["stored"], d["kev_import"]["not_in_db"], d["epss_import"]["stored"], d["epss_import"]["requests"])' "$tmp/out")" \
    "3 1 6 0"

## Bad input: a one-line error naming the file and field or line; the table stays.
expect_rc 1 t --db "$db" cve enrich --kev "$FIX/kev-bad-type.json"
expect_err "kev-bad-type.json': vulnerabilities[2].dueDate: expected a string"
expect "kev kept" "$(q 'SELECT count(*) FROM kev')" 3
expect_rc 1 t --db "$db" cve enrich --kev "$U/kev-malformed.json"
expect_err "kev-malformed.json': line "
expect_rc 1 t --db "$db" cve enrich --epss "$FIX/epss-bad-number.csv"
expect_err "epss-bad-number.csv': line 7: epss: '0.0O211' is not a number in [0, 1]"
expect_rc 1 t --db "$db" cve enrich --epss "$U/epss-bad-row.csv"
expect_err "epss-bad-row.csv': line 8: expected 3 fields, found 2"
expect "epss kept" "$(q 'SELECT count(*) FROM epss')" 6
# One bad source does not stop the others.
expect_rc 1 t --db "$db" cve enrich --kev "$FIX/kev-bad-id.json" --epss "$FIX/epss.csv"
expect_err "epss: 6 stored from 7 entries"
expect_rc 1 t --db "$db" --json cve enrich --kev "$FIX/kev-bad-id.json"
grep -q '"error": ".*is not a CVE id' "$tmp/out" || { echo "FAIL: --json error"; cat "$tmp/out"; fail=1; }

## HTTP trouble.
expect_rc 1 t --db "$db" cve enrich --kev "$U/status/500/kev.json"
expect_err "/status/500/kev.json': HTTP 500"
expect_rc 1 t --db "$db" cve enrich --kev "$U/no-such.json"
expect_err "no-such.json': HTTP 404"
expect_rc 1 t --db "$db" cve enrich --kev "http://127.0.0.1:1/kev.json"
expect_err "http://127.0.0.1:1/kev.json': "
expect_rc 1 t --db "$db" cve enrich --kev "$U/big/70000000"
expect_err "response larger than the 67108864-byte limit"
expect_rc 1 t --db "$db" cve enrich --epss "$FIX/no-such.csv"
expect_err "cannot read '$FIX/no-such.csv': No such file or directory"
# 503 twice, then the file: retried.
expect_rc 0 t --db "$db" cve enrich --kev "$U/flaky/503/2/kev.json"
expect "flaky kev requests" "$(requests 'GET /flaky/503/2/kev.json')" 3
# 429 for ever: a bounded number of attempts (1 + 3 retries).
expect_rc 1 t --db "$db" cve enrich --kev "$U/flaky/429/100/kev.json"
expect_err "HTTP 429 (gave up after retrying)"
expect "bounded retries" "$(requests 'GET /flaky/429/100/kev.json')" 4
# Slower than the (shrunk) timeout.
TUXTAPE_HTTP_TIMEOUT_S=1 expect_rc 1 t --db "$db" cve enrich --kev "$U/slow/2500/kev.json"
expect_err "gave up after 4 attempts"
expect "kev still kept" "$(q 'SELECT count(*) FROM kev')" 3

## NVD rate-limited (429 once per CVE, with Retry-After 0): every CVE retried once.
newdb retry
expect_rc 0 t --db "$db" cve enrich --nvd --nvd-url "$U/flaky/429/1/nvd"
expect "retried nvd requests" "$(requests 'GET /flaky/429/1/nvd?cveId=')" 8
expect "retried nvd rows" "$(q "SELECT count(*) FROM cve_cvss WHERE source='nvd'")" 3

## NVD bulk pass, interrupted after its first page, then resumed.
newdb bulk
q "INSERT INTO cve(id, state, path) VALUES
    ('CVE-2023-52434', 'published', 'cve/published/2023/CVE-2023-52434.json')"
expect_rc 1 t --db "$db" cve enrich --nvd --nvd-bulk --nvd-page-size 2 --nvd-url "$U/nvd-broken"
expect_err "nvd: stopped (run again to resume)"
expect "first page kept" "$(q "SELECT group_concat(x) FROM (SELECT cve_id||'='||status x FROM nvd_state ORDER BY 1)")" \
    "CVE-2023-52434=error,CVE-2024-1086=scored"
expect_rc 4 t --db "$db" cve enrich --nvd --nvd-page-size 2 --nvd-url "$U/nvd-bulk"
expect_err "vulnerabilities[1].cve.id: missing or not a CVE id; skipping the record"
expect "resumed, not restarted" "$(requests 'GET /nvd-bulk?sourceIdentifier=416baaa9-dc9f-4396-8d5f-8c081fb06d67&resultsPerPage=2&startIndex=0')" 0
expect "resumed pages" "$(requests 'GET /nvd-bulk?sourceIdentifier=')" 2
expect "bulk state" "$(q "SELECT group_concat(x) FROM (SELECT cve_id||'='||status x FROM nvd_state ORDER BY 1)")" \
    "CVE-2023-52434=error,CVE-2024-1086=scored,CVE-2024-26581=missing,CVE-2024-50264=unscored,CVE-2024-53104=scored"
expect "bulk rows" "$(q "SELECT count(*) FROM cve_cvss WHERE source='nvd'")" 3
# The next pass is incremental (by lastModified since the last one); a CVE never asked
# about that it does not mention is then asked about on its own.
q "INSERT INTO cve(id, state, path) VALUES
    ('CVE-2024-50265', 'published', 'cve/published/2024/CVE-2024-50265.json')"
cp "$FIX/nvd/CVE-2024-26581.json" "$www/nvd-bulk/CVE-2024-50265.json"
expect_rc 4 t --db "$db" cve enrich --nvd --nvd-bulk --nvd-page-size 2 --nvd-url "$U/nvd-bulk"
expect "incremental pages" "$(grep -c 'GET /nvd-bulk?sourceIdentifier=.*&lastModStartDate=20[0-9-]*T[0-9:]*.000+00:00&lastModEndDate=' "$tmp/http.log")" 3
expect "never-asked CVE asked alone" "$(requests 'GET /nvd-bulk?cveId=CVE-2024-50265')" 1
expect "its state" "$(q "SELECT status FROM nvd_state WHERE cve_id = 'CVE-2024-50265'")" missing

## A local NVD feed, gzip-compressed; the bad record is skipped (exit 4), the rest stored.
newdb feed
expect_rc 4 t --db "$db" cve enrich --nvd-feed "$www/nvd-feed.json.gz"
expect "feed rows" "$(q "SELECT count(*) FROM cve_cvss WHERE source='nvd'")" 3
expect_rc 1 t --db "$db" cve enrich --nvd-feed "$FIX/nvd-malformed.json"
expect_err "nvd-malformed.json': line 1 column"
expect "feed rows kept" "$(q "SELECT count(*) FROM cve_cvss WHERE source='nvd'")" 3

## Usage.
expect_rc 64 t --db "$db" cve enrich
expect_rc 64 t --db "$db" cve enrich --nvd --nvd-url ftp://example.org/
expect_rc 64 t --db "$db" cve enrich --nvd --nvd-page-size 5000
expect_rc 0 t cve enrich --help
grep -q '^usage: tuxtape cve enrich' "$tmp/out" || { echo "FAIL: --help"; fail=1; }

[ $fail = 0 ] && echo "enrich: all checks passed ($(wc -l < "$tmp/http.log") HTTP requests served)"
exit $fail
