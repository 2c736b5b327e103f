#!/bin/bash
# ocf/validate.sh — validate-all: a good configuration 0; a missing or malformed volume name, a
# relative socket, a non-boolean flag, a system volume: OCF_ERR_CONFIGURED (6); a volume this
# node's daemon does not have: OCF_ERR_INSTALLED (5).
#   tests/vm/sysvm tests/e2e/ocf/validate.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf

gate_with_volume
check "system volume s" mkvol s 16M --system
expect_rc "good" 0 validate-all
expect_rc "no volume" 6 validate-all OCF_RESKEY_volume=
expect_rc "a name starting with -" 6 validate-all OCF_RESKEY_volume=-v
expect_rc "a name with /" 6 validate-all OCF_RESKEY_volume=a/b
expect_rc "relative socket" 6 validate-all OCF_RESKEY_socket=control.sock
expect_rc "force_stop not a boolean" 6 validate-all OCF_RESKEY_force_stop=maybe
expect_rc "a system volume" 6 validate-all OCF_RESKEY_volume=s
expect_rc "no such volume here" 5 validate-all OCF_RESKEY_volume=nope
summary
