/* SPDX-License-Identifier: MIT */
/* Reading the journal: rolling an interrupted commit back or forward, and `airlock undo`. */
#include "common/json.h"
#include "supervisor/changeset/commit_int.h"

/* ---- reading the journal, undo ---------------------------------------------------------- */

void journal_free(struct journal *j)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		free(j->steps[i].path);
		free(j->steps[i].kind);
	}
	free(j->steps);
	memset(j, 0, sizeof(*j));
}

static enum step_op op_of(const char *s)
{
	size_t i;

	for (i = 0; s && i < ARRAY_SIZE(op_names); i++)
		if (strcmp(s, op_names[i]) == 0)
			return (enum step_op)i;
	return OP_REPLACE;
}

static void read_result(const cJSON *o, struct result *r)
{
	const char *t = meta_str(o, "type");
	const char *mode = meta_str(o, "mode");

	memset(r, 0, sizeof(*r));
	snprintf(r->type, sizeof(r->type), "%s", t ? t : "-");
	cm_get_ident(o, "id", &r->id);
	r->mode = mode ? (mode_t)strtoul(mode, NULL, 8) : 0;
	r->size = (long long)meta_num(o, "size", 0);
	cm_get_ts(o, "mtime", &r->mtime);
	cm_get_ts(o, "ctime", &r->ctime);
	r->has_pmtime = cm_get_ts(o, "pmtime", &r->pmtime);
}

/* Read commit/journal.jsonl. 0, -ENOENT when there is none, or -errno. */
int journal_read(const char *path, struct journal *j)
{
	cleanup_free char *text = NULL;
	char *line, *save = NULL;
	size_t len, cap = 0;

	memset(j, 0, sizeof(*j));
	text = read_file(path, JOURNAL_MAX, &len);
	if (!text)
		return errno == ENOENT ? -ENOENT : -errno;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);
		const char *op = meta_str(o, "op");
		double step = meta_num(o, "step", -1);
		struct jstep *js =
			step >= 0 && step < (double)j->n ? &j->steps[(size_t)step] : NULL;

		if (!op) {
			cJSON_Delete(o);
			continue; /* a line cut short by a crash */
		}
		if (strcmp(op, "begin") == 0) {
			j->version = (int)meta_num(o, "version", 1);
		} else if (strcmp(op, "plan") == 0 && step == (double)j->n && meta_str(o, "path")) {
			GROW(j->steps, cap, j->n + 1);
			js = &j->steps[j->n++];
			memset(js, 0, sizeof(*js));
			js->path = xstrdup(meta_str(o, "path"));
			js->kind = xstrdup(meta_str(o, "kind") ?: "?");
			js->op = op_of(meta_str(o, "do"));
			js->old_mode = (mode_t)meta_num(o, "old_mode", 0);
			js->covered = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "covered"));
			js->has_pmtime = cm_get_ts(o, "pmtime", &js->pmtime);
		} else if (strcmp(op, "batch") == 0) {
			double from = meta_num(o, "from", 0), to = meta_num(o, "to", 0);
			size_t k;

			for (k = (size_t)from; k < (size_t)to && k < j->n; k++)
				j->steps[k].batched = true;
		} else if (js && strcmp(op, "start") == 0) {
			js->started = true;
			js->has_new = cm_get_ident(o, "new", &js->new_id);
			js->has_old = cm_get_ident(o, "old", &js->old_id);
		} else if (js && strcmp(op, "done") == 0) {
			js->done = true;
		} else if (js && strcmp(op, "result") == 0) {
			js->has_result = true;
			read_result(o, &js->res);
		} else if (js && strcmp(op, "undone") == 0) {
			js->undone = true;
		} else if (js && strcmp(op, "pm-skip") == 0) {
			js->pm_skip = true;
		} else if (strcmp(op, "undo-begin") == 0) {
			j->undo_begun = true;
		} else if (strcmp(op, "end") == 0) {
			j->ended = true;
			j->ended_ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));
		} else if (strcmp(op, "undo-end") == 0) {
			j->undo_ended = true;
			j->undo_time.tv_sec = (time_t)meta_num(o, "sec", 0);
			j->undo_time.tv_nsec = (long)meta_num(o, "nsec", 0);
		}
		cJSON_Delete(o);
	}
	return 0;
}

/*
 * Whether the journal at path ends with "undo-end", the last line a rollback or an undo writes:
 * 1 with its time in *when, 0 when it ends otherwise (or with a line cut short: read it all
 * with journal_read()), or -errno (-ENOENT: there is none). Only the file's last block is read:
 * a commit after an undo would otherwise parse every line of the journal it is about to
 * remove, and journal_read() of such a journal gives the same (undo_ended, and undo_time from
 * its last "undo-end").
 */
int journal_read_undone(const char *path, struct timespec *when)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	cleanup_free char *line = NULL;
	struct stat st;
	size_t len;
	off_t end;
	cJSON *o;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* The last line whole, and nothing after it: a short one ("undo-end" is). */
	line = read_last_line(fd, st.st_size, 510, &len, &end);
	if (!line)
		return errno ? -errno : 0;
	if (end != st.st_size)
		return 0;
	o = cJSON_ParseWithLength(line, len);
	if (strcmp(meta_str(o, "op") ?: "", "undo-end") == 0) {
		when->tv_sec = (time_t)meta_num(o, "sec", 0);
		when->tv_nsec = (long)meta_num(o, "nsec", 0);
		r = 1;
	}
	cJSON_Delete(o);
	return r;
}

/*
 * Put the entry at fdir/fname at pfd/name. What is at name (ours, or with --force anything)
 * is swapped out and removed; from another filesystem the entry is copied in first.
 * 0 or -errno.
 */
int cm_place(int fdir, const char *fname, int pfd, const char *name, const char *spare)
{
	struct stat st;
	int r;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
		if (renameat(fdir, fname, pfd, name) == 0)
			return 0;
	} else {
		if (renameat2(fdir, fname, pfd, name, RENAME_EXCHANGE) == 0)
			return cm_remove_at(fdir, fname, 0);
		if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
			r = cm_remove_at(pfd, name, 0);
			if (r < 0)
				return r;
			if (renameat(fdir, fname, pfd, name) == 0)
				return 0;
		}
	}
	if (errno != EXDEV && errno != EACCES && errno != EPERM)
		return -errno;
	/* The backup lives on another filesystem: copy it next to its place, then swap it in. */
	r = cm_remove_at(pfd, spare, 0);
	if (r == 0)
		r = copy_entry(fdir, fname, pfd, spare, true, 0, 0);
	if (r == 0 && syncfs(pfd) < 0)
		r = -errno;
	if (r == 0)
		r = cm_place(pfd, spare, pfd, name, spare);
	return r;
}

/* Remove pfd/name when it is the entry id. 0 or -errno. */
static int remove_if(int pfd, const char *name, const struct ident *id)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return cm_ident_is(&st, id) ? cm_remove_at(pfd, name, 0) : 0;
}

/*
 * Put one step back: find the host's old entry (where it was, on a temporary name, or in the
 * backup) and move it to the path; remove the entry the step made. 0 or -errno.
 */
static int undo_step(const struct session *s, int bfd, const struct jstep *js, size_t i,
		     struct devs *devs)
{
	const char *name;
	cleanup_fd int pfd = cm_host_parent(js->path, &name);
	cleanup_free char *tmp = cm_temp_name(s->id, i, "");
	cleanup_free char *old = cm_temp_name(s->id, i, ".old");
	cleanup_free char *spare = cm_temp_name(s->id, i, ".undo");
	char bname[32];
	struct stat st;
	int r = 0;

	snprintf(bname, sizeof(bname), "%zu", i);
	if (pfd >= 0)
		devs_add(devs, pfd, 0);
	if (pfd < 0)
		/* The directory is gone: nothing the step made is left, nothing to restore. */
		return pfd == -ENOENT && (js->op == OP_ADD || js->op == OP_CHMOD) ? 0 : pfd;
	if (js->op == OP_CHMOD) {
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0 : -errno;
		if (S_ISLNK(st.st_mode))
			return 0;
		return fchmodat(pfd, name, js->old_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
											  : 0;
	}
	/* A directory the commit made may have been given a mode without u+w: it is ours. */
	if (js->covered && fstat(pfd, &st) == 0 && (st.st_mode & 0300) != 0300)
		fchmod(pfd, (st.st_mode & 07777) | 0300);
	{
		bool at_path = false;

		if (js->has_old && fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			at_path = cm_ident_is(&st, &js->old_id);
		if (js->has_old && !at_path) {
			struct stat ts;

			if (fstatat(pfd, tmp, &ts, AT_SYMLINK_NOFOLLOW) == 0 &&
			    cm_ident_is(&ts, &js->old_id))
				r = cm_place(pfd, tmp, pfd, name, spare);
			else if (fstatat(pfd, old, &ts, AT_SYMLINK_NOFOLLOW) == 0 &&
				 cm_ident_is(&ts, &js->old_id))
				r = cm_place(pfd, old, pfd, name, spare);
			else if (fstatat(bfd, bname, &ts, AT_SYMLINK_NOFOLLOW) == 0)
				r = cm_place(bfd, bname, pfd, name, spare);
			else if (js->done)
				r = -ENOENT; /* the backup is gone */
			/* else: never moved; the path holds the host's own entry or ours */
			if (r < 0)
				return r;
		}
		if (js->has_new && r == 0)
			r = remove_if(pfd, name, &js->new_id);
		/* Our temporary names hold only what the step made or moved: never the person's. */
		if (r == 0)
			r = cm_remove_at(pfd, tmp, 0);
		if (r == 0)
			r = cm_remove_at(pfd, old, 0);
		if (r == 0)
			r = cm_remove_at(pfd, spare, 0);
		return r;
	}
}

static int cmp_jstep_path(const void *key, const void *elem)
{
	return strcmp(key, ((const struct jstep *)elem)->path);
}

/*
 * Why undoing step js would lose a change made on the host after the commit (caller frees), or
 * NULL. *unsafe when even --force must not go on (a symlink on the way). pm_now is set to the
 * parent's mtime now.
 */
static char *undo_conflict(const struct session *s, const struct journal *j, struct jstep *js,
			   bool *unsafe)
{
	const struct result *res = &js->res;
	const char *name;
	cleanup_fd int pfd = cm_host_parent(js->path, &name);
	cleanup_free char *prefix = xasprintf(".airlock-commit-%s-", s->id);
	struct stat st, ps;

	*unsafe = false;
	if (pfd < 0) {
		if (pfd == -ENOENT && (js->op == OP_ADD || js->op == OP_CHMOD))
			return NULL;
		*unsafe = true;
		if (pfd == -ELOOP || pfd == -ENOTDIR || pfd == -EXDEV)
			return xstrdup(
				"a directory on the way to it is no longer a directory on the "
				"host (a symlink?)");
		return xasprintf("cannot open its directory: %s", strerror(-pfd));
	}
	if (js->has_pmtime && res->has_pmtime && fstat(pfd, &ps) == 0)
		js->restore_pmtime = cm_ts_eq(&ps.st_mtim, &res->pmtime);
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return xasprintf("cannot look at it: %s", strerror(errno));
		return NULL; /* removed since: undo loses nothing there */
	}
	/* Already put back by an undo that was interrupted before it said so. */
	if ((js->has_old && cm_ident_is(&st, &js->old_id)) ||
	    (js->op == OP_CHMOD && (st.st_mode & 07777) == (js->old_mode & 07777)))
		return NULL;
	if (strcmp(res->type, "-") == 0)
		return xstrdup("something was created at this path after the commit");
	if (strcmp(report_type_name(st.st_mode), res->type) != 0 || !cm_ident_is(&st, &res->id))
		return xstrdup("it was replaced on the host after the commit");
	if ((st.st_mode & 07777) != res->mode)
		return xstrdup("its mode changed on the host after the commit");
	if (js->op == OP_CHMOD)
		return NULL;
	if (!S_ISDIR(st.st_mode)) {
		if (st.st_size != res->size || !cm_ts_eq(&st.st_mtim, &res->mtime) ||
		    !cm_ts_eq(&st.st_ctim, &res->ctime))
			return xstrdup("it changed on the host after the commit");
		return NULL;
	}
	/* A directory the commit made goes whole: everything in it must be the commit's. */
	{
		cleanup_fd int dfd =
			openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_strvec struct strvec names = STRVEC_INIT;
		char *why = NULL;
		size_t k;

		if (dfd < 0 || dir_list(dfd, &names) < 0)
			return xasprintf("cannot read it: %s", strerror(errno));
		for (k = 0; k < names.n && !why; k++) {
			cleanup_free char *child = path_join(js->path, names.v[k]);
			const struct jstep *cj;

			if (strncmp(names.v[k], prefix, strlen(prefix)) == 0)
				continue;
			cj = bsearch(child, j->steps, j->n, sizeof(*j->steps), cmp_jstep_path);
			if (!cj || !cj->done || cj->undone) {
				cleanup_free char *shown = term_sanitize(names.v[k]);

				why = xasprintf("%s was added in it after the commit", shown);
			}
		}
		return why;
	}
}

/* Put back the mtime each parent directory had before the commit. */
static void restore_pmtimes(const struct journal *j, bool checked)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		struct jstep *js = &j->steps[i];
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, js->pmtime};
		cleanup_free char *dir = NULL;
		cleanup_fd int fd = -1;
		const char *name;

		/* A batch's temporary entries alone changed the directory's mtime. */
		if ((!js->started && !js->batched) || !js->has_pmtime || js->covered ||
		    (checked && !js->restore_pmtime))
			continue;
		/* Consecutive steps share directories: set each once. */
		if (i + 1 < j->n && (j->steps[i + 1].started || j->steps[i + 1].batched) &&
		    j->steps[i + 1].has_pmtime) {
			cleanup_free char *next = cm_split(j->steps[i + 1].path, &name);

			dir = cm_split(js->path, &name);
			if (strcmp(dir, next) == 0 &&
			    cm_ts_eq(&js->pmtime, &j->steps[i + 1].pmtime) &&
			    (!checked || j->steps[i + 1].restore_pmtime))
				continue;
		}
		fd = cm_host_parent(js->path, &name);
		if (fd >= 0)
			futimens(fd, ts);
	}
}

/*
 * Which directory mtimes go back was decided before the first step (later ones see our
 * own changes): journal it, so an undo that is interrupted keeps the decision; an undo
 * that goes on after one takes the journalled decision. Returns checked as it now is.
 */
static bool journal_pmtime_decision(struct jwriter *jw, struct journal *j, bool checked)
{
	size_t i;

	if (checked) {
		jw_add(jw, cm_jline("undo-begin", -1));
		for (i = 0; i < j->n; i++)
			if (j->steps[i].has_pmtime && !j->steps[i].restore_pmtime)
				jw_add(jw, cm_jline("pm-skip", (long)i));
	} else if (j->undo_begun) {
		checked = true;
		for (i = 0; i < j->n; i++)
			j->steps[i].restore_pmtime = !j->steps[i].pm_skip;
	}
	return checked;
}

/*
 * Undo each step the journal shows started, marking each "undone" as it goes. Mode changes
 * first: a host directory the commit made read-only must have its old mode back before what
 * the commit put in it can go. Then the rest, newest step first. 0, or -1 after saying
 * where it stopped.
 */
static int undo_steps(const struct session *s, struct event_log *log, struct journal *j, int bfd,
		      struct jwriter *jw, struct devs *devs, const char *jpath)
{
	struct progress progress = {.on = false};
	size_t i, k, seen = 0;
	int r, rc = 0;

	progress_start(&progress, "undoing", j->n);
	for (k = 0; k < 2 * j->n; k++) {
		struct jstep *js;

		i = k < j->n ? j->n - 1 - k : 2 * j->n - 1 - k;
		js = &j->steps[i];

		if ((js->op == OP_CHMOD) != (k < j->n))
			continue;
		/* Each step comes up in one of the two passes. */
		progress_update(&progress, seen++);
		if (js->undone || (!js->started && !js->batched))
			continue;
		if (log && js->started)
			events_append(log, commit_event("undo", js->kind, js->path, "apply"));
		r = undo_step(s, bfd, js, i, devs);
		if (r < 0) {
			cleanup_free char *shown = term_sanitize(js->path);

			rc = error_rc(r,
				      "undo stopped at step %zu (%s %s); fix it and run 'airlock "
				      "undo' again",
				      i + 1, js->kind, shown);
			break;
		}
		/* Written at once (not synced): a second undo after a kill skips what is done. */
		if (js->started)
			jw_add(jw, cm_jline("undone", (long)i));
		if (jw_flush(jw, false) < 0) {
			rc = error_errno("cannot write %s", jpath);
			break;
		}
	}
	progress_end(&progress, seen);
	return rc;
}

/* Every step undone: the parents' mtimes back, the host synced, "undo-end" queued. */
static int finish_undo(const struct journal *j, bool checked, struct jwriter *jw, struct devs *devs,
		       int bfd)
{
	cJSON *o = cm_jline("undo-end", -1);
	struct timespec now;
	int rc = 0;

	restore_pmtimes(j, checked);
	/* The new baseline for conflicts: what undo restored is newer than the session. */
	clock_gettime(CLOCK_REALTIME, &now);
	cJSON_AddNumberToObject(o, "sec", (double)now.tv_sec);
	cJSON_AddNumberToObject(o, "nsec", (double)now.tv_nsec);
	if (devs_sync(devs, false) < 0 || syncfs(bfd) < 0)
		rc = error_errno("cannot sync the host");
	jw_add(jw, o);
	return rc;
}

/*
 * Roll back the journal j of an open session: every step it shows started, newest first, then
 * the parents' mtimes. checked: undo_conflict() ran and said which mtimes to put back.
 * Prints what failed; returns 0 or -1.
 */
int rollback_journal(const struct session *s, struct event_log *log, struct journal *j,
		     bool checked)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	cleanup_free char *bpath = session_path(s, "commit/backup");
	struct jwriter jw = {.fd = -1, .b = BUF_INIT};
	struct devs devs = {.n = 0};
	cleanup_fd int bfd = -1;
	int rc = 0;

	if (j->version != JOURNAL_VERSION && j->n > 0)
		return error("%s is in another format (version %d); undo it with the airlock that "
			     "made it",
			     jpath, j->version);
	buf_init(&jw.b);
	jw.fd = open(jpath, O_WRONLY | O_APPEND | O_CLOEXEC);
	bfd = open(bpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (jw.fd < 0 || bfd < 0) {
		rc = error_errno("cannot open %s", jw.fd < 0 ? jpath : bpath);
		goto out;
	}
	checked = journal_pmtime_decision(&jw, j, checked);
	if (jw_flush(&jw, true) < 0) {
		rc = error_errno("cannot write %s", jpath);
		goto out;
	}
	rc = undo_steps(s, log, j, bfd, &jw, &devs, jpath);
	if (rc == 0)
		rc = finish_undo(j, checked, &jw, &devs, bfd);
	/* What was undone stays undone: write the marks even after a failure. */
	if (jw_flush(&jw, true) < 0)
		rc = error_errno("cannot write %s", jpath);
out:
	devs_sync(&devs, false);
	if (jw.fd >= 0)
		close(jw.fd);
	buf_release(&jw.b);
	return rc;
}

int cm_rollback(const struct session *s, struct event_log *log, bool *had)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	struct journal j;
	int r;

	*had = false;
	r = journal_read(jpath, &j);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return error_rc(r, "cannot read %s", jpath);
	if (!j.undo_ended) {
		*had = true;
		r = rollback_journal(s, log, &j, false);
	}
	journal_free(&j);
	return r;
}

int commit_rollback(const struct session *s, bool *had_journal)
{
	return cm_rollback(s, NULL, had_journal);
}

int commit_baseline(const struct session *s, const cJSON *meta, struct timespec *start)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	struct journal j;

	if (cm_parse_start(meta_str(meta, "start"), start) < 0)
		return -EINVAL;
	if (journal_read(jpath, &j) < 0)
		return 0;
	/* What an undo restored is newer than the session: the undo is the baseline then. */
	if (j.undo_ended && cm_ts_after(&j.undo_time, start))
		*start = j.undo_time;
	journal_free(&j);
	return 0;
}

/*
 * Look at every path a finished commit changed for what the host did to it since, and list
 * each conflict (*nconf of them). 0 when the undo may go on (none, or forced), or -1 after
 * saying why nothing is undone.
 */
static int undo_check(struct cm_session *x, struct journal *j, bool force, size_t *nconf)
{
	size_t i, nunsafe = 0;

	for (i = 0; i < j->n; i++) {
		struct jstep *js = &j->steps[i];
		cleanup_free char *why = NULL;
		bool unsafe;

		if (!js->done || js->undone || !js->has_result)
			continue;
		why = undo_conflict(&x->s, j, js, &unsafe);
		if (!why)
			continue;
		if ((*nconf)++ == 0)
			fprintf(stderr,
				"airlock: changed on the host since the commit of session %s:\n",
				x->s.id);
		fputs("  ", stderr);
		cm_print_path(stderr, js->path);
		fprintf(stderr, ": %s%s\n", why, unsafe ? " (--force cannot override this)" : "");
		nunsafe += unsafe;
		events_append(&x->log, commit_event("undo", js->kind, js->path, "conflict"));
	}
	if (*nconf == 0 || (force && nunsafe == 0))
		return 0;
	fprintf(stderr, "airlock: nothing undone%s\n",
		nunsafe ? "" : "; --force undoes anyway, and those changes are lost");
	cm_seal(x);
	return -1;
}

int cmd_undo(int argc, char **argv)
{
	static const struct session_args_spec spec = {
		.usage = "airlock undo [ID] [--force]",
		.help = "Put the host back exactly as it was before the session's commit.\n"
			"A path changed on the host after the commit is refused (nothing is "
			"undone)\nunless --force, which undoes it anyway and loses that change.\n",
		.accept = ARG_FORCE,
	};
	struct session_args a;
	struct cm_session x = CM_SESSION_INIT;
	struct journal j = {0};
	cleanup_free char *jpath = NULL;
	cJSON *rec;
	size_t i, nconf = 0, nundo = 0;
	bool checked = false;
	int rc = parse_session_args(argc, argv, &spec, &a), r;

	if (rc >= 0)
		goto out;
	rc = EXIT_REFUSED;
	if (cm_open(&x, a.id) < 0 || cm_open_log(&x) < 0)
		goto out;
	jpath = session_path(&x.s, "commit/journal.jsonl");
	r = journal_read(jpath, &j);
	if (r < 0 && r != -ENOENT) {
		error_rc(r, "cannot read %s", jpath);
		goto out;
	}
	if (r == -ENOENT || j.undo_ended) {
		error("session %s has no commit to undo", x.s.id);
		goto out;
	}
	/*
	 * A finished commit may be old: the person may have changed its paths since. Look at all
	 * of them before touching any, and refuse to lose a change silently.
	 */
	if (j.ended_ok && !j.undo_begun) {
		checked = true;
		if (undo_check(&x, &j, a.force, &nconf) < 0)
			goto out;
	}
	for (i = 0; i < j.n; i++)
		nundo += j.steps[i].started && !j.steps[i].undone;
	if (rollback_journal(&x.s, &x.log, &j, checked) < 0) {
		cm_set_item(x.meta, "state", cJSON_CreateString("partially committed"));
		events_append(&x.log, cm_summary_event("undo", "failed", 0, 0));
		cm_seal(&x);
		goto out;
	}
	rec = cm_who_when();
	cJSON_AddNumberToObject(rec, "undone", (double)nundo);
	cJSON_AddNumberToObject(rec, "forced", (double)nconf);
	cm_set_item(x.meta, "undo", rec);
	cm_set_item(x.meta, "state", cJSON_CreateString("undone"));
	events_append(&x.log, cm_summary_event("undo", "undone", nundo, 0));
	if (cm_seal(&x) < 0)
		goto out;
	printf("undid the commit of session %s%s\n", x.s.id,
	       nconf ? " (later host changes overwritten)" : "");
	rc = 0;
out:
	cm_close(&x);
	journal_free(&j);
	session_args_free(&a);
	return rc;
}
