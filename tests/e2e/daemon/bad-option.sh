#!/bin/bash
# daemon/bad-option.sh — a bad daemon option makes blkgate exit 11 (invalid-argument) at once,
# creating nothing (not even its state dir).
#   tests/vm/run tests/e2e/daemon/bad-option.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate timeout

timeout 60 blkgate --state-dir "$W/bad-state" --control-priority 25 2>"$W/bad.err"
rc=$?
check "a bad daemon option exits 11 (invalid-argument) ($(cat "$W/bad.err"))" test $rc = 11
check "... and creates nothing" test ! -e "$W/bad-state"
summary
