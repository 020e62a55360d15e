/* SPDX-License-Identifier: MIT */
/* The command's Landlock domain, the second wall under the overlays; see landlock.h. */
#include "tracee/landlock.h"
#include "tracee/plan.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/testenv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Newer than the headers of Debian 12 (Linux 6.1). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

#define OVERLAYFS_MAGIC 0x794c7630
#define TMPFS_MAGIC	0x01021994

/* Far more than the sandbox's table of a few dozen mounts ever holds. */
#define MOUNTINFO_MAX (16 << 20)

/* struct landlock_ruleset_attr as of ABI 6; the kernel takes a longer one if the rest is 0. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define FS_READ                                                                                    \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_EXECUTE)
/* Everything a program does in a directory tree it owns; never device nodes (mknod). */
#define FS_WRITE_TREE                                                                              \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                           \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |                            \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                              \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER |   \
	 LANDLOCK_ACCESS_FS_TRUNCATE)
/* Rights a rule on a file (not a directory) may carry. */
#define FS_FILE                                                                                    \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* The filesystem rights ABI abi knows: all of them are handled, so all are denied by default. */
static uint64_t handled_fs(int abi)
{
	uint64_t h = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

void landlock_probe(struct landlock_state *st, bool net_host)
{
	long abi;

	memset(st, 0, sizeof(*st));
	if (test_feature_off("landlock")) {
		st->why = "turned off (AIRLOCK_TEST_FEATURES_OFF)";
		return;
	}
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		st->why = errno == EOPNOTSUPP ? "disabled at boot (add landlock to lsm=)"
					      : "not in this kernel (Linux 5.13)";
		return;
	}
	st->abi = (int)abi;
	if (abi < 2) {
		st->why = "ABI 1 refuses renames across directories (ABI 2: Linux 5.19)";
		return;
	}
	st->enforced = true;
	st->scope_signal = abi >= 6;
	st->scope_abstract = abi >= 6 && !net_host;
}

/* One mount of the sandbox's table. */
struct ll_mount {
	char *path;
	char fstype[32];
	bool rw;
};

struct ll_mounts {
	struct ll_mount *v;
	size_t n, cap;
};

/*
 * The sandbox's mounts, as the kernel reports them: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS
 * [TAGS...] - FSTYPE SOURCE SUPEROPTS". A later mount on the same path covers an earlier one.
 * The table is read whole, in one read() of up to 64 KiB (read_file): stdio's 1 KiB reads cost
 * procfs a dozen more calls (bench/README.md).
 */
static void read_mounts(struct ll_mounts *t)
{
	cleanup_free char *table = read_file("/proc/self/mountinfo", MOUNTINFO_MAX, NULL);
	char *line, *next;

	if (!table)
		die_errno("landlock: cannot read the sandbox's /proc/self/mountinfo");
	for (line = table; *line; line = next) {
		char *field[6] = {0}, *fstype = NULL, *superopts = NULL, *save = NULL, *tok;
		struct ll_mount m;
		int i = 0;

		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (i < 6)
				field[i] = tok;
			else if (strcmp(tok, "-") == 0)
				break;
			i++;
		}
		fstype = strtok_r(NULL, " ", &save);
		if (fstype && strtok_r(NULL, " ", &save))
			superopts = strtok_r(NULL, " ", &save);
		if (!field[5] || !fstype || !superopts)
			die("landlock: cannot parse the sandbox's mount table");
		plan_unescape_octal(field[4]);
		m.path = path_normalize(field[4]);
		snprintf(m.fstype, sizeof(m.fstype), "%s", fstype);
		m.rw = plan_has_option(field[5], "rw") && plan_has_option(superopts, "rw");
		for (size_t k = 0; k < t->n; k++)
			if (strcmp(t->v[k].path, m.path) == 0) {
				free(t->v[k].path);
				t->v[k] = t->v[--t->n];
				break;
			}
		GROW(t->v, t->cap, t->n + 1);
		t->v[t->n++] = m;
	}
}

static void add_rule(int ruleset, int fd, uint64_t access, const char *what)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = access, .parent_fd = fd};

	if (access == 0)
		return; /* nothing this ABI handles */
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		die_errno("landlock: cannot add the rule for %s", what);
}

/* Grant access beneath path; magic: the filesystem it must be on, 0 for any. */
static void allow_path(int ruleset, const char *path, uint64_t access, long magic)
{
	cleanup_fd int fd = open(path, O_PATH | O_CLOEXEC);
	struct statfs sf;

	if (fd < 0)
		die_errno("landlock: cannot open %s", path);
	if (magic && (fstatfs(fd, &sf) < 0 || sf.f_type != magic))
		die("landlock: %s is not the filesystem its mount table entry says", path);
	add_rule(ruleset, fd, access, path);
}

/*
 * Terminals and devices the command got as stdio (a pty of airlock's, the host's /dev/null):
 * opened outside the sandbox, so their inodes lie beyond every rule, and `echo > /dev/stderr`
 * reopens them through /proc/self/fd. The program may use them anyway; reopening gives it
 * nothing new. Anything else as stdio is a pipe or a socket, which Landlock leaves alone.
 */
static void allow_stdio(int ruleset, uint64_t handled)
{
	struct landlock_path_beneath_attr pb = {
		.allowed_access =
			handled & (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
				   LANDLOCK_ACCESS_FS_IOCTL_DEV),
	};

	for (pb.parent_fd = 0; pb.parent_fd <= 2; pb.parent_fd++) {
		struct stat st;

		if (fstat(pb.parent_fd, &st) < 0 || !S_ISCHR(st.st_mode))
			continue;
		/* A device Landlock takes no rule for (EBADFD) just cannot be reopened. */
		(void)!syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	}
}

void landlock_create(struct landlock_ruleset *rs, bool net_host)
{
	struct landlock_state st;
	struct ll_ruleset_attr attr = {0};

	rs->fd = -1;
	rs->handled = 0;
	landlock_probe(&st, net_host);
	if (!st.enforced)
		return;
	rs->handled = attr.handled_access_fs = handled_fs(st.abi);
	if (st.scope_signal)
		attr.scoped |= LANDLOCK_SCOPE_SIGNAL;
	if (st.scope_abstract)
		attr.scoped |= LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
	/* Close-on-exec, as every Landlock descriptor: the command's program never has it. */
	rs->fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs->fd < 0)
		die_errno("landlock: cannot create a ruleset (ABI %d)", st.abi);
}

/*
 * Any writable mount that is not one granted writes must not lie inside a tree granted
 * writes, or it would inherit them: the sandbox makes none but its own devpts and /proc.
 */
static void check_inside(const struct ll_mounts *mounts, const char *const *trees, size_t ntrees)
{
	for (size_t i = 0; i < mounts->n; i++) {
		const struct ll_mount *m = &mounts->v[i];

		if (!m->rw || strcmp(m->fstype, "overlay") == 0 ||
		    (strcmp(m->path, "/dev/shm") == 0 && strcmp(m->fstype, "tmpfs") == 0) ||
		    (strcmp(m->path, "/dev/pts") == 0 && strcmp(m->fstype, "devpts") == 0) ||
		    (strcmp(m->path, "/proc") == 0 && strcmp(m->fstype, "proc") == 0))
			continue;
		for (size_t j = 0; j < ntrees; j++)
			if (path_is_under(m->path, trees[j]))
				die("landlock: %s is a writable %s mount inside %s, where only "
				    "overlays may be written",
				    m->path, m->fstype, trees[j]);
	}
}

void landlock_fill(const struct landlock_ruleset *rs)
{
	static const char *const written_files[] = {"/dev", "/proc"};
	struct ll_mounts mounts = {0};
	const char **trees = NULL; /* where a writable mount inherits rights */
	size_t ntrees = 0, cap = 0, i;
	uint64_t h = rs->handled;

	if (rs->fd < 0)
		return;
	allow_path(rs->fd, "/", h & FS_READ, 0);
	/* Device nodes and /proc: written, never created in (both are fixed trees). */
	allow_path(rs->fd, "/dev",
		   h & (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_IOCTL_DEV), 0);
	allow_path(rs->fd, "/proc",
		   h & (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE), 0);
	for (i = 0; i < ARRAY_SIZE(written_files); i++) {
		GROW(trees, cap, ntrees + 1);
		trees[ntrees++] = written_files[i];
	}
	read_mounts(&mounts);
	for (i = 0; i < mounts.n; i++) {
		const struct ll_mount *m = &mounts.v[i];
		long magic = 0;

		if (!m->rw)
			continue;
		if (strcmp(m->fstype, "overlay") == 0)
			magic = OVERLAYFS_MAGIC;
		else if (strcmp(m->path, "/dev/shm") == 0 && strcmp(m->fstype, "tmpfs") == 0)
			magic = TMPFS_MAGIC;
		if (!magic)
			continue;
		allow_path(rs->fd, m->path, h & (FS_READ | FS_WRITE_TREE), magic);
		GROW(trees, cap, ntrees + 1);
		trees[ntrees++] = m->path;
	}
	check_inside(&mounts, trees, ntrees);
	allow_stdio(rs->fd, h & FS_FILE);
	free(trees);
	for (i = 0; i < mounts.n; i++)
		free(mounts.v[i].path);
	free(mounts.v);
}

void landlock_restrict(struct landlock_ruleset *rs)
{
	if (rs->fd < 0)
		return;
	if (syscall(SYS_landlock_restrict_self, rs->fd, 0) < 0)
		die_errno("landlock: cannot restrict the command");
	close(rs->fd);
	rs->fd = -1;
}
