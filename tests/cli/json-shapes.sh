#!/bin/sh
# Every command with --json, run against a small database, checked against the shape
# tuxtape(1) documents under JSON OUTPUT (tests/cli/json-shapes.py holds the shapes): keys,
# types, lower-case enums, and the same key with the same type in every document and shape.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../helpers/fixtures.sh"
. "$(dirname "$0")/archive-lib.sh"

DB="$TMP/db/t.db"
OUT="$TMP/json"
mkdir -p "$OUT"
tt() { "$TUXTAPE" --db "$DB" "$@"; }
# run NAME COMMAND...: the command's --json document into $OUT/NAME.json
run() {
    name=$1; shift
    echo "$*" >>"$TMP/ran"
    rc=0
    tt --json "$@" >"$OUT/$name.json" 2>"$TMP/err" || rc=$?
    case $rc in 0|5) pass ;; *) fail "exit $rc: $*"; sed 's/^/    stderr: /' "$TMP/err" | head -5 ;; esac
}

# ---- a tiny kernel tree: net/core/dev.c built in, drivers/foo.c a module ----
K="$TMP/linux"
fixture_kernel_tree "$K" module
fixture_kernel_config "$TMP/config" CONFIG_FOO=m

C1=1111111111111111111111111111111111111111
C2=2222222222222222222222222222222222222222
R="$TMP/vulns"
fixture_vulns "$R"
record() { # record ID FILES DYAD-LINES [METRICS]: without METRICS, an empty list (unscored)
    fixture_cve_record "$R" "$1" "$2" "$3" "${4-}"
}
M=$(fixture_cvss)
# every verdict status and several codes and livepatch estimates on kernel k1 (6.1.40)
record CVE-2024-1086 '["net/core/dev.c"]' "5.10:$C1:6.2:$C2\n" "$M"        # affected, kev
record CVE-2024-1002 '["drivers/foo.c"]' "5.10:$C1:6.2:$C2\n" "$M"         # affected, module
record CVE-2024-1003 '["net/core/dev.c"]' "5.10:$C1:6.1.20:$C2\n"          # fixed, unscored
record CVE-2024-1004 '["drivers/bar.c"]' "5.10:$C1:6.2:$C2\n" "$M"         # not-compiled
record CVE-2024-1005 '["net/core/dev.c"]' "6.1.45:$C1:6.2:$C2\n" "$M"      # not-affected
record CVE-2024-1006 '["include/linux/skbuff.h"]' "5.10:$C1:6.2:$C2\n"     # unknown, header
record CVE-2024-1007 '["net/core/dev.c","net/core/Makefile"]' "5.10:$C1:6.2:$C2\n" "$M"
fixture_vulns_commit "$R" one

run sync cve sync --repo "$R"
run enrich cve enrich --kev "$SRCDIR/tests/fixtures/enrich/kev.json" \
    --epss "$SRCDIR/tests/fixtures/enrich/epss.csv"
run kernel-add kernel add k1 --release 6.1.40 --config "$TMP/config" --source "$K"
# what livepatch build --kernel takes: a kbuild directory of the release, a symbol table
mkdir -p "$TMP/kbuild/include/generated"
echo '#define UTS_RELEASE "6.1.40"' > "$TMP/kbuild/include/generated/utsrelease.h"
seq 1 2000 | sed 's/^/ffffffff81000000 T sym_/' > "$TMP/System.map"
run kernel-set-build kernel set-build k1 --kbuild "$TMP/kbuild" --symbols "$TMP/System.map"
run triage-set triage set CVE-2024-1002 --kernel k1 --state accepted --note fine --by test
run cve-list cve list
run cve-list-kernel cve list --kernel k1 --triaged
run cve-show cve show CVE-2024-1086
run cve-show-fixed cve show CVE-2024-1003
run cve-stats cve stats
run cve-version cve version 6.1.40
run kernel-list kernel list
run kernel-show kernel show k1
run kernel-files kernel files k1
run kernel-eval kernel eval --source "$K" --config "$TMP/config"
run fleet-summary fleet summary
run fleet-refresh fleet refresh
run triage-list triage list
run check check --min-score 7
run db-check db check
run triage-clear triage clear CVE-2024-1002 --kernel k1
run sync-again cve sync
# ---- fleet summary's funnel: bars with the numbers, UTF-8 or ASCII, 80 columns, no colour on a pipe
expect_exit 0 env LANG=C.UTF-8 LC_ALL= "$TUXTAPE" --db "$DB" fleet summary
check "funnel: UTF-8 bars with the numbers" grep -q '^  compiled in  *█.* 3$' "$TMP/out"
check "funnel: fits 80 columns" python3 -c "
import sys; ls = [l for l in open('$TMP/out', encoding='utf-8') if l.startswith('  ')]
assert len(ls) == 4 and all(len(l.rstrip('\\n')) <= 80 for l in ls), ls"
check "funnel: no colour on a pipe" sh -c "! grep -q \"$(printf '\\033')\" '$TMP/out'"
expect_exit 0 env LANG=C LC_ALL= "$TUXTAPE" --db "$DB" fleet summary
check "funnel: ASCII without UTF-8" grep -q '^  livepatchable (est.) ##* *2$' "$TMP/out"
check "funnel: the bars shrink down the funnel" python3 -c "
ls = [l for l in open('$TMP/out') if l.startswith('  ')]
n = [l.count('#') for l in ls]; assert n == sorted(n, reverse=True) and n[0] == 40 and n[3] < n[0], n"
# ---- what changed since the last report: one new affected CVE, one record gone ----
record CVE-2024-1008 '["net/core/dev.c"]' "5.10:$C1:6.2:$C2\n" "$M"
git -C "$R" rm -q "$R/cve/published/2024/CVE-2024-1002.json" "$R/cve/published/2024/CVE-2024-1002.dyad"
fixture_vulns_commit "$R" two
run sync-changes cve sync
check "sync-changes has a newly affected and a newly fixed CVE" python3 -c "
import json; k = json.load(open('$OUT/sync-changes.json'))['kernels'][0]
assert [e['id'] for e in k['newly_affected']] == ['CVE-2024-1008'], k
assert k['newly_fixed'] == [{'id': 'CVE-2024-1002', 'status': 'gone'}], k"
# ---- cve patch: a CVE whose mainline fix is a commit of a tiny linux repository ----
L="$TMP/linux-git"
fixture_linux_git "$L" 1
record CVE-2024-1009 '["net/core/dev.c"]' "5.10:$BASE:6.2:$FIX_MAIN\n" "$M"
fixture_vulns_commit "$R" three
expect_exit 0 tt cve sync
run cve-patch cve patch CVE-2024-1009 --kernel k1 --linux-repo "$L"
check "cve patch: the mainline fix" python3 -c "
import json; d = json.load(open('$OUT/cve-patch.json'))
assert d['commits'] == ['$FIX_MAIN'] and d['patch'].startswith('From $FIX_MAIN '), d"
run cve-patch-output cve patch CVE-2024-1009 --kernel k1 --linux-repo "$L" -o "$TMP/fix-1009.patch"
# ---- the commands that talk to a tuxtape-server: a real one over TLS on 127.0.0.1, sharing
# this database (k1 is 6.1.40, where CVE-2024-1086 is affected) ----
SERVER_SKIP=""
for tool in openssl curl sqlite3; do
    command -v "$tool" >/dev/null || SERVER_SKIP="$tool is not installed"
done
[ -n "${TUXTAPE_SERVER_BIN:-}" ] || SERVER_SKIP="TUXTAPE_SERVER_BIN is not set"
if [ -n "$SERVER_SKIP" ]; then
    echo "SKIP: the server-client commands' shapes: $SERVER_SKIP"
    for c in "patch create" "patch edit" "patch submit" "patch show" "patch list" \
        "review comment" "review approve" "review reject" publish withdraw exposure; do
        echo "$c|skipped: $SERVER_SKIP|tests/server" >>"$TMP/exempt-skipped"
    done
    # their shapes have no document this time
    export JSON_SHAPES_NOT_RUN="patch-create patch-create-2 patch-edit patch-submit patch-show
        patch-list review-comment review-approve review-reject publish withdraw exposure"
else
    TUXTAPE_SERVER=$TUXTAPE_SERVER_BIN # the binary, for tests/server/lib.sh; not exported
    . "$SRCDIR/tests/server/lib.sh"
    make_certs
    for n in author-1 reviewer-1 reviewer-2 publisher-1 builder-1 viewer-1; do
        "$TUXTAPE_SERVER_BIN" --db "$DB" token create --role "${n%-*}" "$n" >"$TMP/$n.token" ||
            fail "token $n"
    done
    tt archive init "$TMP/srv-archive" >/dev/null 2>&1 || fail "archive init for the server"
    start_server "$TMP/server.log" --db "$DB" --archive "$TMP/srv-archive" --allow-untested
    # srun NAME WHO COMMAND... : as run, against the server with WHO's token
    srun() {
        name=$1; who=$2; shift 2
        echo "$*" >>"$TMP/ran"
        rc=0
        TUXTAPE_SERVER="https://127.0.0.1:$PORT" TUXTAPE_CA="$TMP/pki/ca.pem" \
            "$TUXTAPE" --json "$@" --token-file "$TMP/$who.token" >"$OUT/$name.json" 2>"$TMP/err" ||
            rc=$?
        case $rc in 0) pass ;; *) fail "exit $rc: $*"; cat "$OUT/$name.json"; sed 's/^/    stderr: /' "$TMP/err" | head -5 ;; esac
    }
    post() { # post WHO PATH BODY-FILE
        api "$2" -X POST -H "Authorization: Bearer $(cat "$TMP/$1.token")" \
            -H 'Content-Type: application/json' --data-binary "@$3"
    }
    printf -- '--- a/net/core/dev.c\n+++ b/net/core/dev.c\n@@ -1 +1 @@\n-a\n+b\n' >"$TMP/fix.patch"
    srun patch-create author-1 patch create --cve CVE-2024-1086 --kernel 6.1.40 --patch "$TMP/fix.patch"
    P=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$OUT/patch-create.json")
    srun patch-edit author-1 patch edit "$P" --patch "$TMP/fix.patch" --note "the same, again"
    srun patch-submit author-1 patch submit "$P"
    # the build, as a tuxtape-builder reports it: a livepatch-shaped module for 6.1.40
    printf '{"kernels": ["6.1.40"]}' >"$TMP/lease"
    post builder-1 /v1/jobs/lease "$TMP/lease"
    expect_status 200 "the job leased"
    J=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"]["id"])' "$TMP/body")
    mk_ko "$TMP/tt_shape.ko" tt_shape 6.1.40
    python3 -c 'import base64, json, sys; print(json.dumps({"build": "written", "boot": "skipped",
        "module_name": "tt_shape.ko", "log": "built\n",
        "module": base64.b64encode(open(sys.argv[1], "rb").read()).decode()}))' \
        "$TMP/tt_shape.ko" >"$TMP/result"
    post builder-1 "/v1/jobs/$J/result" "$TMP/result"
    expect_status 200 "the job's result"
    srun review-comment reviewer-1 review comment "$P" -m "reads right"
    srun review-approve reviewer-1 review approve "$P"
    expect_exit 0 env TUXTAPE_SERVER="https://127.0.0.1:$PORT" TUXTAPE_CA="$TMP/pki/ca.pem" \
        "$TUXTAPE" review approve "$P" --token-file "$TMP/reviewer-2.token"
    srun publish publisher-1 publish "$P" --channel stable
    # two nodes on 6.1.40: one without a livepatch, one with the published one
    for node in n-bare n-patched; do
        "$TUXTAPE_SERVER_BIN" --db "$DB" token create --role agent "$node" >"$TMP/$node.token"
    done
    printf '{"kernel": "6.1.40", "patches": []}' >"$TMP/hb"
    post n-bare /v1/fleet/heartbeat "$TMP/hb"
    expect_status 200 "heartbeat of n-bare"
    # the agent's form: the module's name and SHA-256, matched against the job's module
    printf '{"kernel": "6.1.40", "patches": [{"name": "tt_shape", "sha256": "%s"}]}' \
        "$(sha256sum "$TMP/tt_shape.ko" | cut -d' ' -f1)" >"$TMP/hb"
    post n-patched /v1/fleet/heartbeat "$TMP/hb"
    expect_status 200 "heartbeat of n-patched"
    srun exposure viewer-1 exposure CVE-2024-1086
    check "exposure: one node exposed, one patched" python3 -c "
import json; a = json.load(open('$OUT/exposure.json'))
assert {n['node']: n['exposure'] for n in a['nodes']} == {'n-bare': 'exposed', 'n-patched': 'patched'}, a"
    srun patch-show viewer-1 patch show "$P"
    check "patch show: jobs, reviews and a publication to check" python3 -c "
import json; p = json.load(open('$OUT/patch-show.json'))
assert p['jobs'] and p['reviews'] and p['publications'] and p['state'] == 'published', p"
    srun withdraw publisher-1 withdraw "$P" --reason "shape test"
    srun patch-create-2 author-1 patch create --cve CVE-2024-1002 --kernel 6.1.40 --patch "$TMP/fix.patch"
    P2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$OUT/patch-create-2.json")
    expect_exit 0 env TUXTAPE_SERVER="https://127.0.0.1:$PORT" TUXTAPE_CA="$TMP/pki/ca.pem" \
        "$TUXTAPE" patch submit "$P2" --token-file "$TMP/author-1.token"
    srun review-reject reviewer-2 review reject "$P2" -m "not this way"
    srun patch-list viewer-1 patch list
    stop_server "$PID"
fi
# the running kernel, from a root directory that stands for this machine's /proc and /boot
F="$TMP/root"
mkdir -p "$F/proc/sys/kernel" "$F/boot"
echo 6.1.40 >"$F/proc/sys/kernel/osrelease"
echo 'Linux version 6.1.40 (builder@example.org) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP' >"$F/proc/version"
cp "$TMP/config" "$F/boot/config-6.1.40"
run kernel-import-running kernel import-running running --root "$F" --source "$K"
expect_exit 0 tt kernel rm running
# ---- livepatch diff: one source file compiled twice as the kernel's flags leave it for us ----
printf 'int tt_helper(int x)\n{\n\treturn x + 1;\n}\n' >"$TMP/lp-orig.c"
printf 'int tt_helper(int x)\n{\n\treturn x + 2;\n}\n' >"$TMP/lp-patched.c"
for v in orig patched; do
    gcc -O2 -pg -mfentry -mrecord-mcount -ffunction-sections -fdata-sections \
        -c "$TMP/lp-$v.c" -o "$TMP/lp-$v.o"
done
run livepatch-diff livepatch diff "$TMP/lp-orig.o" "$TMP/lp-patched.o" -o "$TMP/lp-diff.o"
check "livepatch diff: tt_helper changed" python3 -c "
import json; d = json.load(open('$OUT/livepatch-diff.json'))
assert d['result'] == 'written' and [f['name'] for f in d['functions']] == ['tt_helper'], d"
run kernel-rm kernel rm k1
run version --version
run cache-list cache list
run cache-clean cache clean --dry-run
run archive-init archive init "$TMP/archive" --root-key-dir "$TMP/root-keys"
run archive-status archive status "$TMP/archive"
mk_ko "$TMP/tt_lp.ko" tt_lp 6.1.0-18-amd64
run archive-add archive add "$TMP/archive" "$TMP/tt_lp.ko" --kernel 6.1.0-18-amd64 \
    --cve CVE-2024-1086 --approved-by test
run archive-publish archive publish "$TMP/archive"
run archive-status-published archive status "$TMP/archive"
check "archive status lists the published target" python3 -c "
import json; k = json.load(open('$OUT/archive-status-published.json'))['kernels']
assert [t['target'] for t in k[0]['targets']] == ['6.1.0-18-amd64/tt_lp.ko'], k"
run archive-timestamp archive timestamp "$TMP/archive"
run archive-rotate-key archive rotate-key "$TMP/archive" --role timestamp --root-key-dir "$TMP/root-keys"
run archive-remove archive remove "$TMP/archive" 6.1.0-18-amd64/tt_lp.ko

check "every document has its documented shape" \
    python3 "$SRCDIR/tests/cli/json-shapes.py" "$OUT"

# ---- every leaf command of the tables is run above or exempted here, with why and the test
# that runs it instead; help.sh walks the same tables ----
EXEMPT="$TMP/exempt"
cat >"$EXEMPT" <<'EOF'
completion|prints a bash completion script; it has no --json|tests/cli/completion.sh (the script is valid bash, offers every command)
livepatch build|needs a kernel source tree, its config, kbuild and symbols (minutes); its shape in json-shapes.py is held to the one-type rule here|tests/e2e/livepatch-test.sh checks every e2e patch's --json report, written or refused, against that shape (JSON_SHAPES_ONE=1 json-shapes.py)
livepatch module|needs a real kernel's kbuild (Module.symvers) and symbol table; its shape is declared in json-shapes.py and held to the one-type rule, not checked against a document|tests/e2e/module-test.sh runs it with --json (prints it, does not check the shape)
EOF
[ ! -f "$TMP/exempt-skipped" ] || cat "$TMP/exempt-skipped" >>"$EXEMPT"
leaves() { # the leaf commands of tuxtape's tables, one a line: "GROUP" or "GROUP SUB"
    for group in $("$TUXTAPE" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
        subs=$("$TUXTAPE" "$group" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}')
        if [ -z "$subs" ]; then echo "$group"; else for sub in $subs; do echo "$group $sub"; done; fi
    done
}
# coverage RAN EXEMPT : a line for each leaf neither run (a line of RAN starts with it) nor
# exempted, and for each exemption of a leaf that does not exist or is run after all
coverage() {
    leaves >"$TMP/leaves"
    while read -r leaf; do
        grep -q "^$leaf\( \|\$\)" "$1" && ran=1 || ran=0
        grep -q "^$leaf|" "$2" && ex=1 || ex=0
        [ "$ran$ex" = 00 ] && echo "not covered: $leaf"
        [ "$ran$ex" = 11 ] && echo "run and exempted: $leaf"
    done <"$TMP/leaves"
    cut -d'|' -f1 "$2" | while read -r leaf; do
        grep -qx "$leaf" "$TMP/leaves" || echo "exempted but not a command: $leaf"
    done
    return 0
}
coverage "$TMP/ran" "$EXEMPT" >"$TMP/coverage"
check "the tables have their commands ($(wc -l <"$TMP/leaves") leaves)" [ "$(wc -l <"$TMP/leaves")" -ge 40 ]
if [ -s "$TMP/coverage" ]; then fail "commands the test neither runs nor exempts:"; sed 's/^/    /' "$TMP/coverage"; else pass; fi
# The walk must be able to fail: a command not run, an exemption taken away, one for a
# command that does not exist, and one for a command the test runs.
grep -v '^cve stats' "$TMP/ran" >"$TMP/ran-less"
coverage "$TMP/ran-less" "$EXEMPT" >"$TMP/coverage"
check "a command not run is found" [ "$(cat "$TMP/coverage")" = "not covered: cve stats" ]
grep -v '^completion|' "$EXEMPT" >"$TMP/exempt-less"
printf 'kernel frobnicate|no such command|none\ncve show|run above|none\n' >>"$TMP/exempt-less"
coverage "$TMP/ran" "$TMP/exempt-less" >"$TMP/coverage"
check "a wrong exemption table is found" [ "$(sort "$TMP/coverage" | tr '\n' ';')" = \
    "exempted but not a command: kernel frobnicate;not covered: completion;run and exempted: cve show;" ]

# The checker must be able to fail: a wrong type, a missing key, an upper-case enum; a key
# that changes type between documents (fleet refresh's count under the name of check's list,
# as schema_version 1 printed it); and two shapes that give one key two types.
mkdir -p "$TMP/bad"
python3 - "$OUT" "$TMP/bad" <<'PY'
import json, sys, os
src, dst = sys.argv[1], sys.argv[2]
d = json.load(open(os.path.join(src, "cve-show.json")))
d["kev"] = {"date_added": "2024-05-30"}
json.dump(d, open(os.path.join(dst, "cve-show.json"), "w"))
l = json.load(open(os.path.join(src, "cve-list-kernel.json")))
l[0]["severity"] = "HIGH"
del l[0]["code"]
json.dump(l, open(os.path.join(dst, "cve-list-kernel.json"), "w"))
d = json.load(open(os.path.join(src, "fleet-refresh.json")))
d["kernels"] = d["kernel_count"]
json.dump(d, open(os.path.join(dst, "fleet-refresh.json"), "w"))
json.dump(json.load(open(os.path.join(src, "check.json"))), open(os.path.join(dst, "check.json"), "w"))
PY
if python3 "$SRCDIR/tests/cli/json-shapes.py" "$TMP/bad" >"$TMP/out" 2>&1; then
    fail "the checker accepted a kev object and an upper-case severity"
else
    grep -q "kev" "$TMP/out" && grep -q "severity" "$TMP/out" && grep -q "code" "$TMP/out" &&
        pass || fail "the checker's complaint does not name kev, severity and code"
    grep -qF "key 'kernels' has several types: array (check: \$), num (fleet-refresh: \$)" \
        "$TMP/out" && pass || fail "the checker did not see 'kernels' change type"
    grep -q "^key 'kev' has several types" "$TMP/out" && pass ||
        fail "the checker did not see 'kev' change type"
fi
# The shapes themselves: one that gave "files" a count again must be refused, whatever the
# documents say (an empty directory).
mkdir -p "$TMP/empty"
if python3 - "$SRCDIR/tests/cli/json-shapes.py" "$TMP/empty" >"$TMP/out" 2>&1 <<'PY'
import runpy, sys
path, d = sys.argv[1], sys.argv[2]
g = runpy.run_path(path, run_name="json_shapes")
g["SHAPES"]["kernel-list"][0]["files"] = "int"
sys.argv = [path, d]
sys.exit(g["main"]())
PY
then
    fail "the checker accepted shapes giving 'files' a count and an array"
else
    grep "^key 'files' has several types: " "$TMP/out" | grep -qF "num (shape kernel-list: \$[])" &&
        pass || { fail "the shape check's complaint"; sed 's/^/    /' "$TMP/out"; }
fi
finish
