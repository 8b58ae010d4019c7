#!/bin/bash
# Boots Debian's own kernel under qemu (TCG, no network) with a busybox
# initramfs built on the fly, and either runs one livepatch scenario
# (before / insmod / after / disable+rmmod / unload) checked against an
# expectation file, or dumps /proc/kallsyms for `livepatch build --symbols`.
#
#   qemu-run.sh [OPTIONS] livepatch MODULE.ko EXPECT-FILE
#   qemu-run.sh [OPTIONS] kallsyms OUT-FILE
#   qemu-run.sh [OPTIONS] kallsyms-cached      (prints the cached file's path)
#
# Options: --kver KVER, --kernel VMLINUZ, --timeout SECONDS, --name NAME
#          (livepatch name; default: the module's name), --keep DIR (keep the
#          serial logs there), -v (print the logs),
#          --target-module KO --target-when before|after: a module the livepatch
#          patches, insmod'ed before the "before" phase, or once the livepatch is
#          enabled (then an "enabled" phase runs first, with the module absent).
#          --pre KO (repeatable): a module insmod'ed at boot, in the order given (the
#          target's dependencies); --guest-file FILE (repeatable): copied to
#          /tt/BASENAME in the guest, for the phase command to run.
# Exit: 0 pass, 1 fail, 2 usage, 77 skip (qemu, busybox or kernel missing).
#
# EXPECT-FILE lines (# comments):
#   cmd: SHELL COMMAND            run in the guest in each phase
#   before: ERE | enabled: ERE | after: ERE | unload: ERE
#                                 the phase's output must have a line matching
#                                 ERE; '!ERE' means no line may match. Repeatable.
#   warning: ERE                  a kernel WARNING is expected and must match;
#                                 without it any WARNING fails the run.
#   rc-before: N | rc-after: N | rc-unload: N   expected exit status (default any)
set -u

here=$(cd "$(dirname "$0")" && pwd)
kver=${TT_KVER:-}
kernel=
timeout=${TT_QEMU_TIMEOUT:-300}
name=
keep=
verbose=0
target=
target_when=
pre=()
guest_files=()

die() { echo "qemu-run: $*" >&2; exit 2; }
skip() { echo "qemu-run: SKIP: $*" >&2; exit 77; }

while [ $# -gt 0 ]; do
	case $1 in
	--kver) kver=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-v) verbose=1; shift ;;
	--target-module) target=$2; shift 2 ;;
	--target-when) target_when=$2; shift 2 ;;
	--pre) pre+=("$2"); shift 2 ;;
	--guest-file) guest_files+=("$2"); shift 2 ;;
	--) shift; break ;;
	-*) die "unknown option '$1'" ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || die "usage: qemu-run.sh [OPTIONS] livepatch MODULE EXPECT | kallsyms OUT | kallsyms-cached"
mode=$1; shift

qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then busybox=$b; fi
done
if [ -z "$busybox" ] && [ -x /bin/busybox ] && ! ldd /bin/busybox > /dev/null 2>&1; then
	busybox=/bin/busybox
fi
[ -n "$busybox" ] || skip "static busybox not found (apt-get install busybox-static)"
command -v cpio > /dev/null || skip "cpio not found (apt-get install cpio)"

if [ -z "$kernel" ]; then
	if [ -z "$kver" ]; then
		# Newest installed Debian kernel image.
		kver=$(ls /boot/vmlinuz-* 2> /dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n1)
	fi
	[ -n "$kver" ] || skip "no /boot/vmlinuz-* (apt-get install linux-image-amd64)"
	kernel=/boot/vmlinuz-$kver
fi
[ -r "$kernel" ] || skip "cannot read kernel '$kernel'"

work=$(mktemp -d "${TMPDIR:-/tmp}/tt-qemu.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# Builds $work/initrd.cpio from $work/root (init, busybox, test.conf, files).
make_initrd() {
	local r=$work/root
	mkdir -p "$r"/bin "$r"/proc "$r"/sys "$r"/dev "$r"/tmp "$r"/tt
	cp "$busybox" "$r"/bin/busybox
	cp "$here"/guest-init.sh "$r"/init
	chmod 755 "$r"/init "$r"/bin/busybox
	(cd "$r" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$work"/initrd.cpio
}

# Runs qemu; console goes to $work/console.log, results to $work/result.log.
run_qemu() {
	# no_timer_check: under TCG on a loaded host the boot's check that the timer interrupt
	# works can time out and panic the guest before init; the tests do not need that check.
	local append="console=ttyS0 quiet panic=-1 oops=panic no_timer_check $1"
	timeout --kill-after=10 "$timeout" "$qemu" -accel tcg -m 768 -smp 1 \
		-nographic -nic none -no-reboot -monitor none \
		-kernel "$kernel" -initrd "$work"/initrd.cpio -append "$append" \
		-serial file:"$work"/console.log -serial file:"$work"/result.log \
		< /dev/null > "$work"/qemu.out 2>&1
	local rc=$?
	if [ -n "$keep" ]; then
		mkdir -p "$keep" && cp "$work"/console.log "$work"/result.log "$work"/qemu.out "$keep"/ 2> /dev/null
	fi
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "qemu-run: FAIL: guest did not power off within ${timeout}s" >&2
		tail -n 30 "$work"/console.log >&2
		return 1
	fi
	return 0
}

kallsyms_dump() {
	local out=$1
	mkdir -p "$work"/root/tt
	echo "MODE=kallsyms" > "$work"/root/tt/test.conf
	make_initrd
	# nokaslr: the dump then holds link-time addresses, like a real System.map.
	run_qemu "nokaslr" || return 1
	# Skip the text header line, then the rest is one gzip stream.
	local hdr
	hdr=$(head -n1 "$work"/result.log | tr -d '\r')
	case $hdr in "@@TT KALLSYMS "*) ;; *) echo "qemu-run: FAIL: no kallsyms header" >&2; return 1 ;; esac
	tail -c +$(($(head -n1 "$work"/result.log | wc -c) + 1)) "$work"/result.log |
		gzip -dc > "$work"/kallsyms 2> "$work"/gz.err
	if ! grep -q ' T start_kernel$' "$work"/kallsyms; then
		echo "qemu-run: FAIL: kallsyms dump incomplete: $(cat "$work"/gz.err)" >&2
		return 1
	fi
	mkdir -p "$(dirname "$out")" && cp "$work"/kallsyms "$out".tmp.$$ && mv "$out".tmp.$$ "$out"
}

# Prints the lines of phase $1 from the result log.
phase_out() {
	sed -n "/^@@TT OUT-BEGIN $1\$/,/^@@TT OUT-END $1 /p" "$work"/result.clean | sed '1d;$d'
}

check_expect() {
	local exp=$1 fail=0 key val out rc line
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in '#'* | '') continue ;; esac
		key=${line%%:*}
		val=${line#*:}
		val=${val# }
		case $key in
		before | enabled | after | unload)
			out=$(phase_out "$key")
			if [ "${val#!}" != "$val" ]; then
				if printf '%s\n' "$out" | grep -qE -- "${val#!}"; then
					echo "qemu-run: FAIL: $key: output matches '${val#!}':" >&2
					printf '%s\n' "$out" | sed 's/^/    /' >&2
					fail=1
				fi
			elif ! printf '%s\n' "$out" | grep -qE -- "$val"; then
				echo "qemu-run: FAIL: $key: no line matches '$val'; output was:" >&2
				printf '%s\n' "$out" | sed 's/^/    /' >&2
				fail=1
			fi
			;;
		rc-before | rc-enabled | rc-after | rc-unload)
			rc=$(grep "^@@TT OUT-END ${key#rc-} rc=" "$work"/result.clean | sed 's/.*rc=//')
			if [ "$rc" != "$val" ]; then
				echo "qemu-run: FAIL: ${key#rc-}: exit status $rc, expected $val" >&2
				fail=1
			fi
			;;
		cmd | warning | exit) ;;
		*) echo "qemu-run: FAIL: unknown key '$key' in $exp" >&2; fail=1 ;;
		esac
	done < "$exp"
	return $fail
}

livepatch_run() {
	local mod=$1 exp=$2 cmd warn fail=0
	[ -r "$mod" ] || die "cannot read module '$mod'"
	[ -r "$exp" ] || die "cannot read expectation file '$exp'"
	cmd=$(sed -n 's/^cmd: *//p' "$exp" | head -n1)
	[ -n "$cmd" ] || die "$exp: no 'cmd:' line"
	warn=$(sed -n 's/^warning: *//p' "$exp" | head -n1)
	if [ -z "$name" ]; then
		name=$(modinfo -F name "$mod" 2> /dev/null)
		[ -n "$name" ] || name=$(basename "$mod" .ko | tr - _)
	fi
	mkdir -p "$work"/root/tt
	cp "$mod" "$work"/root/tt/patch.ko
	if [ -n "$target" ]; then
		[ -r "$target" ] || die "cannot read target module '$target'"
		case $target_when in before | after) ;; *) die "--target-when must be before or after" ;; esac
		case $target in
		*.xz) xz -dc "$target" > "$work"/root/tt/target.ko ;;
		*.zst) zstd -qdc "$target" > "$work"/root/tt/target.ko ;;
		*) cp "$target" "$work"/root/tt/target.ko ;;
		esac
	fi
	local k=0 prelist=
	for p in "${pre[@]}"; do
		[ -r "$p" ] || die "cannot read module '$p'"
		k=$((k + 1))
		case $p in
		*.xz) xz -dc "$p" > "$work"/root/tt/pre$k.ko ;;
		*.zst) zstd -qdc "$p" > "$work"/root/tt/pre$k.ko ;;
		*) cp "$p" "$work"/root/tt/pre$k.ko ;;
		esac
		prelist="$prelist /tt/pre$k.ko"
	done
	for f in "${guest_files[@]}"; do
		[ -r "$f" ] || die "cannot read guest file '$f'"
		cp "$f" "$work"/root/tt/"$(basename "$f")"
	done
	{
		echo "MODE=livepatch"
		echo "MOD=/tt/patch.ko"
		printf 'PRE=%q\n' "$prelist"
		printf 'NAME=%q\n' "$name"
		printf 'CMD=%q\n' "$cmd"
		if [ -n "$target" ]; then
			echo "TARGET=/tt/target.ko"
			printf 'TARGET_WHEN=%q\n' "$target_when"
		fi
	} > "$work"/root/tt/test.conf
	make_initrd
	run_qemu "" || fail=1
	tr -d '\r' < "$work"/result.log > "$work"/result.clean
	if [ $verbose = 1 ]; then
		echo "---- console" >&2; tr -d '\r' < "$work"/console.log >&2
		echo "---- results" >&2; cat "$work"/result.clean >&2
	fi
	if ! grep -q '^@@TT DONE ok' "$work"/result.clean; then
		echo "qemu-run: FAIL: scenario did not complete: $(grep '^@@TT FAIL' "$work"/result.clean)" >&2
		tail -n 40 "$work"/console.log | tr -d '\r' >&2
		fail=1
	fi
	# The kernel log: the console (catches panics) and the dmesg dump.
	cat "$work"/console.log "$work"/result.clean | tr -d '\r' |
		grep -E 'WARNING:|BUG:|Oops|Call Trace' > "$work"/bad.log
	if [ -n "$warn" ]; then
		if ! grep -qE -- "$warn" "$work"/bad.log; then
			echo "qemu-run: FAIL: expected a kernel warning matching '$warn'" >&2
			fail=1
		fi
		grep -vE -- "$warn|Call Trace|WARNING:" "$work"/bad.log > "$work"/bad2.log
		mv "$work"/bad2.log "$work"/bad.log
	fi
	if [ -s "$work"/bad.log ]; then
		echo "qemu-run: FAIL: kernel log has problems:" >&2
		sed -n '/@@TT DMESG-BEGIN/,/@@TT DMESG-END/p' "$work"/result.clean | tail -n 60 >&2
		fail=1
	fi
	check_expect "$exp" || fail=1
	if [ $fail = 0 ]; then
		echo "qemu-run: PASS: $name ($(basename "$exp"))"
	fi
	return $fail
}

case $mode in
livepatch)
	[ $# -eq 2 ] || die "usage: qemu-run.sh [OPTIONS] livepatch MODULE EXPECT"
	livepatch_run "$1" "$2"
	;;
kallsyms)
	[ $# -eq 1 ] || die "usage: qemu-run.sh [OPTIONS] kallsyms OUT"
	kallsyms_dump "$1"
	;;
kallsyms-cached)
	# Keyed by kernel release and the image's hash: a rebuilt image with the
	# same release string gets a new entry.
	rel=$(basename "$kernel" | sed 's/^vmlinuz-//')
	sum=$(sha256sum "$kernel" | cut -c1-16)
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/tuxtape/kallsyms/$rel-$sum
	if [ ! -s "$cache" ]; then
		kallsyms_dump "$cache" || exit 1
	fi
	echo "$cache"
	;;
*) die "unknown mode '$mode'" ;;
esac
