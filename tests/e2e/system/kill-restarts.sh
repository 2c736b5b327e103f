#!/bin/bash
# Behaviour: a kill -9 of the service's daemon (its MainPID): systemd starts the next one
# (Restart=on-failure), which recovers the volume's device: the same /dev/ublkbN, the file
# system mounted at its access path stays mounted (the same mount) and readable with its data,
# a file written through the kill is intact, and /dev/blkgate/NAME and
# /dev/disk/by-id/blkgate-NAME still point at the device.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
require mkfs.ext4
# No core file of the killed daemon.
fresh_service "LimitCORE=0"
mounted_volume v0 before
dev=$(dev_of v0)
udevadm settle
check "/dev/blkgate/v0 before the kill" test "$(link_of v0)" = "$dev"
id=$(mount_id)
head -c 1048576 /dev/urandom >"$W/pattern"
cp "$W/pattern" "$W/mnt/pattern" && sync
pid=$(prop MainPID)
restarts=$(prop NRestarts)

kill -9 "$pid"
check "systemd started the next daemon" wait_for 30 sh -c \
	"[ \"\$(systemctl show -P NRestarts $UNIT)\" = $((restarts + 1)) ] && [ \"\$(systemctl show -P MainPID $UNIT)\" != $pid ]"
check "active again" wait_for 30 sh -c "[ \"\$(systemctl show -P ActiveState $UNIT)\" = active ]"
check "systemd saw the kill" sh -c "journalctl -b -u $UNIT -o cat | grep -q 'status=9/KILL'"
check "the volume kept its device" test "$(dev_of v0)" = "$dev"
check "recovered, not recreated" test "$(json_field "$(ctl --json volume show v0)" recoveries)" = 1
check "the same mount" test "$(mount_id)" = "$id"
echo 3 >/proc/sys/vm/drop_caches
check "the file system reads its data" test "$(cat "$W/mnt/file")" = before
check "a file written before the kill is intact" cmp "$W/pattern" "$W/mnt/pattern"
check "and takes writes" sh -c "echo after >>'$W/mnt/file' && sync"
udevadm settle
check "/dev/blkgate/v0 still points at it" test "$(link_of v0)" = "$dev"
check "/dev/disk/by-id/blkgate-v0 too" test "$(readlink -f /dev/disk/by-id/blkgate-v0)" = "$dev"
remove_volume v0
summary
