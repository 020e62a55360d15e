#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package: build it (scripts/build-deb), check it with lintian, check that it and
# `make install` hold the same files, that the AppArmor profile parses, then (as root)
# install it, smoke-test the installed /usr/bin/airlock, and remove it again, so the machine
# is left as it was (the other suites use build/airlock, never /usr/bin/airlock).
# CI runs it (.ci/run; `make check-package`). Prints TAP; exits 1 when a test failed.
. "$(dirname "$0")/../lib.sh"
cd "$TOP" || exit 1
version=$(cat VERSION)
arch=$(dpkg --print-architecture)
deb=$T/deb/airlock_${version}_${arch}.deb

if OUT=$T/deb sh scripts/build-deb >"$T/build.out" 2>&1 && [ -f "$deb" ]; then
	ok "dpkg-buildpackage -us -uc -b builds $(basename "$deb")"
else
	not_ok "the package builds"
	diag "$(tail -n 30 "$T/build.out")"
	done_testing
	exit 1
fi
check "build/airlock was not touched by the package build" test "$BUILD/airlock" -ot "$deb"
is "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)" "airlock $version" \
	"package name and version (VERSION = debian/changelog)"
deps=$(dpkg-deb -f "$deb" Depends)
check "depends on libseccomp and on the libgit2 it dlopens" \
	grep -Eq 'libseccomp2.*libgit2-[0-9]' <<<"$deps"
check "depends on the libcrypto it dlopens (libssl3)" grep -Eq '(^|, )libssl[0-9]' <<<"$deps"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$T/contents"
missing=
for f in /usr/bin/airlock /usr/share/man/man1/airlock.1.gz /usr/share/man/man5/airlock-rules.5.gz \
	/usr/share/bash-completion/completions/airlock /usr/share/zsh/vendor-completions/_airlock \
	/usr/share/doc/airlock/examples/agent.py /usr/share/doc/airlock/examples/approver.py \
	/usr/share/doc/airlock/examples/demo.rules /usr/share/doc/airlock/examples/airlock_client.py \
	/usr/share/man/man7/airlock-json.7.gz /etc/apparmor.d/airlock \
	/usr/share/doc/airlock/copyright; do
	grep -qx -- "$f" "$T/contents" || missing="$missing $f"
done
is "$missing" "" "the package holds the binary, man pages, completion, examples, profile"
check "the profile is a conffile" grep -qx /etc/apparmor.d/airlock \
	<(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)

# make install: the same set of files (the zsh directory is Debian's in the package).
make -s install DESTDIR="$T/inst" PREFIX=/usr ZSHCOMPDIR=/usr/share/zsh/vendor-completions \
	>/dev/null 2>&1
(cd "$T/inst" && find . -type f | sed 's|^\.||; s|\.gz$||' | sort) >"$T/inst.list"
grep -v '/$' "$T/contents" | grep -v -e '^/usr/share/doc/airlock/copyright$' \
	-e '^/usr/share/doc/airlock/changelog.gz$' | sed 's|\.gz$||' | sort >"$T/deb.list"
is "$(diff "$T/deb.list" "$T/inst.list")" "" "make install installs the package's files"

if command -v lintian >/dev/null; then
	lintian --info --pedantic "$deb" >"$T/lintian" 2>&1
	grep -v 'running with root privileges' "$T/lintian" >"$T/lintian.tags"
	is "$(cat "$T/lintian.tags")" "" "lintian --pedantic reports no tag"
else
	not_ok "lintian is installed (scripts/install-deps)"
fi

# The AppArmor profile: AppArmor >= 4.0 parses it whole; Debian 12's parser (3.0) knows
# neither its abi line nor the userns rule, so the rest is parsed there and those two
# lines are checked as text.
if command -v apparmor_parser >/dev/null; then
	prof=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./etc/apparmor.d/airlock)
	pv=$(apparmor_parser --version | awk 'NR == 1 { print $NF }')
	if [ "${pv%%.*}" -ge 4 ]; then
		printf '%s\n' "$prof" | apparmor_parser -QT -I /etc/apparmor.d >/dev/null 2>"$T/aa.err"
		is "$?:$(grep -v 'Cache read/write disabled' "$T/aa.err")" "0:" "apparmor_parser $pv parses the profile"
	else
		printf '%s\n' "$prof" | sed '/^abi <abi\/4.0>,$/d; /^  userns,$/d' |
			apparmor_parser -QT -I /etc/apparmor.d >/dev/null 2>"$T/aa.err"
		is "$?:$(grep -v 'Cache read/write disabled' "$T/aa.err")" "0:" \
			"apparmor_parser $pv parses the profile (without the 4.0-only lines)"
	fi
	check "the profile grants userns under abi 4.0" \
		test "$(grep -cxE 'abi <abi/4.0>,|  userns,' <<<"$prof")" = 2
	check "the profile attaches to /usr/bin and /usr/local/bin/airlock, unconfined otherwise" \
		grep -qx 'profile airlock /usr/{,local/}bin/airlock flags=(unconfined) {' <<<"$prof"
else
	not_ok "apparmor_parser is installed (scripts/install-deps)"
fi

# Install, smoke-test, remove: root only (CI). Not run for an ordinary user.
if [ "$(id -u)" = 0 ]; then
	was=$(dpkg-query -W -f '${Status}' airlock 2>/dev/null)
	if dpkg -i "$deb" >"$T/dpkg.out" 2>&1; then
		ok "dpkg -i installs the package"
	else
		not_ok "dpkg -i installs the package"
		diag "$(cat "$T/dpkg.out")"
	fi
	is "$(/usr/bin/airlock --version)" "airlock $version" "the installed airlock runs"
	/usr/bin/airlock doctor >"$T/doctor" 2>&1
	is "$?" 0 "the installed airlock doctor finds nothing missing"
	grep -E '^(kernel|AppArmor|result):' "$T/doctor" | sed 's/^/# /'
	mkdir -p "$T/work/p" && cd "$T/work/p" || exit 1
	out=$(AIRLOCK_STATE_DIR=$T/state /usr/bin/airlock run --review never -- sh -c 'echo hi; echo x >f' 2>"$T/run.err")
	is "$out" hi "the installed airlock runs a command in a sandbox"
	check "and the host is untouched" test ! -e "$T/work/p/f"
	cd "$TOP" || exit 1
	check "the man page is installed where man finds it" test -s /usr/share/man/man1/airlock.1.gz
	out=$(bash -c '. /usr/share/bash-completion/completions/airlock; COMP_WORDS=(airlock do); COMP_CWORD=1; _airlock; echo "${COMPREPLY[*]}"')
	is "$out" doctor "the installed bash completion completes against the installed airlock"
	if [ -z "$was" ] || [ "${was#install ok installed}" = "$was" ]; then
		dpkg -P airlock >"$T/dpkg.out" 2>&1
		check "dpkg -P removes it again" test ! -e /usr/bin/airlock -a ! -e /etc/apparmor.d/airlock
	else
		diag "airlock was installed before this test: left installed"
	fi
fi
done_testing
