#!/bin/bash
# daemon/version-features.sh — `blkgate --version [--json]` reports the kernel's ublk features
# (GET_FEATURES, by name), the data path each backend gets and the recovery mode of new devices,
# as this kernel allows: UBLK_F_AUTO_BUF_REG (zero copy for file volumes) from 6.16, USER_RECOVERY_FAIL_IO (and
# so --on-crash fail) from 6.13; on Debian 12's 6.12 neither. The daemon's start-up log and each
# device's "served as" line say the same.
#   tests/vm/run tests/e2e/daemon/version-features.sh
#   VM_KERNEL=unstable tests/vm/run tests/e2e/daemon/version-features.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk

# kernel version as a number: 6.12 -> 612, 7.2 -> 702
rel=$(uname -r)
major=${rel%%.*}
minor=${rel#*.}
minor=${minor%%[!0-9]*}
kv=$((major * 100 + minor))
note "kernel $rel ($kv)"

# has JSON NAME: NAME appears as a quoted string in JSON
# shellcheck disable=SC2317  # called through check
has() { [[ $1 == *"\"$2\""* ]]; }

json=$(blkgate --version --json)
rc=$?
note "$json"
check "--version --json exits 0" test $rc = 0
check "... names the version" test -n "$(json_field "$json" version)"
check "... names this kernel" test "$(json_field "$json" kernel)" = "$rel"
check "... found ublk" test "$(json_field "$json" ublk)" = true
feat=$(json_field "$json" features)
check "... gives the feature bits in hex ($feat)" test -n "$feat" -a "${feat#0x}" != "$feat"
for f in UBLK_F_CMD_IOCTL_ENCODE UBLK_F_USER_RECOVERY UBLK_F_USER_RECOVERY_REISSUE; do
	check "... names $f (every kernel we serve has it)" has "$json" "$f"
done
if [ "$kv" -ge 616 ]; then
	check "... names UBLK_F_AUTO_BUF_REG (6.16+)" has "$json" UBLK_F_AUTO_BUF_REG
	check "... says the kernel has zero copy" test "$(json_field "$json" zero_copy)" = true
	fdp=zero-copy
else
	check_not "... does not name UBLK_F_AUTO_BUF_REG (before 6.16)" has "$json" UBLK_F_AUTO_BUF_REG
	check "... says the kernel has no zero copy" test "$(json_field "$json" zero_copy)" = false
	fdp=copy
fi
check "... the file backend's data path is $fdp" test "$(json_field "$json" file)" = $fdp
check "... mem and null copy" test "$(json_field "$json" mem) $(json_field "$json" null)" = "copy copy"
check "--data-path copy: the file backend copies" \
	test "$(json_field "$(blkgate --version --json --data-path copy)" file)" = copy
check "... recovery hold-reissue by default" test "$(json_field "$json" recovery)" = hold-reissue
check "... FUA writes on by default" test "$(json_field "$json" fua)" = true
check "--fua off: FUA writes off" test "$(json_field "$(blkgate --version --json --fua off)" fua)" = false

# A bad value of any of the daemon's named options: exit 11, naming what it accepts.
for opt in --data-path --on-crash --queue-cpus --fua; do
	blkgate --version $opt bogus >/dev/null 2>"$W/bad.err"
	check "$opt bogus exits 11" test $? = 11
	check "... naming the accepted values ($(cat "$W/bad.err"))" \
		grep -Eq "^blkgate: invalid-argument: bad $opt 'bogus': expected [a-z-]+(, [a-z-]+)* or [a-z-]+$" "$W/bad.err"
done

fail_json=$(blkgate --version --json --on-crash fail)
if [ "$kv" -ge 613 ]; then
	check "--on-crash fail: names UBLK_F_USER_RECOVERY_FAIL_IO (6.13+)" has "$fail_json" UBLK_F_USER_RECOVERY_FAIL_IO
	check "--on-crash fail: recovery fail" test "$(json_field "$fail_json" recovery)" = fail
else
	check_not "--on-crash fail: no UBLK_F_USER_RECOVERY_FAIL_IO (before 6.13)" has "$fail_json" UBLK_F_USER_RECOVERY_FAIL_IO
	check "--on-crash fail: recovery not possible, saying why" \
		has "$fail_json" recovery_error
fi

text=$(blkgate --version)
check "--version (text) exits 0" test $? = 0
note "$text"
check "... the same feature bits as --json" grep -q "^ublk features $feat: UBLK_F_" <<<"$text"
check "... the data path line" grep -q "^data path: file $fdp, mem copy, null copy$" <<<"$text"
blkgate --json >/dev/null 2>&1
check "--json without --version is a bad option (exit 11)" test $? = 11

start_gate --on-crash hold
mkvol v1 16M
dev=$(dev_of v1)
check "a volume is served ($dev)" test -b "$dev"
check "the start-up log gives the same features, by name" grep -q "ublk features $feat (UBLK_F_" "$W/gate.log"
check "the device's log line gives its data path and recovery mode" \
	grep -q "volume v1 served as $dev (data path $fdp, recovery hold-reissue)" "$W/gate.log"
summary
