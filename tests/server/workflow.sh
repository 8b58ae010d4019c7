#!/bin/sh
# The review workflow end to end against a real server on 127.0.0.1: tuxtape patch create /
# edit / submit, the two-person rule, two tuxtape-builders (one killed mid-job: its lease
# lapses and the other builds the job), approvals, publish into a real archive, read back with
# the TUF client (tuxtape-agent tuf-client) as an agent would, withdraw.
# The real build needs the Debian kernel packages and skips (77) without them.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/lib.sh"
: "${TUXTAPE_BUILDER:?}" "${TUXTAPE_AGENT:?}"
DB="$TMP/db/t.db"
SERVER_BIN=$TUXTAPE_SERVER
srv() { "$SERVER_BIN" --db "$DB" "$@"; }
make_certs
mkdir -p "$TMP/db"
for n in author-1 reviewer-1 reviewer-2 publisher-1 builder-1 builder-2; do
    role=${n%-*}
    srv token create --role "$role" "$n" >"$TMP/$n.token" || { fail "token $n"; exit 1; }
done
"$TUXTAPE" archive init "$TMP/stable" >/dev/null 2>&1 || { fail "archive init"; exit 1; }
"$TUXTAPE" archive init "$TMP/canary" >/dev/null 2>&1 || { fail "archive init canary"; exit 1; }
start_server "$TMP/server.log" --db "$DB" --archive "$TMP/stable" --channel "canary=$TMP/canary" --lease 6 --allow-untested
export TUXTAPE_SERVER="https://127.0.0.1:$PORT" TUXTAPE_CA="$TMP/pki/ca.pem"
as_() { f=$1; shift; "$TUXTAPE" "$@" --token-file "$TMP/$f.token"; }

KVER=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n1)
PATCH="$SRCDIR/tests/livepatch/patches/a-static-helper.patch"
expect_exit 0 as_ author-1 --json patch create --cve CVE-2024-1001 --kernel "${KVER:-6.1.0-0-amd64}" --patch "$PATCH"
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/out")
check "a new patch is a draft" grep -q '"state": "draft"' "$TMP/out"
expect_exit 1 as_ reviewer-1 patch create --cve CVE-2024-1001 --kernel x --patch "$PATCH"
err_has "403"
# a reviewer's revision: theirs, so they may not approve it
expect_exit 0 as_ reviewer-1 patch edit "$ID" --patch "$PATCH" --note "same, by the reviewer"
check "revision 2" as_ reviewer-1 patch show "$ID"
expect_exit 0 as_ author-1 patch submit "$ID"
expect_exit 0 as_ author-1 --json patch show "$ID"
check "one job queued per kernel" grep -q '"state": "queued"' "$TMP/out"
expect_exit 1 as_ reviewer-1 review approve "$ID"
err_has "cannot approve it (two-person rule)"
expect_exit 1 as_ author-1 review approve "$ID"
err_has "403"
expect_exit 0 as_ reviewer-2 review comment "$ID" -m "looks right"
expect_exit 0 as_ reviewer-2 review approve "$ID"
expect_exit 1 as_ reviewer-2 review approve "$ID"
err_has "already"
expect_exit 1 as_ publisher-1 publish "$ID" --channel stable
err_has "only an approved patch is published"

# ---- the builders (the real livepatch build) ----
. "$SRCDIR/tests/e2e/lp-env.sh" 2>/dev/null || { echo "SKIP: no kernel packages for the build"; exit 77; }
SYMS=$(XDG_CACHE_HOME="$HOME/.cache" bash "$SRCDIR/tests/e2e/qemu-run.sh" --kver "$KVER" kallsyms-cached 2>/dev/null) || { echo "SKIP: no kallsyms"; exit 77; }
mkdir -p "$TMP/w1" "$TMP/w2"
XDG_CACHE_HOME="$HOME/.cache" "$TUXTAPE_BUILDER" -v --token-file "$TMP/builder-1.token" --kernel "$KVER" --source-tarball "$TARBALL" --symbols "$SYMS" --work "$TMP/w1" --poll 1 2>"$TMP/b1.log" &
B1=$!
for _ in $(seq 100); do grep -q "leased job" "$TMP/b1.log" && break; sleep 0.1; done
check "builder 1 leased the job" grep -q "leased job" "$TMP/b1.log"
kill -9 "$B1"; wait "$B1" 2>/dev/null || :
XDG_CACHE_HOME="$HOME/.cache" "$TUXTAPE_BUILDER" -v --token-file "$TMP/builder-2.token" --kernel "$KVER" --source-tarball "$TARBALL" --symbols "$SYMS" --work "$TMP/w2" --poll 1 --max-jobs 1 2>"$TMP/b2.log" &
B2=$!
for _ in $(seq 600); do kill -0 "$B2" 2>/dev/null || break; sleep 1; done
kill "$B2" 2>/dev/null || :; rc=0; wait "$B2" || rc=$?
check "builder 2 finished the job" [ "$rc" = 0 ] || sed "s|^|    b2: |" "$TMP/b2.log"
expect_exit 0 as_ author-1 --json patch show "$ID"
check "the job was built after the lease lapsed" grep -q '"build": "written"' "$TMP/out"
check "it ran twice: attempts 2" grep -q '"attempts": 2' "$TMP/out"
check "the patch is built" grep -q '"state": "built"' "$TMP/out"
cp "$TMP/out" "$TMP/shown"
# built, one approval of two: not yet
expect_exit 1 as_ publisher-1 publish "$ID" --channel canary
err_has "only an approved patch is published"
srv token create --role reviewer reviewer-3 >"$TMP/reviewer-3.token"
expect_exit 0 as_ reviewer-3 review approve "$ID"
expect_exit 0 as_ publisher-1 publish "$ID" --channel canary
expect_exit 0 as_ publisher-1 --json publish "$ID" --channel stable
check "published" grep -q '"state": "published"' "$TMP/out"
expect_exit 0 "$TUXTAPE" --json archive status "$TMP/stable"
check "the archive serves the module" grep -q "$KVER/tt_job" "$TMP/out"
# ---- read back as a fleet agent does: TUF metadata over HTTP from the root, then the module ----
: >"$TMP/http.log" # before the server's shell opens it: the loop below reads it at once
python3 -u -m http.server --bind 127.0.0.1 --directory "$TMP/stable/public" 0 >"$TMP/http.log" 2>&1 &
SERVER_PIDS="$SERVER_PIDS $!"
HPORT=""
for _ in $(seq 100); do
    HPORT=$(sed -n 's/^Serving HTTP on .* port \([0-9]*\) .*/\1/p' "$TMP/http.log" || :)
    [ -n "$HPORT" ] && break; sleep 0.1
done
check "the archive is served over HTTP" [ -n "$HPORT" ]
AURL="http://127.0.0.1:$HPORT"
# the published target and its hash, as the archive's signed delegation lists them
python3 - "$TMP/out" "$KVER" >"$TMP/target" <<'PY'
import json, sys
def walk(o):
    if isinstance(o, dict):
        if str(o.get("target", "")).startswith(sys.argv[2] + "/tt_job"):
            yield o
        for v in o.values(): yield from walk(v)
    elif isinstance(o, list):
        for v in o: yield from walk(v)
t = next(walk(json.load(open(sys.argv[1]))))
print(t["target"], t["sha256"])
PY
read -r TARGET TSHA <"$TMP/target"
tuf() { "$TUXTAPE_AGENT" tuf-client --metadata-dir "$TMP/tuf" "$@"; }
expect_exit 0 tuf init "$TMP/stable/public/metadata/1.root.json"
expect_exit 0 tuf --metadata-url "$AURL/metadata/" refresh
check "refresh fetched the timestamp" [ -s "$TMP/tuf/timestamp.json" ]
expect_exit 0 tuf --metadata-url "$AURL/metadata/" --target-name "$TARGET" \
    --target-base-url "$AURL/targets/" --target-dir "$TMP/dl" download
DL=$(find "$TMP/dl" -type f -name '*.ko' | head -n1)
check "the module downloaded" [ -n "$DL" ]
check "its hash is the signed one" [ "$(sha256sum "$DL" | cut -d' ' -f1)" = "$TSHA" ]
JSHA=$(python3 -c 'import json,sys; print([j for j in json.load(open(sys.argv[1]))["jobs"] if j.get("module_sha256")][-1]["module_sha256"])' "$TMP/shown")
check "and the builder's module's" [ "$JSHA" = "$TSHA" ]
expect_exit 0 as_ publisher-1 --json withdraw "$ID" --reason test
check "withdrawn" grep -q '"state": "withdrawn"' "$TMP/out"
api /v1/audit -H "Authorization: Bearer $(srv token create --role admin admin-1)"
for a in patch.create patch.revise patch.submit review.approve job.lease job.finish patch.publish patch.withdraw; do
    check "audit has $a" grep -q "\"$a\"" "$TMP/body"
done
stop_server "$PID"
finish
