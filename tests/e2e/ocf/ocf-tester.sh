#!/bin/bash
# ocf/ocf-tester.sh — Debian's ocf-tester (resource-agents) passes on ocf:blkgate:volume: meta-data
# against the DTD as user nobody, validate-all, probes, start/stop/monitor repeated
# (idempotent), on a real daemon and volume; again with monitor_read at OCF_CHECK_LEVEL 10.
#   tests/vm/sysvm tests/e2e/ocf/ocf-tester.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf

check "daemon starts" start_gate
check "volume v (offline, as on a node that does not run it)" mkvol v 64M
check "volume v offline" ctl volume offline v
check "ocf-tester passes" ocf-tester -n rsc-v -o volume=v -o socket="$SOCK" "$AGENT"
check "ocf-tester passes with monitor_read at OCF_CHECK_LEVEL 10" \
	env OCF_CHECK_LEVEL=10 ocf-tester -n rsc-v -o volume=v -o socket="$SOCK" -o monitor_read=true "$AGENT"
check "volume v is offline after the tests" test "$(state_of v)" = offline
summary
