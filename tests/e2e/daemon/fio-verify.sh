#!/bin/bash
# daemon/fio-verify.sh — fio random writes with crc32c verify over the whole of a volume
# (at an offset of a two-drive disk) on every queue, bs 4k and 64k.
#   tests/vm/run tests/e2e/daemon/fio-verify.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl fio
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
expect "drive add" ok drive add d0 "$D/d0.img" --size 64M
expect "drive add, two" ok drive add d1 "$D/d1.img" --size 64M
expect "disk create (two drives)" ok disk create k0 d0 d1
expect "volume create at offset 48M" ok volume create v0 --disk k0 --size 32M --offset 48M --queues 2
V0=$(dev_of v0)
for bs in 4k 64k; do
	check "fio write+verify bs=$bs QD32 2 jobs" fio --name=verify --filename="$V0" --direct=1 \
		--ioengine=io_uring --rw=randwrite --bs=$bs --iodepth=32 --numjobs=2 --size=16M \
		--offset_increment=16M --verify=crc32c --verify_fatal=1 --do_verify=1 --group_reporting
done
check "no backend errors" test "$(json_field "$(ctl --json volume show v0)" backend_errors)" = 0
summary
