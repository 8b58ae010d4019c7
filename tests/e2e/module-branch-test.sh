#!/bin/bash
# A livepatch whose patched code has static branches on a key of the module it patches
# (net/bridge/br_input.c: br_handle_frame_finish() tests the bridge module's br_mst_used), run
# in qemu with Debian's kernel: module-branch-test.sh before | after
#   before  bridge.ko is loaded first, then the livepatch
#   after   the livepatch first (its bridge object waits), then bridge.ko, patched as it loads
# The livepatch cannot patch those sites as the kernel patches its own (its jump labels are
# set up before the module's klp relocations are written), so each 5-byte site jumps to a
# thunk in .text.tuxtape_jump_thunks that tests the key when it runs. The patch prints which
# way its own branch on br_mst_used went; the guest (tests/e2e/module/bridge-phase.sh) sends
# frames into a bridge port with the bridge's MST mode on and off, which turns the key on and
# off (tests/e2e/module/br-mst.c sets the mode through netlink), and expects "on", then "off"
# from the patched code and nothing from the original.
# Skips (77) without qemu, the kernel packages or a static libc to build the guest helper.
set -u
here=$(cd "$(dirname "$0")" && pwd)
scenario=${1:?usage: module-branch-test.sh before|after}
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
case $scenario in before | after) ;; *) echo "usage: module-branch-test.sh before|after" >&2; exit 2 ;; esac
. "$here"/lp-env.sh

syms=$("$here"/qemu-run.sh --kver "$KVER" kallsyms-cached) || { echo "FAIL: no kallsyms dump" >&2; exit 1; }
kmod() { # the .ko of module $1 under /lib/modules/$KVER/kernel
	find /lib/modules/"$KVER"/kernel -name "$1.ko*" | head -n1
}
target=$(kmod bridge)
llc=$(kmod llc)
stp=$(kmod stp)
veth=$(kmod veth)
for m in "$target" "$llc" "$stp" "$veth"; do
	[ -n "$m" ] || tt_skip "bridge.ko, llc.ko, stp.ko or veth.ko missing in /lib/modules/$KVER"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tt-lp-branch-$scenario.XXXXXX")
trap 'rm -rf "$work"' EXIT
${CC:-cc} -static -O2 -o "$work"/br-mst "$here"/module/br-mst.c 2> "$work"/cc.err ||
	tt_skip "cannot build a static guest helper: $(head -n1 "$work"/cc.err) (apt-get install libc6-dev)"

name=tt_lp_branch_$scenario
start=$(date +%s.%N)
"$TUXTAPE" --json livepatch build --patch "$here"/module/bridge-mst.patch \
	--source-tarball "$TARBALL" --config "$CONFIG" --symbols "$syms" --kbuild "$KBUILD" \
	--name "$name" -o "$work/$name.ko" > "$work"/build.json 2> "$work"/build.err ||
	{ cat "$work"/build.json "$work"/build.err >&2; echo "FAIL: livepatch build" >&2; exit 1; }
built=$(date +%s.%N)

# What the build says: br_handle_frame_finish() of the bridge object, its branches on the
# module's key through thunks.
python3 - "$work"/build.json << 'EOF' || { cat "$work"/build.json >&2; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
units = [u for u in r["units"] if u["object"] == "bridge"]
assert r["result"] == "written", "result %r" % r["result"]
assert len(units) == 1, "no unit of the bridge object"
changed = [f["name"] for f in units[0]["functions"] if f["kind"] == "changed"]
assert "br_handle_frame_finish" in changed, "br_handle_frame_finish not patched: %r" % changed
thunks = [w for w in r["warnings"] if "br_mst_used" in w and "thunk" in w]
assert len(thunks) == 2, "expected two thunked sites on br_mst_used: %r" % r["warnings"]
EOF

# The thunks and the key's klp symbol are in the module; it depends on no module.
ro=$(readelf -SW "$work/$name.ko")
rs=$(readelf -sW "$work/$name.ko")
printf '%s\n' "$ro" | grep -q ' \.text\.tuxtape_jump_thunks ' ||
	{ echo "FAIL: no .text.tuxtape_jump_thunks section" >&2; exit 1; }
printf '%s\n' "$ro" | grep -q '\.klp\.rela\.bridge\.text\.tuxtape_jump_thunks' ||
	{ echo "FAIL: the thunks do not read the key through .klp.rela.bridge" >&2; exit 1; }
printf '%s\n' "$rs" | grep -q '\.klp\.sym\.bridge\.br_mst_used,0$' ||
	{ echo "FAIL: br_mst_used is not a .klp.sym.bridge symbol" >&2; exit 1; }
[ -z "$(modinfo -F depends "$work/$name.ko")" ] ||
	{ echo "FAIL: the livepatch depends on '$(modinfo -F depends "$work/$name.ko")'" >&2; exit 1; }
echo "figures: livepatch build $(echo "$built - $start" | bc) s"

qstart=$(date +%s)
bash "$here"/qemu-run.sh --kver "$KVER" --pre "$llc" --pre "$stp" --pre "$veth" \
	--guest-file "$work"/br-mst --guest-file "$here"/module/bridge-phase.sh \
	--target-module "$target" --target-when "$scenario" \
	livepatch "$work/$name.ko" "$here/module/branch-$scenario.expect"
rc=$?
echo "figures: qemu run $(($(date +%s) - qstart)) s"
exit $rc
