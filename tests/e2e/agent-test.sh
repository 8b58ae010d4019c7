#!/bin/bash
# The agent end to end, with Debian's own kernel in qemu: two real livepatches built by
# `tuxtape livepatch build`, published by `tuxtape archive` on the host, served in the guest
# by busybox httpd on 127.0.0.1, applied by `tuxtape-agent check`. The second patch warns
# when its function runs: the agent must revert it and fall back to the first.
set -u
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
fail() { echo "FAIL: $*" >&2; [ -f "$work/result.clean" ] && tail -n 80 "$work/result.clean" >&2; exit 1; }

syms=$("$here"/qemu-run.sh --kver "$KVER" kallsyms-cached) || fail "no kallsyms dump"
build() { # PATCH OUT
	"$TUXTAPE" --json livepatch build --patch "$1" --source-tarball "$TARBALL" \
		--config "$CONFIG" --symbols "$syms" --kbuild "$KBUILD" -o "$2" \
		> "$work/build.json" 2> "$work/build.err" || { cat "$work/build.err" >&2; fail "livepatch build of $1"; }
}
build "$here"/../livepatch/patches/a-static-helper.patch "$work"/tt_agent_good.ko
build "$here"/agent/warn.patch "$work"/tt_agent_warn.ko

ar=$work/archive
"$TUXTAPE" archive init "$ar" > /dev/null || fail "archive init"
"$TUXTAPE" archive add "$ar" "$work"/tt_agent_good.ko --kernel "$KVER" --cve CVE-2099-0001 > /dev/null || fail "archive add"
"$TUXTAPE" archive publish "$ar" > /dev/null || fail "archive publish"
r=$work/root
mkdir -p "$r"/bin "$r"/proc "$r"/sys "$r"/dev "$r"/tmp "$r"/tt "$r"/etc
cp -a "$ar"/public "$r"/tt/pub1
sleep 1 # a later "added" time: the second patch is the newer one
"$TUXTAPE" archive add "$ar" "$work"/tt_agent_warn.ko --kernel "$KVER" --cve CVE-2099-0001 --cve CVE-2099-0002 > /dev/null || fail "archive add 2"
"$TUXTAPE" archive publish "$ar" > /dev/null || fail "archive publish 2"
cp -a "$ar"/public "$r"/tt/pub2
cp "$ar"/public/metadata/1.root.json "$r"/tt/root.json
cat > "$r"/tt/agent.conf <<CONF
archive_url = http://127.0.0.1:8080
trusted_root = /tt/root.json
state_dir = /var/lib/tuxtape-agent
transition_timeout = 60
signal_after = 10
settle = 8
CONF

# The agent and the shared libraries it needs, at their own paths.
cp "$busybox" "$r"/bin/busybox
cp "$TUXTAPE_AGENT" "$r"/bin/tuxtape-agent
for lib in $(ldd "$TUXTAPE_AGENT" | grep -o '/[^ ]*'); do
	mkdir -p "$r$(dirname "$lib")" && cp -L "$lib" "$r$lib"
done
cp "$here"/agent-guest-init.sh "$r"/init
chmod 755 "$r"/init "$r"/bin/*
(cd "$r" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$work"/initrd.cpio

timeout --kill-after=10 "${TT_QEMU_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg -m 1024 -smp 1 \
	-nographic -nic none -no-reboot -monitor none \
	-kernel "$VMLINUZ" -initrd "$work"/initrd.cpio \
	-append "console=ttyS0 quiet panic=-1 oops=panic" \
	-serial file:"$work"/console.log -serial file:"$work"/result.log < /dev/null > "$work"/qemu.out 2>&1
tr -d '\r' < "$work"/result.log > "$work"/result.clean
[ -n "${TT_KEEP:-}" ] && cp "$work"/result.clean "$work"/console.log "$TT_KEEP"/
grep -q '^@@TT DONE ok' "$work"/result.clean || { tail -n 30 "$work"/console.log >&2; fail "the guest did not finish"; }

out() { sed -n "/^@@TT OUT-BEGIN $1\$/,/^@@TT OUT-END /p" "$work"/result.clean; }
good=$(modinfo -F name "$work"/tt_agent_good.ko)
warn=$(modinfo -F name "$work"/tt_agent_warn.ko)
out check1 | grep -q "^loaded $KVER/tt_agent_good.ko" || fail "check1 did not load the patch"
out status1 | grep -q '"CVE-2099-0001"' || fail "status --json does not list the CVE"
out status1 | grep -q "\"name\": \"$good\"" || fail "status --json does not list the livepatch"
out uname1 | grep -qx "$KVER+$good" || fail "uname is not the effective release"
out vex1 | grep -q '"status": "fixed"' || fail "vex has no fixed statement"
out meminfo1 | grep -q '^TuxtapeLive: *4 kB' || fail "the patched function does not run"
out check1b | grep -q "^up-to-date" || fail "a second check with nothing new did something"
out check2 | grep -q "^reverted $KVER/tt_agent_warn.ko: kernel log: WARNING" || fail "the warning patch was not reverted"
out status2 | grep -q "\"livepatch\": \"$warn\"" || fail "status does not list the warning patch as blocked"
out check3 | grep -q "^loaded $KVER/tt_agent_good.ko" || fail "the agent did not fall back to the good patch"
out status3 | grep -q '"enabled": true' || fail "the good patch is not enabled again"
echo "PASS: agent in qemu: applied, status lists the CVE, a warning patch reverted, fell back"
