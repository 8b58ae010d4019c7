#!/bin/bash
# A livepatch of functions whose static branches on their own module's key sit at sites the
# kernel's compile makes 2 bytes, run in qemu with Debian's kernel:
# module-short-branch-test.sh [kvm-]before | [kvm-]after
#   before  the module is loaded first, then the livepatch
#   after   the livepatch first (its module object waits), then the module, patched as it loads
# A 2-byte site cannot hold the jump to a thunk. `livepatch build` compiles both sides with
# every static-branch site 5 bytes wide (jmp.d32), so the site gets its thunk like any other.
#   bridge: net/bridge/br_input.c, br_handle_frame() tests br_mst_used through
#     br_mst_is_enabled() (a 2-byte nop in Debian's bridge.ko). The patch
#     (tests/e2e/module/bridge-rx-mst.patch) prints which way that branch went; the guest
#     (tests/e2e/module/bridge-phase.sh, shared with module-branch-test.sh) sends frames into a
#     port of br0 with the bridge's MST mode on, then off, and expects "on", then "off" from the
#     patched code and nothing from the original.
#   kvm: arch/x86/kvm/x86.c, kvm_get_cr8() tests kvm_has_noapic_vcpu through lapic_in_kernel()
#     (a 2-byte nop in Debian's kvm.ko; kvm holds 188 of the 262 such sites with kvm_intel).
#     The patch (tests/e2e/module/kvm-cr8.patch) adds a nop, which changes kvm_get_cr8() and
#     the three functions it is inlined into. No VMX under TCG, so nothing runs them: the
#     guest checks that kvm's object is patched and that all loads and unloads cleanly.
# Skips (77) without qemu, the kernel packages or a static libc to build the guest helper.
set -u
here=$(cd "$(dirname "$0")" && pwd)
scenario=${1:?usage: module-short-branch-test.sh [kvm-]before|[kvm-]after}
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
case $scenario in
before | after) object=bridge when=$scenario ;;
kvm-before | kvm-after) object=kvm when=${scenario#kvm-} ;;
*) echo "usage: module-short-branch-test.sh [kvm-]before|[kvm-]after" >&2; exit 2 ;;
esac
. "$here"/lp-env.sh

syms=$("$here"/qemu-run.sh --kver "$KVER" kallsyms-cached) || { echo "FAIL: no kallsyms dump" >&2; exit 1; }
kmod() { # the .ko of module $1 under /lib/modules/$KVER/kernel
	find /lib/modules/"$KVER"/kernel -name "$1.ko*" | head -n1
}
if [ $object = bridge ]; then
	target=$(kmod bridge) pre="llc stp veth"
	patch=bridge-rx-mst.patch fn=br_handle_frame key=br_mst_used
	# br_handle_frame() alone, one site
	changed="['br_handle_frame']" nthunks=1 expect=branch-$when.expect
else
	target=$(kmod kvm) pre=irqbypass
	patch=kvm-cr8.patch fn=kvm_get_cr8 key=kvm_has_noapic_vcpu
	# kvm_get_cr8() and the functions it is inlined into, each of their 21 sites on the
	# module's keys through a thunk (compiled as the kernel compiles them, 3 are 2 bytes)
	changed="['__get_sregs_common', 'emulator_get_cr', 'kvm_arch_vcpu_ioctl_run', 'kvm_get_cr8']"
	nthunks=21 expect=kvm-cr8.expect
fi
[ -n "$target" ] || tt_skip "$object.ko missing in /lib/modules/$KVER"
pargs=()
for m in $pre; do
	k=$(kmod $m)
	[ -n "$k" ] || tt_skip "$m.ko missing in /lib/modules/$KVER"
	pargs+=(--pre "$k")
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tt-lp-short-$scenario.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The premise: in the kernel's own compile of $fn(), its site on $key is 2 bytes (a 2-byte
# nop: objtool's form of a `jmp rel8`). Read from the installed module, whose __jump_table
# relocations give each entry's code and key.
case $target in *.ko) ;; *) tt_skip "$target is compressed; the premise check reads a plain .ko" ;; esac
python3 - "$target" "$fn" "$key" << 'PY' || exit 1
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
    if 0 not in e or 8 not in e or e[8][0][0] != sys.argv[3]:
        continue
    cs, cadd = e[0]
    off = cs[3] + cadd
    fn = [s for s in syms if s[1] == 2 and s[2] == cs[2] and s[3] <= off < s[3] + s[4]]
    if fn and fn[0][0] == sys.argv[2]:
        b = d[secs[cs[2]][4] + off:][:2]
        sizes.append(2 if b == b"\x66\x90" or b[:1] == b"\xeb" else 5)
if sizes != [2]:
    sys.exit("FAIL: %s's sites on %s in %s are %r bytes, not one of 2: this test no longer "
             "tests a 2-byte site" % (sys.argv[2], sys.argv[3], sys.argv[1], sizes))
print("premise: %s's site on %s is 2 bytes in %s" % (sys.argv[2], sys.argv[3], sys.argv[1]))
PY

gargs=()
if [ $object = bridge ]; then
	${CC:-cc} -static -O2 -o "$work"/br-mst "$here"/module/br-mst.c 2> "$work"/cc.err ||
		tt_skip "cannot build a static guest helper: $(head -n1 "$work"/cc.err) (apt-get install libc6-dev)"
	gargs=(--guest-file "$work"/br-mst --guest-file "$here"/module/bridge-phase.sh)
fi

name=tt_lp_short_${scenario//-/_}
start=$(date +%s.%N)
"$TUXTAPE" --json livepatch build --patch "$here/module/$patch" \
	--source-tarball "$TARBALL" --config "$CONFIG" --symbols "$syms" --kbuild "$KBUILD" \
	--name "$name" -o "$work/$name.ko" > "$work"/build.json 2> "$work"/build.err ||
	{ cat "$work"/build.json "$work"/build.err >&2; echo "FAIL: livepatch build" >&2; exit 1; }
built=$(date +%s.%N)

# What the build says: the functions of the module's object, written, each of their branches on
# the module's keys through a thunk.
python3 - "$work"/build.json "$object" "$changed" "$nthunks" << 'PY' || { cat "$work"/build.json >&2; exit 1; }
import ast, json, sys
r = json.load(open(sys.argv[1]))
obj, want, nthunks = sys.argv[2], ast.literal_eval(sys.argv[3]), int(sys.argv[4])
units = [u for u in r["units"] if u["object"] == obj]
assert r["result"] == "written", "result %r, refusals %r" % (r["result"], r["refusals"])
assert len(units) == 1, "no unit of the %s object" % obj
changed = sorted(f["name"] for f in units[0]["functions"] if f["kind"] == "changed")
assert changed == want, "expected %r: %r" % (want, changed)
thunks = [w for w in r["warnings"] if "static branch on" in w and "thunk" in w]
assert len(thunks) == nthunks, "expected %d thunked sites: %r" % (nthunks, thunks)
PY

# The thunks (18 bytes each, every one 16-byte aligned) read the keys through
# .klp.rela.OBJECT; no dependency on the module.
ro=$(readelf -SW "$work/$name.ko")
rs=$(readelf -sW "$work/$name.ko")
tsize=$(printf '%s\n' "$ro" | sed -n 's/.* \.text\.tuxtape_jump_thunks  *PROGBITS  *[0-9a-f]*  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p')
[ -n "$tsize" ] && [ $((16#$tsize)) = $(((nthunks - 1) * 32 + 18)) ] ||
	{ printf '%s\n' "$ro" >&2; echo "FAIL: .text.tuxtape_jump_thunks is '$tsize' (hex) bytes, not $nthunks 18-byte thunks" >&2; exit 1; }
printf '%s\n' "$ro" | grep -q "\.klp\.rela\.$object\.text\.tuxtape_jump_thunks" ||
	{ echo "FAIL: the thunks do not read the key through .klp.rela.$object" >&2; exit 1; }
printf '%s\n' "$rs" | grep -q "\.klp\.sym\.$object\.$key,0\$" ||
	{ echo "FAIL: $key is not a .klp.sym.$object symbol" >&2; exit 1; }
[ -z "$(modinfo -F depends "$work/$name.ko")" ] ||
	{ echo "FAIL: the livepatch depends on '$(modinfo -F depends "$work/$name.ko")'" >&2; exit 1; }
echo "figures: livepatch build $(echo "$built - $start" | bc) s"

qstart=$(date +%s)
bash "$here"/qemu-run.sh --kver "$KVER" "${pargs[@]}" "${gargs[@]}" \
	--target-module "$target" --target-when "$when" \
	livepatch "$work/$name.ko" "$here/module/$expect"
rc=$?
echo "figures: qemu run $(($(date +%s) - qstart)) s"
exit $rc
