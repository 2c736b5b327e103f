#!/bin/bash
# ocf/stop-drains.sh — the agent's stop under a direct write load: it succeeds, and after it
# returned nothing more reaches the backing store (its bytes and the device's write counter do
# not change, the writer gets errors); monitor then says not running, and a second stop
# succeeds too.
#   tests/vm/sysvm tests/e2e/ocf/stop-drains.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf
require fio sha256sum

gate_with_volume
ctl volume offline v >/dev/null
expect_rc "start" 0 start
DEV=$(dev_of v)
fio --name=w --filename="$DEV" --rw=randwrite --bs=4k --direct=1 --ioengine=libaio --iodepth=8 \
	--time_based --runtime=60 --continue_on_error=none >"$W/fio.log" 2>&1 &
FIO=$!
sleep 2
check "fio is writing" kill -0 "$FIO"
expect_rc "stop under load" 0 stop
sum1=$(sha256sum <"$W/data/v.img")
w1=$(json_field "$(ctl --json volume show v)" writes)
sleep 2
check "nothing reaches the backing file after stop" test "$(sha256sum <"$W/data/v.img")" = "$sum1"
check "no write admitted after stop" test "$(json_field "$(ctl --json volume show v)" writes)" = "$w1"
check "a write to the device fails" sh -c "! dd if=/dev/zero of=$DEV bs=4k count=1 oflag=direct 2>/dev/null"
wait "$FIO"
check "the writer saw errors" test $? -ne 0
expect_rc "monitor after stop: not running" 7 monitor
expect_rc "stop again" 0 stop
summary
