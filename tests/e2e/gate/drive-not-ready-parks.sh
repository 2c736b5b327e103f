#!/bin/bash
# gate/drive-not-ready-parks.sh — `drive set-status D not-ready` parks requests touching the
# drive (the queue thread keeps serving the other drive) until it is online again, when they
# complete; after --park-timeout they fail with ENODEV; a resource call on the pending drive
# is invalid-state.
#   tests/vm/run tests/e2e/gate/drive-not-ready-parks.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl dd
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate --park-timeout 3000
check "a two-drive disk: va on drive a, vb on drive b" sh -c "blkgatectl --socket $SOCK drive add a $D/a.img --size 32M && blkgatectl --socket $SOCK drive add b $D/b.img --size 32M && blkgatectl --socket $SOCK disk create kab a b && blkgatectl --socket $SOCK volume create va --disk kab --size 16M && blkgatectl --socket $SOCK volume create vb --disk kab --size 16M --offset 32M"
VA=$(dev_of va)
VB=$(dev_of vb)
check "write a pattern to va" dd if=/dev/urandom of="$VA" bs=1M count=2 oflag=direct
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
check "va works again" dd if="$VA" of=/dev/null bs=64k count=4 iflag=direct
summary
