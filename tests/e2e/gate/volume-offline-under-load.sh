#!/bin/bash
# gate/volume-offline-under-load.sh — `volume offline` under fio write load: it succeeds, fio
# fails with ENODEV, O_DIRECT reads and writes fail with ENODEV, fsync, BLKDISCARD and
# BLKZEROOUT fail, no byte reaches the backing file, the gate counts refusals; offline and
# online are idempotent; online restores reads, writes and the data.
#   tests/vm/run tests/e2e/gate/volume-offline-under-load.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl fio blkdiscard cmp dd
require_ublk
D=$W/data

check "daemon starts" start_gate
check "create volume vc" mkvol vc 32M
VC=$(dev_of vc)
fio --name=load --filename="$VC" --direct=1 --ioengine=io_uring --rw=randwrite --bs=4k \
	--iodepth=32 --numjobs=2 --time_based --runtime=60 >"$W/fio-offline.log" 2>&1 &
FPID=$!
sleep 3
expect "volume offline under fio write load" ok volume offline vc
cp "$D/vc.img" "$W/vc.offline" # compared byte for byte below (cheaper than sha256sum under TCG)
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
check "no byte reached the backing file while offline" cmp "$D/vc.img" "$W/vc.offline"
refused=$(json_field "$(ctl --json volume show vc)" refused)
check "the gate refused requests ($refused)" test "$refused" -gt 0
expect "offline again is ok (idempotent)" ok volume offline vc
expect "online" ok volume online vc
check "online: read works" dd if="$VC" of=/dev/null bs=1M count=4 iflag=direct
check "online: data intact (device == backing file)" cmp -n $((32 * MiB)) "$VC" "$D/vc.img"
check "online: write works" dd if=/dev/urandom of="$VC" bs=64k count=16 oflag=direct
expect "online again is ok (idempotent)" ok volume online vc
summary
