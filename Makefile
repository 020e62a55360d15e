# SPDX-License-Identifier: MIT
# airlock build: `make` builds build/airlock; `make check` runs every test.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
DOCDIR  ?= $(DATADIR)/doc/airlock
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/site-functions
# The AppArmor profile goes where AppArmor reads profiles, whatever the prefix.
APPARMORDIR ?= /etc/apparmor.d
DESTDIR ?=
CC      ?= cc
PKG_CONFIG ?= pkg-config

PKGS := libseccomp libcjson ncursesw
# libgit2 is loaded with dlopen() when a diff is made (supervisor/changeset/git.c): only its
# headers are needed to build, and its soname, so that the one built against is the one loaded.
GIT2_CFLAGS := $(shell $(PKG_CONFIG) --cflags libgit2 2>/dev/null)
GIT2_SONAME := $(shell objdump -p $$($(PKG_CONFIG) --variable=libdir libgit2 2>/dev/null)/libgit2.so 2>/dev/null | awk '/SONAME/ {print $$2}')

# Warnings are errors in developer and CI builds (DEVELOPER=1, as git does), never for
# someone building a release with a newer compiler that warns about more.
DEVELOPER ?=
WERROR := $(if $(filter 1,$(DEVELOPER)),-Werror)
WARN := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wvla -Wwrite-strings -Wimplicit-fallthrough
# A distribution's CPPFLAGS or CFLAGS may set _FORTIFY_SOURCE (Debian: 2, others: 3): then
# theirs stands, and ours is not added to clash with it.
FORTIFY := $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=2)
HARDEN := $(FORTIFY) -fstack-protector-strong -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now

# The GNU conventions: CPPFLAGS, CFLAGS and LDFLAGS are the builder's and all are honoured,
# after ours so that they win; OPT is what CFLAGS defaults to.
OPT ?= -O2 -g
CFLAGS ?= $(OPT)
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null | sed 's/-D_XOPEN_SOURCE=[0-9]*//; s/-D_DEFAULT_SOURCE//')
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# ncurses is linked in statically where its archives are installed (NCURSES_STATIC=0 links the
# shared libraries): only the review draws with it, and every other command, an `airlock exec`
# above all, paid about 0.25 ms at each start to map and relocate libncursesw and libtinfo.
NCURSES_STATIC ?= 1
NCURSES_A := $(wildcard $(shell $(PKG_CONFIG) --variable=libdir ncursesw 2>/dev/null)/libncursesw.a)
ifneq ($(and $(filter 1,$(NCURSES_STATIC)),$(NCURSES_A)),)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(filter-out ncursesw,$(PKGS)) 2>/dev/null) \
	-Wl,-Bstatic $(shell $(PKG_CONFIG) --libs ncursesw 2>/dev/null) -Wl,-Bdynamic
endif
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(HARDEN) -I. $(PKG_CFLAGS) $(GIT2_CFLAGS) \
	$(if $(GIT2_SONAME),-DGIT2_SONAME='"$(GIT2_SONAME)"') $(CPPFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS := $(HARDEN_LD) $(LDFLAGS) $(EXTRA_LDFLAGS)

B := build
LIB_SRC := $(wildcard common/*.c rules/*.c tracee/*.c ui/*.c) \
	$(filter-out supervisor/cli/main.c,$(wildcard supervisor/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
MAIN_OBJ := $(B)/supervisor/cli/main.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(B)/helpers/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

.PHONY: pkg-check all check include-check cleanup-check unit asan bench fuzz install uninstall deb check-package deps demo format format-check man-lint clean helpers

all: $(B)/airlock

# A missing library is named before the compiler stumbles over a missing header.
pkg-check:
	@$(PKG_CONFIG) --version >/dev/null 2>&1 || { \
		echo "airlock: build: pkg-config is missing (run: sh scripts/install-deps)" >&2; exit 1; }
	@for p in $(PKGS) libgit2; do \
		$(PKG_CONFIG) --exists $$p || { \
			echo "airlock: build: the development files of $$p are missing" \
				"(run: sh scripts/install-deps)" >&2; exit 1; }; \
	done

$(B)/airlock: $(MAIN_OBJ) $(B)/libairlock.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

$(B)/libairlock.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Every object depends on VERSION, which it is compiled with; unit tests on the headers they
# include (-MMD), like the objects.
$(B)/%.o: %.c VERSION | pkg-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DAIRLOCK_VERSION='"$(VERSION)"' -MMD -MP -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(B)/libairlock.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(B)/libairlock.a $(ALL_LDFLAGS) $(PKG_LIBS)

# Test helpers run inside the sandbox: plain, static where possible, no airlock code.
$(B)/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O1 -g -Wall -Wextra $(WERROR) -o $@ $< -lpthread

$(B)/bench/%: bench/%.c common/seccomp_compat.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -I. -O2 -Wall -Wextra $(WERROR) -o $@ $< $(shell $(PKG_CONFIG) --libs libseccomp)

helpers: $(HELPER_BIN)

unit: $(UNIT_BIN)

check: all $(UNIT_BIN) $(HELPER_BIN) include-check cleanup-check
	@tests/run

# Dependencies point one way: no two units include each other, directly or around a loop.
include-check:
	@scripts/include-cycles

# steal_pointer() takes only the address of a pointer (common/cleanup.h): the right use must
# compile and each wrong one must not, or the type check has gone.
cleanup-check:
	@try() { printf '#include "common/cleanup.h"\nvoid f(void);\nvoid f(void) { %s }\n' "$$1" | \
		$(CC) -std=gnu11 -D_GNU_SOURCE -I. -fsyntax-only -x c - 2>/dev/null; }; \
	try 'char *p = 0; char *q = steal_pointer(&p); free(q);' || { \
		echo "cleanup-check: steal_pointer() refuses the address of a pointer" >&2; exit 1; }; \
	for bad in 'int n = 0; (void)steal_pointer(&n);' 'char *p = 0; (void)steal_pointer(p);'; do \
		if try "$$bad"; then echo "cleanup-check: steal_pointer() takes: $$bad" >&2; exit 1; fi; \
	done; echo "steal_pointer() type check ok"

asan:
	$(MAKE) B=build-asan OPT='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer' \
		HARDEN='-fstack-protector-strong -fPIE' all unit helpers
	AIRLOCK_BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 tests/run

bench: all $(BENCH_BIN)
	@bench/run

# libFuzzer over the rules parser for FUZZ_SECONDS (default 30); clang with libFuzzer needed.
fuzz:
	@tests/fuzz/run

# The binary, both man pages, bash and zsh completion, examples and the AppArmor profile (the
# same set as the Debian package). The profile names the binary's path: a BINDIR other than
# /usr/bin or /usr/local/bin is written into it. Installed on this machine (no DESTDIR) with
# a kernel that mediates user namespaces (Ubuntu 23.10+), the profile is loaded at once.
AA_USERNS := /sys/kernel/security/apparmor/features/namespaces/userns_create
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(B)/airlock $(DESTDIR)$(BINDIR)/airlock
	install -m 0644 man/airlock.1 $(DESTDIR)$(MANDIR)/man1/airlock.1
	install -m 0644 man/airlock-rules.5 $(DESTDIR)$(MANDIR)/man5/airlock-rules.5
	install -m 0644 man/airlock-json.7 $(DESTDIR)$(MANDIR)/man7/airlock-json.7
	install -m 0644 completion/airlock.bash $(DESTDIR)$(BASHCOMPDIR)/airlock
	install -m 0644 completion/_airlock $(DESTDIR)$(ZSHCOMPDIR)/_airlock
	install -m 0644 examples/agent.py examples/approver.py examples/airlock_client.py \
		examples/demo.rules examples/agents.md examples/claude-code.rules examples/codex.rules \
		$(DESTDIR)$(DOCDIR)/examples/
	case "$(BINDIR)" in /usr/bin|/usr/local/bin) cp apparmor/airlock $(B)/apparmor.airlock ;; \
	*) sed 's|^profile airlock [^ ]*|profile airlock $(BINDIR)/airlock|' apparmor/airlock \
		>$(B)/apparmor.airlock ;; esac
	@# A user installing into their home cannot write /etc: say so rather than fail.
	@if [ -z "$(DESTDIR)" ] && ! mkdir -p $(APPARMORDIR) 2>/dev/null || \
		{ [ -z "$(DESTDIR)" ] && [ ! -w $(APPARMORDIR) ]; }; then \
		echo "note: $(APPARMORDIR) is not writable: the AppArmor profile (only needed where" \
			"AppArmor restricts user namespaces) is not installed; see airlock(1)"; \
	else \
		echo "install -m 0644 $(B)/apparmor.airlock $(DESTDIR)$(APPARMORDIR)/airlock"; \
		install -d $(DESTDIR)$(APPARMORDIR) && \
		install -m 0644 $(B)/apparmor.airlock $(DESTDIR)$(APPARMORDIR)/airlock; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -e $(AA_USERNS) ] && command -v apparmor_parser >/dev/null; then \
		echo "apparmor_parser -r $(APPARMORDIR)/airlock"; \
		apparmor_parser -r $(APPARMORDIR)/airlock; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/airlock $(DESTDIR)$(MANDIR)/man1/airlock.1 \
		$(DESTDIR)$(MANDIR)/man5/airlock-rules.5 $(DESTDIR)$(MANDIR)/man7/airlock-json.7 \
		$(DESTDIR)$(BASHCOMPDIR)/airlock \
		$(DESTDIR)$(ZSHCOMPDIR)/_airlock $(DESTDIR)$(APPARMORDIR)/airlock
	rm -rf $(DESTDIR)$(DOCDIR)/examples

# A Debian package of this tree in build/deb/ (scripts/build-deb; debhelper needed), and
# its test: build, lintian, install, smoke test, remove (root; CI runs it).
deb:
	sh scripts/build-deb

check-package:
	@bash tests/package/deb.sh

deps:
	sh scripts/install-deps

demo: all
	@examples/demo

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format ok"

man-lint:
	@for m in man/*.[157]; do \
		out=$$(LC_ALL=C.UTF-8 groff -mandoc -ww -z $$m 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
		if command -v mandoc >/dev/null; then mandoc -Tlint -Wwarning $$m || exit 1; fi; \
	done; echo "man pages ok"

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_BIN:=.d)
