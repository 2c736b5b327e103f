#!/bin/bash
# gate/dismount-permanent.sh — `volume dismount --permanent` is refused while access paths
# remain (has-access-path); after `path remove` (which unmounts) it claims the device so it
# cannot be mounted; dismounting again answers permanently-dismounted; `path add` makes it
# mountable again and mounts it.
#   tests/vm/run tests/e2e/gate/dismount-permanent.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 mount
require_ublk
MNT=$W/mnt
mkdir -p "$MNT/vf" "$MNT/tmp"

check "daemon starts" start_gate
check "create volume vf" mkvol vf 32M
VF=$(dev_of vf)
check "mkfs vf" mkfs.ext4 -q -F "$VF"
expect "path add mounts" ok volume path add vf "$MNT/vf"
expect "permanent dismount with an access path" has-access-path volume dismount vf --permanent
check "still mounted after has-access-path" grep -q " $MNT/vf " /proc/mounts
expect "path remove unmounts" ok volume path remove vf "$MNT/vf"
check "unmounted by path remove" sh -c "! grep -q ' $MNT/vf ' /proc/mounts"
expect "permanent dismount" ok volume dismount vf --permanent
check_not "permanently dismounted: mount fails" mount "$VF" "$MNT/tmp"
expect "dismount again" permanently-dismounted volume dismount vf
expect "path add makes it mountable and mounts it" ok volume path add vf "$MNT/vf"
check "mounted after path add" grep -q " $MNT/vf " /proc/mounts
summary
