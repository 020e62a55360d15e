# SPDX-License-Identifier: MIT
# Helpers for the network suites (sourced after lib.sh): loopback servers that log what
# reaches them, and rules files only the test can write.
SRV=$TOP/tests/helpers/netsrv.py

# start_srv NAME MODE ADDR [ARGS...]: a server logging to $T/NAME.log; its port in $T/NAME.port.
start_srv() {
	local name=$1
	shift
	: >"$T/$name.log"
	"$PY" "$SRV" "$1" "$2" "$T/$name.port" "$T/$name.log" "${@:3}" &
	tags+=("$T/$name.port")
	wait_for 10 test -s "$T/$name.port" || diag "server $name did not start"
}
port() { cat "$T/$1.port"; }
# seen NAME WHAT: how many log lines of server NAME start with WHAT.
seen() { grep -c "^$2" "$T/$1.log"; }
# rules NAME TEXT: a rules file only we can write.
rules() {
	printf '%s\n' "$2" >"$T/$1.rules"
	chmod 600 "$T/$1.rules"
}
