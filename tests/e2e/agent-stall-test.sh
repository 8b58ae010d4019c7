#!/bin/bash
# A transition that cannot finish, end to end with Debian's own kernel in qemu: the livepatch
# replaces do_signal_stop() (tests/e2e/agent/stall.patch, a no-op change) while a stopped
# process sleeps in it. The livepatch's fake signal wakes only interruptible sleeps, so the
# stopped task never switches: the agent signals it, reverts the patch at the timeout and says
# which task held it.
set -u
. "$(cd "$(dirname "$0")" && pwd)"/agent-lib.sh

agent_build "$here"/agent/stall.patch "$work"/tt_agent_stall.ko
stall=$(modinfo -F name "$work"/tt_agent_stall.ko)
agent_publish "$work"/tt_agent_stall.ko CVE-2099-0003
agent_conf "signal_after = 4" "transition_timeout = 15" "settle = 2"
agent_initrd "$here"/agent-scenario-init.sh

agent_boot stall "tt.scenario=stall"
grep -q '^@@TT DONE ok' "$work"/result-stall.clean || fail "the guest did not finish"
agent_out stall stopped | grep -q ' T ' || fail "the sleeping process is not stopped"
pid=$(sed -n 's/^@@TT STOPPED-PID //p' "$work"/result-stall.clean)
agent_out stall check1 | grep -q "^reverted $KVER/tt_agent_stall.ko: transition did not finish in 15s (tasks signalled [1-9][0-9]* times); still unpatched:.* [a-z]*\[$pid\]" ||
	fail "the stalled transition was not reverted naming the stopped task"
agent_out stall check1 | grep -q "signalling the tasks it waits for" || fail "the stalled tasks were not signalled"
agent_out stall status1 | grep -q "\"livepatch\": \"$stall\"" || fail "status does not list the patch as blocked"
agent_out stall klp1 | grep -q "$stall" && fail "the livepatch is still in /sys/kernel/livepatch"
agent_out stall lsmod1 | grep -q "^$stall " && fail "the livepatch module is still loaded"
echo "PASS: agent in qemu: a transition held by a stopped task was signalled, reverted and explained"
