#!/bin/bash
# daemon/queue-thread-priority.sh — control work runs at SCHED_IDLE, nice 10
# (--control-priority), but the queue threads it creates do not: they apply the daemon's own
# class and nice (here SCHED_OTHER, 0).
#   tests/vm/run tests/e2e/daemon/queue-thread-priority.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl awk
require_ublk

check "daemon starts" start_gate
check "create volume v0 (2 queues)" mkvol v0 32M
qprio=$(for t in /proc/"$GPID"/task/*; do
	case $(cat "$t/comm") in ublk*-q*) awk '{print "policy " $41 " nice " $19}' "$t/stat" ;; esac
done | sort -u | tr '\n' ' ')
check "queue threads run SCHED_OTHER at nice 0, not as the control plane ($qprio)" \
	test "$qprio" = "policy 0 nice 0 "
summary
