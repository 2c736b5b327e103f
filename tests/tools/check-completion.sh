#!/bin/bash
# Behaviour: the generated bash completion of blkgatectl completes every verb of
# `blkgatectl --help` word by word, each verb's options, the values of typed options and
# positionals (drive statuses, on/off, backends), and object names from the daemon, asked with
# `blkgatectl [--socket PATH] list --names` (a stand-in answers here; the VM test
# tests/e2e/system/completion.sh asks a real daemon).
# Usage: check-completion.sh COMPLETION BLKGATECTL (meson test 'completion', suite unit).
set -u
# shellcheck source=help-verbs.sh
. "$(dirname "$0")/help-verbs.sh"
completion=$1 real=$2
fail=0
asked=$(mktemp)
trap 'rm -f "$asked"' EXIT
# The daemon's objects, as `list --names` prints them; records how it was called (in a file:
# the completion calls it in a subshell).
# shellcheck disable=SC2317
blkgatectl() {
	echo "$*" >>"$asked"
	[[ " $* " == *" list --names "* ]] || return 1
	printf '%s\n' drive/d0 drive/d1 disk/k0 volume/v0 volume/v1
}
# shellcheck disable=SC2317
complete() { :; } # the script's `complete -F` line: nothing to register here
# shellcheck source=/dev/null
. "$completion"

# Completions of a command line whose last word is being typed ("" for a new word).
comps() { # WORDS...
	COMP_WORDS=(blkgatectl "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_blkgatectl
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() { # WANT WORDS...: the completions are exactly WANT
	local want=$1 got
	shift
	got=$(comps "$@")
	if [[ $got != "$want" ]]; then
		echo "FAIL: blkgatectl $*<TAB>: got '$got', want '$want'"
		fail=1
	fi
}
contains() { # WORD WORDS...: WORD is among the completions
	local word=$1 got
	shift
	got=" $(comps "$@") "
	if [[ $got != *" $word "* ]]; then
		echo "FAIL: blkgatectl $*<TAB>: '$word' not in '$got'"
		fail=1
	fi
}

# Every verb of the real blkgatectl --help, completed word by word, and its options.
verbs=0
while IFS= read -r verb; do
	verbs=$((verbs + 1))
	read -ra words <<<"$verb"
	for ((i = 0; i < ${#words[@]}; i++)); do
		contains "${words[i]}" "${words[@]:0:i}" ""
	done
	while read -r opt; do
		contains "$opt" "${words[@]}" --
	done < <(help_options "$real" "${words[@]}")
done < <(help_verbs "$real")
((verbs >= 20)) || {
	echo "FAIL: only $verbs verbs read from blkgatectl --help"
	fail=1
}

expect "volume" vol
expect "offline online" volume o
expect "v0 v1" volume offline ""
expect "v1" volume online v1
expect "d0 d1" disk create k1 ""
expect "d0 d1" disk create k1 d0 "" # DRIVE... repeats
expect "k0" volume create v2 --size 1G --disk ""
expect "file mem null" volume create v2 --backend ""
expect "failed not-ready offline online" drive set-status d0 ""
expect "off on" disk set-readonly k0 ""
expect "volume/v0 volume/v1" offline volume/
expect "--force --help --json --socket --timeout" volume offline v0 --
expect "" volume offline v0 "" # one NAME only
: >"$asked"
expect "v0 v1" --socket /tmp/other.sock volume show ""
grep -q -- "--socket /tmp/other.sock .*list --names" "$asked" || {
	echo "FAIL: the names were not asked on --socket's socket: $(cat "$asked")"
	fail=1
}
((fail == 0)) && echo "PASS: $verbs verbs, their options, values and object names complete"
exit "$fail"
