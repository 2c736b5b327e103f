#!/bin/bash
# gate/restart-keeps-state.sh — every state survives a daemon restart: an offline volume
# (still ENODEV), an offline drive (its volume's I/O still ENODEV), a read-only disk
# (blockdev --getro), access paths (mounted again, files intact), a permanent dismount (still
# claimed), the system flag; the SIGTERM stop leaves no device, and data is intact after.
#   tests/vm/run tests/e2e/gate/restart-keeps-state.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 mount sha256sum blockdev cmp dd
require_ublk
D=$W/data
MNT=$W/mnt
mkdir -p "$D" "$MNT/vf" "$MNT/tmp"

check "daemon starts" start_gate --park-timeout 3000
check "create volume vc" mkvol vc 32M
check "create volume vf" mkvol vf 32M
check "create volume vg" mkvol vg 32M
check "a two-drive disk: va on drive a" sh -c "blkgatectl --socket $SOCK drive add a $D/a.img --size 32M && blkgatectl --socket $SOCK drive add b $D/b.img --size 32M && blkgatectl --socket $SOCK disk create kab a b && blkgatectl --socket $SOCK volume create va --disk kab --size 16M"
check "a disk k3 with volume vx" sh -c "blkgatectl --socket $SOCK drive add d-k3 $D/k3.img --size 64M && blkgatectl --socket $SOCK disk create k3 d-k3 && blkgatectl --socket $SOCK volume create vx --disk k3 --size 16M"
check "create a --system volume" sh -c "blkgatectl --socket $SOCK drive add d-sys $D/sys.img --size 8M && blkgatectl --socket $SOCK disk create k-sys d-sys && blkgatectl --socket $SOCK volume create vsys --disk k-sys --size 8M --system"
VC=$(dev_of vc)
check "write data to vc" dd if=/dev/urandom of="$VC" bs=1M count=4 oflag=direct
VF=$(dev_of vf)
check "mkfs vf" mkfs.ext4 -q -F "$VF"
expect "path add mounts" ok volume path add vf "$MNT/vf"
for i in 1 2 3; do head -c 300000 /dev/urandom >"$MNT/vf/f$i"; done
sync
(cd "$MNT/vf" && sha256sum f1 f2 f3) >"$W/vf.sums"
VG=$(dev_of vg)
check "mkfs vg" mkfs.ext4 -q -F "$VG"

expect "offline vc for the restart" ok volume offline vc
expect "drive a offline for the restart" ok drive set-status a offline
expect "k3 read-only for the restart" ok disk set-readonly k3 on
expect "vg permanently dismounted for the restart" ok volume dismount vg --permanent
check "stop" stop_gate
check "no device left" no_ublk_devices
check "restart" start_gate --park-timeout 3000
VC=$(dev_of vc)
VA=$(dev_of va)
VX=$(dev_of vx)
VG=$(dev_of vg)
check "vc still offline" test "$(state_of vc)" = offline
err=$(dd_err if="$VC" of=/dev/null bs=4k count=1 iflag=direct)
check "vc I/O fails with ENODEV after restart" sh -c "echo '$err' | grep -q 'No such device'"
check "drive a still offline" test "$(json_field "$(ctl --json drive show a)" status)" = offline
err=$(dd_err if="$VA" of=/dev/null bs=4k count=1 iflag=direct)
check "va I/O fails with ENODEV after restart" sh -c "echo '$err' | grep -q 'No such device'"
check "k3 still read-only (blockdev --getro)" test "$(blockdev --getro "$VX")" = 1
check "vf mounted again at its access path" grep -q " $MNT/vf " /proc/mounts
check "vf files intact" sh -c "cd $MNT/vf && sha256sum -c $W/vf.sums"
check "vg still permanently dismounted" test "$(json_field "$(ctl --json volume show vg)" dismount)" = permanent
check_not "vg still cannot be mounted" mount "$VG" "$MNT/tmp"
check "vsys still a system volume" test "$(json_field "$(ctl --json volume show vsys)" system)" = true
expect "vc online after restart" ok volume online vc
check "vc data equals its backing file" cmp -n $((32 * MiB)) "$VC" "$D/vc.img"
summary
