#!/bin/bash
# gate/dismount-in-use.sh — `volume dismount` is refused with device-in-use, and nothing is
# unmounted, while a process has a file open on the volume or its cwd there.
#   tests/vm/run tests/e2e/gate/dismount-in-use.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4
require_ublk
MNT=$W/mnt
mkdir -p "$MNT/vf"

check "daemon starts" start_gate
check "create volume vf" mkvol vf 32M
VF=$(dev_of vf)
check "mkfs vf" mkfs.ext4 -q -F "$VF"
expect "path add mounts" ok volume path add vf "$MNT/vf"
head -c 300000 /dev/urandom >"$MNT/vf/f1"
on_cleanup "exec 7<&-"
exec 7<"$MNT/vf/f1"
expect "dismount while a file is open" device-in-use volume dismount vf
check "still mounted after the refused dismount" grep -q " $MNT/vf " /proc/mounts
exec 7<&-
cd "$MNT/vf" || exit 1
expect "dismount while a process has its cwd there" device-in-use volume dismount vf
cd /
check "still mounted after the refused dismount (cwd)" grep -q " $MNT/vf " /proc/mounts
expect "dismount once nothing uses it" ok volume dismount vf
summary
