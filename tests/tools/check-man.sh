#!/bin/bash
# Behaviour: the man pages cover the programs. blkgatectl(8) names every verb that
# `blkgatectl --help` lists and every option of each verb's --help (both come from the operation
# registry), blkgate(8) every option of `blkgate --help`, and every page in MANDIR (these two,
# and the OCF agent's ocf_blkgate_volume.7 when ocf/ built it) renders with man -l without a
# warning.
# Usage: check-man.sh BLKGATE BLKGATECTL MANDIR (meson test 'man', suite unit).
set -u
# shellcheck source=help-verbs.sh
. "$(dirname "$0")/help-verbs.sh"
blkgate=$1 blkgatectl=$2 mandir=$3
fail=0
# The page's text: roff fonts, escapes and the non-breaking marks removed.
text() { sed -e 's/\\f[BIR]//g' -e 's/\\&//g' -e 's/\\-/-/g' -e 's/\\(em/--/g' "$1"; }
has() { # PAGE WHAT
	if ! grep -qF -- "$2" <<<"$(text "$1")"; then
		echo "FAIL: $(basename "$1") does not mention '$2'"
		fail=1
	fi
}
for page in "$mandir/blkgate.8" "$mandir/blkgatectl.8"; do
	[[ -s $page ]] || {
		echo "FAIL: $page is missing or empty"
		exit 1
	}
done
rendered=0
for page in "$mandir"/*.[1-9]; do
	if command -v man >/dev/null; then
		rendered=$((rendered + 1))
		if ! out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || [[ -n $out ]]; then
			echo "FAIL: man -l $page: $out"
			fail=1
		fi
	fi
done

# Every verb of blkgatectl --help ("  WORD WORD ARGS..." lines), with its options.
verbs=0
while IFS= read -r verb; do
	verbs=$((verbs + 1))
	has "$mandir/blkgatectl.8" "blkgatectl $verb"
	read -ra words <<<"$verb"
	while read -r opt; do
		has "$mandir/blkgatectl.8" "$opt"
	done < <(help_options "$blkgatectl" "${words[@]}")
done < <(help_verbs "$blkgatectl")
((verbs >= 20)) || {
	echo "FAIL: only $verbs verbs read from blkgatectl --help"
	fail=1
}
# Every result name.
while read -r name _; do
	has "$mandir/blkgatectl.8" "$name"
done < <("$blkgatectl" results | tail -n +2)

# Every option of the daemon.
opts=0
while read -r opt; do
	opts=$((opts + 1))
	has "$mandir/blkgate.8" "$opt"
done < <("$blkgate" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
((opts >= 10)) || {
	echo "FAIL: only $opts options read from blkgate --help"
	fail=1
}
((fail == 0)) && echo "PASS: $verbs verbs and their options in blkgatectl(8), $opts options in blkgate(8), $rendered pages rendered by man -l"
exit "$fail"
