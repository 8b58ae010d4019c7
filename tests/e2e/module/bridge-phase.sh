#!/bin/sh
# Guest side of module-branch-test.sh, run in each phase: sends a frame into a port of the
# bridge br0 with the bridge's MST mode on, then off (the bridge module's static key
# br_mst_used on, then off), and prints which way the patched br_handle_frame_finish() said
# its static branch on that key went ("none" when the unpatched code ran).
[ -d /sys/module/bridge ] || { echo "no bridge"; exit 0; }
if [ ! -d /sys/class/net/br0 ]; then
	brctl addbr br0 || exit 1
	# ports without VLANs, or the MST mode cannot change
	echo 0 > /sys/class/net/br0/bridge/default_pvid || exit 1
	brctl setfd br0 0 2> /dev/null
	ip link add v0 type veth || exit 1 # its peer is veth0
	for d in v0 veth0 br0; do echo 1 > /proc/sys/net/ipv6/conf/$d/disable_ipv6; done
	brctl addif br0 veth0 || exit 1
	ip addr add 192.0.2.1/24 dev v0 || exit 1
	for d in veth0 v0 br0; do ip link set $d up || exit 1; done
	sleep 1
fi
for st in 1 0; do
	/tt/br-mst br0 $st || exit 1
	sleep 1
	n=$(dmesg | wc -l)
	arping -c 2 -w 2 -I v0 192.0.2.2 > /dev/null 2>&1
	sleep 1
	seen=$(dmesg | tail -n +$((n + 1)) | grep -o 'tuxtape: br_mst_used [a-z]*' | sort -u |
		sed 's/tuxtape: br_mst_used //' | tr '\n' ' ')
	echo "mst=$st: ${seen:-none}"
done
for f in /sys/kernel/livepatch/*/bridge/patched; do [ -r "$f" ] && echo "patched=$(cat $f)"; done
true
