/* SPDX-License-Identifier: MIT */
/*
 * What the parts of `airlock commit` and `airlock undo` share (commit.c: the commands and what
 * they select; commit_check.c: the host side and the conflict check; commit_journal.c: the
 * journal and the record; commit_apply.c: applying a batch; commit_undo.c: reading the journal,
 * rolling back, undo). Not for use outside them: commit.h is the interface.
 */
#ifndef AIRLOCK_SUPERVISOR_COMMIT_INT_H
#define AIRLOCK_SUPERVISOR_COMMIT_INT_H

#include "supervisor/changeset/commit.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/openat2.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/record/seal.h"
#include "supervisor/changeset/changes.h"
#include "supervisor/cli/cli.h"
#include "supervisor/changeset/deferred.h"
#include "supervisor/record/events.h"
#include "supervisor/changeset/gate.h"
#include "supervisor/supervise/policy.h"
#include "supervisor/record/report.h"
#include "supervisor/record/session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 1024
/*
 * Steps applied between two journal syncs. Each batch costs a syncfs() of the host filesystem
 * and an fdatasync() of the journal whatever its size, so this is what makes a commit of many
 * files cost about what copying them does. The size does not weaken the protocol: every batch
 * still has its new entries synced before its start lines, and those synced before its first
 * move; a larger batch only leaves more temporary entries for a rollback to remove (each found
 * through the journal as before). 16,384 (was 2,048) commits 10,000 files in one batch: each
 * syncfs() waits for a journal commit of the filesystem, and under load that was a third of the
 * time. BATCH_BYTES still bounds the data one sync writes.
 */
#define BATCH_STEPS 16384
#define BATCH_BYTES (256ll << 20) /* and at most this much new file data to sync at once */
/* meta.json lists the paths of a commit only up to this many; counts are always there. */
#define RECORD_PATHS 100
#define JOURNAL_MAX  (1024u << 20)
/* The journal's format; rollback refuses another one rather than guess. */
#define JOURNAL_VERSION 2

/*
 * What a step does to the host path. add: put the new entry where the host has none.
 * replace: swap the new entry in (RENAME_EXCHANGE) and move the host's entry to the backup.
 * delete: move the host's entry to the backup. chmod: set the mode (the old one is journalled).
 */
enum step_op {
	OP_ADD,
	OP_REPLACE,
	OP_DELETE,
	OP_CHMOD
};

extern const char *const op_names[4];

/* Where an entry is: the device and inode that identify it across renames. */
struct ident {
	unsigned long long dev, ino;
};

struct step {
	const struct change *c;
	enum step_op op;
	long dep;	  /* index of the nearest step creating an ancestor directory, or -1 */
	bool covered;	  /* an earlier step creates the host parent (dep >= 0) */
	bool host_exists; /* the host has an entry at the path now */
	bool replace;	  /* a forced addition replaces what appeared meanwhile */
	char *conflict;	  /* why the host path conflicts, or NULL */
	bool unsafe;	  /* a conflict that --force cannot override */
	mode_t host_mode; /* st_mode of the host entry when host_exists */
	mode_t strip;	  /* the setuid/setgid bits of the new entry the host does not get */
	struct ident host_id;
	bool has_pmtime; /* the parent's mtime before the commit, to put back on undo */
	struct timespec pmtime;
	bool has_new; /* the new entry made under its temporary name */
	struct ident new_id;
	bool has_old; /* the host's entry the step moves away */
	struct ident old_id;
	/* A file decided hunk by hunk in the review (hunks.h): its letters and the hashes of the
	   sides they were seen on (the gate's), and the file to write, the host's with the
	   approved hunks (made by cm_check_hunks()). */
	const char *hunks, *hunk_old, *hunk_new;
	char *partial;
	size_t partial_len;
};

/* The devices of the host directories a batch touched, each synced once. */
struct devs {
	dev_t v[8];
	int fd[8];
	size_t n;
	bool overflow; /* more than fit: sync them all */
};

/*
 * The last directory opened, kept for the next step with the same parent: a commit of many
 * files in one directory then resolves it once. A descriptor stays valid for the directory it
 * names even if the path is swapped meanwhile, so nothing is written through a symlink that
 * appears later. Reset wherever a step may have replaced a directory.
 */
struct dir_cache {
	char *dir;
	int fd;
	struct stat st;	   /* of the directory, when it was opened */
	struct devs *devs; /* host directories: where their filesystems are noted for syncing */
};

/*
 * commit/journal.jsonl, one JSON object a line:
 *   begin                       the commit starts (version 2)
 *   plan   step path kind do    every step, before any host change; do is add, replace,
 *          old_mode [pmtime]    delete or chmod; pmtime is the parent's mtime before
 *   batch  from to              the steps whose temporary entries may exist from now on
 *   start  step [new] [old]     before the step touches the host: new is the device:inode of
 *                               the entry it puts in place, old that of the entry it moves away
 *   done   step                 the step is complete (the old entry is in commit/backup/STEP)
 *   result step type ...        what the path holds after the whole commit (for undo's check)
 *   end    ok                   the commit finished (ok true) or gave up before any change
 *   undo-begin                  undo of a finished commit starts, its check passed
 *   pm-skip step                undo leaves the mtime of the step's directory as it is
 *   undone step                 undo put the step back
 *   undo-end sec nsec           undo (or a rollback) finished
 * Lines are buffered and written at the sync points only; a line cut short by a crash is
 * ignored when read.
 */
struct jwriter {
	int fd;
	struct buf b;
};

struct progress;

struct applier {
	const struct session *s;
	int sfd; /* the session directory */
	int bfd; /* commit/backup */
	struct step *steps;
	size_t n;
	struct jwriter jw;
	struct event_log *log;
	struct dir_cache host, upper;
	struct devs devs;
	size_t failed;		   /* the step that failed, or SIZE_MAX */
	int failed_rc;		   /* and why */
	const char *what;	   /* what was being done when it failed */
	struct progress *progress; /* on a terminal: how far it got (NULL: none) */
};

struct result {
	char type[8]; /* as report_type_name(), "-" when the path held nothing */
	struct ident id;
	mode_t mode;
	long long size;
	struct timespec mtime, ctime;
	bool has_pmtime; /* the parent's mtime right after the commit */
	struct timespec pmtime;
};

struct jstep {
	char *path;
	char *kind;
	enum step_op op;
	mode_t old_mode;
	bool covered;
	bool has_pmtime; /* the parent's mtime before the commit */
	struct timespec pmtime;
	bool batched, started, done, undone;
	bool has_new, has_old;
	struct ident new_id, old_id;
	bool has_result;
	struct result res;
	bool restore_pmtime; /* undo puts the parent's mtime back */
	bool pm_skip;	     /* an earlier undo decided not to (the person changed it) */
};

struct journal {
	struct jstep *steps;
	size_t n;
	int version;
	bool ended, ended_ok, undo_begun, undo_ended;
	struct timespec undo_time; /* when the last rollback finished */
};

/*
 * A host path no commit changes, nor takes away with a directory above it: the session's hidden
 * paths (the program never saw what they hold), airlock's own configuration and the store.
 */
struct guard {
	char *path;
	const char *what; /* "hidden", "config", "store" */
	bool always;	  /* no symlink above it, even when the host has nothing there */
};

struct guards {
	struct guard *v;
	size_t n, cap;
};

/*
 * A change the commit leaves out, and why ("skip": not named, "hidden": at or above a hidden
 * path, "protected": airlock's configuration or store, "unsupported").
 */
struct left {
	const struct change *c;
	const char *why;
};

/* A directory the commit leaves out although it would create it, and why. */
struct left_dir {
	const char *path;
	const char *why;
};

/* Shared by the parts; each is documented where it is defined. */
void apply_batch(struct applier *a, size_t from, size_t to);
void fix_dirs(struct applier *a);
void journal_results(struct applier *a);
void cm_ident_of(const struct stat *st, struct ident *id);
bool cm_ident_is(const struct stat *st, const struct ident *id);
char *cm_split(const char *path, const char **name);
int cm_host_parent(const char *path, const char **name);
int cm_upper_dir(int sfd, const char *sdir, const char *dir);
void devs_add(struct devs *d, int fd, dev_t dev);
int devs_sync(struct devs *d, bool keep);
void dir_cache_reset(struct dir_cache *dc);
int dir_cache_get(struct dir_cache *dc, const char *path, const char **name, int sfd,
		  const char *sdir);
int copy_entry(int sfd, const char *sname, int dfd, const char *dname, bool recursive, mode_t strip,
	       int depth);
int cm_copy_file(int sfd, const char *sname, const struct change *c, int dfd, const char *dname,
		 mode_t strip, struct ident *made);
int cm_remove_at(int dfd, const char *name, int depth);
bool cm_ts_after(const struct timespec *a, const struct timespec *b);
bool cm_ts_eq(const struct timespec *a, const struct timespec *b);
bool cm_newer(const struct stat *st, const struct timespec *start);
int cm_parse_start(const char *s, struct timespec *out);
bool cm_creates_dir(const struct change *c);
bool cm_is_addition(const struct change *c);
void check_step(struct step *st, const struct timespec *start, int sfd, const char *sdir,
		struct dir_cache *dc);
void cm_print_path(FILE *f, const char *path);
void cm_check_hunks(struct step *st, int sfd, const char *sdir);
int cm_write_partial(int dfd, const char *name, const struct step *st);
cJSON *cm_summary_event(const char *cls, const char *decision, size_t applied, size_t left);
/*
 * A session opened for a commit or an undo: locked, its meta.json read, and its event log
 * open for appending. Whatever is appended is sealed (seal.h) before meta.json is written.
 */
struct cm_session {
	struct session s;
	cJSON *meta;
	struct event_log log;
	unsigned long long sealed; /* log.seq when meta.json was last sealed */
	bool opened, log_open;
};
#define CM_SESSION_INIT                                                                            \
	{                                                                                          \
		.s = {.lock_fd = -1}, .log = {.fd = -1 }                                           \
	}

/* Lock session id for a change and read its meta.json. 0, or -1 after printing why. */
int cm_open(struct cm_session *x, const char *id);

/* Open its event log for appending, as the run did (syslog too). 0, or -1 after printing why. */
int cm_open_log(struct cm_session *x);

/* Seal meta.json over the events appended since the last seal, and write it. 0 or -1. */
int cm_seal(struct cm_session *x);

/* Seal what is left to seal, close the log, free meta and unlock (also after a failed open). */
void cm_close(struct cm_session *x);
void jw_add(struct jwriter *w, cJSON *o);
int jw_flush(struct jwriter *w, bool sync);
cJSON *cm_jline(const char *op, long step);
void cm_add_ts(cJSON *o, const char *key, const struct timespec *ts);
bool cm_get_ts(const cJSON *o, const char *key, struct timespec *ts);
void cm_add_ident(cJSON *o, const char *key, const struct ident *id);
bool cm_get_ident(const cJSON *o, const char *key, struct ident *id);
char *cm_temp_name(const char *id, size_t i, const char *suffix);
cJSON *commit_event(const char *cls, const char *kind, const char *path, const char *decision);
cJSON *cm_who_when(void);
void cm_set_item(cJSON *obj, const char *key, cJSON *v);
void journal_free(struct journal *j);
int journal_read(const char *path, struct journal *j);
int journal_read_undone(const char *path, struct timespec *when);
int cm_place(int fdir, const char *fname, int pfd, const char *name, const char *spare);
int rollback_journal(const struct session *s, struct event_log *log, struct journal *j,
		     bool checked);
int cm_rollback(const struct session *s, struct event_log *log, bool *had);

/*
 * Progress of a commit or an undo of many steps: "airlock: committing:  45% (2300/5101)" on
 * one line of stderr, rewritten at most ten times a second, only when stderr is a terminal
 * and only after a second (AIRLOCK_PROGRESS_DELAY milliseconds), as git does; progress_end()
 * ends the line, with ", done." when all was done, when one was shown.
 */
struct progress {
	const char *what; /* "committing", "undoing" */
	size_t total;
	bool on, shown;
	long long start, last; /* ms: the first and the latest update */
};
void progress_start(struct progress *p, const char *what, size_t total);
void progress_update(struct progress *p, size_t done);
void progress_end(struct progress *p, size_t done);

#endif
