/* SPDX-License-Identifier: MIT */
/* Applying a commit's steps in journalled batches, each entry with one rename. */
#include "supervisor/changeset/commit_int.h"

#include <pthread.h>

/* A batch with at least this many steps makes its new entries on two threads. */
#define TEMPS_THREAD_MIN 256

/* ---- applying --------------------------------------------------------------------------- */

static void fail(struct applier *a, size_t i, int rc, const char *what)
{
	if (a->failed != SIZE_MAX)
		return;
	a->failed = i;
	a->failed_rc = rc;
	a->what = what;
}

/*
 * Put the old entry, now at pfd/from, into commit/backup/N. A rename where the backup is on
 * the same filesystem (and the entry is ours to move); otherwise a copy, made durable before
 * the entry leaves the host directory. 0 or -errno.
 */
static int stash(struct applier *a, int pfd, const char *from, size_t i)
{
	char bname[32], part[40];
	int r;

	snprintf(bname, sizeof(bname), "%zu", i);
	if (renameat(pfd, from, a->bfd, bname) == 0)
		return 0;
	/* EXDEV: another filesystem or mount; EACCES/EPERM: a directory we may not re-parent. */
	if (errno != EXDEV && errno != EACCES && errno != EPERM)
		return -errno;
	snprintf(part, sizeof(part), "%zu.part", i);
	r = cm_remove_at(a->bfd, part, 0);
	if (r == 0)
		r = copy_entry(pfd, from, a->bfd, part, true, 0, 0);
	if (r == 0 && syncfs(a->bfd) < 0)
		r = -errno;
	if (r == 0 && renameat(a->bfd, part, a->bfd, bname) < 0)
		r = -errno;
	if (r == 0 && fsync(a->bfd) < 0)
		r = -errno;
	return r < 0 ? r : cm_remove_at(pfd, from, 0);
}

/*
 * One step's new entry under its temporary name, next to where it goes, through the host and
 * upper directories open in host and upper. 0, or -errno with *what saying which part failed.
 */
static int make_temp(struct applier *a, size_t i, struct dir_cache *host, struct dir_cache *upper,
		     const char **what)
{
	struct step *st = &a->steps[i];
	cleanup_free char *tmp = NULL;
	const char *name, *uname;
	bool file = !st->partial && S_ISREG(st->c->mode);
	int pfd, ufd, r, tries;

	*what = "cannot open its directory";
	if ((pfd = dir_cache_get(host, st->c->path, &name, -1, NULL)) < 0)
		return pfd;
	*what = "cannot open it in the session";
	if ((ufd = dir_cache_get(upper, st->c->upper, &uname, a->sfd, a->s->dir)) < 0)
		return ufd;
	tmp = cm_temp_name(a->s->id, i, "");
	/* A stale one from an earlier attempt that was killed is ours: removed, then again. */
	for (tries = 0, r = -EEXIST; tries < 2 && r == -EEXIST; tries++) {
		if (tries > 0 && (r = cm_remove_at(pfd, tmp, 0)) < 0)
			break;
		/* A file decided hunk by hunk: the host's with the approved hunks (hunks.h). */
		r = st->partial ? cm_write_partial(pfd, tmp, st)
		    : file	? cm_copy_file(ufd, uname, st->c, pfd, tmp, st->strip, &st->new_id)
				: copy_entry(ufd, uname, pfd, tmp, false, st->strip, 0);
	}
	if (r == 0 && !file) {
		struct stat ts;

		if (fstatat(pfd, tmp, &ts, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		else
			cm_ident_of(&ts, &st->new_id);
	}
	*what = r == -ESTALE ? "it changed in the session after its changes were read"
			     : "cannot write it";
	if (r == 0)
		st->has_new = true;
	return r;
}

/* Steps [from, to) of a batch whose new entries one thread makes, and where it stopped. */
struct temps_part {
	struct applier *a;
	size_t from, to;
	struct dir_cache *host, *upper;
	size_t pace;   /* steps done per step of this part, for the progress (0: not reported) */
	size_t failed; /* the step that failed, or SIZE_MAX */
	int rc;
	const char *what;
};

static void make_temps_part(struct temps_part *p)
{
	size_t i;

	for (i = p->from; i < p->to; i++) {
		const struct step *st = &p->a->steps[i];

		/* Copying the new content is most of a commit's time. */
		if (p->pace)
			progress_update(p->a->progress, p->from + (i - p->from) * p->pace);
		if (st->op != OP_ADD && st->op != OP_REPLACE)
			continue;
		p->rc = make_temp(p->a, i, p->host, p->upper, &p->what);
		if (p->rc < 0) {
			p->failed = i;
			return;
		}
	}
}

static void *temps_job(void *arg)
{
	make_temps_part(arg);
	return NULL;
}

/*
 * Phase 1: make each new entry under its temporary name. Creating an inode is most of the
 * time (ext4 allocates it under a lock per group, and without a journal first skips every
 * inode freed in the last minutes, one by one), so with many steps the second half is made on
 * a thread of its own: the steps of a batch never depend on each other (no step creates a
 * directory another one of the batch goes in), and a failure is the earliest step's.
 */
static void make_temps(struct applier *a, size_t from, size_t to)
{
	struct devs devs = {.n = 0};
	struct dir_cache host = {.fd = -1, .devs = &devs}, upper = {.fd = -1};
	size_t mid = to - from >= TEMPS_THREAD_MIN ? from + (to - from) / 2 : to, k;
	struct temps_part p[2] = {
		{a, from, mid, &a->host, &a->upper, mid < to ? 2 : 1, SIZE_MAX, 0, NULL},
		{a, mid, to, &host, &upper, 0, SIZE_MAX, 0, NULL},
	};
	pthread_t t;
	bool threaded = mid < to && pthread_create(&t, NULL, temps_job, &p[1]) == 0;

	make_temps_part(&p[0]);
	if (threaded)
		pthread_join(t, NULL);
	else if (mid < to && p[0].failed == SIZE_MAX)
		make_temps_part(&p[1]);
	dir_cache_reset(&host);
	dir_cache_reset(&upper);
	/* The thread's host filesystems are synced with the batch's. */
	for (k = 0; k < devs.n; k++) {
		devs_add(&a->devs, devs.fd[k], devs.v[k]);
		close(devs.fd[k]);
	}
	a->devs.overflow |= devs.overflow;
	for (k = 0; k < 2; k++)
		if (p[k].failed != SIZE_MAX) {
			fail(a, p[k].failed, p[k].rc, p[k].what);
			break;
		}
}

/* Phase 2: journal each step of the batch with the entries it will move, before any moves. */
static void journal_starts(struct applier *a, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to && a->failed == SIZE_MAX; i++) {
		struct step *st = &a->steps[i];
		cJSON *o = cm_jline("start", (long)i);
		cJSON *ev =
			commit_event("commit", change_kind_name(st->c->kind), st->c->path, "apply");
		/*
		 * The entry the conflict check looked at is the only one the step may move: the
		 * move itself checks that it is still there.
		 */
		if (st->op == OP_REPLACE || st->op == OP_DELETE) {
			st->has_old = true;
			st->old_id = st->host_id;
			cm_add_ident(o, "old", &st->old_id);
		}
		if (st->has_new)
			cm_add_ident(o, "new", &st->new_id);
		if (st->conflict) {
			cJSON_AddTrueToObject(ev, "forced");
			cJSON_AddStringToObject(ev, "conflict", st->conflict);
		}
		if (st->hunks)
			cJSON_AddStringToObject(ev, "hunks", st->hunks);
		if (st->strip) {
			char bits[16];

			snprintf(bits, sizeof(bits), "%04o", (unsigned)st->strip);
			cJSON_AddStringToObject(ev, "stripped", bits);
		}
		jw_add(&a->jw, o);
		if (events_append(a->log, ev) < 0) {
			fail(a, i, -EIO, "cannot record it in the event log");
			break;
		}
	}
}

/* Phase 3: one step's host change. 0 or -errno (a.what says which part failed). */
static int apply_one(struct applier *a, size_t i)
{
	struct step *st = &a->steps[i];
	const struct change *c = st->c;
	cleanup_free char *tmp = cm_temp_name(a->s->id, i, "");
	cleanup_free char *old = cm_temp_name(a->s->id, i, ".old");
	const char *name;
	struct stat hs;
	int pfd = dir_cache_get(&a->host, c->path, &name, -1, NULL);

	if (pfd < 0)
		return pfd;
	if (st->op == OP_CHMOD) {
		if (fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISLNK(hs.st_mode))
			return -ELOOP;
		/* A directory's mode waits for the end: its new content goes in first. */
		if (S_ISDIR(hs.st_mode))
			return 0;
		return fchmodat(pfd, name, c->mode & 07777 & ~st->strip, AT_SYMLINK_NOFOLLOW) < 0
			       ? -errno
			       : 0;
	}
	if (st->op == OP_ADD) {
		if (renameat2(pfd, tmp, pfd, name, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EINVAL)
			return -errno;
		/* No RENAME_NOREPLACE here: look, then rename (an addition race stays possible). */
		if (fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) == 0)
			return -EEXIST;
		return renameat(pfd, tmp, pfd, name) < 0 ? -errno : 0;
	}
	/* replace and delete move the entry journalled as "old", and only that one. */
	if (fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!cm_ident_is(&hs, &st->old_id))
		return -ESTALE;
	if (st->op == OP_DELETE) {
		char bname[32];

		snprintf(bname, sizeof(bname), "%zu", i);
		if (renameat(pfd, name, a->bfd, bname) == 0)
			return 0;
		if (renameat(pfd, name, pfd, old) < 0)
			return -errno;
		return stash(a, pfd, old, i);
	}
	/* One atomic swap: nobody sees the path missing; the old entry lands on the temp name. */
	if (renameat2(pfd, tmp, pfd, name, RENAME_EXCHANGE) == 0)
		return stash(a, pfd, tmp, i);
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -errno;
	/* A filesystem without RENAME_EXCHANGE: move the old entry aside, then put ours in. */
	if (renameat(pfd, name, pfd, old) < 0)
		return -errno;
	if (renameat2(pfd, tmp, pfd, name, RENAME_NOREPLACE) < 0)
		return -errno;
	return stash(a, pfd, old, i);
}

/*
 * Apply steps [from, to): their temporary entries, synced; the journal's start lines, synced;
 * the moves; the done lines. A crash anywhere leaves a journal from which rollback finds every
 * entry by its inode.
 */
void apply_batch(struct applier *a, size_t from, size_t to)
{
	cJSON *b = cm_jline("batch", -1);
	size_t i;
	int r;

	cJSON_AddNumberToObject(b, "from", (double)from);
	cJSON_AddNumberToObject(b, "to", (double)to);
	jw_add(&a->jw, b);
	if ((r = jw_flush(&a->jw, false)) < 0) {
		fail(a, from, r, "cannot write the journal");
		return;
	}
	make_temps(a, from, to);
	if (a->failed == SIZE_MAX && (r = devs_sync(&a->devs, true)) < 0)
		fail(a, from, r, "cannot sync the new files");
	journal_starts(a, from, to);
	/* Every start line, even of a failed batch: rollback needs what was made. */
	if ((r = jw_flush(&a->jw, true)) < 0)
		fail(a, from, r, "cannot write the journal");
	for (i = from; i < to && a->failed == SIZE_MAX; i++) {
		r = apply_one(a, i);
		if (r < 0) {
			fail(a, i, r,
			     r == -EEXIST   ? "something appeared at this path during the commit"
			     : r == -ESTALE ? "it changed on the host during the commit"
					    : "cannot put it in place");
			break;
		}
	}
	if (a->failed != SIZE_MAX)
		return;
	/*
	 * Not synced: rollback finds each entry by its inode whether or not a done line or a
	 * rename survived a power cut; the end of the commit syncs everything before "end".
	 */
	for (i = from; i < to; i++)
		jw_add(&a->jw, cm_jline("done", (long)i));
	if ((r = jw_flush(&a->jw, false)) < 0)
		fail(a, to - 1, r, "cannot write the journal");
}

/* Give each directory the commit made, and each chmod of one, its mode and mtime, last. */
void fix_dirs(struct applier *a)
{
	size_t i = a->n;

	while (i-- > 0) {
		const struct step *st = &a->steps[i];
		const struct change *c = st->c;
		const char *name, *uname;
		cleanup_fd int pfd = -1, ufd = -1, dfd = -1;
		struct stat us;
		struct timespec ts[2];

		if (!S_ISDIR(c->mode) || st->op == OP_DELETE)
			continue;
		pfd = cm_host_parent(c->path, &name);
		if (pfd < 0)
			continue;
		devs_add(&a->devs, pfd, 0);
		dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		if (st->op == OP_CHMOD) {
			if (fchmod(dfd, c->mode & 07777 & ~st->strip) < 0)
				warn("cannot set the mode of %s: %s", c->path, strerror(errno));
			continue;
		}
		{
			cleanup_free char *udir = cm_split(c->upper, &uname);

			ufd = cm_upper_dir(a->sfd, a->s->dir, udir);
		}
		if (ufd < 0 || fstatat(ufd, uname, &us, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		ts[0] = us.st_atim;
		ts[1] = us.st_mtim;
		if (fchmod(dfd, c->mode & 07777 & ~st->strip) < 0 || futimens(dfd, ts) < 0)
			warn("cannot set the mode and time of %s: %s", c->path, strerror(errno));
	}
}

/* The result lines: what each path holds now, for undo to tell later host changes apart. */
void journal_results(struct applier *a)
{
	size_t i;

	dir_cache_reset(&a->host);
	for (i = 0; i < a->n; i++) {
		const struct step *st = &a->steps[i];
		cJSON *o = cm_jline("result", (long)i);
		const char *name;
		struct stat hs;
		int pfd = dir_cache_get(&a->host, st->c->path, &name, -1, NULL);
		const char *type = "-";

		if (pfd >= 0 && fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) == 0) {
			struct ident id;
			char mode[8];

			cm_ident_of(&hs, &id);
			type = report_type_name(hs.st_mode);
			cm_add_ident(o, "id", &id);
			snprintf(mode, sizeof(mode), "%o", (unsigned)(hs.st_mode & 07777));
			cJSON_AddStringToObject(o, "mode", mode);
			cJSON_AddNumberToObject(o, "size", (double)hs.st_size);
			cm_add_ts(o, "mtime", &hs.st_mtim);
			cm_add_ts(o, "ctime", &hs.st_ctim);
		}
		cJSON_AddStringToObject(o, "type", type);
		if (st->has_pmtime && pfd >= 0)
			cm_add_ts(o, "pmtime", &a->host.st.st_mtim);
		jw_add(&a->jw, o);
		if (a->jw.b.len > (1u << 20))
			jw_flush(&a->jw, false);
	}
}
