#!/bin/bash
# tests/e2e/gate.sh — the gate's seed semantics end to end in the VM (the gate issue):
#   tests/vm/run tests/e2e/gate.sh
# volume offline under fio load (ENODEV, fsync and BLKDISCARD fail, backing file unchanged,
# online restores service and data), idempotence, system volume, dismount (in use, forced,
# permanent, has-access-path, already dismounted), disk offline/read-only, drive
# offline/failed/not-ready, the gate failing a drive itself, cache-corrupt, object-deleted,
# resource offline/online, hooks (veto, reentrant-call), another-call-in-progress, and every
# state surviving a restart.
set -u
. "$(dirname "$0")/lib.sh"
MiB=$((1 << 20))
D=$W/data
mkdir -p "$D" "$STATE/hooks" /mnt/vf /mnt/vg /mnt/tmp /mnt/vy

# Hooks: a slow one, a vetoing one, one that calls back into the gate.
cat >"$STATE/hooks/10-test" <<HOOK
#!/bin/sh
echo "\$BLKGATE_EVENT \$BLKGATE_OBJECT \$BLKGATE_STATE" >>$W/hooks.log
awk '{print "policy " \$41 " nice " \$19}' /proc/\$\$/stat >$W/hook.prio
awk '\$41 == 5' /proc/\$PPID/task/*/stat | wc -l >$W/daemon.idle-threads
[ "\$BLKGATE_EVENT" = pre-offline ] || exit 0
case "\$BLKGATE_NAME" in
vslow) sleep 4 ;;
vveto) exit 3 ;;
vre) blkgatectl --json list >$W/reenter.out 2>&1; echo \$? >$W/reenter.rc ;;
esac
exit 0
HOOK
chmod +x "$STATE/hooks/10-test"

check "daemon starts" start_gate --park-timeout 3000 --hook-timeout 20
mkvol() { # NAME SIZE: a drive, a disk and a volume of that name
	ctl drive add "d-$1" "$D/$1.img" --size "$2" >/dev/null &&
		ctl disk create "k-$1" "d-$1" >/dev/null &&
		ctl volume create "$1" --disk "k-$1" --size "$2" --queues 2 >/dev/null
}
for v in vc vf vg vs vw vslow vveto vre; do check "create volume $v" mkvol $v 32M; done

# ---- volume offline under fio write load ----------------------------------------------------
VC=$(dev_of vc)
fio --name=load --filename="$VC" --direct=1 --ioengine=io_uring --rw=randwrite --bs=4k \
	--iodepth=32 --numjobs=2 --time_based --runtime=60 >"$W/fio-offline.log" 2>&1 &
FPID=$!
sleep 3
expect "volume offline under fio write load" ok volume offline vc
sum_off=$(sha256sum <"$D/vc.img")
wait $FPID
frc=$?
check "fio failed once the volume went offline" test $frc -ne 0
check "fio saw ENODEV" grep -qiE "No such device|error=19|ENODEV" "$W/fio-offline.log"
check "state is offline" test "$(state_of vc)" = offline
err=$(dd_err if=/dev/zero of="$VC" bs=4k count=1 oflag=direct)
check "O_DIRECT write fails with ENODEV ($err)" sh -c "echo '$err' | grep -q 'No such device'"
err=$(dd_err if="$VC" of=/dev/null bs=4k count=1 iflag=direct)
check "O_DIRECT read fails with ENODEV ($err)" sh -c "echo '$err' | grep -q 'No such device'"
check_not "fsync fails" sync "$VC"
check_not "BLKDISCARD fails" blkdiscard -o 0 -l $MiB "$VC"
check_not "BLKZEROOUT fails" blkdiscard -z -o 0 -l $MiB "$VC"
sleep 1
check "no byte reached the backing file while offline" test "$(sha256sum <"$D/vc.img")" = "$sum_off"
refused=$(json_field "$(ctl --json volume show vc)" refused)
check "the gate refused requests ($refused)" test "$refused" -gt 0
expect "offline again is ok (idempotent)" ok volume offline vc
check "hooks run SCHED_OTHER at nice 10 ($(cat $W/hook.prio))" test "$(cat $W/hook.prio)" = "policy 0 nice 10"
check "the control thread running the hook is SCHED_IDLE ($(cat $W/daemon.idle-threads) such threads)" \
	test "$(cat $W/daemon.idle-threads)" -ge 1
expect "online" ok volume online vc
check "online: read works" dd if="$VC" of=/dev/null bs=1M count=4 iflag=direct
check "online: data intact (device == backing file)" cmp -n $((32 * MiB)) "$VC" "$D/vc.img"
check "online: write works" dd if=/dev/urandom of="$VC" bs=64k count=16 oflag=direct
expect "online again is ok (idempotent)" ok volume online vc

# ---- offline dismounts first; the claim keeps it unmounted ----------------------------------
VF=$(dev_of vf)
check "mkfs vf" mkfs.ext4 -q -F "$VF"
expect "path add mounts" ok volume path add vf /mnt/vf
check "vf is mounted at its access path" grep -q " /mnt/vf " /proc/mounts
for i in 1 2 3; do head -c 300000 /dev/urandom >/mnt/vf/f$i; done
sync
(cd /mnt/vf && sha256sum f1 f2 f3) >"$W/vf.sums"
expect "volume offline dismounts the file system first" ok volume offline vf
check "no longer mounted" sh -c "! grep -q ' /mnt/vf ' /proc/mounts"
check_not "offline volume cannot be mounted" mount "$VF" /mnt/tmp
expect "path add while offline" not-ready volume path add vf /mnt/tmp
expect "online remounts at the access path" ok volume online vf
check "mounted again" grep -q " /mnt/vf " /proc/mounts
check "files intact" sh -c "cd /mnt/vf && sha256sum -c $W/vf.sums"

# ---- the system volume ----------------------------------------------------------------------
check "create a --system volume" sh -c "blkgatectl --socket $SOCK drive add d-sys $D/sys.img --size 8M && blkgatectl --socket $SOCK disk create k-sys d-sys && blkgatectl --socket $SOCK volume create vsys --disk k-sys --size 8M --system"
expect "offline the system volume" system-volume volume offline vsys
expect "offline the disk of the system volume" failed-to-offline-disk disk offline k-sys
VW=$(dev_of vw)
if mkswap "$VW" >/dev/null 2>&1 && swapon "$VW" 2>/dev/null; then
	expect "offline a volume that is active swap" system-volume volume offline vw
	check "swapoff" swapoff "$VW"
else
	fail "swap on a volume could not be set up (mkswap/swapon)"
fi
expect "offline vw once swap is off" ok volume offline vw

# ---- dismount -------------------------------------------------------------------------------
exec 7</mnt/vf/f1
expect "dismount while a file is open" device-in-use volume dismount vf
check "still mounted after the refused dismount" grep -q " /mnt/vf " /proc/mounts
expect "forced dismount" ok volume dismount vf --force
check "forced: not mounted" sh -c "! grep -q ' /mnt/vf ' /proc/mounts"
err=$(dd bs=4096 count=1 <&7 2>&1 >/dev/null | grep -v 'records\|copied' || true)
check "forced: the open file now gets EIO ($err)" sh -c "echo '$err' | grep -q 'Input/output error'"
exec 7<&-
expect "dismount again" temporarily-dismounted volume dismount vf
expect "permanent dismount of a temporarily dismounted volume" temporarily-dismounted volume dismount vf --permanent
expect "volume mount" ok volume mount vf
check "mounted at its path again" grep -q " /mnt/vf " /proc/mounts
check "files intact after forced dismount + mount" sh -c "cd /mnt/vf && sha256sum -c $W/vf.sums"
expect "permanent dismount with an access path" has-access-path volume dismount vf --permanent
cd /mnt/vf
expect "dismount while a process has its cwd there" device-in-use volume dismount vf
cd /
expect "path remove unmounts" ok volume path remove vf /mnt/vf
check "unmounted by path remove" sh -c "! grep -q ' /mnt/vf ' /proc/mounts"
expect "permanent dismount" ok volume dismount vf --permanent
check_not "permanently dismounted: mount fails" mount "$VF" /mnt/tmp
expect "dismount again" permanently-dismounted volume dismount vf
expect "path add makes it mountable and mounts it" ok volume path add vf /mnt/vf
check "mounted after path add" grep -q " /mnt/vf " /proc/mounts

# not-supported: a file system without shutdown (minix) cannot be force-dismounted.
VG=$(dev_of vg)
if modprobe minix 2>/dev/null && mkfs.minix "$VG" >/dev/null 2>&1; then
	expect "path add (minix)" ok volume path add vg /mnt/vg
	exec 8</mnt/vg
	expect "forced dismount of a file system without shutdown" not-supported volume dismount vg --force
	check "still mounted after not-supported" grep -q " /mnt/vg " /proc/mounts
	exec 8<&-
	expect "path remove vg" ok volume path remove vg /mnt/vg
	# Mounts made outside the gate are seen at once (the daemon re-reads the mount table when
	# the kernel reports a change, not on every call).
	check "mount vg outside the gate" mount -t minix "$VG" /mnt/tmp
	blkgatectl --socket "$SOCK" --json volume show vg >"$W/vg.json"
	check "volume show lists the outside mount" grep -q '"mounts":\["/mnt/tmp"\]' "$W/vg.json"
	check "umount outside the gate" umount /mnt/tmp
	blkgatectl --socket "$SOCK" --json volume show vg >"$W/vg.json"
	check "volume show no longer lists it" grep -q '"mounts":\[\]' "$W/vg.json"
	check "mount vg outside the gate again" mount -t minix "$VG" /mnt/tmp
	expect "offline dismounts a mount made outside the gate" ok volume offline vg
	check "the outside mount is gone" sh -c "! grep -q ' /mnt/tmp ' /proc/mounts"
	expect "vg online" ok volume online vg
else
	fail "minix could not be set up for the not-supported check"
fi

# ---- disk offline / read-only ---------------------------------------------------------------
check "a disk with two volumes" sh -c "blkgatectl --socket $SOCK drive add d-k3 $D/k3.img --size 64M && blkgatectl --socket $SOCK disk create k3 d-k3 && blkgatectl --socket $SOCK volume create vx --disk k3 --size 16M && blkgatectl --socket $SOCK volume create vy --disk k3 --size 16M --offset 32M"
VX=$(dev_of vx)
VY=$(dev_of vy)
check "mkfs vy" mkfs.ext4 -q -F "$VY"
expect "path add vy" ok volume path add vy /mnt/vy
exec 9>/mnt/vy/busy
expect "disk offline with a busy volume" failed-to-offline-disk disk offline k3
msg=$(blkgatectl --socket "$SOCK" disk offline k3 2>&1)
check "the error names the busy volume" sh -c "echo \"$msg\" | grep -q \"volume 'vy'\""
check "vx still online" test "$(state_of vx)" = online
check "vy still mounted" grep -q " /mnt/vy " /proc/mounts
check "disk still online" test "$(json_field "$(ctl --json disk show k3)" state)" = online
exec 9>&-
expect "disk offline" ok disk offline k3
check "vx offline" test "$(state_of vx)" = offline
check "vy dismounted" sh -c "! grep -q ' /mnt/vy ' /proc/mounts"
err=$(dd_err if="$VX" of=/dev/null bs=4k count=1 iflag=direct)
check "I/O to a volume of the offline disk fails with ENODEV" sh -c "echo '$err' | grep -q 'No such device'"
expect "volume online while its disk is offline" invalid-state volume online vx
expect "disk offline again (idempotent)" ok disk offline k3
expect "disk online" ok disk online k3
check "vy remounted at its path" grep -q " /mnt/vy " /proc/mounts
expect "read-only refused while a volume is mounted" device-in-use disk set-readonly k3 on
expect "path remove vy" ok volume path remove vy /mnt/vy
expect "disk set-readonly on" ok disk set-readonly k3 on
check "blockdev --getro vx = 1" test "$(blockdev --getro "$VX")" = 1
check "blockdev --getro vy = 1" test "$(blockdev --getro "$VY")" = 1
check "reads work on a read-only disk" dd if="$VX" of=/dev/null bs=64k count=4 iflag=direct
check_not "writes fail on a read-only disk" dd if=/dev/zero of="$VX" bs=4k count=1 oflag=direct
check_not "discards fail on a read-only disk" blkdiscard -o 0 -l $MiB "$VX"
expect "disk set-readonly off" ok disk set-readonly k3 off
check "blockdev --getro vx = 0" test "$(blockdev --getro "$VX")" = 0
check "writes work again" dd if=/dev/zero of="$VX" bs=4k count=1 oflag=direct

# ---- drives ---------------------------------------------------------------------------------
check "a two-drive disk: va on drive a, vb on drive b" sh -c "blkgatectl --socket $SOCK drive add a $D/a.img --size 32M && blkgatectl --socket $SOCK drive add b $D/b.img --size 32M && blkgatectl --socket $SOCK disk create kab a b && blkgatectl --socket $SOCK volume create va --disk kab --size 16M && blkgatectl --socket $SOCK volume create vb --disk kab --size 16M --offset 32M"
VA=$(dev_of va)
VB=$(dev_of vb)
expect "set-status unknown" invalid-argument drive set-status a unknown
expect "set-status bogus" invalid-argument drive set-status a bogus
check "write a pattern to va" dd if=/dev/urandom of="$VA" bs=1M count=2 oflag=direct
expect "drive a offline (caches flushed first)" ok drive set-status a offline
err=$(dd_err if="$VA" of=/dev/null bs=4k count=1 iflag=direct)
check "I/O touching an offline drive fails with ENODEV" sh -c "echo '$err' | grep -q 'No such device'"
check "I/O to the other drive still works" dd if="$VB" of=/dev/null bs=64k count=4 iflag=direct
expect "drive a online" ok drive set-status a online
check "va works again" dd if="$VA" of=/dev/null bs=64k count=4 iflag=direct
# vb lies on the disk's second drive only: its gate slot is that drive's position.
expect "drive b offline" ok drive set-status b offline
err=$(dd_err if="$VB" of=/dev/null bs=4k count=1 iflag=direct)
check "I/O to a volume on the second drive fails with ENODEV" sh -c "echo '$err' | grep -q 'No such device'"
check "while the first drive's volume still works" dd if="$VA" of=/dev/null bs=64k count=4 iflag=direct
expect "drive b online" ok drive set-status b online
check "vb works again" dd if="$VB" of=/dev/null bs=64k count=4 iflag=direct
expect "drive a failed" ok drive set-status a failed
err=$(dd_err if="$VA" of=/dev/null bs=4k count=1 iflag=direct)
check "I/O touching a failed drive fails with EIO" sh -c "echo '$err' | grep -q 'Input/output error'"
expect "failed drive online" object-failed drive set-status a online
expect "failed drive offline" ok drive set-status a offline
expect "then online" ok drive set-status a online
expect "drive a not-ready" ok drive set-status a not-ready
dd if="$VA" of="$W/parked.out" bs=4k count=1 iflag=direct 2>"$W/parked.err" &
DPID=$!
sleep 1
check "a request to a not-ready drive is parked, not failed" kill -0 $DPID
check "the queue thread is not blocked: the other drive serves" dd if="$VB" of=/dev/null bs=4k count=8 iflag=direct
expect "drive a online releases parked requests" ok drive set-status a online
wait $DPID
check "the parked read completed successfully" test $? -eq 0 -a -s "$W/parked.out"
expect "drive a not-ready again" ok drive set-status a not-ready
start=$(date +%s)
err=$(dd_err if="$VA" of=/dev/null bs=4k count=1 iflag=direct)
took=$(($(date +%s) - start))
check "after the park timeout it fails with ENODEV ($err, ${took}s)" sh -c "echo '$err' | grep -q 'No such device' && [ $took -ge 2 ]"
expect "resource offline of a pending drive" invalid-state offline drive/a
expect "drive a online" ok drive set-status a online

# cache-corrupt: the backing file is replaced under the gate.
mv "$D/b.img" "$D/b.old"
truncate -s 32M "$D/b.img"
expect "set-status after the backing file changed" cache-corrupt drive set-status b offline
expect "still cache-corrupt before refresh" cache-corrupt drive set-status b offline
expect "refresh" ok refresh
expect "set-status after refresh" ok drive set-status b offline
expect "b online" ok drive set-status b online
# object-deleted
check "add and remove a spare drive" sh -c "blkgatectl --socket $SOCK drive add spare $D/spare.img --size 1M && blkgatectl --socket $SOCK drive remove spare"
expect "set-status of a removed drive" object-deleted drive set-status spare offline

# The gate marks a drive failed itself when its backing I/O fails (null_blk bad blocks).
if modprobe null_blk nr_devices=0 2>/dev/null && mkdir /sys/kernel/config/nullb/nb0 2>/dev/null; then
	NB=/sys/kernel/config/nullb/nb0
	echo 1 >$NB/memory_backed && echo 16 >$NB/size && echo 1 >$NB/power
	NBDEV=/dev/nb0  # a configfs null_blk disk is named after its item
	check "null_blk backing device" test -b "$NBDEV"
	check "a volume on it" sh -c "blkgatectl --socket $SOCK drive add nb $NBDEV && blkgatectl --socket $SOCK disk create knb nb && blkgatectl --socket $SOCK volume create vnb --disk knb --size 16M"
	VNB=$(dev_of vnb)
	check "I/O works before the fault" dd if="$VNB" of=/dev/null bs=64k count=4 iflag=direct
	echo "+0-32767" >$NB/badblocks
	check_not "I/O fails once the backing store fails" dd if="$VNB" of=/dev/null bs=4k count=1 iflag=direct
	sleep 1
	check "the gate marked the drive failed" test "$(json_field "$(ctl --json drive show nb)" status)" = failed
	expect "resource offline of the failed drive" ok offline drive/nb
	check "it is now offline" test "$(json_field "$(ctl --json drive show nb)" status)" = offline
else
	fail "null_blk with configfs could not be set up for the backend-failure check"
fi

# ---- resources ------------------------------------------------------------------------------
expect "offline drive/b takes its dependents offline first" ok offline drive/b
check "va offline (dependent)" test "$(state_of va)" = offline
check "disk kab offline (dependent)" test "$(json_field "$(ctl --json disk show kab)" state)" = offline
check "drive b offline" test "$(json_field "$(ctl --json drive show b)" status)" = offline
check "drive a untouched" test "$(json_field "$(ctl --json drive show a)" status)" = online
expect "online volume/vb brings drive and disk online first" ok online volume/vb
check "vb online" test "$(state_of vb)" = online
check "drive b online" test "$(json_field "$(ctl --json drive show b)" status)" = online
check "vb serves I/O" dd if="$VB" of=/dev/null bs=64k count=4 iflag=direct
expect "bad object reference" invalid-argument offline pool/x
expect "unknown object" not-found offline volume/nope

# ---- hooks and concurrency ------------------------------------------------------------------
expect "a pre-offline hook vetoes" device-in-use volume offline vveto
check "vetoed volume stays online" test "$(state_of vveto)" = online
rm -f "$W/reenter.rc"
expect "offline with a hook that calls blkgatectl" ok volume offline vre
check "the hook's call got reentrant-call (exit 27)" test "$(cat "$W/reenter.rc" 2>/dev/null)" = 27
check "the hook's call named reentrant-call" grep -q '"result":"reentrant-call"' "$W/reenter.out"
check "hooks saw pre- and post-offline" sh -c "grep -q 'pre-offline volume/vre online' $W/hooks.log && grep -q 'post-offline volume/vre offline' $W/hooks.log"
blkgatectl --socket "$SOCK" volume offline vslow >"$W/slow.out" 2>&1 &
SLPID=$!
sleep 1.5
t0=${EPOCHREALTIME/./}
expect "a second call on a busy volume" another-call-in-progress volume online vslow
t1=${EPOCHREALTIME/./}
ms=$(((t1 - t0) / 1000))
check "another-call-in-progress came at once (${ms} ms, the hook sleeps 4 s)" test $ms -lt 1500
expect "a resource call on a pending volume" invalid-state offline volume/vslow
expect "other objects are not blocked by it" ok volume show vc
wait $SLPID
check "the slow offline finished ok" test $? -eq 0
expect "online vslow" ok volume online vslow

# ---- every state survives a restart ---------------------------------------------------------
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
check "drive nb still offline" test "$(json_field "$(ctl --json drive show nb)" status)" = offline
check "k3 still read-only (blockdev --getro)" test "$(blockdev --getro "$VX")" = 1
check "vf mounted again at its access path" grep -q " /mnt/vf " /proc/mounts
check "vf files intact" sh -c "cd /mnt/vf && sha256sum -c $W/vf.sums"
check "vg still permanently dismounted" test "$(json_field "$(ctl --json volume show vg)" dismount)" = permanent
check_not "vg still cannot be mounted" mount "$VG" /mnt/tmp
check "vsys still a system volume" test "$(json_field "$(ctl --json volume show vsys)" system)" = true
expect "vc online after restart" ok volume online vc
check "vc data equals its backing file" cmp -n $((32 * MiB)) "$VC" "$D/vc.img"

# ---- a corrupt state file stops the start and is kept ---------------------------------------
check "unmount vf before the corrupt-state check" umount /mnt/vf
check "stop" stop_gate
cp "$STATE/state.json" "$W/state.good"
echo '{"format": "blkgate-state", "version": 1, "drives": [' >"$STATE/state.json"
blkgate --state-dir "$STATE" 2>"$W/corrupt.err"
rc=$?
check "the start fails on a corrupt state file (exit $rc)" test $rc -ne 0
check "the message names the file" grep -q "state.json is corrupt" "$W/corrupt.err"
check "the corrupt file is left untouched" grep -q '"drives": \[$' "$STATE/state.json"
check "the previous generation is kept" test -s "$STATE/state.json.prev"
check "no device was created" no_ublk_devices
summary
