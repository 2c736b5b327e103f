#!/bin/bash
# live/stats-refused-parked.sh — `blkgatectl stats` counts what the gate did to requests:
# `refused` grows by one for each request failed while the volume is offline (and for a parked
# request failed at --park-timeout); `parked` is the number parked right now on a not-ready
# drive: 1 while one read waits, 0 once the drive is online again and the read completed.
#   tests/vm/run tests/e2e/live/stats-refused-parked.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl dd
require_ublk

# delta BEFORE AFTER KEY: how much KEY of `stats --json` grew
delta() { echo $(($(stats_field "$2" "$3") - $(stats_field "$1" "$3"))); }

check "daemon starts" start_gate --park-timeout 3000
expect "drive" ok drive add d0 "$W/d0.img" --size 32M
expect "disk" ok disk create k0 d0
expect "volume, one queue" ok volume create v0 --disk k0 --size 16M --queues 1
V0=$(dev_of v0)

before=$(ctl --json stats v0)
expect "volume offline" ok volume offline v0
n=0
for i in 1 2 3 4 5 6 7 8; do
	dd if="$V0" of=/dev/null bs=4k count=1 skip="$i" iflag=direct 2>/dev/null || n=$((n + 1))
done
check "8 direct reads failed while offline" test "$n" = 8
after=$(ctl --json stats v0)
check "refused grew by 8 ($(delta "$before" "$after" refused))" test "$(delta "$before" "$after" refused)" = 8
check "no read counted as served" test "$(delta "$before" "$after" reads)" = 0
expect "volume online" ok volume online v0

expect "drive not-ready" ok drive set-status d0 not-ready
dd if="$V0" of="$W/parked.out" bs=4k count=1 iflag=direct 2>/dev/null &
dpid=$!
on_cleanup "kill $dpid 2>/dev/null"
sleep 1
check "the read is parked" kill -0 "$dpid"
check "parked is 1 while it waits" test "$(stats_field "$(ctl --json stats v0)" parked)" = 1
expect "drive online" ok drive set-status d0 online
wait "$dpid"
check "the parked read completed" test $? -eq 0 -a -s "$W/parked.out"
check "parked is 0 again" test "$(stats_field "$(ctl --json stats v0)" parked)" = 0

before=$(ctl --json stats v0)
expect "drive not-ready again" ok drive set-status d0 not-ready
check "a parked read fails at the park timeout" sh -c "! dd if=$V0 of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null"
after=$(ctl --json stats v0)
check "refused grew by 1 for it" test "$(delta "$before" "$after" refused)" = 1
check "parked is 0 after the timeout" test "$(stats_field "$after" parked)" = 0
expect "drive online" ok drive set-status d0 online
summary
