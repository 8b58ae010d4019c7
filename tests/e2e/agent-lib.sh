# Sourced by the agent's qemu tests (agent-test.sh, agent-crash-test.sh, agent-stall-test.sh,
# workflow-agent-test.sh): livepatches built by `tuxtape livepatch build`, an archive published
# by `tuxtape archive`, an initramfs with busybox, tuxtape-agent and its shared libraries, and
# bounded qemu boots.
# Needs TUXTAPE and TUXTAPE_AGENT; sets work, r (the initramfs root), syms.
here=$(cd "$(dirname "$0")" && pwd)
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
: "${TUXTAPE_AGENT:?TUXTAPE_AGENT must name the tuxtape-agent binary}"
. "$here"/lp-env.sh
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! ldd "$b" > /dev/null 2>&1; then busybox=$b; fi
done
[ -n "$busybox" ] || tt_skip "static busybox not found (apt-get install busybox-static)"
"$busybox" --list | grep -qx httpd || tt_skip "busybox has no httpd"
command -v cpio > /dev/null || tt_skip "cpio missing"

work=$(mktemp -d "${TMPDIR:-/tmp}/tt-agent-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
r=$work/root
mkdir -p "$r"/bin "$r"/proc "$r"/sys "$r"/dev "$r"/tmp "$r"/tt "$r"/etc "$r"/lib/tt-modules
fail() {
	echo "FAIL: $*" >&2
	for f in "$work"/result*.clean; do [ -f "$f" ] && { echo "---- $f" >&2; tail -n 60 "$f" >&2; }; done
	exit 1
}

syms=$("$here"/qemu-run.sh --kver "$KVER" kallsyms-cached) || fail "no kallsyms dump"

agent_build() { # PATCH OUT.ko
	"$TUXTAPE" --json livepatch build --patch "$1" --source-tarball "$TARBALL" \
		--config "$CONFIG" --symbols "$syms" --kbuild "$KBUILD" -o "$2" \
		> "$work/build.json" 2> "$work/build.err" || { cat "$work/build.err" >&2; fail "livepatch build of $1"; }
}

# Copies MODULE (and what it depends on, in load order) from Debian's /lib/modules into the
# initramfs and appends their paths to /tt/modules, which the guest insmods in order.
agent_modules() {
	local m f dst
	for m in "$@"; do
		modprobe -S "$KVER" --show-depends "$m" 2> /dev/null | sed -n 's/^insmod \([^ ]*\).*/\1/p' ||
			tt_skip "cannot resolve kernel module '$m'"
	done | awk '!seen[$0]++' | while read -r f; do
		dst=$(basename "$f" | sed 's/\.\(xz\|zst\|gz\)$//')
		case $f in
		*.xz) xz -dc "$f" > "$r/lib/tt-modules/$dst" ;;
		*.zst) zstd -qdc "$f" > "$r/lib/tt-modules/$dst" ;;
		*.gz) gzip -dc "$f" > "$r/lib/tt-modules/$dst" ;;
		*) cp "$f" "$r/lib/tt-modules/$dst" ;;
		esac
		echo "/lib/tt-modules/$dst" >> "$r"/tt/modules
	done
	[ -s "$r"/tt/modules ] || tt_skip "kernel modules '$*' not found for $KVER"
}

# A new archive holding KO for $KVER and the CVEs it fixes, published, copied into the
# initramfs as /tt/pub with its root as /tt/root.json.
agent_publish() { # KO CVE...
	local ko=$1 cve args=()
	shift
	for cve in "$@"; do args+=(--cve "$cve"); done
	"$TUXTAPE" archive init "$work"/archive > /dev/null || fail "archive init"
	"$TUXTAPE" archive add "$work"/archive "$ko" --kernel "$KVER" "${args[@]}" > /dev/null || fail "archive add"
	"$TUXTAPE" archive publish "$work"/archive > /dev/null || fail "archive publish"
	cp -a "$work"/archive/public "$r"/tt/pub
	cp "$work"/archive/public/metadata/1.root.json "$r"/tt/root.json
}

# /tt/agent.conf: the archive on the guest's 127.0.0.1:8080, /tt/root.json, and the further
# "key = value" lines given.
agent_conf() { # [LINE...]
	{
		echo "archive_url = http://127.0.0.1:8080"
		echo "trusted_root = /tt/root.json"
		echo "state_dir = /var/lib/tuxtape-agent"
		printf '%s\n' "$@"
	} > "$r"/tt/agent.conf
}

# The initramfs: busybox, the guest's shared prologue (agent-guest-lib.sh), the agent and any
# other PROGRAM given, each with the shared libraries it needs at their own paths.
agent_initrd() { # INIT-SCRIPT [PROGRAM...]
	local init=$1 prog lib
	shift
	cp "$busybox" "$r"/bin/busybox
	cp "$here"/agent-guest-lib.sh "$r"/tt/guest-lib.sh
	for prog in "$TUXTAPE_AGENT" "$@"; do
		cp "$prog" "$r"/bin/
		for lib in $(ldd "$prog" | grep -o '/[^ ]*'); do
			mkdir -p "$r$(dirname "$lib")" && cp -L "$lib" "$r$lib"
		done
	done
	cp "$init" "$r"/init
	chmod 755 "$r"/init "$r"/bin/*
	(cd "$r" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$work"/initrd.cpio
}

# One boot, bounded: LABEL APPEND [DISK-IMAGE]; the results in $work/result-LABEL.clean.
# panic=-1 and -no-reboot: a crash ends qemu, like a power-off.
agent_boot() {
	local label=$1 append=$2 disk=${3:-} drive=
	[ -n "$disk" ] && drive="-drive file=$disk,format=raw,if=virtio,cache=writeback"
	# shellcheck disable=SC2086
	timeout --kill-after=10 "${TT_QEMU_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg -m 1024 -smp 1 \
		-nographic -nic none -no-reboot -monitor none $drive \
		-kernel "$VMLINUZ" -initrd "$work"/initrd.cpio \
		-append "console=ttyS0 quiet panic=-1 oops=panic no_timer_check $append" \
		-serial file:"$work/console-$label.log" -serial file:"$work/result-$label.log" \
		< /dev/null > "$work/qemu-$label.out" 2>&1
	local rc=$?
	tr -d '\r' < "$work/result-$label.log" > "$work/result-$label.clean"
	tr -d '\r' < "$work/console-$label.log" > "$work/console-$label.clean"
	if [ -n "${TT_KEEP:-}" ]; then
		mkdir -p "$TT_KEEP" && cp "$work/result-$label.clean" "$work/console-$label.clean" "$TT_KEEP"/
	fi
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		tail -n 30 "$work/console-$label.clean" >&2
		fail "boot $label: the guest did not stop within ${TT_QEMU_TIMEOUT:-600}s"
	fi
}

# The output of step STEP of boot LABEL.
agent_out() { sed -n "/^@@TT OUT-BEGIN $2\$/,/^@@TT OUT-END /p" "$work/result-$1.clean"; }
