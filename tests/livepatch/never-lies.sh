#!/bin/bash
# `tuxtape livepatch build` against Debian's real 6.1 source, config and kbuild, fed what must
# never be answered with "no functional change" or a module: patches that do not compile,
# header shapes patch(1) reads its own way, renames, configs that are not the target's, fuzzy
# hunks, patches that do not apply, a module's file, and a build killed during its patched
# compile. After each, the files the patches touched must be pristine (checked here with
# b2sum against the manifest written when the tree was prepared, independently of tuxtape).
set -u
# Called back by pristine(), under the tree's lock.
if [ "${1:-}" = --check-pristine ]; then
	tree=$2 manifest=$3; shift 3
	for f in "$@"; do
		want=$(grep " $f\$" "$manifest" | cut -d' ' -f1)
		got=$(b2sum -l 128 "$tree/$f" 2> /dev/null | cut -d' ' -f1)
		[ -n "$want" ] && [ "$want" = "$got" ] || { echo "  '$f' is not pristine"; exit 1; }
	done
	[ ! -e "$tree/../journal" ] || { echo "  a journal is left"; exit 1; }
	exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
. "$here"/../e2e/lp-env.sh
command -v b2sum > /dev/null || tt_skip "b2sum missing (coreutils)"
syms=$("$here"/../e2e/qemu-run.sh --kver "$KVER" kallsyms-cached) || { echo "FAIL: no kallsyms dump"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/tt-never-lies.XXXXXX")
trap 'rm -rf "$W"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# build NAME [ARGS...]: runs the build with --json; sets rc, out ($W/NAME.json), err.
build() {
	local name=$1; shift
	"$TUXTAPE" --json livepatch build --source-tarball "$TARBALL" --config "$CONFIG" \
		--symbols "$syms" --kbuild "$KBUILD" -o "$W/$name.ko" --name tt_ref "$@" \
		> "$W/$name.json" 2> "$W/$name.err"
	rc=$?
}
# A module's digest without what differs between two builds of the same patch (the build ID,
# the temporary directory named in the debug information).
modsum() {
	objcopy --strip-debug --remove-section=.note.gnu.build-id "$1" "$W/stripped.ko" &&
		sha256sum < "$W/stripped.ko"
}
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2]))' "$@" 2>/dev/null; }

# The prepared tree (and its pristine manifest), from a build that works.
pristine_patch=$here/patches/a-static-helper.patch
build first --patch "$pristine_patch"
[ "$rc" = 0 ] || { cat "$W/first.err" "$W/first.json"; echo "FAIL: the reference build exited $rc"; exit 1; }
tree=$(jget "$W/first.json" tree)
manifest=$(dirname "$tree")/pristine.manifest
[ -r "$manifest" ] || { echo "FAIL: no manifest beside '$tree'"; exit 1; }
ref_sum=$(modsum "$W/first.ko")

# pristine FILE...: each file is in the tree exactly as in the manifest (checked under the
# tree's lock, so a build from elsewhere using the same cache is never caught half-way).
pristine() {
	flock "$(dirname "$tree")/lock" "$0" --check-pristine "$tree" "$manifest" "$@"
}
# expect NAME LABEL WANT_RC GREP_OUTPUT FILES...: the exit status of build NAME, a pattern in
# its stderr or JSON, and the FILES pristine.
expect() {
	local name=$1 label=$2 want=$3 pat=$4; shift 4
	if [ "$rc" != "$want" ]; then
		bad "$label: exit $rc, want $want"; cat "$W/$name.err" "$W/$name.json"; return
	fi
	if [ -n "$pat" ] && ! grep -q -- "$pat" "$W/$name.err" "$W/$name.json"; then
		bad "$label: output lacks '$pat'"; cat "$W/$name.err"; return
	fi
	pristine "$@" || { bad "$label: tree not pristine afterwards"; return; }
	ok "$label (exit $rc)"
}

v=fs/proc/version.c
hunk_head='@@ -14,6 +14,%d @@ static int version_proc_show(struct seq_file *m, void *v)
 		utsname()->sysname,
 		utsname()->release,
 		utsname()->version);
'
hunk_tail=' 	return 0;
 }
 
'
# vpatch NAME ADDED_LINES...: a patch adding lines to version_proc_show().
vpatch() {
	local name=$1; shift
	{
		printf -- '--- a/%s\n+++ b/%s\n' $v $v
		printf -- "$hunk_head" $((6 + $#))
		for l in "$@"; do printf '+%s\n' "$l"; done
		printf '%s' "$hunk_tail"
	} > "$W/$name.patch"
}

# 1. Patches that do not compile: exit 1 with the compiler's message, never "no change".
vpatch syntax '	seq_printf(m, "x" +);'
vpatch undecl-fn '	undeclared_function(m);'
vpatch undecl-var '	seq_printf(m, "%d", undeclared_variable);'
vpatch include '#include "does-not-exist.h"'
vpatch error '#error broken'
for n in syntax undecl-fn undecl-var include error; do
	build "$n" --patch "$W/$n.patch"
	expect "$n" "compile error: $n" 1 "version.c:.*error" $v
done
# The same beside a good file: the good file must not carry the build.
build mixed --patch "$pristine_patch" --patch "$W/undecl-fn.patch"
expect mixed "compile error beside a good file" 1 "version.c:.*error" $v fs/proc/meminfo.c

# 2. Header shapes patch(1) accepts: applied and compiled (the change is in the module), and
# then an unrelated patch builds a module without it.
{ printf -- '--- a/%s 2024-01-01 00:00:00.000000000 +0000\n+++ b/%s 2024-01-01 00:00:00.000000000 +0000\n' $v $v
  printf -- "$hunk_head" 7; printf '+\tseq_printf(m, "PATCHED\\n");\n'; printf '%s' "$hunk_tail"; } > "$W/space-date.patch"
{ printf -- '+++ b/%s\n--- a/%s\n' $v $v
  printf -- "$hunk_head" 7; printf '+\tseq_printf(m, "PATCHED\\n");\n'; printf '%s' "$hunk_tail"; } > "$W/plus-first.patch"
{ printf -- '--- a/%s\nsome junk\n+++ b/%s\n' $v $v
  printf -- "$hunk_head" 7; printf '+\tseq_printf(m, "PATCHED\\n");\n'; printf '%s' "$hunk_tail"; } > "$W/junk.patch"
for n in space-date plus-first junk; do
	build "$n" --patch "$W/$n.patch"
	case $rc in
	0) grep -q PATCHED "$W/$n.ko" || { bad "$n: module lacks the change"; continue; }
	   expect "$n" "header shape $n: applied" 0 "" $v ;;
	*) expect "$n" "header shape $n: refused" "$rc" "" $v ;;
	esac
	build "after-$n" --patch "$pristine_patch"
	if [ "$rc" = 0 ] && ! grep -q PATCHED "$W/after-$n.ko" &&
	   [ "$(modsum "$W/after-$n.ko")" = "$ref_sum" ]; then
		ok "after $n: the next module is the reference module"
	else
		bad "after $n: exit $rc, or the module differs from the reference"
	fi
done
printf 'diff --git a/fs/proc/cmdline.c b/fs/proc/cmdline2.c\nsimilarity index 100%%\nrename from fs/proc/cmdline.c\nrename to fs/proc/cmdline2.c\n' > "$W/rename.patch"
build rename --patch "$W/rename.patch"
expect rename "hunk-less git rename refused" 2 "rename" fs/proc/cmdline.c
[ ! -e "$tree/fs/proc/cmdline2.c" ] || bad "rename: fs/proc/cmdline2.c left in the tree"
printf -- '--- /dev/null\n+++ b/fs/proc/brandnew.c\n@@ -0,0 +1 @@\n+int brandnew;\n' > "$W/newc.patch"
build newc --patch "$W/newc.patch"
expect newc "new source file refused" 2 "new source file"
[ ! -e "$tree/fs/proc/brandnew.c" ] || bad "newc: fs/proc/brandnew.c left in the tree"

# 3. A config that is not the target's: refused, the options named.
sed 's/^CONFIG_ZSWAP=y$/# CONFIG_ZSWAP is not set/' "$CONFIG" > "$W/config-zswap"
"$TUXTAPE" livepatch build --source-tarball "$TARBALL" --config "$W/config-zswap" \
	--symbols "$syms" --kbuild "$KBUILD" -o "$W/z.ko" --patch "$pristine_patch" \
	> "$W/zswap.json" 2> "$W/zswap.err"
rc=$?
expect zswap "one option off (CONFIG_ZSWAP)" 1 "CONFIG_ZSWAP" fs/proc/meminfo.c
head -c $(($(stat -c %s "$CONFIG") / 2)) "$CONFIG" > "$W/config-half"
"$TUXTAPE" livepatch build --source-tarball "$TARBALL" --config "$W/config-half" \
	--symbols "$syms" --kbuild "$KBUILD" -o "$W/h.ko" --patch "$pristine_patch" \
	> "$W/half.json" 2> "$W/half.err"
rc=$?
expect half "truncated config" 1 "after olddefconfig .* options differ" fs/proc/meminfo.c

# 4. Fuzz: refused by default, accepted and recorded with --allow-fuzz.
sed 's/MemFree:        /MemFreeX:       /' "$pristine_patch" > "$W/fuzzy.patch"
build fuzzy --patch "$W/fuzzy.patch"
expect fuzzy "fuzzy hunk refused" 1 "no fuzz allowed" fs/proc/meminfo.c
build fuzzy-ok --patch "$W/fuzzy.patch" --allow-fuzz
expect fuzzy-ok "fuzzy hunk accepted with --allow-fuzz" 0 '"fuzz": true' fs/proc/meminfo.c

# 5. Patches that do not apply, to files this config does not build: exit 1.
printf -- '--- a/arch/arm64/kernel/setup.c\n+++ b/arch/arm64/kernel/setup.c\n@@ -1,3 +1,3 @@\n nothing\n-like\n+this\n here\n' > "$W/noapply.patch"
build noapply --patch "$W/noapply.patch"
expect noapply "non-applying patch to an unbuilt file" 1 "does not apply" arch/arm64/kernel/setup.c
printf -- '--- a/fs/proc/nosuchfile.c\n+++ b/fs/proc/nosuchfile.c\n@@ -1 +1 @@\n-a\n+b\n' > "$W/nofile.patch"
build nofile --patch "$W/nofile.patch"
expect nofile "patch to a file that does not exist" 1 "does not apply"

# 6. A file built into a module (kvm_intel) is compiled and patched as that module's
# klp_object, never reported as "not built" or "no change".
printf -- '--- a/arch/x86/kvm/vmx/vmx.c\n+++ b/arch/x86/kvm/vmx/vmx.c\n@@ -1901,7 +1901,7 @@ static int vmx_get_msr_feature(struct kvm_msr_entry *msr)\n \tswitch (msr->index) {\n \tcase MSR_IA32_VMX_BASIC ... MSR_IA32_VMX_VMFUNC:\n \t\tif (!nested)\n-\t\t\treturn 1;\n+\t\t\treturn 2;\n \t\treturn vmx_get_vmx_msr(&vmcs_config.nested, msr->index, &msr->data);\n \tcase MSR_IA32_PERF_CAPABILITIES:\n \t\tmsr->data = kvm_caps.supported_perf_cap;\n' > "$W/vmx.patch"
build vmx --patch "$W/vmx.patch"
expect vmx "vmx.c patched as module kvm_intel" 0 '"name": "kvm_intel"' arch/x86/kvm/vmx/vmx.c
if [ "$rc" = 0 ]; then
	readelf -SW "$W/vmx.ko" | grep -q '\.klp\.rela\.kvm_intel\.' &&
		ok "vmx.ko has .klp.rela.kvm_intel sections" ||
		bad "vmx.ko has no .klp.rela.kvm_intel section"
fi

# 7. A build killed during its patched compile, and a new build started at once: the new
# build's module is the reference module (the orphaned compiler cannot poison the tree).
work=$(dirname "$tree")
for delay in 0 0.3 1; do
	rm -f "$work/compile-patched.log"
	"$TUXTAPE" --json livepatch build --source-tarball "$TARBALL" --config "$CONFIG" \
		--symbols "$syms" --kbuild "$KBUILD" -o "$W/killed.ko" --name tt_ref \
		--patch "$pristine_patch" \
		> /dev/null 2>&1 &
	pid=$!
	# Wait (bounded) for the patched compile to start.
	for _ in $(seq 1 300); do
		[ -e "$work/compile-patched.log" ] && break
		sleep 0.05
	done
	sleep "$delay"
	kill -KILL "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	build "rerun-$delay" --patch "$pristine_patch"
	if [ "$rc" = 0 ] && [ "$(modsum "$W/rerun-$delay.ko")" = "$ref_sum" ]; then
		ok "killed after ${delay}s in the patched compile: the next module is the reference"
	else
		bad "killed after ${delay}s: the next build exited $rc or made another module"
		cat "$W/rerun-$delay.err"
	fi
done
pristine fs/proc/meminfo.c || bad "meminfo.c not pristine after the kills"

echo "never-lies: $pass passed, $fail failed"
[ "$fail" = 0 ]
