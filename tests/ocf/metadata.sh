#!/bin/bash
# tests/ocf/metadata.sh AGENT... — each OCF resource agent's meta-data is what Pacemaker
# can read: valid against the OCF DTD (ra-api-1.dtd, from Debian's resource-agents), named as
# its file, OCF 1.1, with the actions Pacemaker calls, produced as an unprivileged user and with
# an empty environment (Pacemaker's crm_resource --show-metadata runs it so) and exit 0.
# Host-side: meta-data needs no daemon and no VM. Exit 77 (SKIP, never a pass) when the DTD or
# xmllint is missing (tools/install-deps installs both).
set -u
DTD=${OCF_DTD:-/usr/share/resource-agents/ra-api-1.dtd}
[[ -r $DTD ]] || { echo "SKIP: needs $DTD (Debian package resource-agents)"; exit 77; }
command -v xmllint >/dev/null || { echo "SKIP: needs xmllint (libxml2-utils)"; exit 77; }
(($#)) || { echo "usage: $0 AGENT..." >&2; exit 2; }

fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for agent in "$@"; do
	agent=$(realpath "$agent")
	name=$(basename "$agent")
	md=$tmp/$name.xml
	if ! env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$agent" meta-data >"$md" 2>"$tmp/err"; then
		fail "$name: meta-data exited non-zero: $(cat "$tmp/err")"
		continue
	fi
	if xmllint --noout --dtdvalid "$DTD" "$md" 2>"$tmp/err"; then
		echo "PASS $name: meta-data valid against $DTD"
	else
		fail "$name: meta-data not valid against the DTD:"
		sed 's/^/    /' "$tmp/err"
	fi
	q() { xmllint --xpath "$1" "$md" 2>/dev/null; }
	[[ $(q 'string(/resource-agent/@name)') == "$name" ]] ||
		fail "$name: resource-agent name is '$(q 'string(/resource-agent/@name)')', not the file's name"
	[[ $(q 'string(/resource-agent/version)') == 1.1 ]] ||
		fail "$name: <version> is '$(q 'string(/resource-agent/version)')', not OCF 1.1"
	for action in start stop monitor validate-all meta-data; do
		[[ -n $(q "string(/resource-agent/actions/action[@name='$action']/@timeout)") ]] ||
			fail "$name: no $action action with a timeout"
	done
	# Every action's timeout is at least 5 s (meta-data) and the rest at least 20 s, as
	# Pacemaker's defaults assume: a shorter one would fail on a loaded node.
	while read -r action timeout; do
		secs=${timeout%s}
		[[ $secs =~ ^[0-9]+$ ]] || { fail "$name: $action timeout '$timeout' is not N s"; continue; }
		min=20
		[[ $action == meta-data ]] && min=5
		((secs >= min)) || fail "$name: $action timeout ${secs}s < ${min}s"
	done < <(q '/resource-agent/actions/action' | sed -n 's/.*name="\([^"]*\)".*timeout="\([^"]*\)".*/\1 \2/p')
	# As nobody (what ocf-tester checks): meta-data needs no privileges.
	if [[ $(id -u) == 0 ]] && id nobody >/dev/null 2>&1; then
		cp "$agent" "$tmp/nobody-$name" && chmod 755 "$tmp" "$tmp/nobody-$name"
		su nobody -s /bin/sh -c "'$tmp/nobody-$name' meta-data" >/dev/null 2>&1 ||
			fail "$name: meta-data fails as user nobody"
	fi
done
((fails == 0)) || { echo "$fails check(s) failed"; exit 1; }
echo "all meta-data checks passed"
