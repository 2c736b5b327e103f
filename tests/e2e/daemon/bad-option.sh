#!/bin/bash
# daemon/bad-option.sh — a bad daemon option value makes blkgate exit 11 (invalid-argument) at
# once, naming the option, and creating nothing (not even its state dir).
#   tests/vm/run tests/e2e/daemon/bad-option.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate timeout

for bad in "--control-priority 25" "--fua maybe" "--queue-cpus none" "--data-path zero"; do
	rm -rf "$W/bad-state"
	# shellcheck disable=SC2086 # an option and its value
	timeout 60 blkgate --state-dir "$W/bad-state" $bad 2>"$W/bad.err"
	rc=$?
	check "$bad exits 11 (invalid-argument) ($(cat "$W/bad.err"))" test $rc = 11
	check "... naming ${bad%% *}" grep -q -- "${bad%% *}" "$W/bad.err"
	check "... and creates nothing" test ! -e "$W/bad-state"
done
summary
