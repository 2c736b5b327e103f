#!/bin/bash
# hardening/slow-reader.sh — a client that never reads its replies delays nobody and is dropped
# (issue 9, item 6: "a client that never reads holds a thread forever").
#   tests/vm/run tests/e2e/hardening/slow-reader.sh
# A member of the daemon's --group sends bursts of thousands of pings on three connections and
# never reads a reply. Meanwhile root's calls (ping, list, drive add/remove) and another
# member's list each answer in under a second; the three are dropped once they have not taken a
# reply for --send-timeout (3 s here), which the log says; the daemon serves on.
set -u
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=helpers.bash
. "$(dirname "$0")/helpers.bash"
hardening_setup slow-reader
find_tool blkgate-clients

check "daemon starts (--send-timeout 3)" start_gate --group "$OPS_GROUP" --socket "$SOCK" --send-timeout 3
check "three clients sent their bursts and read nothing" start_clients --slow 3 --hold 15
for round in 1 2 3; do
	us=$(elapsed_us "$TOOL" --socket "$SOCK" --ping --timeout 5)
	check "round $round: root's ping ok in under a second ($us us)" sh -c "grep -q '^result=ok' '$W/elapsed.out' && [ $us -lt 1000000 ]"
	us=$(elapsed_us blkgatectl --socket "$SOCK" list)
	check "round $round: root's list in under a second ($us us)" test "$us" -lt 1000000
	us=$(elapsed_us as_member blkgatectl --socket "$SOCK" list)
	check "round $round: another member's list in under a second ($us us)" test "$us" -lt 1000000
	sleep 1
done
expect "root adds a drive meanwhile" ok drive add d-slow "$D/d.img" --size 16M
expect "root removes it" ok drive remove d-slow

wait_clients
check "all three slow clients were dropped" test "$(clients_report slow_dropped)" = 3
after=$(clients_report slow_dropped_after)
check "the first after about the send timeout (${after} s)" awk -v s="$after" 'BEGIN { exit !(s >= 2.5 && s < 12) }'
check "the log names the drop" grep -q 'did not take its reply within 3 s' "$W/gate.log"
expect "the daemon serves on" ok ping
summary
