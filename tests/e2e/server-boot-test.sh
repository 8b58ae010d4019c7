#!/bin/sh
# The review workflow's boot test for real: a tuxtape-builder with --boot-test builds a module,
# boots it in qemu on its exact kernel (loads, transitions, unloads, clean kernel log), and a
# server that requires a passed boot test (no --allow-untested) publishes it only then; the
# result and the boot log are kept on the job. Skips (77) without qemu or the kernel packages.
. "$(dirname "$0")/../cli/lib.sh"
. "$SRCDIR/tests/e2e/lp-env.sh"
. "$SRCDIR/tests/server/lib.sh"
: "${TUXTAPE_BUILDER:?}"
DB="$TMP/db/t.db"
SERVER_BIN=$TUXTAPE_SERVER
srv() { "$SERVER_BIN" --db "$DB" "$@"; }
# the prepared kernel tree and the kallsyms dump are shared in the real cache
SYMS=$(XDG_CACHE_HOME="$HOME/.cache" bash "$SRCDIR/tests/e2e/qemu-run.sh" --kver "$KVER" kallsyms-cached) ||
    { echo "FAIL: no kallsyms dump"; exit 1; }
make_certs
mkdir -p "$TMP/db"
for n in author-1 reviewer-1 reviewer-2 publisher-1 builder-1 builder-2; do
    srv token create --role "${n%-*}" "$n" >"$TMP/$n.token" || { fail "token $n"; exit 1; }
done
"$TUXTAPE" archive init "$TMP/stable" >/dev/null 2>&1 || { fail "archive init"; exit 1; }
start_server "$TMP/server.log" --db "$DB" --archive "$TMP/stable"
export TUXTAPE_SERVER="https://127.0.0.1:$PORT" TUXTAPE_CA="$TMP/pki/ca.pem"
as_() { f=$1; shift; "$TUXTAPE" "$@" --token-file "$TMP/$f.token"; }
builder() { # builder NAME ARGS... : one job, then exits; at most 15 minutes
    n=$1; shift
    mkdir -p "$TMP/w-$n"
    XDG_CACHE_HOME="$HOME/.cache" timeout 900 "$TUXTAPE_BUILDER" -v --token-file "$TMP/$n.token" \
        --kernel "$KVER" --source-tarball "$TARBALL" --symbols "$SYMS" --work "$TMP/w-$n" \
        --poll 1 --max-jobs 1 "$@" 2>"$TMP/$n.log"
}
job_field() { # job_field FIELD : from the last `patch show --json` in $TMP/out
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][-1].get(sys.argv[2]))' "$TMP/out" "$1"
}
PATCH="$SRCDIR/tests/livepatch/patches/a-static-helper.patch"

# 1. built without a boot test: this server refuses to publish it
expect_exit 0 as_ author-1 --json patch create --cve CVE-2024-1001 --kernel "$KVER" --patch "$PATCH"
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/out")
expect_exit 0 as_ author-1 patch submit "$ID"
check "builder without a boot test" builder builder-2
expect_exit 0 as_ author-1 --json patch show "$ID"
check "built, boot test skipped" [ "$(job_field build)/$(job_field boot)" = written/skipped ]
expect_exit 0 as_ reviewer-1 review approve "$ID"
expect_exit 0 as_ reviewer-2 review approve "$ID"
expect_exit 1 as_ publisher-1 publish "$ID" --channel stable
err_has "boot test skipped"

# 2. a new revision, built and boot-tested in qemu on $KVER: published
expect_exit 0 as_ author-1 patch edit "$ID" --patch "$PATCH" --note "boot-tested this time"
expect_exit 0 as_ author-1 patch submit "$ID"
rc=0; builder builder-1 --boot-test "$SRCDIR/tests/e2e/qemu-run.sh" || rc=$?
check "builder with the boot test" [ "$rc" = 0 ] || sed 's/^/    builder: /' "$TMP/builder-1.log" | tail -20
expect_exit 0 as_ author-1 --json patch show "$ID"
check "built and boot test passed" [ "$(job_field build)/$(job_field boot)" = written/passed ] ||
    sed 's/^/    builder: /' "$TMP/builder-1.log" | tail -40
JOB=$(job_field id)
TOKEN_admin=$(srv token create --role admin admin-1)
api "/v1/jobs/$JOB/boot-log" -H "$(as admin)"
expect_status 200 "the boot log is kept"
body_has "qemu-run: PASS: tt_job$JOB"
body_has "@@TT ENABLED"
body_has "@@TT UNLOADED"
body_has "KVER $KVER"
check "the kernel log is clean" sh -c "! grep -qE 'WARNING:|BUG:|Oops' '$TMP/body'"
expect_exit 0 as_ reviewer-1 review approve "$ID"
expect_exit 0 as_ reviewer-2 review approve "$ID"
expect_exit 0 as_ publisher-1 --json publish "$ID" --channel stable
check "published" grep -q '"state": "published"' "$TMP/out"
expect_exit 0 "$TUXTAPE" --json archive status "$TMP/stable"
check "the archive serves the module" grep -q "$KVER/tt_job$JOB" "$TMP/out"
stop_server "$PID"
finish
