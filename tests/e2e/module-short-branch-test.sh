#!/bin/bash
# A livepatch of a function whose static branch on its own module's key sits at a site the
# kernel's compile makes 2 bytes (net/bridge/br_input.c: br_handle_frame() tests bridge's
# br_mst_used through br_mst_is_enabled(); Debian's bridge.ko has a 2-byte nop there), run in
# qemu with Debian's kernel: module-short-branch-test.sh before | after
#   before  bridge.ko is loaded first, then the livepatch
#   after   the livepatch first (its bridge object waits), then bridge.ko, patched as it loads
# A 2-byte site cannot hold the jump to a thunk. `livepatch build` compiles both sides with
# every static-branch site 5 bytes wide (jmp.d32), so the site gets its thunk like any other.
# The patch (tests/e2e/module/bridge-rx-mst.patch) prints which way that branch went; the
# guest (tests/e2e/module/bridge-phase.sh, shared with module-branch-test.sh) sends frames into
# a port of br0 with the bridge's MST mode on, then off, and expects "on", then "off" from the
# patched code and nothing from the original.
# Skips (77) without qemu, the kernel packages or a static libc to build the guest helper.
set -u
here=$(cd "$(dirname "$0")" && pwd)
scenario=${1:?usage: module-short-branch-test.sh before|after}
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
case $scenario in before | after) ;; *) echo "usage: module-short-branch-test.sh before|after" >&2; exit 2 ;; esac
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

work=$(mktemp -d "${TMPDIR:-/tmp}/tt-lp-short-$scenario.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The premise: in the kernel's own compile of br_handle_frame(), its site on br_mst_used is
# 2 bytes (a 2-byte nop: objtool's form of a `jmp rel8`). Read from the installed bridge.ko,
# whose __jump_table relocations give each entry's code and key.
case $target in *.ko) ;; *) tt_skip "$target is compressed; the premise check reads a plain .ko" ;; esac
python3 - "$target" << 'PY' || exit 1
import struct, sys
d = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<Q", d, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3a)
secs = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
def cstr(off):
    return d[off:d.index(b"\0", off)].decode()
names = [cstr(secs[shstrndx][4] + s[0]) for s in secs]
st = [s for s in secs if s[1] == 2][0]
syms = []
for k in range(st[5] // 24):
    nm, info, _, shndx, val, size = struct.unpack_from("<IBBHQQ", d, st[4] + k * 24)
    syms.append((cstr(secs[st[6]][4] + nm), info & 0xf, shndx, val, size))
jt = names.index("__jump_table")
rel = [s for s in secs if s[1] == 4 and s[7] == jt][0]
ent = {}
for k in range(rel[5] // 24):
    off, info, add = struct.unpack_from("<QQq", d, rel[4] + k * 24)
    ent.setdefault(off // 16, {})[off % 16] = (syms[info >> 32], add)
sizes = []
for e in ent.values():
    if 0 not in e or 8 not in e or e[8][0][0] != "br_mst_used":
        continue
    cs, cadd = e[0]
    off = cs[3] + cadd
    fn = [s for s in syms if s[1] == 2 and s[2] == cs[2] and s[3] <= off < s[3] + s[4]]
    if fn and fn[0][0] == "br_handle_frame":
        b = d[secs[cs[2]][4] + off:][:2]
        sizes.append(2 if b == b"\x66\x90" or b[:1] == b"\xeb" else 5)
if sizes != [2]:
    sys.exit("FAIL: br_handle_frame's sites on br_mst_used in %s are %r bytes, not one of 2: "
             "this test no longer tests a 2-byte site" % (sys.argv[1], sizes))
print("premise: br_handle_frame's site on br_mst_used is 2 bytes in " + sys.argv[1])
PY

${CC:-cc} -static -O2 -o "$work"/br-mst "$here"/module/br-mst.c 2> "$work"/cc.err ||
	tt_skip "cannot build a static guest helper: $(head -n1 "$work"/cc.err) (apt-get install libc6-dev)"

name=tt_lp_short_$scenario
start=$(date +%s.%N)
"$TUXTAPE" --json livepatch build --patch "$here"/module/bridge-rx-mst.patch \
	--source-tarball "$TARBALL" --config "$CONFIG" --symbols "$syms" --kbuild "$KBUILD" \
	--name "$name" -o "$work/$name.ko" > "$work"/build.json 2> "$work"/build.err ||
	{ cat "$work"/build.json "$work"/build.err >&2; echo "FAIL: livepatch build" >&2; exit 1; }
built=$(date +%s.%N)

# What the build says: br_handle_frame() of the bridge object alone, its one branch on the
# module's key through a thunk.
python3 - "$work"/build.json << 'PY' || { cat "$work"/build.json >&2; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
units = [u for u in r["units"] if u["object"] == "bridge"]
assert r["result"] == "written", "result %r" % r["result"]
assert len(units) == 1, "no unit of the bridge object"
changed = [f["name"] for f in units[0]["functions"] if f["kind"] == "changed"]
assert changed == ["br_handle_frame"], "expected br_handle_frame alone: %r" % changed
thunks = [w for w in r["warnings"] if "br_mst_used" in w and "thunk" in w]
assert len(thunks) == 1, "expected one thunked site on br_mst_used: %r" % r["warnings"]
PY

# One thunk (18 bytes) reading the key through .klp.rela.bridge; no dependency on bridge.
ro=$(readelf -SW "$work/$name.ko")
rs=$(readelf -sW "$work/$name.ko")
tsize=$(printf '%s\n' "$ro" | sed -n 's/.* \.text\.tuxtape_jump_thunks  *PROGBITS  *[0-9a-f]*  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p')
[ "$tsize" = 000012 ] ||
	{ printf '%s\n' "$ro" >&2; echo "FAIL: .text.tuxtape_jump_thunks is '$tsize' (hex) bytes, not one 18-byte thunk" >&2; exit 1; }
printf '%s\n' "$ro" | grep -q '\.klp\.rela\.bridge\.text\.tuxtape_jump_thunks' ||
	{ echo "FAIL: the thunk does not read the key through .klp.rela.bridge" >&2; exit 1; }
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
