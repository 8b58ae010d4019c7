#!/bin/bash
# The crash-loop guard end to end, with Debian's own kernel in qemu and the agent's state on
# an ext4 disk image: boot 1 loads a livepatch and crashes at once (sysrq c); boot 2, on the
# same image, finds the unclean restart, blocks the patch and does not load it again until
# `tuxtape-agent clear`.
set -u
. "$(cd "$(dirname "$0")" && pwd)"/agent-lib.sh
command -v mkfs.ext4 > /dev/null || tt_skip "mkfs.ext4 missing (apt-get install e2fsprogs)"

agent_build "$here"/../livepatch/patches/a-static-helper.patch "$work"/tt_agent_good.ko
good=$(modinfo -F name "$work"/tt_agent_good.ko)
agent_publish "$work"/tt_agent_good.ko CVE-2099-0001
agent_conf "transition_timeout = 60" "signal_after = 10" "settle = 3" "crash_window = 15m"
agent_modules virtio_pci virtio_blk crc32c_generic ext4
agent_initrd "$here"/agent-scenario-init.sh
mkdir -p "$work"/empty
mkfs.ext4 -q -F -d "$work"/empty "$work"/state.img 32M > /dev/null || fail "mkfs.ext4"

agent_boot 1 "tt.scenario=crash1" "$work"/state.img
grep -q '^@@TT CRASHING' "$work"/result-1.clean || fail "boot 1 did not reach the crash"
agent_out 1 check1 | grep -q "^loaded $KVER/tt_agent_good.ko" || fail "boot 1 did not load the patch"
grep -q 'sysrq: Trigger a crash' "$work"/console-1.clean || fail "boot 1 did not crash by sysrq"
grep -q '^@@TT DONE' "$work"/result-1.clean && fail "boot 1 powered off instead of crashing"

agent_boot 2 "tt.scenario=crash2" "$work"/state.img
grep -q '^@@TT DONE ok' "$work"/result-2.clean || fail "boot 2 did not finish"
agent_out 2 check2 | grep -q "^loaded" && fail "boot 2 loaded the patch that crashed the node"
agent_out 2 status2 | grep -q '"reason": "the node restarted uncleanly [0-9]*s after it was loaded' ||
	fail "status does not say the patch was blocked for the unclean restart"
agent_out 2 status2 | grep -q "\"livepatch\": \"$good\"" || fail "status does not name the blocked patch"
agent_out 2 klp2 | grep -q "$good" && fail "the patch is loaded in boot 2"
agent_out 2 check2b | grep -q "^loaded" && fail "a second check in boot 2 loaded the blocked patch"
agent_out 2 clear2 | grep -q "1" || fail "clear did not unblock the patch"
agent_out 2 check3 | grep -q "^loaded $KVER/tt_agent_good.ko" || fail "the patch was not loaded after clear"
agent_out 2 status3 | grep -q '"enabled": true' || fail "the patch is not enabled after clear"
echo "PASS: agent in qemu: a crash after a load blocked the patch across the reboot until clear"
