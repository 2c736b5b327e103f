#!/bin/bash
# gate/dismount-forced.sh — `volume dismount --force` shuts the file system down under an open
# file (which then gets EIO) and detaches it; dismounting again (also --permanent) answers
# temporarily-dismounted; `volume mount` mounts it again with the files intact.
#   tests/vm/run tests/e2e/gate/dismount-forced.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 sha256sum dd
require_ublk
MNT=$W/mnt
mkdir -p "$MNT/vf"

check "daemon starts" start_gate
check "create volume vf" mkvol vf 32M
VF=$(dev_of vf)
check "mkfs vf" mkfs.ext4 -q -F "$VF"
expect "path add mounts" ok volume path add vf "$MNT/vf"
for i in 1 2 3; do head -c 300000 /dev/urandom >"$MNT/vf/f$i"; done
sync
(cd "$MNT/vf" && sha256sum f1 f2 f3) >"$W/vf.sums"
on_cleanup "exec 7<&-"
exec 7<"$MNT/vf/f1"
expect "dismount while a file is open" device-in-use volume dismount vf
expect "forced dismount" ok volume dismount vf --force
check "forced: not mounted" sh -c "! grep -q ' $MNT/vf ' /proc/mounts"
err=$(dd bs=4096 count=1 <&7 2>&1 >/dev/null | grep -v 'records\|copied' || true)
check "forced: the open file now gets EIO ($err)" sh -c "echo '$err' | grep -q 'Input/output error'"
exec 7<&-
expect "dismount again" temporarily-dismounted volume dismount vf
expect "permanent dismount of a temporarily dismounted volume" temporarily-dismounted volume dismount vf --permanent
expect "volume mount" ok volume mount vf
check "mounted at its path again" grep -q " $MNT/vf " /proc/mounts
check "files intact after forced dismount + mount" sh -c "cd $MNT/vf && sha256sum -c $W/vf.sums"
summary
