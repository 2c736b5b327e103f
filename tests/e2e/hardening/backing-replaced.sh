#!/bin/bash
# tests/e2e/hardening/backing-replaced.sh — backing identity checked at start (issue 9):
#   tests/vm/run tests/e2e/hardening/backing-replaced.sh
# A drive's backing file replaced while the daemon is down (another file moved over it) is not
# served: after the start its volume is "stopped" with an error saying why, no device serves
# it, the drive reports cache "corrupt" and drive calls answer cache-corrupt; another drive's
# volume is served as usual. `blkgatectl refresh` records the new file and starts the volume
# (mounted at its access path), which then serves the new file's bytes; a restart after that
# starts it as usual.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 truncate mount umount
require_ublk
D=$W/data
MNT=$W/mnt
mkdir -p "$D" "$MNT" "$W/mnt-new"

volumes() { find /dev -maxdepth 1 -name "ublkb*" | wc -l; }

check "daemon starts" start_gate
for n in 0 1; do
	check "drive d$n, disk k$n, volume v$n" sh -c "blkgatectl --socket $SOCK drive add d$n $D/d$n.img --size 64M >/dev/null &&
		blkgatectl --socket $SOCK disk create k$n d$n >/dev/null &&
		blkgatectl --socket $SOCK volume create v$n --disk k$n --size 32M >/dev/null"
done
check "ext4 on v0" mkfs.ext4 -q -F "$(dev_of v0)"
expect "v0 mounted at its access path" ok volume path add v0 "$MNT"
echo "the recorded file" >"$MNT/which"
check "unmount before the stop" umount "$MNT"
check "stop" stop_gate

# Another file, with another file system on it, moved over d0's backing file.
check "make the replacement" sh -c "truncate -s 64M $D/new.img && mkfs.ext4 -q -F $D/new.img 32M &&
	mount -o loop $D/new.img $W/mnt-new && echo 'the replacement' >$W/mnt-new/which &&
	umount $W/mnt-new"
check "replace d0.img while the daemon is down" mv -f "$D/new.img" "$D/d0.img"

check "daemon starts" start_gate
check "v0 is stopped ($(state_of v0))" test "$(state_of v0)" = stopped
ctl --json volume show v0 >"$W/v0.json"
check "v0 has no device" grep -q '"device":null' "$W/v0.json"
check "v0's error says why" grep -q '"error":"not started: cache-corrupt: drive .d0. ([^)]*): it is a different file' "$W/v0.json"
check "nothing is mounted at $MNT" sh -c "! grep -q ' $MNT ' /proc/mounts"
check "only v1 is served ($(volumes) devices)" test "$(volumes)" = 1
check "v1 is online" test "$(state_of v1)" = online
check "d0 reports cache corrupt" test "$(json_field "$(ctl --json drive show d0)" cache)" = corrupt
check "d1 reports cache ok" test "$(json_field "$(ctl --json drive show d1)" cache)" = ok
expect "drive calls on d0 answer cache-corrupt" cache-corrupt drive set-status d0 offline
expect "no new volume on d0's disk" cache-corrupt volume create v2 --disk k0 --size 1M --offset 48M
check "the daemon logged it" grep -q "volume v0 not started: cache-corrupt" "$W/gate.log"

# refresh takes the file as it is now and starts the volume.
expect "refresh" ok refresh
check "v0 is online after refresh ($(state_of v0))" test "$(state_of v0)" = online
check "d0 reports cache ok" test "$(json_field "$(ctl --json drive show d0)" cache)" = ok
check "v0 is mounted at its access path again" grep -q " $MNT " /proc/mounts
check "v0 serves the new file" grep -qx "the replacement" "$MNT/which"
check "unmount" umount "$MNT"
check "stop" stop_gate
check "restart" start_gate
check "v0 starts as usual after a restart" test "$(state_of v0)" = online
check "d0 cache ok after the restart" test "$(json_field "$(ctl --json drive show d0)" cache)" = ok
summary
