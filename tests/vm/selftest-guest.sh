#!/bin/sh
# Runs INSIDE the VM for tests/vm/selftest.sh: checks the VM has what the
# project's tests need. Writes one "PASS name" / "FAIL name: why" line per
# check to /share/results and the nonce given as $1 to /share/hello.txt.
# Usage: selftest-guest.sh NONCE "two words" "it's"
set -u
results=/share/results
: >"$results"
nfail=0
pass() { echo "PASS $1" | tee -a "$results"; }
fail() { echo "FAIL $1: $2" | tee -a "$results"; nfail=$((nfail + 1)); }
check() { # NAME CMD...: pass if CMD succeeds, its output goes to the console
	name=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then pass "$name"; else fail "$name" "$(tail -n 5 /tmp/check.out)"; fi
}

# kernel warnings must reach the console: the host looks for this line
echo "<4>blkgate-selftest: kernel warning on the console" >/dev/kmsg

# 9p share: the host checks the content.
printf '%s\n' "$1" >/share/hello.txt

# arguments and environment
if [ "$#" -eq 3 ] && [ "$2" = "two words" ] && [ "$3" = "it's" ]; then
	pass args
else
	fail args "got $# args: $*"
fi
if [ "${BLKGATE_IN_VM:-}" = 1 ] && [ "$HOME" = /root ] && [ "$(id -u)" = 0 ]; then
	pass env
else
	fail env "BLKGATE_IN_VM=${BLKGATE_IN_VM:-} HOME=$HOME uid=$(id -u)"
fi
if [ "${BLKGATE_SELFTEST_PASSTHROUGH:-}" = "a b" ] && [ "${SELFTEST_VM_ENV:-}" = yes ]; then
	pass env-passthrough
else
	fail env-passthrough "BLKGATE_SELFTEST_PASSTHROUGH=${BLKGATE_SELFTEST_PASSTHROUGH:-} SELFTEST_VM_ENV=${SELFTEST_VM_ENV:-}"
fi
if [ "$(pwd)" = /share ]; then pass cwd; else fail cwd "$(pwd)"; fi
if [ -f /repo/tests/vm/run ] && ! touch /repo/.vm-write-test 2>/dev/null; then
	pass repo-readonly
else
	fail repo-readonly "/repo missing or writable"
fi

# project binaries: present in the VM iff built on the host
for b in blkgate blkgatectl; do
	want=$(eval echo "\${BLKGATE_SELFTEST_HAVE_$b:-0}")
	if [ -x "/usr/bin/$b" ]; then have=1; else have=0; fi
	if [ "$have" = "$want" ]; then pass "bin-$b"; else fail "bin-$b" "in VM: $have, built on host: $want"; fi
done

# (4) ublk
if [ -c /dev/ublk-control ] && grep -q '^ublk_drv ' /proc/modules; then
	pass ublk-control
else
	fail ublk-control "no /dev/ublk-control"
fi

# (5) null_blk: not loaded at boot, loadable with parameters
if grep -q '^null_blk ' /proc/modules; then
	fail null_blk-not-preloaded "null_blk was loaded at boot"
else
	pass null_blk-not-preloaded
fi
if modprobe null_blk nr_devices=1 gb=1 bs=4096 >/tmp/check.out 2>&1 && [ -b /dev/nullb0 ] &&
	[ "$(cat /sys/block/nullb0/queue/logical_block_size)" = 4096 ]; then
	pass null_blk
else
	fail null_blk "$(cat /tmp/check.out; ls /dev/nullb* 2>&1)"
fi

# (6) loop with direct I/O on a file (auto-loads loop via /dev/loop-control)
truncate -s 256M /tmp/disk.img
if dev=$(losetup -f --show --direct-io=on /tmp/disk.img 2>/tmp/check.out) &&
	[ "$(cat "/sys/block/${dev#/dev/}/loop/dio")" = 1 ]; then
	pass losetup-dio
else
	fail losetup-dio "$(cat /tmp/check.out)"
	dev=
fi

# (7) ext4 on the loop device: mkfs, mount, write, umount, fsck, verify
# shellcheck disable=SC2317  # reached through check
ext4_test() {
	blkdiscard "$dev" &&
	mkfs.ext4 -q -F "$dev" &&
	mkdir -p /mnt/t &&
	mount -t ext4 -o noatime "$dev" /mnt/t &&
	findmnt -n -o FSTYPE /mnt/t | grep -qx ext4 &&
	dd if=/dev/urandom of=/mnt/t/data bs=1M count=8 status=none &&
	sum=$(sha256sum </mnt/t/data) &&
	umount /mnt/t &&
	e2fsck -f -n "$dev" &&
	mount "$dev" /mnt/t &&
	[ "$(sha256sum </mnt/t/data)" = "$sum" ] &&
	umount /mnt/t
}
if [ -n "$dev" ]; then
	check ext4-on-loop ext4_test
	losetup -d "$dev"
else
	fail ext4-on-loop "no loop device"
fi

# (8) fio on null_blk with both engines
for engine in io_uring libaio; do
	if fio --name=t --filename=/dev/nullb0 --rw=randread --bs=4k --direct=1 \
		--ioengine=$engine --iodepth=8 --runtime=2 --time_based \
		>/tmp/fio.out 2>&1 && grep -q 'IOPS=' /tmp/fio.out; then
		pass "fio-$engine"
		grep -m1 'IOPS=' /tmp/fio.out
	else
		fail "fio-$engine" "$(tail -n 5 /tmp/fio.out)"
	fi
done

# other tools the tests use are the real (not busybox) ones
bb=
for t in losetup mount umount dd sha256sum stat truncate cmp lsblk findmnt blkdiscard blockdev modprobe sh; do
	[ "$(readlink -f "$(command -v $t)")" = /usr/bin/busybox ] && bb="$bb $t"
done
if [ -n "$bb" ]; then
	fail tools "busybox instead of the host tool:$bb"
elif [ "$(blockdev --getsize64 /dev/nullb0)" = 1073741824 ] &&
	lsblk -n -o NAME /dev/nullb0 | grep -qx nullb0; then
	pass tools
else
	fail tools "blockdev/lsblk on nullb0"
fi

if rmmod null_blk; then pass rmmod-null_blk; else fail rmmod-null_blk "rmmod failed"; fi
exit $nfail
