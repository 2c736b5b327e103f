#!/bin/bash
# gate/outside-mounts.sh — mounts made outside the gate are seen at once (the daemon re-reads
# the mount table when the kernel reports a change, not on every call), and `volume offline`
# dismounts them too.
#   tests/vm/run tests/e2e/gate/outside-mounts.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.minix mount umount
require_ublk
require_module minix
MNT=$W/mnt
mkdir -p "$MNT/vg" "$MNT/tmp"

check "daemon starts" start_gate
check "create volume vg" mkvol vg 32M
VG=$(dev_of vg)
check "mkfs.minix vg" mkfs.minix "$VG"
# The daemon has read the mount table (and seen it change) before the outside mounts.
expect "path add (minix)" ok volume path add vg "$MNT/vg"
expect "path remove vg" ok volume path remove vg "$MNT/vg"
check "mount vg outside the gate" mount -t minix "$VG" "$MNT/tmp"
blkgatectl --socket "$SOCK" --json volume show vg >"$W/vg.json"
check "volume show lists the outside mount" grep -q "\"mounts\":\[\"$MNT/tmp\"\]" "$W/vg.json"
check "umount outside the gate" umount "$MNT/tmp"
blkgatectl --socket "$SOCK" --json volume show vg >"$W/vg.json"
check "volume show no longer lists it" grep -q '"mounts":\[\]' "$W/vg.json"
check "mount vg outside the gate again" mount -t minix "$VG" "$MNT/tmp"
expect "offline dismounts a mount made outside the gate" ok volume offline vg
check "the outside mount is gone" sh -c "! grep -q ' $MNT/tmp ' /proc/mounts"
expect "vg online" ok volume online vg
summary
