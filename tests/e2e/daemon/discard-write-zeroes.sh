#!/bin/bash
# daemon/discard-write-zeroes.sh — BLKDISCARD and BLKZEROOUT reach the daemon (counted as
# discards and write-zeroes) and the ranges read back as zeros.
#   tests/vm/run tests/e2e/daemon/discard-write-zeroes.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl blkdiscard cmp dd
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
expect "drive add" ok drive add d0 "$D/d0.img" --size 64M
expect "drive add, two" ok drive add d1 "$D/d1.img" --size 64M
expect "disk create (two drives)" ok disk create k0 d0 d1
expect "volume create at offset 48M" ok volume create v0 --disk k0 --size 32M --offset 48M --queues 2
V0=$(dev_of v0)
head -c $((2 * MiB)) /dev/urandom >"$W/pat"
check "write a pattern to discard" dd if="$W/pat" of="$V0" bs=1M count=2 seek=4 oflag=direct
check "BLKDISCARD" blkdiscard -o $((4 * MiB)) -l $((1 * MiB)) "$V0"
check "BLKZEROOUT" blkdiscard -z -o $((5 * MiB)) -l $((1 * MiB)) "$V0"
head -c $((2 * MiB)) /dev/zero >"$W/zero2"
check "discarded and zeroed ranges read back as zeros" cmp -n $((2 * MiB)) "$W/zero2" "$V0" 0 $((4 * MiB))
stats=$(ctl --json volume show v0)
check "the daemon counted discards and write-zeroes" test "$(json_field "$stats" discards)" -ge 1 -a "$(json_field "$stats" write_zeroes)" -ge 1
summary
