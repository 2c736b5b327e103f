#!/bin/bash
# tests/e2e/gate/ioctl-classes.sh — while a volume is offline, each class of ioctl behaves as
# the table in docs/semantics.md#ioctls-while-offline says:
#   tests/vm/run tests/e2e/gate/ioctl-classes.sh
# - calls that become block requests (BLKDISCARD, BLKZEROOUT, fsync/fdatasync as a FLUSH) fail
#   with ENODEV, and fsync after a buffered write with EIO; the gate counts them as refused;
# - metadata ioctls (BLKGETSIZE64, BLKGETSIZE, BLKSSZGET, BLKPBSZGET, BLKROGET, BLKROSET,
#   BLKFLSBUF) are answered by the kernel with the online values; no request reaches the daemon;
# - BLKSECDISCARD is refused by the kernel (EOPNOTSUPP), online and offline alike;
# - exclusive opens (O_EXCL, BLKRRPART, BLKBSZSET, mount, blkdiscard) fail with EBUSY: the
#   daemon holds the device O_EXCL while it is offline.
# Every call is made online first, where it must succeed; the volume's request counters show
# which calls reached the daemon, and the backing file stays byte-identical while offline.
# cleanup, mkvol, rose, same_except are called through trap and check:
# shellcheck disable=SC2317
set -u
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

for t in blkgate blkgatectl blockdev blkdiscard mkfs.ext4 dd sha256sum umount; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: needs $t"; exit 77; }
done
[ -e /dev/ublk-control ] || { echo "SKIP: needs ublk_drv (/dev/ublk-control): run it with tests/vm/run"; exit 77; }
find_tool blkcall
BLKCALL=$TOOL

MiB=$((1 << 20))
SIZE=$((64 * MiB))
D=$W/ioctl-classes
MNT=$D/mnt
IMG=$D/drive.img
V=vioctl

cleanup() {
	if [ -n "$GPID" ]; then
		umount "$MNT" 2>/dev/null
		ctl volume online "$V" >/dev/null 2>&1
		ctl volume delete "$V" >/dev/null 2>&1
		ctl disk delete kioctl >/dev/null 2>&1
		ctl drive remove dioctl >/dev/null 2>&1
		stop_gate
	fi
	rm -rf "$D"
}
trap cleanup EXIT

rm -rf "$D"
mkdir -p "$D" "$MNT"
check "daemon starts" start_gate
mkvol() {
	ctl drive add dioctl "$IMG" --size "$SIZE" && ctl disk create kioctl dioctl &&
		ctl volume create "$V" --disk kioctl --size "$SIZE" --queues 1
}
check "drive, disk and volume" mkvol
DEV=$(dev_of "$V")
note "volume $V is $DEV, backing file $IMG, helper $BLKCALL"
[ -b "$DEV" ] || { fail "no block device for $V"; summary; }

# call NAME WANT OP [ARGS]: blkcall DEV OP ARGS must print exactly WANT ("ok", "ok 512", "ENODEV").
call() {
	local name=$1 want=$2 got
	shift 2
	got=$("$BLKCALL" "$DEV" "$@" 2>&1)
	if [ "$got" = "$want" ]; then pass "$name: $want"; else fail "$name: wanted '$want', got '$got'"; fi
}
# counters: the volume's request counters, "reads=N writes=N ...".
counters() {
	local j k out=
	j=$(ctl --json volume show "$V")
	for k in reads writes flushes discards write_zeroes refused; do out="$out $k=$(json_field "$j" $k)"; done
	echo "${out# }"
}
# count NAME: one counter from a counters line on stdin.
count() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
# rose BEFORE AFTER NAME: counter NAME is larger in AFTER than in BEFORE.
rose() { test "$(echo "$2" | count "$3")" -gt "$(echo "$1" | count "$3")"; }
# same_except BEFORE AFTER NAME: every counter but NAME is the same in AFTER as in BEFORE.
same_except() {
	test "$(echo "$1" | tr ' ' '\n' | grep -v "^$3=")" = "$(echo "$2" | tr ' ' '\n' | grep -v "^$3=")"
}

# ---- online: every call succeeds ------------------------------------------------------------
check "mkfs.ext4 in the first 16 MiB (for the mount call)" mkfs.ext4 -q -F -E nodiscard "$DEV" 16M
call "online BLKGETSIZE64" "ok $SIZE" getsize64
call "online BLKGETSIZE" "ok $((SIZE / 512))" getsize
call "online BLKROGET" "ok 0" roget
SSZ=$("$BLKCALL" "$DEV" ssz)
PBSZ=$("$BLKCALL" "$DEV" pbsz)
check "online BLKSSZGET ($SSZ)" sh -c "case '$SSZ' in 'ok 512' | 'ok 4096') ;; *) exit 1 ;; esac"
check "online BLKPBSZGET ($PBSZ)" sh -c "case '$PBSZ' in 'ok 4096' | 'ok 512') ;; *) exit 1 ;; esac"
call "online BLKROSET 1" ok roset 1
call "online BLKROGET after BLKROSET 1" "ok 1" roget
call "online BLKROSET 0" ok roset 0
call "online BLKFLSBUF" ok flsbuf

c0=$(counters)
call "online BLKDISCARD" ok discard $((32 * MiB)) $MiB
c1=$(counters)
check "online BLKDISCARD reached the daemon ($c1)" rose "$c0" "$c1" discards
call "online BLKZEROOUT" ok zeroout $((34 * MiB)) $MiB
c2=$(counters)
check "online BLKZEROOUT reached the daemon ($c2)" rose "$c1" "$c2" write_zeroes
call "online fsync" ok fsync
call "online fdatasync" ok fdatasync
c3=$(counters)
check "online fsync/fdatasync reached the daemon as FLUSH ($c3)" rose "$c2" "$c3" flushes
call "online fsync after a buffered write" ok write-fsync $((36 * MiB))
call "online BLKSECDISCARD (the device offers no secure erase)" EOPNOTSUPP secdiscard $((32 * MiB)) $MiB

call "online O_EXCL open" ok open-excl
call "online BLKRRPART" ok rrpart
call "online BLKBSZSET" ok bszset 4096
"$BLKCALL" "$DEV" mount ext4 "$MNT" >"$D/mount.out" 2>&1
check "online mount(2) ($(cat "$D/mount.out"))" grep -qx ok "$D/mount.out"
check "online umount" umount "$MNT"

# Data where the offline discards would land, so that a request that got through shows.
check "random data at 32..40 MiB" dd if=/dev/urandom of="$DEV" bs=1M seek=32 count=8 oflag=direct status=none

# ---- offline --------------------------------------------------------------------------------
expect "volume offline" ok volume offline "$V"
check "state is offline" test "$(state_of "$V")" = offline
sum_off=$(sha256sum <"$IMG")

# Metadata: answered by the kernel from what it knows of the device, no request.
m0=$(counters)
call "offline BLKGETSIZE64" "ok $SIZE" getsize64
call "offline BLKGETSIZE" "ok $((SIZE / 512))" getsize
call "offline BLKSSZGET (as online)" "$SSZ" ssz
call "offline BLKPBSZGET (as online)" "$PBSZ" pbsz
call "offline BLKROGET" "ok 0" roget
call "offline BLKROSET 1 is accepted" ok roset 1
call "offline BLKROGET after BLKROSET 1" "ok 1" roget
call "offline BLKROSET 0 is accepted" ok roset 0
call "offline BLKFLSBUF (nothing dirty)" ok flsbuf
check "offline blockdev --getsize64 prints the size" test "$(blockdev --getsize64 "$DEV")" = "$SIZE"
m1=$(counters)
check "offline metadata ioctls sent no request to the daemon ($m1)" test "$m1" = "$m0"

# Block requests: the gate refuses them with -ENODEV; the caller sees ENODEV (EIO for the
# write-back of a buffered write). Nothing is admitted.
call "offline BLKDISCARD" ENODEV discard $((32 * MiB)) $MiB
call "offline BLKZEROOUT" ENODEV zeroout $((34 * MiB)) $MiB
call "offline fsync (a FLUSH)" ENODEV fsync
call "offline fdatasync (a FLUSH)" ENODEV fdatasync
call "offline fsync after a buffered write (write-back failed)" EIO write-fsync $((36 * MiB))
r1=$(counters)
check "offline block requests were refused by the gate ($r1)" rose "$m1" "$r1" refused
check "offline no block request was admitted" same_except "$m1" "$r1" refused

# Not supported by the device: the kernel answers, online and offline alike.
call "offline BLKSECDISCARD" EOPNOTSUPP secdiscard $((32 * MiB)) $MiB

# Exclusive opens: the daemon's claim (O_EXCL) makes them EBUSY, before any request.
call "offline O_EXCL open" EBUSY open-excl
call "offline BLKRRPART" EBUSY rrpart
call "offline BLKBSZSET" EBUSY bszset 4096
call "offline mount(2)" EBUSY mount ext4 "$MNT"
check_not "offline nothing is mounted" grep -q " $MNT " /proc/mounts
blkdiscard -o $((32 * MiB)) -l $MiB "$DEV" >"$D/blkdiscard.out" 2>&1
check "offline blkdiscard (opens O_EXCL) fails with EBUSY: $(cat "$D/blkdiscard.out")" \
	grep -q "Device or resource busy" "$D/blkdiscard.out"
x1=$(counters)
check "offline exclusive opens and BLKSECDISCARD sent no request ($x1)" test "$x1" = "$r1"

sleep 1
check "offline the backing file is byte-identical" test "$(sha256sum <"$IMG")" = "$sum_off"

# ---- online again: the claim is released, requests are honoured ------------------------------
expect "volume online" ok volume online "$V"
call "online again O_EXCL open" ok open-excl
call "online again BLKRRPART" ok rrpart
call "online again BLKDISCARD" ok discard $((32 * MiB)) $MiB
call "online again fsync" ok fsync
"$BLKCALL" "$DEV" mount ext4 "$MNT" >"$D/mount.out" 2>&1
check "online again mount(2) ($(cat "$D/mount.out"))" grep -qx ok "$D/mount.out"
check "online again umount" umount "$MNT"
check "online again the discard reached the backing file" \
	test "$(sha256sum <"$IMG")" != "$sum_off"

summary
