#!/bin/bash
# daemon/queue-cpus.sh — where queue threads run (--queue-cpus): by default (spread) each queue
# thread may use every CPU of the daemon but those whose requests blk-mq sends to its queue
# (/sys/block/ublkbN/mq/Q/cpu_list), also for a device recovered after kill -9; own pins it to
# exactly those; any leaves the daemon's; the log names the CPUs; a bad value is refused
# (exit 11) with nothing created.
#   tests/vm/run tests/e2e/daemon/queue-cpus.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl awk timeout
require_ublk
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs (one queue per CPU, one CPU each)"

# cpus LIST: a CPU list ("0-2,5") as sorted CPU numbers, one per line.
cpus() {
	tr ',' '\n' <<<"$1" | awk -F- 'NF { for (c = $1; c <= (NF > 1 ? $2 : $1); c++) print c }' | sort -n
}
# join: lines as one line, blank-separated.
join() { awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }'; }
# minus A B: the CPUs of list A not in list B ("0 2 3"); both A: all of A's.
minus() { awk 'NR == FNR { drop[$1] = 1; next } !($1 in drop)' <(cpus "$2") <(cpus "$1") | join; }
both() { cpus "$1" | join; }
MINE=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)
# placement MODE: every queue thread of v0's device is where MODE says.
placement() {
	local mode=$1 n=${V0#/dev/ublkb} t q want got bad=0 out=""
	for t in /proc/"$GPID"/task/*; do
		case $(cat "$t/comm") in "ublk$n-q"*) ;; *) continue ;; esac
		q=$(cat "$t/comm")
		q=${q#ublk"$n"-q}
		local own
		own=$(cat "/sys/block/ublkb$n/mq/$q/cpu_list")
		case $mode in
		spread) want=$(minus "$MINE" "$own"); [ -n "$want" ] || want=$(both "$MINE") ;;
		own) want=$(both "$own") ;;
		any) want=$(both "$MINE") ;;
		esac
		got=$(both "$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status")")
		out+="q$q serves [$(both "$own")] runs on [$got]; "
		[ -n "$got" ] && [ "$got" = "$want" ] || bad=1
	done
	echo "$out"
	[ -n "$out" ] && [ $bad = 0 ]
}

check "daemon starts (default --queue-cpus)" start_gate
check "create volume v0 (2 queues)" mkvol v0 32M
V0=$(dev_of v0)
check "spread: each queue thread off its queue's CPUs: $(placement spread)" placement spread
check "the log names where they went" \
	grep -q "volume v0: queue threads on CPUs q0 .*, q1 .* (--queue-cpus spread)" "$W/gate.log"
check "I/O is served" dd if="$V0" of=/dev/null bs=4k count=256 iflag=direct status=none

kill -KILL "$GPID"
wait "$GPID" 2>/dev/null
GPID=
check "restart after kill -9 recovers v0" start_gate
check "the recovered device's queue threads are spread too: $(placement spread)" placement spread

for mode in own any; do
	stop_gate
	check "restart with --queue-cpus $mode" start_gate --queue-cpus "$mode"
	V0=$(dev_of v0)
	check "$mode: $(placement "$mode")" placement "$mode"
done
check "I/O is served" dd if="$V0" of=/dev/null bs=4k count=256 iflag=direct status=none
stop_gate

timeout 60 blkgate --state-dir "$W/bad-state" --queue-cpus nearby 2>"$W/bad.err"
rc=$?
check "a bad --queue-cpus exits 11 ($(cat "$W/bad.err"))" test $rc = 11
check "... naming the accepted values" \
	grep -q "invalid-argument: bad --queue-cpus 'nearby': expected spread, own or any" "$W/bad.err"
check "... and creates nothing" test ! -e "$W/bad-state"
summary
