#!/bin/sh
# tuxtape archive: every command, its --help, and every bad input refused with the archive
# left byte for byte as it was.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/archive-lib.sh"

K=6.1.0-18-amd64
A="$TMP/arch"
RK="$TMP/rootkeys"
mk_ko "$TMP/livepatch-a.ko" livepatch_a "$K"
mk_ko "$TMP/livepatch-b.ko" livepatch_b "6.1.0-21-amd64"
mk_ko "$TMP/not-lp.ko" plain "$K" no
mk_ko "$TMP/no-vermagic.ko" nov "$K" novermagic
mk_ko "$TMP/many0.ko" many0 6.1.0-30-amd64
echo 'int x;' | gcc -c -x c - -o "$TMP/no-modinfo.ko"
printf 'not an ELF file' >"$TMP/text.ko"
printf 'diff --git a/x b/x\n' >"$TMP/fix.patch"

for c in init add remove publish rotate-key status timestamp; do
    expect_exit 0 "$TUXTAPE" archive "$c" --help
    check "$c --help prints its usage" grep -q "usage: tuxtape archive $c" "$TMP/out"
done
expect_exit 0 "$TUXTAPE" archive --help
check "archive --help lists rotate-key" grep -q rotate-key "$TMP/out"

# init
expect_exit 0 "$TUXTAPE" archive init "$A" --root-key-dir "$RK" --expires snapshot=3
check "root key is outside the archive" sh -c "ls '$RK'/root.*.key >/dev/null"
check "no root key in the archive" sh -c "! ls '$A'/keys/root.* 2>/dev/null"
check "private keys are 0600" sh -c "[ -z \"\$(find '$A/keys' '$RK' -name '*.key' ! -perm 600)\" ]"
check "key folders are 0700" [ "$(stat -c %a "$A/keys")" = 700 ]
check "no key in the published tree" sh -c "! grep -rl private '$A/public'"
check "1.root.json" [ -f "$A/public/metadata/1.root.json" ]
check "timestamp.json" [ -f "$A/public/metadata/timestamp.json" ]
check "consistent snapshots" grep -q '"consistent_snapshot":true' "$A/public/metadata/1.root.json"
check "canonical JSON: no whitespace" sh -c "! grep -q ': ' '$A/public/metadata/1.root.json'"
expect_exit 1 "$TUXTAPE" archive init "$A"
err_has "already exists"
expect_exit 64 "$TUXTAPE" archive init "$TMP/x" --root-keys 1 --root-threshold 2
expect_exit 64 "$TUXTAPE" archive init "$TMP/x" --expires bogus=3
check "refused init made nothing" [ ! -e "$TMP/x" ]
expect_exit 0 "$TUXTAPE" archive init "$TMP/multi" --root-keys 3 --root-threshold 2
check "three root keys" [ "$(ls "$TMP/multi/keys"/root.*.key | wc -l)" = 3 ]
check "threshold 2" grep -q '"root":{"keyids":\[[^]]*\],"threshold":2}' "$TMP/multi/public/metadata/1.root.json"

# add, publish, status
expect_exit 0 "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" --kernel "$K" \
    --cve CVE-2024-1234 --cve CVE-2024-56789 --patch "$TMP/fix.patch" --approved-by alice
check "add prints the target" [ "$(cat "$TMP/out")" = "$K/livepatch-a.ko" ]
check "staged, not published" sh -c "! grep -q '$K' '$A/public/metadata/timestamp.json' && [ ! -e '$A/public/metadata/1.$K.json' ]"
expect_exit 0 "$TUXTAPE" archive status "$A"
check "status shows what is staged" grep -q "staged, not published: $K targets" "$TMP/out"
expect_exit 0 "$TUXTAPE" archive publish "$A"
check "kernel role written" [ -f "$A/public/metadata/1.$K.json" ]
sha=$(sha256sum <"$TMP/livepatch-a.ko" | cut -d' ' -f1)
check "target stored under its hash" cmp -s "$TMP/livepatch-a.ko" "$A/public/targets/$K/$sha.livepatch-a.ko"
psha=$(sha256sum <"$TMP/fix.patch" | cut -d' ' -f1)
check "custom metadata" grep -q "\"custom\":{\"added\":\"[^\"]*\",\"approved_by\":\"alice\",\"cves\":\[\"CVE-2024-1234\",\"CVE-2024-56789\"\],\"kernel\":\"$K\",\"livepatch\":\"livepatch_a\",\"patches_sha256\":\[\"$psha\"\],\"vermagic\":\"$K SMP preempt mod_unload modversions \"}" "$A/public/metadata/1.$K.json"
check "delegation by path" grep -q "\"name\":\"$K\",\"paths\":\[\"$K/\*\"\]" "$A/public/metadata/2.targets.json"
check "staging cleared" [ -z "$(find "$A/staging" -type f)" ]
expect_exit 0 "$TUXTAPE" --json archive status "$A"
check "status --json" python3 -c "
import json; d = json.load(open('$TMP/out'))
assert [r['role'] for r in d['roles']] == ['root', 'targets', 'snapshot', 'timestamp'], d
assert d['roles'][2]['metadata_version'] == 2 and not d['roles'][0]['expired']
k = d['kernels'][0]; assert k['kernel'] == '$K' and k['targets'][0]['cves'] == ['CVE-2024-1234', 'CVE-2024-56789']
assert d['staged'] == []"
check "snapshot lifetime from --expires" python3 -c "
import json, datetime as D; d = json.load(open('$TMP/out'))
e = D.datetime.strptime(d['roles'][2]['expires'], '%Y-%m-%dT%H:%M:%SZ'); n = D.datetime.utcnow()
assert D.timedelta(days=2) < e - n <= D.timedelta(days=3), e"

# Every refused command leaves the archive (and the root keys) as they were.
before=$(tree_sum "$A"); rkbefore=$(tree_sum "$RK")
refused() { # refused CODE MESSAGE COMMAND...
    code=$1; msg=$2; shift 2
    expect_exit "$code" "$@"
    err_has "$msg"
    check "unchanged after: $*" [ "$(tree_sum "$A")" = "$before" ]
}
refused 1 "'$TMP/not-lp.ko' is not a livepatch module" "$TUXTAPE" archive add "$A" "$TMP/not-lp.ko" --kernel "$K"
refused 1 "'$TMP/no-vermagic.ko' has no vermagic" "$TUXTAPE" archive add "$A" "$TMP/no-vermagic.ko" --kernel "$K"
refused 1 "'$TMP/no-modinfo.ko' has no .modinfo" "$TUXTAPE" archive add "$A" "$TMP/no-modinfo.ko" --kernel "$K"
refused 1 "'$TMP/text.ko' is not a kernel module" "$TUXTAPE" archive add "$A" "$TMP/text.ko" --kernel "$K"
refused 1 "cannot read '$TMP/none.ko'" "$TUXTAPE" archive add "$A" "$TMP/none.ko" --kernel "$K"
refused 1 "built for kernel '6.1.0-21-amd64'" "$TUXTAPE" archive add "$A" "$TMP/livepatch-b.ko" --kernel "$K"
refused 1 "--kernel '6.1/x' is not a kernel release" "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" --kernel 6.1/x
refused 1 "--kernel 'targets' is not a kernel release" "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" --kernel targets
refused 1 "--cve 'CVE-24-1' is not a CVE id" "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" --kernel "$K" --cve CVE-24-1
refused 1 "--patch-sha256 'abc' is not" "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" --kernel "$K" --patch-sha256 abc
refused 1 "cannot read '$TMP/none.patch'" "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" --kernel "$K" --patch "$TMP/none.patch"
refused 1 "'$TMP/not-lp.ko' is not a livepatch module" "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" "$TMP/not-lp.ko" --kernel "$K"
refused 1 "would both be target" "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" "$TMP/livepatch-a.ko" --kernel "$K"
refused 64 "--kernel RELEASE is required" "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko"
refused 1 "is not a tuxtape archive" "$TUXTAPE" archive add "$TMP" "$TMP/livepatch-a.ko" --kernel "$K"
refused 1 "no kernel '5.10.0-1-amd64' in the archive" "$TUXTAPE" archive remove "$A" 5.10.0-1-amd64/x.ko
refused 1 "no target '$K/x.ko' in kernel '$K'" "$TUXTAPE" archive remove "$A" "$K/x.ko"
refused 1 "'nothing' is not a target path" "$TUXTAPE" archive remove "$A" nothing
refused 1 "--role 'admin': one of" "$TUXTAPE" archive rotate-key "$A" --role admin
refused 1 "root needs 1 key, found 0" "$TUXTAPE" archive rotate-key "$A" --role root
refused 1 "root needs 1 key, found 0" "$TUXTAPE" archive rotate-key "$A" --role targets
refused 64 "--role ROLE is required" "$TUXTAPE" archive rotate-key "$A"
refused 64 "unexpected argument" "$TUXTAPE" archive publish "$A" extra
refused 64 "expected the archive folder" "$TUXTAPE" archive status
# Expired roles: root after a year, the snapshot after its three days.
if command -v faketime >/dev/null; then
    # libfaketime is preloaded ahead of an ASan build's runtime: tell ASan that is fine
    fake() { env ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" faketime "$@"; }
    refused 1 "root ('$A/public/metadata/1.root.json') expired at" fake -f +400d "$TUXTAPE" archive publish "$A"
    refused 1 "snapshot ('$A/public/metadata/2.snapshot.json') expired at" fake -f +4d "$TUXTAPE" archive timestamp "$A"
    expect_exit 0 fake -f +340d "$TUXTAPE" archive status "$A"
    check "status marks expired roles" grep -q "^snapshot .*EXPIRED" "$TMP/out"
    expect_exit 0 fake -f +340d "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" --kernel "$K"
    expect_exit 0 fake -f +340d "$TUXTAPE" archive publish "$A"
    err_has "warning: root expires at"
    check "publish renewed the targets role past half its life" \
        [ -f "$A/public/metadata/3.targets.json" ]
    rm -rf "$A" "$RK"
    expect_exit 0 "$TUXTAPE" archive init "$A" --root-key-dir "$RK" --expires snapshot=3
    expect_exit 0 "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" --kernel "$K" \
        --cve CVE-2024-1234 --cve CVE-2024-56789 --patch "$TMP/fix.patch" --approved-by alice
    expect_exit 0 "$TUXTAPE" archive publish "$A"
    before=$(tree_sum "$A"); rkbefore=$(tree_sum "$RK")
else
    echo "note: faketime not installed, expiry refusals not tested"
fi
# A key the archive cannot read is named, and nothing is written.
tsk=$(ls "$A"/keys/timestamp.*.key); mv "$tsk" "$TMP/ts.key"
before=$(tree_sum "$A")
refused 1 "timestamp needs 1 key, found 0 in '$A/keys'" "$TUXTAPE" archive timestamp "$A"
# publish, with a module staged, checks every key before it writes anything (on a copy)
mv "$TMP/ts.key" "$tsk"; cp -a "$A" "$TMP/A2"; A_SAVED=$A; A="$TMP/A2"
expect_exit 0 "$TUXTAPE" archive add "$A" "$TMP/many0.ko" --kernel 6.1.0-30-amd64
tsk2=$(ls "$A"/keys/timestamp.*.key); mv "$tsk2" "$TMP/ts2.key"
before=$(tree_sum "$A")
refused 1 "timestamp needs 1 key, found 0 in '$A/keys'" "$TUXTAPE" archive publish "$A"
check "the staged module is still staged" [ -n "$(find "$A/staging/targets" -type f)" ]
A=$A_SAVED; mv "$tsk" "$TMP/ts.key"
mv "$TMP/ts.key" "$tsk"; before=$(tree_sum "$A")
check "root keys untouched" [ "$(tree_sum "$RK")" = "$rkbefore" ]
expect_exit 1 "$TUXTAPE" --json archive remove "$A" nothing
check "json error" grep -q '"error": "' "$TMP/out"

# timestamp: only timestamp.json changes
cp "$A/public/metadata/timestamp.json" "$TMP/ts.before"
expect_exit 0 "$TUXTAPE" archive timestamp "$A"
check "timestamp version 3" grep -q '"length":[0-9]*,"version":2}},"spec_version":"1.0.31","version":3}' "$A/public/metadata/timestamp.json"
check "no new snapshot" [ ! -e "$A/public/metadata/3.snapshot.json" ]

# replace a target, remove it, publish: a new role version, the old blob stays for old snapshots
mk_ko "$TMP/livepatch-a.ko" livepatch_a2 "$K"
expect_exit 0 "$TUXTAPE" archive add "$A" "$TMP/livepatch-a.ko" --kernel "$K" --cve CVE-2024-1234
expect_exit 0 "$TUXTAPE" archive publish "$A"
check "role version 2" grep -q '"livepatch":"livepatch_a2"' "$A/public/metadata/2.$K.json"
check "targets not rewritten" [ ! -e "$A/public/metadata/3.targets.json" ]
expect_exit 0 "$TUXTAPE" archive remove "$A" "$K/livepatch-a.ko"
expect_exit 0 "$TUXTAPE" archive publish "$A"
check "removed" grep -q '"targets":{}' "$A/public/metadata/3.$K.json"

# rotations: root (N+1 signed by old and new), each online role, kernels
for role in root targets snapshot timestamp kernels; do
    expect_exit 0 "$TUXTAPE" archive rotate-key "$A" --role "$role" --root-key-dir "$RK"
done
check "root 5 (root, targets, snapshot, timestamp)" [ -f "$A/public/metadata/5.root.json" ]
check "2.root.json has two signatures" python3 -c "
import json; d = json.load(open('$A/public/metadata/2.root.json'))
assert len(d['signatures']) == 2, d['signatures']"
check "old root key retired" [ "$(ls "$RK"/retired/root.*.key | wc -l)" = 1 ]
check "old online keys retired" [ "$(ls "$A"/keys/retired/ | wc -l)" = 4 ]
check "kernels rotation re-signed the kernel role" [ -f "$A/public/metadata/4.$K.json" ]
expect_exit 0 "$TUXTAPE" archive publish "$A"

# CVEs and patch digests from a livepatch build report
h1=$(printf '%064d' 1); h2=$(printf 'a%063d' 2)
printf '{"result":"ok","seconds":{"total":1.5},"cves":["CVE-2024-11111"],"patches":[{"path":"a.patch","sha256":"%s"},{"path":"b.patch","sha256":"%s"}]}' \
    "$h1" "$h2" >"$TMP/report.json"
printf '{"cves":["bogus"],"patches":[]}' >"$TMP/bad-report.json"
mk_ko "$TMP/livepatch-r.ko" livepatch_r "$K"
before=$(tree_sum "$A")
refused 1 "'$TMP/bad-report.json': cves\[0\] is not a CVE id" "$TUXTAPE" archive add "$A" "$TMP/livepatch-r.ko" --kernel "$K" --report "$TMP/bad-report.json"
refused 1 "'$TMP/fix.patch' is not a livepatch build report" "$TUXTAPE" archive add "$A" "$TMP/livepatch-r.ko" --kernel "$K" --report "$TMP/fix.patch"
expect_exit 0 "$TUXTAPE" archive add "$A" "$TMP/livepatch-r.ko" --kernel "$K" --report "$TMP/report.json" --cve CVE-2024-22222
expect_exit 0 "$TUXTAPE" archive publish "$A"
check "report's CVEs and digests recorded" python3 -c "
import json, glob
d = max(glob.glob('$A/public/metadata/*.$K.json'), key=lambda p: int(p.split('/')[-1].split('.')[0]))
c = json.load(open(d))['signed']['targets']['$K/livepatch-r.ko']['custom']
assert c['cves'] == ['CVE-2024-11111', 'CVE-2024-22222'], c
assert c['patches_sha256'] == ['$h1', '$h2'], c"

# several modules in one add; --json names them
mkdir -p "$TMP/many"
for i in 1 2 3; do mk_ko "$TMP/many/livepatch-$i.ko" "livepatch_$i" 6.1.0-21-amd64; done
expect_exit 0 "$TUXTAPE" --json archive add "$A" "$TMP"/many/livepatch-*.ko --kernel 6.1.0-21-amd64
check "add --json lists the targets" python3 -c "
import json; d = json.load(open('$TMP/out'))
assert d['targets'] == ['6.1.0-21-amd64/livepatch-%d.ko' % i for i in (1, 2, 3)], d"
expect_exit 0 "$TUXTAPE" archive publish "$A"
expect_exit 0 "$TUXTAPE" --json archive status "$A"
check "two kernels, three targets in the new one" python3 -c "
import json; d = json.load(open('$TMP/out'))
k = {x['kernel']: x for x in d['kernels']}; assert len(k['6.1.0-21-amd64']['targets']) == 3, k"

finish
