#!/bin/bash
# tests/ocf/check-man.sh AGENT PAGE.scd - the agent's man page names every parameter and every
# action of its meta-data (so a parameter added to the agent cannot be left out of the page).
set -u
agent=$1 page=$2
command -v xmllint >/dev/null || { echo "SKIP: needs xmllint (libxml2-utils)"; exit 77; }
md=$(OCF_ROOT=/usr/lib/ocf "$agent" meta-data) || { echo "FAIL: meta-data"; exit 1; }
fail=0
for name in $(xmllint --xpath '//parameter/@name | //action/@name' - <<<"$md" |
	sed 's/ *name="\([^"]*\)"/\1\n/g' | sort -u); do
	if grep -q -- "\*$name\*" "$page"; then
		echo "PASS: $name"
	else
		echo "FAIL: $name is not in $page"
		fail=1
	fi
done
exit "$fail"
