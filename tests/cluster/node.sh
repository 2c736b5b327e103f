#!/bin/bash
# tests/cluster/node.sh — one node of the cluster test, run inside a tests/vm/sysvm VM by
# tests/cluster/run (the host driver): --name is the node's name (a, b, c), --net its address,
# --disk the shared store as /dev/disk/by-id/virtio-shared.
#
# It sets the node up as README.md's "Running in a Pacemaker cluster" says: blkgate (this
# build's binaries, the daemon as a systemd service that restarts), the OCF agent, drive
# `shared`, disk `ks`, volume v0 at offset 1 MiB (offline); corosync (config and key written by
# the driver) and pacemaker. Then it serves the driver's commands until told to stop.
#
# The command channel (sysvm has none: the driver and the node share $VM_SHARE over 9p,
# uncached): in /share/cluster/NODE/, the driver creates cmd.N (bash code, written to a temp
# name and renamed); the node runs them in order, one at a time, output to out.N, and writes
# its exit status to rc.N (renamed into place, so rc.N complete means done). A command that
# must outlive its call (a load generator) starts itself with setsid. cmd.N containing `exit`
# ends the loop, and the node's script with status 0. Between commands the same loop keeps
# /share/cluster/NODE/mounted present exactly while /srv/v0 is mounted on this node (checked
# every 0.2 s; not while a command runs, so the driver gives a node it times no command), so
# the driver times failovers with its own clock.
set -u
N=${BLKGATE_VM_NAME:?run by tests/cluster/run through tests/vm/sysvm}
C=/share/cluster
ND=$C/$N
say() { echo "[node $N] $*"; }
die() {
	say "setup failed: $*"
	echo "$*" >"$ND/failed"
	exit 1
}
mkdir -p "$ND" || exit 1
rm -f "$ND"/cmd.* "$ND"/out.* "$ND"/rc.* "$ND/ready" "$ND/failed" "$ND/mounted"

# blkgate, the agent and the test's fence stand-in, where a package would put them.
/repo/tests/ocf/vm-install || die "cannot install blkgate (tests/ocf/vm-install)"
install -m 755 /repo/tests/cluster/fence_delay /usr/sbin/fence_delay || die "fence_delay"
systemd-run --quiet --unit=blkgate -p Restart=always -p RestartSec=1 \
	/usr/bin/blkgate --state-dir /var/lib/blkgate || die "cannot start blkgate"
for _ in $(seq 100); do
	blkgatectl --timeout 2 ping >/dev/null 2>&1 && break
	sleep 0.2
done
if ! { blkgatectl drive add shared /dev/disk/by-id/virtio-shared &&
	blkgatectl disk create ks shared &&
	blkgatectl volume create v0 --disk ks --size 192M --offset 1M --queues 1; } >/dev/null; then
	die "blkgate objects: $(blkgatectl list 2>&1)"
fi
[ "$(blkgatectl --json volume show v0 | jq -r .device)" = /dev/ublkb0 ] || die "v0 is not /dev/ublkb0"
if [ -e "$C/format-on-$N" ]; then
	udevadm settle
	mkfs.ext4 -q -F /dev/ublkb0 || die "mkfs"
	sync
fi
blkgatectl volume offline v0 >/dev/null || die "volume offline"
mkdir -p /srv/v0

# corosync + pacemaker
install -m 400 "$C/authkey" /etc/corosync/authkey || die "corosync key"
install -m 644 "$C/corosync.conf" /etc/corosync/corosync.conf || die "corosync config"
systemctl start corosync pacemaker || die "cannot start the cluster: $(journalctl -n 20 --no-pager)"

# One loop, and no fork while idle (under TCG every fork counts, three VMs share two cores):
# the mount table is read with bash's read, the pause is a read with a timeout on a FIFO.
mkfifo /run/node-pause && exec {PAUSE}<>/run/node-pause
mounted_here() {
	local _d mp _r
	while read -r _d mp _r; do [ "$mp" = /srv/v0 ] && return 0; done </proc/mounts
	return 1
}
: >"$ND/ready"
say "ready"
up=
n=1
while :; do
	if mounted_here; then now=1; else now=0; fi
	if [ "$now" != "$up" ]; then
		if [ "$now" = 1 ]; then : >"$ND/mounted"; else rm -f "$ND/mounted"; fi
		up=$now
	fi
	if [ -e "$ND/cmd.$n" ]; then
		if [ "$(<"$ND/cmd.$n")" = exit ]; then
			: >"$ND/out.$n"
			echo 0 >"$ND/rc.$n"
			break
		fi
		bash "$ND/cmd.$n" >"$ND/out.$n" 2>&1 </dev/null
		echo $? >"$ND/rc.$n.tmp"
		mv "$ND/rc.$n.tmp" "$ND/rc.$n"
		n=$((n + 1))
	else
		read -r -t 0.2 -u "$PAUSE" _
	fi
done
say "told to stop"
exit 0
