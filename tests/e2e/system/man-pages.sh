#!/bin/bash
# Behaviour: the installed man pages (blkgate(8), blkgatectl(8) and the OCF agent's
# ocf_blkgate_volume(7)) render (man -l, no warning) and man finds them by name; blkgatectl(8)
# has a section for every verb of `blkgatectl --help`.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
# shellcheck source-path=SCRIPTDIR source=../../tools/help-verbs.sh
. "$(dirname "$0")/../../tools/help-verbs.sh"
require_system
install_deb
require man
for page in blkgate.8 blkgatectl.8 ocf_blkgate_volume.7; do
	sec=${page##*.}
	f=/usr/share/man/man$sec/$page.gz
	check "${page%.*}($sec) renders" sh -c "out=\$(MANWIDTH=80 man --warnings -l $f 2>&1 >/dev/null) && [ -z \"\$out\" ]"
	check "${page%.*}($sec) has its NAME section" sh -c "MANWIDTH=80 man -l $f 2>/dev/null | grep -q '^NAME'"
	check "man -w finds ${page%.*}($sec)" test "$(man -w "$sec" "${page%.*}" 2>/dev/null)" = "$f"
done
MANWIDTH=200 man -l /usr/share/man/man8/blkgatectl.8.gz 2>/dev/null >"$W/ctl.txt"
n=0
while read -r verb; do
	n=$((n + 1))
	grep -q "blkgatectl $verb" "$W/ctl.txt" || fail "blkgatectl(8) lacks '$verb'"
done < <(help_verbs blkgatectl)
check "every verb of blkgatectl --help ($n) in blkgatectl(8)" test "$n" -ge 20 -a "$nfail" = 0
summary
