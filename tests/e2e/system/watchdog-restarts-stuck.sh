#!/bin/bash
# Behaviour: the watchdog restarts a daemon whose queue thread is stuck. With the test-only
# fault BLKGATE_TEST_STUCK_QUEUE, one queue thread blocks forever at the watchdog's next ping;
# the daemon stops answering WatchdogSec= and logs the silent queue, systemd kills it and
# starts the next daemon (Restart=on-failure), which recovers the volume's device: same
# /dev/ublkbN, its data intact, "recoveries" 1. An idle daemon is never restarted.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
stuck=/run/blkgate-test-stuck
rm -f "$stuck"
on_cleanup "rm -f $stuck"
# A short watchdog (a ping every 1.5 s); no core file of the killed daemon.
fresh_service "Environment=BLKGATE_TEST_STUCK_QUEUE=$stuck
WatchdogSec=6s
LimitCORE=0"
mkvol v0 16M >/dev/null || fail "mkvol v0"
dev=$(dev_of v0)
pid=$(prop MainPID)
head -c 65536 /dev/urandom >"$W/pattern"
check "write a pattern" dd if="$W/pattern" of="$dev" bs=64k count=1 oflag=direct
# Idle, with every queue answering its pings: never killed.
sleep 10
check "an idle daemon lives on past the watchdog's timeout" test "$(prop MainPID)" = "$pid"
check "no restart so far" test "$(prop NRestarts)" = 0

touch "$stuck"
check "a queue thread took the fault" wait_for 10 test ! -e "$stuck"
check "the watchdog killed and restarted the daemon" wait_for 30 sh -c \
	"[ \"\$(systemctl show -P NRestarts $UNIT)\" = 1 ] && [ \"\$(systemctl show -P MainPID $UNIT)\" != $pid ]"
check "active again" wait_for 30 sh -c "[ \"\$(systemctl show -P ActiveState $UNIT)\" = active ]"
check "the daemon named the silent queue" sh -c \
	"journalctl -b -u $UNIT -o cat | grep -q 'watchdog: queue threads not answering: ublk[0-9]*-q[0-9]'"
check "systemd saw the watchdog timeout" sh -c \
	"journalctl -b -u $UNIT -o cat | grep -qi 'watchdog timeout'"
check "the volume kept its device" test "$(dev_of v0)" = "$dev"
check "recovered, not recreated" test "$(json_field "$(ctl --json volume show v0)" recoveries)" = 1
check "its data intact" sh -c "dd if=$dev bs=64k count=1 iflag=direct 2>/dev/null | cmp - $W/pattern"
remove_volume v0
summary
