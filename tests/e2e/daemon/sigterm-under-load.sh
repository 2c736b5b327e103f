#!/bin/bash
# daemon/sigterm-under-load.sh — SIGTERM while fio writes to a volume: the daemon exits 0,
# fio sees its device go away, and no ublk device is left.
#   tests/vm/run tests/e2e/daemon/sigterm-under-load.sh
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
fio --name=load --filename="$V0" --direct=1 --ioengine=io_uring --rw=randwrite --bs=4k \
	--iodepth=32 --numjobs=2 --time_based --runtime=60 >"$W/fio-load.log" 2>&1 &
FPID=$!
sleep 3
check "fio is running" kill -0 $FPID
check "SIGTERM under load: daemon exits 0" stop_gate
wait $FPID
check "fio saw its device go away (non-zero exit)" test $? -ne 0
check "no device left after SIGTERM under load" no_ublk_devices
summary
