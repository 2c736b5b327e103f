#!/bin/bash
# ocf/readme-crm.sh — README.md's crm commands (between its crm-example markers) configure
# what the README says they do, with the installed agent: each command is accepted by crmsh
# without a warning or an error (crmsh checks the parameters and the operations' timeouts
# against the agent's meta-data), the CIB then holds the group, the volume's two monitors
# (the depth-10 one with OCF_CHECK_LEVEL=10) and no-quorum-policy=stop, and Pacemaker's
# crm_verify finds the configuration valid. Run on a shadow CIB: no cluster needed. Fencing
# comes first, as the README says: its watchdog-only sbd lines (a fence_watchdog device), else
# crm refuses every resource.
#   tests/vm/sysvm tests/ocf/vm-suite readme-crm
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require crm crm_shadow crm_verify cibadmin xmllint
README=${BLKGATE_VM_REPO:-$(cd "$(dirname "$0")/../../.." && pwd)}/README.md
[ -x "$OCF_ROOT/resource.d/blkgate/volume" ] ||
	skip "needs the agent installed ($OCF_ROOT/resource.d/blkgate/volume: tests/ocf/vm-install)"

# The example's commands, one per line (backslash continuations joined).
awk '/<!-- crm-example:begin/ { on = 1; next } /<!-- crm-example:end/ { on = 0 }
	on && !/^```/' "$README" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' >"$W/commands"
check "the README has the crm example" grep -q '^crm configure primitive v0 ocf:blkgate:volume' "$W/commands"

export CIB_shadow_dir=$W/shadow
mkdir -p "$CIB_shadow_dir"
check "an empty shadow CIB" crm_shadow --create-empty readme --batch --force
export CIB_shadow=readme
# A shadow CIB has no nodes, so crmsh's verification always adds this one warning: the only
# one tolerated.
QUORUM_WARNING='Fencing and resource management disabled due to lack of quorum'
crm_ok() { # CMD: run it; its output in $out; true when it succeeded and crmsh warned of nothing else
	out=$(bash -c "$1" 2>&1 </dev/null) && ! grep -v "$QUORUM_WARNING" <<<"$out" | grep -qE 'WARNING|ERROR'
}
for cmd in "crm configure property stonith-enabled=true stonith-watchdog-timeout=10s" \
	"crm configure primitive fence-wd stonith:fence_watchdog"; do
	grep -qF "$cmd" "$README" || fail "the README's fencing example lacks: $cmd"
	if crm_ok "$cmd"; then pass "fencing first: $cmd"; else fail "crmsh: $cmd: ${out//$'\n'/ | }"; fi
done
n=0
while IFS= read -r cmd; do
	[ -n "$cmd" ] || continue
	n=$((n + 1))
	# Each line as the admin would type it: crmsh's own words in its output are the verdict.
	if crm_ok "$cmd"; then
		pass "accepted: ${cmd:0:90}"
	else
		fail "crmsh: ${cmd:0:90}: ${out//$'\n'/ | }"
	fi
done <"$W/commands"
check "the example's four commands ran" test "$n" = 4

cibadmin --query >"$W/cib.xml" 2>/dev/null
q() { xmllint --xpath "$1" "$W/cib.xml" 2>/dev/null; }
check "v0 is ocf:blkgate:volume" test "$(q "string(//primitive[@id='v0']/@provider)"):$(q "string(//primitive[@id='v0']/@type)")" = blkgate:volume
check "v0's parameters" test "$(q "string(//primitive[@id='v0']//nvpair[@name='volume']/@value)"):$(q "string(//primitive[@id='v0']//nvpair[@name='monitor_read']/@value)")" = v0:true
check "v0's depth-10 monitor every 60 s" test "$(q "string(//primitive[@id='v0']//op[@name='monitor'][.//nvpair[@name='OCF_CHECK_LEVEL'][@value='10']]/@interval)")" = 60s
check "group g0 = v0 then fs0" test "$(q "string(//group[@id='g0']/primitive[1]/@id)"):$(q "string(//group[@id='g0']/primitive[2]/@id)")" = v0:fs0
check "multiple-active=stop_unexpected" test "$(q "string(//group[@id='g0']//nvpair[@name='multiple-active']/@value)")" = stop_unexpected
check "no-quorum-policy=stop" test "$(q "string(//cluster_property_set//nvpair[@name='no-quorum-policy']/@value)")" = stop
if out=$(crm_verify --live-check --verbose 2>&1); then
	pass "crm_verify: the configuration is valid"
else
	fail "crm_verify: ${out//$'\n'/ | }"
fi
summary
