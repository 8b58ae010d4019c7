#!/bin/busybox sh
# /init of the agent's e2e initramfs: serves two states of a tuxtape archive with busybox
# httpd on 127.0.0.1 (the guest has no network device) and runs tuxtape-agent against them,
# reporting each step on the second serial port, then powers off.
. /tt/guest-lib.sh
A="tuxtape-agent -v --config /tt/agent.conf"
say "KVER $(uname -r)"

# 1. the first archive state: one patch for this kernel, applied
serve /tt/pub1
run check1 $A check
run status1 $A status --json
run uname1 $A uname
run vex1 $A vex
run meminfo1 grep TuxtapeLive /proc/meminfo
run check1b $A check

# 2. a newer cumulative patch that warns when its function runs: loaded, then reverted
serve /tt/pub2
# something runs the patched function while the agent watches (WARN_ONCE: it warns once)
(i=0; while [ $i -lt 40 ]; do cat /proc/meminfo > /dev/null; sleep 1; i=$((i + 1)); done) &
READER=$!
run check2 $A check
kill $READER 2> /dev/null
run status2 $A status --json
# 3. the next poll goes back to the newest patch not blocked
run check3 $A check
run status3 $A status --json
bye ok
