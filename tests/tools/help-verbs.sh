# tests/tools/help-verbs.sh — sourced by check-man.sh and check-completion.sh: what
# shellcheck shell=bash
# blkgatectl's own --help says, to check the generated man page and completion against.

# Every verb of `blkgatectl --help`, one a line ("volume path add").
help_verbs() { # BLKGATECTL
	"$1" --help | sed -n '/^verbs:/,/^$/p' |
		sed -n 's/^  \([a-z][a-z -]*[a-z]\)\( [A-Z[].*\)\{0,1\}$/\1/p' | sed 's/ [a-z|-]*|[a-z|-]*$//'
}
# The options of one verb's --help, one a line.
help_options() { # BLKGATECTL WORDS...
	"$@" --help | sed -n 's/^  \(--[a-z-]*\).*/\1/p'
}
