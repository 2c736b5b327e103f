#!/bin/bash
# gate/volume-offline-dismounts.sh — `volume offline` dismounts the file system first; the
# daemon's claim keeps the offline device from being mounted (and `path add` is not-ready);
# `volume online` mounts it again at its access path with the files intact.
#   tests/vm/run tests/e2e/gate/volume-offline-dismounts.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 mount sha256sum
require_ublk
MNT=$W/mnt
mkdir -p "$MNT/vf" "$MNT/tmp"

check "daemon starts" start_gate
check "create volume vf" mkvol vf 32M
VF=$(dev_of vf)
check "mkfs vf" mkfs.ext4 -q -F "$VF"
expect "path add mounts" ok volume path add vf "$MNT/vf"
check "vf is mounted at its access path" grep -q " $MNT/vf " /proc/mounts
for i in 1 2 3; do head -c 300000 /dev/urandom >"$MNT/vf/f$i"; done
sync
(cd "$MNT/vf" && sha256sum f1 f2 f3) >"$W/vf.sums"
expect "volume offline dismounts the file system first" ok volume offline vf
check "no longer mounted" sh -c "! grep -q ' $MNT/vf ' /proc/mounts"
check_not "offline volume cannot be mounted" mount "$VF" "$MNT/tmp"
expect "path add while offline" not-ready volume path add vf "$MNT/tmp"
expect "online remounts at the access path" ok volume online vf
check "mounted again" grep -q " $MNT/vf " /proc/mounts
check "files intact" sh -c "cd $MNT/vf && sha256sum -c $W/vf.sums"
summary
