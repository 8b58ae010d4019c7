#!/bin/bash
# The agent end to end, with Debian's own kernel in qemu: two real livepatches built by
# `tuxtape livepatch build`, published by `tuxtape archive` on the host, served in the guest
# by busybox httpd on 127.0.0.1, applied by `tuxtape-agent check`. The second patch warns
# when its function runs: the agent must revert it and fall back to the first.
set -u
. "$(cd "$(dirname "$0")" && pwd)"/agent-lib.sh

agent_build "$here"/../livepatch/patches/a-static-helper.patch "$work"/tt_agent_good.ko
agent_build "$here"/agent/warn.patch "$work"/tt_agent_warn.ko

ar=$work/archive
"$TUXTAPE" archive init "$ar" > /dev/null || fail "archive init"
"$TUXTAPE" archive add "$ar" "$work"/tt_agent_good.ko --kernel "$KVER" --cve CVE-2099-0001 > /dev/null || fail "archive add"
"$TUXTAPE" archive publish "$ar" > /dev/null || fail "archive publish"
cp -a "$ar"/public "$r"/tt/pub1
sleep 1 # a later "added" time: the second patch is the newer one
"$TUXTAPE" archive add "$ar" "$work"/tt_agent_warn.ko --kernel "$KVER" --cve CVE-2099-0001 --cve CVE-2099-0002 > /dev/null || fail "archive add 2"
"$TUXTAPE" archive publish "$ar" > /dev/null || fail "archive publish 2"
cp -a "$ar"/public "$r"/tt/pub2
cp "$ar"/public/metadata/1.root.json "$r"/tt/root.json
agent_conf "transition_timeout = 60" "signal_after = 10" "settle = 8"
agent_initrd "$here"/agent-guest-init.sh

agent_boot 1 ""
grep -q '^@@TT DONE ok' "$work"/result-1.clean || { tail -n 30 "$work"/console-1.clean >&2; fail "the guest did not finish"; }
good=$(modinfo -F name "$work"/tt_agent_good.ko)
warn=$(modinfo -F name "$work"/tt_agent_warn.ko)
out() { agent_out 1 "$1"; }
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
