#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Escape tests for the seccomp filter: every escape_probe probe must be blocked inside the sandbox.
#
# escape_probe (tests/helpers/escape_probe.c) makes each attempt and prints one line,
# "PROBE NAME: blocked (errno=E) ..." (exit 0) or "PROBE NAME: ESCAPED ..." (exit 1); exit 2 is a
# setup error. airlock run exits with the command's status, so 0 means blocked.

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_sandbox

PROBE=$HELPERS/escape_probe
if [ ! -x "$PROBE" ]; then
	not_ok "escape_probe is built ($PROBE)"
	done_testing
	exit
fi

names=$("$PROBE" list | cut -f1)
if [ -z "$names" ]; then
	not_ok "escape_probe lists its probes"
	done_testing
	exit
fi

# Controls, on the bare host: the probe can see success where nothing stops it. Reported, never
# judged: what works here depends on the kernel, its sysctls and who runs the suite.
for name in socket_highbits personality userfaultfd keyctl seccomp_listener; do
	diag "control outside the sandbox as $(id -un): $("$PROBE" "$name" 2>&1 | head -n 1)"
done

# The errno the filter must answer with, where the design names one. TIOCSTI must get the
# filter's EPERM: on a host with dev.tty.legacy_tiocsti=0 the kernel's own EIO would hide a
# missing rule. clone3 and openat2 take their flags from memory the filter cannot read; ENOSYS
# makes libc and Python fall back to clone and openat, which the filter can judge.
declare -A want_errno=(
	[tiocsti]=EPERM
	[tiocsti_highbits]=EPERM
	[clone3_newuser]=ENOSYS
	[openat2]=ENOSYS
)

marker=$T/work/escape-marker

for name in $names; do
	args=("$name")
	# The marker names a host path; the sandbox sees it through its overlay, so an attempt
	# to create it must never reach the host.
	[ "$name" = unshare_mount_write ] && args+=("$marker")
	out=$(al_run -- "$PROBE" "${args[@]}" 2>"$T/stderr")
	rc=$?
	line=$(grep "^PROBE $name: " <<<"$out" | tail -n 1)
	if [ "$rc" -eq 0 ] && [[ $line == "PROBE $name: blocked ("* ]]; then
		ok "$name is blocked in the sandbox"
	else
		not_ok "$name is blocked in the sandbox"
		diag "exit status $rc: ${line:-no PROBE line}"
		[ -s "$T/stderr" ] && diag "stderr: $(head -c 400 "$T/stderr")"
	fi
	want=${want_errno[$name]:-}
	if [ -n "$want" ]; then
		case $line in
		"PROBE $name: blocked (errno=$want)"*) ok "$name fails with $want" ;;
		*)
			not_ok "$name fails with $want"
			diag "got: ${line:-no PROBE line}"
			;;
		esac
	fi
done

check "unshare_mount_write created no marker on the host" test ! -e "$marker"
is "$(ls -A "$T/work")" "" "the probes left the host's scratch directory empty"

done_testing
