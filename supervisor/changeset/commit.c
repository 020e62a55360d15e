/* SPDX-License-Identifier: MIT */
/* `airlock commit`: what it selects, the guards, the steps, and the run of it. */
#include "common/json.h"
#include "supervisor/changeset/commit_int.h"

/* ---- the commands ----------------------------------------------------------------------- */

void cm_print_path(FILE *f, const char *path)
{
	cleanup_free char *shown = term_sanitize(path);

	fputs(shown, f);
}

/* The closing event of a commit or undo, with its counts. */
cJSON *cm_summary_event(const char *cls, const char *decision, size_t applied, size_t left)
{
	struct passwd *pw = getpwuid(getuid());
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "class", cls);
	cJSON_AddStringToObject(ev, "op", "end");
	cJSON_AddStringToObject(ev, "decision", decision);
	cJSON_AddStringToObject(ev, "by", "person");
	cJSON_AddStringToObject(ev, "user", pw ? pw->pw_name : "?");
	cJSON_AddNumberToObject(ev, "applied", (double)applied);
	cJSON_AddNumberToObject(ev, "left", (double)left);
	return ev;
}

/* meta.json's record of a finished commit the journal shows but meta lacks (a crash between). */
static void repair_record(cJSON *meta, struct event_log *log, const struct journal *j)
{
	cJSON *rec = cm_who_when(), *ev;
	size_t i, done = 0;

	for (i = 0; i < j->n; i++)
		done += j->steps[i].done;
	cJSON_AddNumberToObject(rec, "applied", (double)done);
	cJSON_AddTrueToObject(rec, "repaired");
	cm_set_item(meta, "commit", rec);
	cm_set_item(meta, "state", cJSON_CreateString("committed"));
	ev = cm_summary_event("commit", "committed", done, 0);
	cJSON_AddTrueToObject(ev, "repaired");
	events_append(log, ev); /* the caller seals meta over it */
}

/*
 * Settle an earlier commit: roll back an unfinished one. 1 when a finished commit stands, 0
 * when none does (*baseline then moves to the end of the last rollback, if later), -1 on error.
 */
static int settle_journal(const struct session *s, cJSON *meta, struct event_log *log,
			  struct timespec *baseline)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	struct journal j;
	struct timespec undone;
	int r = journal_read_undone(jpath, &undone);

	/* Undone, or rolled back: nothing to settle, only the baseline (the common case). */
	if (r == 1) {
		if (cm_ts_after(&undone, baseline))
			*baseline = undone;
		return 0;
	}
	if (r == 0)
		r = journal_read(jpath, &j);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return error_rc(r, "cannot read %s", jpath);
	if (j.ended_ok && !j.undo_ended) {
		const char *state = meta_str(meta, "state");

		if (!state || strcmp(state, "committed") != 0)
			repair_record(meta, log, &j);
		journal_free(&j);
		return 1;
	}
	if (!j.undo_ended) {
		printf("rolling back the unfinished commit of session %s first\n", s->id);
		r = rollback_journal(s, log, &j, false);
		journal_free(&j);
		if (r < 0 || journal_read(jpath, &j) < 0)
			return -1;
	}
	if (cm_ts_after(&j.undo_time, baseline))
		*baseline = j.undo_time;
	journal_free(&j);
	return 0;
}

static void guard_add(struct guards *g, const char *path, const char *what, bool always)
{
	GROW(g->v, g->cap, g->n + 1);
	g->v[g->n++] = (struct guard){.path = path_normalize(path), .what = what, .always = always};
}

/* path and, when a component is a symlink, what it resolves to (by its parent when absent). */
static void guard_add_real(struct guards *g, const char *path, const char *what)
{
	cleanup_free char *real = realpath(path, NULL);

	if (!real) {
		const char *name;
		cleanup_free char *dir = cm_split(path, &name);
		cleanup_free char *rdir = realpath(dir, NULL);

		if (rdir && *name)
			real = path_join(rdir, name);
	}
	guard_add(g, path, what, true);
	if (real && strcmp(real, path) != 0)
		guard_add(g, real, what, true);
}

/* The guards of a session: its hidden paths (meta "hidden", real paths included by the run),
   the configuration directories and the store as the person's environment names them now. */
static void guards_init(struct guards *g, const cJSON *meta)
{
	const cJSON *h;
	char *conf[2];
	size_t n = policy_config_dirs(home_dir(), conf), i;
	cleanup_free char *store = store_root();

	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(meta, "hidden"))
	{
		if (cJSON_IsString(h) && h->valuestring[0] == '/')
			guard_add(g, h->valuestring, "hidden", false);
	}
	for (i = 0; i < n; i++) {
		guard_add_real(g, conf[i], "config");
		free(conf[i]);
	}
	if (store)
		guard_add_real(g, store, "store");
}

static void guards_free(struct guards *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->v[i].path);
	free(g->v);
}

/* Whether applying c removes, replaces or redirects (a symlink) the host directory at its path. */
static bool takes_away(const struct change *c)
{
	return c->kind == CHANGE_DELETED || c->kind == CHANGE_DIR_REPLACED ||
	       (c->kind == CHANGE_TYPE_CHANGED && S_ISDIR(c->old_mode)) || S_ISLNK(c->mode);
}

/*
 * Why c must be left out to keep a guarded path as it is (caller frees; the paths escaped for
 * the terminal), or NULL: c is at or below the guarded path, or it takes away a directory above
 * one (rm -rf ~/.config, or a symlink in its place, would take ~/.config/gh with it).
 */
static char *guarded(const struct guards *g, const struct change *c, const char **why)
{
	static const char *const names[][2] = {
		{"hidden", "hidden in the sandbox"},
		{"config", "airlock's own configuration"},
		{"store", "airlock's session store"},
	};
	size_t i, k;

	for (i = 0; i < g->n; i++) {
		const struct guard *gd = &g->v[i];
		const char *what = gd->what;
		cleanup_free char *shown = NULL;
		struct stat st;

		for (k = 0; k < ARRAY_SIZE(names); k++)
			if (strcmp(names[k][0], gd->what) == 0)
				what = names[k][1];
		if (path_is_under(c->path, gd->path)) {
			shown = term_sanitize(gd->path);
			*why = strcmp(gd->what, "hidden") == 0 ? "hidden" : "protected";
			return xasprintf("%s (%s), never committed", what, shown);
		}
		if (!path_is_under(gd->path, c->path) || !takes_away(c))
			continue;
		/*
		 * What the host does not have is not taken away; but a symlink above airlock's
		 * configuration would point the next run at rules the program wrote elsewhere.
		 */
		if (lstat(gd->path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR) &&
		    !(gd->always && S_ISLNK(c->mode)))
			continue;
		shown = term_sanitize(gd->path);
		*why = strcmp(gd->what, "hidden") == 0 ? "hidden" : "protected";
		return xasprintf(
			"never committed: it would take %s (%s) with it; the host keeps it", shown,
			what);
	}
	return NULL;
}

static int cmp_step_path(const void *key, const void *elem)
{
	const char *k = key;
	const struct step *st = *(const struct step *const *)elem;

	return strcmp(k, st->c->path);
}

/*
 * For each step, the nearest earlier step that creates a directory above it (dep, or -1), and
 * so whether the step's host parent is the commit's own (covered). Steps are sorted by path,
 * so every ancestor comes first; each prefix of a path is looked up among the directories made.
 */
static void find_deps(struct step *steps, size_t n)
{
	struct step **made = xcalloc(n + 1, sizeof(*made));
	size_t nmade = 0, i;

	for (i = 0; i < n; i++) {
		const char *p = steps[i].c->path;
		size_t len = strlen(p);

		steps[i].dep = -1;
		while (nmade > 0 && len > 1) {
			struct step **hit;
			char *prefix;

			while (len > 0 && p[len - 1] != '/')
				len--;
			if (len <= 1)
				break;
			prefix = xstrndup(p, len - 1);
			hit = bsearch(prefix, made, nmade, sizeof(*made), cmp_step_path);
			free(prefix);
			len--;
			if (hit) {
				steps[i].dep = (long)(*hit - steps);
				break;
			}
		}
		steps[i].covered = steps[i].dep >= 0;
		if (cm_creates_dir(steps[i].c))
			made[nmade++] = &steps[i];
	}
	free(made);
}

/*
 * What kind of entry cannot be committed (sockets, devices), or NULL. A device node never
 * reaches the host, nor a mode change of one there.
 */
static const char *uncommittable(const struct change *c)
{
	if (c->kind == CHANGE_DELETED)
		return NULL;
	if (S_ISCHR(c->mode) || S_ISBLK(c->mode))
		return "a device";
	if (c->kind == CHANGE_MODE_CHANGED)
		return NULL;
	if (S_ISSOCK(c->mode))
		return "a socket";
	return NULL;
}

/*
 * The setuid and setgid bits of st's new entry that the host must not get: a program would
 * leave a binary that runs as the person for whoever starts it. Kept only where they add
 * nothing: the bits the host entry has already when only the mode changes, and a directory's
 * setgid where the host gives it anyway (its parent is setgid: mkdir inherits it) or has it.
 */
static mode_t strip_bits(const struct step *steps, const struct step *st)
{
	const struct change *c = st->c;
	mode_t bits = c->mode & (S_ISUID | S_ISGID);

	if (!bits || c->kind == CHANGE_DELETED || S_ISLNK(c->mode))
		return 0;
	if (c->kind == CHANGE_MODE_CHANGED && st->host_exists &&
	    (st->host_mode & S_IFMT) == (c->mode & S_IFMT))
		bits &= ~(st->host_mode & (S_ISUID | S_ISGID));
	if (S_ISDIR(c->mode) && (bits & S_ISGID)) {
		mode_t parent = 0;

		if (st->dep >= 0) {
			parent = steps[st->dep].c->mode & ~steps[st->dep].strip;
		} else {
			const char *name;
			cleanup_fd int pfd = cm_host_parent(c->path, &name);
			struct stat ps;

			if (pfd >= 0 && fstat(pfd, &ps) == 0)
				parent = ps.st_mode;
		}
		if ((parent & S_ISGID) ||
		    (st->host_exists && S_ISDIR(st->host_mode) && (st->host_mode & S_ISGID)))
			bits &= ~S_ISGID;
	}
	return bits;
}

static cJSON *path_list(const struct step *steps, size_t n, const struct left *left, size_t nleft)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < (steps ? n : nleft); i++) {
		cleanup_free char *clean =
			utf8_sanitize(steps ? steps[i].c->path : left[i].c->path);

		cJSON_AddItemToArray(arr, cJSON_CreateString(clean));
	}
	return arr;
}

/*
 * meta.json's "commit": who, when, how many changes were applied and left out (and why), with
 * the paths themselves only when there are few: a session of 100,000 changes keeps a small
 * record, and the event log has every path.
 */
static cJSON *commit_record(const struct step *steps, size_t n, const struct left *left,
			    size_t nleft, size_t nforced)
{
	cJSON *rec = cm_who_when();
	size_t i, hidden = 0, unsupported = 0, protected = 0;

	for (i = 0; i < nleft; i++) {
		hidden += strcmp(left[i].why, "hidden") == 0;
		unsupported += strcmp(left[i].why, "unsupported") == 0;
		protected += strcmp(left[i].why, "protected") == 0;
	}
	cJSON_AddNumberToObject(rec, "applied", (double)n);
	cJSON_AddNumberToObject(rec, "left", (double)nleft);
	cJSON_AddNumberToObject(rec, "hidden", (double)hidden);
	cJSON_AddNumberToObject(rec, "unsupported", (double)unsupported);
	cJSON_AddNumberToObject(rec, "protected", (double)protected);
	cJSON_AddNumberToObject(rec, "forced", (double)nforced);
	if (n <= RECORD_PATHS)
		cJSON_AddItemToObject(rec, "paths", path_list(steps, n, NULL, 0));
	if (nleft <= RECORD_PATHS)
		cJSON_AddItemToObject(rec, "left_paths", path_list(NULL, 0, left, nleft));
	return rec;
}

static const struct session_args_spec commit_spec = {
	.usage = "airlock commit [ID] [--all | [--] PATH...] [--force] [--run N]",
	.help = "Apply a session's approved changes to the host (approved by the rules or in "
		"'airlock review').\n"
		"--all adds the undecided ones, never a denied or a flagged one (a change that "
		"runs code\non the host later: git hooks, shell start-up files, ...). PATH... "
		"applies the changes at or\nbelow each PATH instead; a flagged one only when "
		"its PATH names it.\n"
		"A change under a 'deny write' rule is never applied. A file whose hunks were "
		"decided one by\none in 'airlock review' gets only its approved hunks, on the very "
		"versions they were\ndecided on.\n"
		"A host path changed since the session started is a conflict, refused unless "
		"--force.\n"
		"Nothing is applied when anything fails: the host is put back as it was.\n"
		"Never applied: setuid/setgid bits (stripped), devices, hidden paths, airlock's\n"
		"configuration and store, or what would take them away. A session whose run\n"
		"was interrupted is refused unless --force.\n"
		"--run N (repeatable) runs deferred command N on the host after the commit, or\n"
		"alone without --all or PATHs.\n"
		"'airlock undo' puts the host back.\n",
	.accept = ARG_PATHS | ARG_ALL | ARG_FORCE | ARG_RUN,
};

static int parse_commit_args(int argc, char **argv, struct session_args *a)
{
	int rc = parse_session_args(argc, argv, &commit_spec, a);

	if (rc >= 0)
		return rc;
	if (a->all && a->npaths > 0)
		return usage_fail(commit_spec.usage, "--all or paths, not both");
	return -1;
}

/*
 * Refuse --run N, before anything is applied, when the session deferred no command N or N ran
 * already (deferred_run() checks again before it runs any). 0 or -1 (printed).
 */
static int check_runs(const struct session *s, const struct session_args *a)
{
	struct deferred_list l;
	size_t i, k;
	int rc = 0;

	if (a->nruns == 0)
		return 0;
	if (deferred_load(s, &l) < 0)
		return error("cannot read the deferred commands of session %s", s->id);
	for (i = 0; i < a->nruns && rc == 0; i++) {
		const struct deferred_cmd *c = NULL;

		for (k = 0; k < l.n; k++)
			if ((long)l.v[k].n == a->runs[i])
				c = &l.v[k];
		if (!c)
			rc = error("no deferred command %ld in session %s (it deferred %zu)",
				   a->runs[i], s->id, l.n);
		else if (c->ran != -1)
			rc = error("deferred command %ld of session %s ran already", a->runs[i],
				   s->id);
	}
	deferred_free(&l);
	return rc;
}

/* Run the --run commands after the commit. 0, or 1 when one failed or none could run. */
static int run_deferred(const struct session *s, struct event_log *log,
			const struct session_args *a)
{
	cleanup_free unsigned *which = xcalloc(a->nruns + 1, sizeof(*which));
	size_t i;

	for (i = 0; i < a->nruns; i++)
		which[i] = (unsigned)a->runs[i];
	return deferred_run(s, log, which, a->nruns) == 0 ? 0 : EXIT_REFUSED;
}

static int cmp_pathp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Whether the change at path is one the arguments take, marking which PATH in matched: with
 * exact, the paths (sorted) name changes themselves (the review's way), else a PATH takes
 * everything at or below it.
 */
static bool taken(const struct session_args *a, bool exact, const char *path, bool *matched)
{
	bool take = a->all;
	size_t j;

	if (exact) {
		char *const *hit =
			bsearch(&path, a->paths, a->npaths, sizeof(*a->paths), cmp_pathp);

		if (hit)
			matched[hit - a->paths] = true;
		return hit != NULL;
	}
	for (j = 0; j < a->npaths; j++) {
		if (path_is_under(path, a->paths[j])) {
			take = true;
			matched[j] = true;
		}
	}
	return take;
}

static int cmp_left_dir(const void *key, const void *elem)
{
	return strcmp(key, ((const struct left_dir *)elem)->path);
}

/*
 * Why the change at path is left out with a directory above it that the commit does not
 * create (dirs sorted by path), or NULL: without the directory the change cannot go in, and
 * trying would refuse the whole commit.
 */
static const char *below_left_dir(const struct left_dir *dirs, size_t n, const char *path)
{
	size_t len = strlen(path);

	while (n > 0 && len > 1) {
		cleanup_free char *prefix = NULL;
		const struct left_dir *hit;

		while (len > 0 && path[len - 1] != '/')
			len--;
		if (len <= 1)
			break;
		len--;
		prefix = xstrndup(path, len);
		hit = bsearch(prefix, dirs, n, sizeof(*dirs), cmp_left_dir);
		if (hit)
			return hit->why;
	}
	return NULL;
}

/*
 * Say what the commit left out for the person to decide, with the paths when few; committed
 * says whether the commit applied anything (a session commits once).
 */
static void say_left(const struct session *s, const struct left *left, size_t nleft, bool committed)
{
	static const char *const whys[] = {"undecided", "flagged", "denied"};
	size_t count[3] = {0, 0, 0}, total = 0, i, k;

	for (i = 0; i < nleft; i++)
		for (k = 0; k < 3; k++)
			if (strcmp(left[i].why, whys[k]) == 0) {
				count[k]++;
				total++;
			}
	if (total == 0)
		return;
	fprintf(stderr, "airlock: left in session %s: %zu undecided, %zu flagged, %zu denied\n",
		s->id, count[0], count[1], count[2]);
	for (i = 0; i < nleft && total <= 10; i++)
		for (k = 0; k < 3; k++)
			if (strcmp(left[i].why, whys[k]) == 0) {
				fprintf(stderr, "  %-9s ", whys[k]);
				cm_print_path(stderr, left[i].c->path);
				fputc('\n', stderr);
			}
	if (count[1] && !committed)
		fprintf(stderr,
			"airlock: flagged changes run code on the host later; "
			"'airlock review %s' or 'airlock commit %s PATH' applies one\n",
			s->id, s->id);
	else if (count[1])
		fprintf(stderr,
			"airlock: flagged changes run code on the host later; to apply "
			"one too, 'airlock undo %s' and commit again naming it\n",
			s->id);
}

/* Apply the steps: journal, batches, the directories' modes, the results. 0 or -1 (printed). */
static int apply_all(struct applier *a, const char *jpath)
{
	struct progress progress;
	size_t i, from;
	int r;

	{
		cJSON *o = cm_jline("begin", -1);

		cJSON_AddNumberToObject(o, "version", JOURNAL_VERSION);
		jw_add(&a->jw, o);
	}
	for (i = 0; i < a->n; i++) {
		const struct step *st = &a->steps[i];
		cJSON *o = cm_jline("plan", (long)i);

		cJSON_AddStringToObject(o, "path", st->c->path);
		cJSON_AddStringToObject(o, "kind", change_kind_name(st->c->kind));
		cJSON_AddStringToObject(o, "do", op_names[st->op]);
		cJSON_AddNumberToObject(o, "old_mode", st->host_mode);
		if (st->covered)
			cJSON_AddTrueToObject(o, "covered");
		if (st->has_pmtime)
			cm_add_ts(o, "pmtime", &st->pmtime);
		if (st->hunks)
			cJSON_AddStringToObject(o, "hunks", st->hunks);
		jw_add(&a->jw, o);
		if (a->jw.b.len > (1u << 20) && (r = jw_flush(&a->jw, false)) < 0)
			goto bad_journal;
	}
	/* Nothing on the host changes before the whole plan is durable. */
	if ((r = jw_flush(&a->jw, true)) < 0)
		goto bad_journal;
	progress_start(&progress, "committing", a->n);
	a->progress = &progress;
	for (from = 0; from < a->n && a->failed == SIZE_MAX;) {
		size_t to = from + 1;

		long long bytes = a->steps[from].c->size;

		/* A batch ends before a step whose directory a step of the batch creates. */
		while (to < a->n && to - from < BATCH_STEPS && a->steps[to].dep < (long)from &&
		       bytes + a->steps[to].c->size <= BATCH_BYTES)
			bytes += a->steps[to++].c->size;
		dir_cache_reset(&a->host);
		apply_batch(a, from, to);
		from = to;
		progress_update(&progress, from);
	}
	dir_cache_reset(&a->host);
	a->progress = NULL;
	if (a->failed != SIZE_MAX) {
		progress_end(&progress, a->failed);
		return -1;
	}
	progress_end(&progress, a->n);
	fix_dirs(a);
	if (devs_sync(&a->devs, false) < 0)
		return error_errno("cannot sync the host");
	journal_results(a);
	if ((r = jw_flush(&a->jw, true)) < 0)
		goto bad_journal;
	{
		cJSON *o = cm_jline("end", -1);

		cJSON_AddTrueToObject(o, "ok");
		jw_add(&a->jw, o);
	}
	if ((r = jw_flush(&a->jw, true)) < 0)
		goto bad_journal;
	return 0;
bad_journal:
	return error_rc(r, "cannot write %s", jpath);
}

int cm_open(struct cm_session *x, const char *id)
{
	if (store_open(id, true, &x->s) < 0)
		return -1;
	x->opened = true;
	x->meta = store_read_meta(&x->s);
	return x->meta ? 0 : -1;
}

int cm_open_log(struct cm_session *x)
{
	cleanup_free char *events = session_path(&x->s, "events.jsonl");

	if (seal_open_log(&x->log, events, x->meta) < 0) /* it says what failed */
		return -1;
	x->log_open = true;
	x->sealed = x->log.seq;
	return 0;
}

int cm_seal(struct cm_session *x)
{
	if (x->log.fd < 0 || x->log.seq == x->sealed)
		return 0;
	seal_head(x->meta, &x->log);
	x->sealed = x->log.seq;
	return store_write_meta(&x->s, x->meta, true);
}

void cm_close(struct cm_session *x)
{
	if (x->log_open) {
		cm_seal(x);
		events_close(&x->log);
		x->log_open = false;
	}
	cJSON_Delete(x->meta);
	x->meta = NULL;
	if (x->opened)
		store_close(&x->s);
	x->opened = false;
}

static int commit_session(const struct session_args *args, bool exact);

/*
 * Refuse, unless force, a session whose run did not end normally: its supervisor was killed
 * (or the machine stopped) before the change set was hashed and sealed, so nothing vouches
 * for what its overlays hold now. The caller holds the session's lock, so "running" means
 * that no run is. 0 (a forced commit is recorded) or -1 after printing why.
 */
static int check_ended(const struct session *s, cJSON *meta, struct event_log *log, bool force)
{
	const char *state = meta_str(meta, "state");
	const char *err = meta_str(meta, "changes_error");
	cleanup_free char *why = NULL;
	cJSON *ev;

	if (!state || strcmp(state, "running") == 0)
		why = xstrdup("its run did not end normally (interrupted: the supervisor was "
			      "killed or the machine stopped), so its change set was never sealed");
	else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(meta, "changes_sha256")))
		why = err ? xasprintf("its change set was never recorded (%s)", err)
			  : xstrdup("its change set was never recorded");
	if (!why)
		return 0;
	if (!force) {
		cleanup_free char *shown = term_sanitize(why);

		fprintf(stderr,
			"airlock: session %s: %s; nothing committed ('airlock diff %s' shows what its "
			"overlays hold; --force commits it anyway)\n",
			s->id, shown, s->id);
		return -1;
	}
	warn("session %s: %s; committing anyway (--force)", s->id, why);
	ev = commit_event("commit", "unsealed", s->id, "forced");
	cJSON_AddStringToObject(ev, "reason", why);
	events_append(log, ev);
	return 0;
}

int cmd_commit(int argc, char **argv)
{
	struct session_args a;
	int rc = parse_commit_args(argc, argv, &a);

	if (rc < 0)
		rc = commit_session(&a, false);
	session_args_free(&a);
	return rc;
}

int commit_paths(const char *id, const char *const *paths, size_t n, bool force)
{
	struct session_args a = {.id = id, .npaths = n, .force = force};
	int rc;

	a.paths = xcalloc(n + 1, sizeof(*a.paths));
	memcpy(a.paths, paths, n * sizeof(*paths));
	if (n)
		qsort(a.paths, n, sizeof(*a.paths), cmp_pathp);
	rc = commit_session(&a, true);
	free(a.paths); /* the strings are the caller's */
	return rc;
}

/* A commit in progress: what its steps share (commit_session() runs them in order). */
struct commit_run {
	struct session_args a;
	bool exact;
	enum gate_mode mode;
	struct cm_session x;
	struct timespec start; /* the session's, for the conflict check */
	struct change_set cs;
	struct gate gate;
	bool have_gate;
	struct guards guards;
	bool *matched; /* each of a.paths matched a change */
	struct step *steps;
	size_t n, cap;
	struct left *left; /* changes left out, and why */
	size_t nleft, lcap;
	struct left_dir *ldirs; /* new directories left out: what is below them stays too */
	size_t nldirs, ldcap;
	size_t nconf;
	int sfd, bfd; /* the session directory, commit/backup */
	struct applier ap;
	struct dir_cache checks;
};

/*
 * Open the session, refuse one that cannot be committed, and settle what an earlier commit's
 * journal left. 1 when the session is committed already, 0, or -1 after printing why.
 */
static int commit_open(struct commit_run *cr)
{
	struct cm_session *x = &cr->x;

	if (cm_open(x, cr->a.id) < 0)
		return -1;
	if (strcmp(session_state(&x->s, x->meta), "discarded") == 0)
		return error("session %s was discarded: its changes are gone", x->s.id);
	if (cm_parse_start(meta_str(x->meta, "start"), &cr->start) < 0)
		return error("session %s has no valid start time", x->s.id);
	if (check_runs(&x->s, &cr->a) < 0)
		return -1;
	if (cm_open_log(x) < 0)
		return -1;
	if (check_ended(&x->s, x->meta, &x->log, cr->a.force) < 0)
		return -1;
	return settle_journal(&x->s, x->meta, &x->log, &cr->start);
}

/* Take c as a step, or leave it out and say why where the person should know. */
static void select_change(struct commit_run *cr, const struct change *c)
{
	const struct session_args *a = &cr->a;
	bool take = taken(a, cr->exact, c->path, cr->matched);
	const char *odd = uncommittable(c), *gwhy = NULL;
	cleanup_free char *guard = NULL;
	struct gate_verdict v;
	const char *why = gate_select(
		&cr->gate, c, cr->mode, take,
		cr->exact || (take && gate_named_exactly(&cr->gate, c->path, a->paths, a->npaths)),
		&v);

	if (!why)
		why = below_left_dir(cr->ldirs, cr->nldirs, c->path);
	/* Decided hunk by hunk: only its approved hunks go in, however it is selected. */
	if (!why && v.hunks && !strchr(v.hunks, 'a'))
		why = v.state == GATE_DENIED ? "denied" : "undecided";
	/* (A PATH below a new directory it does not name is refused below, as ever.) */
	if (why && (cr->exact || strcmp(why, "skip") != 0) &&
	    (c->kind == CHANGE_DIR_ADDED || (c->kind == CHANGE_TYPE_CHANGED && S_ISDIR(c->mode)))) {
		GROW(cr->ldirs, cr->ldcap, cr->nldirs + 1);
		cr->ldirs[cr->nldirs++] = (struct left_dir){c->path, why};
	}

	GROW(cr->left, cr->lcap, cr->nleft + 1);
	cr->left[cr->nleft] = (struct left){.c = c, .why = why ? why : "skip"};
	if (why && v.by == GATE_BY_DENY && take) {
		cleanup_free char *origin = rule_origin(v.rule);

		fputs("airlock: ", stderr);
		cm_print_path(stderr, c->path);
		fprintf(stderr, ": denied by 'deny write %s' (%s), never committed\n", v.rule->text,
			origin);
	}
	if (why && v.changed && strcmp(why, "skip") != 0) {
		fputs("airlock: ", stderr);
		cm_print_path(stderr, c->path);
		fputs(": changed in the session after it was approved: decide it again\n", stderr);
	}
	if (why) {
		cr->nleft++;
		return;
	}
	/*
	 * The program never saw what a hidden path holds (~/.ssh): whatever it put there
	 * is never applied, or an empty directory would replace the host's keys; nor is a
	 * directory above one taken away. airlock's own rules and store are the same.
	 */
	guard = guarded(&cr->guards, c, &gwhy);
	if (guard || odd) {
		fputs("airlock: ", stderr);
		cm_print_path(stderr, c->path);
		if (guard)
			fprintf(stderr, ": %s\n", guard);
		else
			fprintf(stderr, ": %s cannot be committed; left out\n", odd);
		cr->left[cr->nleft++].why = guard ? gwhy : "unsupported";
		return;
	}
	GROW(cr->steps, cr->cap, cr->n + 1);
	memset(&cr->steps[cr->n], 0, sizeof(cr->steps[cr->n]));
	cr->steps[cr->n].hunks = v.hunks;
	cr->steps[cr->n].hunk_old = v.old_sha;
	cr->steps[cr->n].hunk_new = v.new_sha;
	cr->steps[cr->n++].c = c;
}

/*
 * Sort the change set into the steps to take and the changes left out, as the selection, the
 * gate and the guards say. 0, or -1 after printing why (a PATH given that the session did not
 * change, or a change set or rules that cannot be read).
 */
static int commit_select(struct commit_run *cr)
{
	const struct session_args *a = &cr->a;
	const struct session *s = &cr->x.s;
	size_t i, j;

	if (session_scan_changes(s, cr->x.meta, &cr->cs) < 0)
		return error("cannot read the changes of session %s", s->id);
	/* The states the review and show give, and every final host path checked again. */
	gate_open(&cr->gate, s, cr->x.meta);
	guards_init(&cr->guards, cr->x.meta);
	cr->have_gate = true;
	if (!cr->gate.have_rules)
		return error("nothing committed: session %s's rules cannot be read to check its "
			     "changes",
			     s->id);
	for (i = 0; i < cr->cs.n; i++)
		select_change(cr, &cr->cs.items[i]);
	for (j = 0; j < a->npaths; j++) {
		if (!cr->matched[j]) {
			fputs("airlock: ", stderr);
			cm_print_path(stderr, a->paths[j]);
			fprintf(stderr, ": not changed in session %s\n", s->id);
			return -1;
		}
	}
	return 0;
}

/*
 * The conflict check comes first: nothing is touched until every path is looked at. 0 (no
 * conflict, or all forced), or -1 after listing the conflicts that refuse the commit.
 */
static int commit_check_conflicts(struct commit_run *cr)
{
	struct step *steps = cr->steps;
	const struct session *s = &cr->x.s;
	size_t i, n = cr->n, nunsafe = 0;

	cr->sfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cr->sfd < 0)
		return error_errno("cannot open %s", s->dir);
	find_deps(steps, n);
	for (i = 0; i < n; i++) {
		check_step(&steps[i], &cr->start, cr->sfd, s->dir, &cr->checks);
		cm_check_hunks(&steps[i], cr->sfd, s->dir);
		if (steps[i].conflict) {
			cr->nconf++;
			nunsafe += steps[i].unsafe;
			steps[i].replace = cm_is_addition(steps[i].c) && steps[i].host_exists;
		}
	}
	if (cr->nconf == 0)
		return 0;
	fprintf(stderr, "airlock: %zu conflict%s in session %s:\n", cr->nconf,
		cr->nconf == 1 ? "" : "s", s->id);
	for (i = 0; i < n; i++) {
		if (!steps[i].conflict)
			continue;
		fputs("  ", stderr);
		cm_print_path(stderr, steps[i].c->path);
		fprintf(stderr, ": %s%s\n", steps[i].conflict,
			steps[i].unsafe ? " (--force cannot override this)" : "");
	}
	if (cr->a.force && nunsafe == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (steps[i].conflict)
			events_append(&cr->x.log,
				      commit_event("commit", change_kind_name(steps[i].c->kind),
						   steps[i].c->path, "conflict"));
	/* The refusal's events are sealed like any other. */
	cm_seal(&cr->x);
	fprintf(stderr, "airlock: nothing committed%s\n",
		nunsafe ? "" : "; --force applies the conflicting changes anyway");
	return -1;
}

/*
 * What each step does; a forced deletion or chmod of what the host lost is nothing, and is
 * left out. Setuid and setgid bits are stripped where they would be new on the host, and
 * every change left out is recorded.
 */
static void commit_plan(struct commit_run *cr)
{
	struct step *steps = cr->steps;
	size_t i, j;

	for (i = j = 0; i < cr->n; i++) {
		struct step *st = &steps[i];

		if (st->c->kind == CHANGE_MODE_CHANGED)
			st->op = OP_CHMOD;
		else if (st->c->kind == CHANGE_DELETED)
			st->op = OP_DELETE;
		else
			st->op = st->host_exists ? OP_REPLACE : OP_ADD;
		if ((st->op == OP_DELETE || st->op == OP_CHMOD) && !st->host_exists) {
			free(st->conflict);
			GROW(cr->left, cr->lcap, cr->nleft + 1);
			cr->left[cr->nleft++] = (struct left){.c = st->c, .why = "gone"};
			continue;
		}
		steps[j++] = *st;
	}
	cr->n = j;
	find_deps(steps, cr->n);
	for (i = 0; i < cr->n; i++) {
		struct step *st = &steps[i];
		mode_t want = st->c->mode & 07777;

		st->strip = strip_bits(steps, st);
		if (!st->strip)
			continue;
		fputs("airlock: ", stderr);
		cm_print_path(stderr, st->c->path);
		fprintf(stderr, ": committed without its %s (mode %04o, not %04o)\n",
			st->strip == (S_ISUID | S_ISGID) ? "setuid and setgid bits"
			: st->strip == S_ISUID		 ? "setuid bit"
							 : "setgid bit",
			(unsigned)(want & ~st->strip), (unsigned)want);
	}
	for (i = 0; i < cr->nleft; i++)
		events_append(&cr->x.log,
			      commit_event("commit", change_kind_name(cr->left[i].c->kind),
					   cr->left[i].c->path, cr->left[i].why));
}

/*
 * Apply the steps under the journal (commit.h). All or nothing: on failure every step the
 * journal shows started is put back. 0, or -1 after printing and recording what happened.
 */
static int commit_apply(struct commit_run *cr)
{
	struct cm_session *x = &cr->x;
	struct applier *ap = &cr->ap;
	cleanup_free char *cdir = session_path(&x->s, "commit");
	cleanup_free char *jpath = session_path(&x->s, "commit/journal.jsonl");
	cleanup_free char *bdir = session_path(&x->s, "commit/backup");
	struct journal jr;

	if (rm_rf(cdir) < 0 || mkdir(cdir, 0700) < 0 || mkdir(bdir, 0700) < 0)
		return error_errno("cannot prepare %s", cdir);
	ap->jw.fd = open(jpath, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	cr->bfd = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ap->jw.fd < 0 || cr->bfd < 0)
		return error_errno("cannot create %s", ap->jw.fd < 0 ? jpath : bdir);
	ap->s = &x->s;
	ap->sfd = cr->sfd;
	ap->bfd = cr->bfd;
	ap->steps = cr->steps;
	ap->n = cr->n;
	ap->log = &x->log;
	ap->host.devs = &ap->devs;
	devs_add(&ap->devs, cr->bfd, 0); /* the backups, when the store is on another filesystem */
	if (apply_all(ap, jpath) == 0)
		return 0;
	if (ap->failed != SIZE_MAX) {
		const struct step *st = &cr->steps[ap->failed];

		fprintf(stderr, "airlock: step %zu of %zu failed (%s ", ap->failed + 1, cr->n,
			change_kind_name(st->c->kind));
		cm_print_path(stderr, st->c->path);
		fprintf(stderr, "): %s: %s\n", ap->what, strerror(-ap->failed_rc));
	}
	jw_flush(&ap->jw, true);
	/* All or nothing: put back every step the journal shows started. */
	if (journal_read(jpath, &jr) < 0 || rollback_journal(&x->s, &x->log, &jr, false) < 0) {
		journal_free(&jr);
		cm_set_item(x->meta, "state", cJSON_CreateString("partially committed"));
		events_append(&x->log, cm_summary_event("commit", "failed", 0, cr->cs.n));
		cm_seal(x);
		fprintf(stderr,
			"airlock: session %s is partially committed; 'airlock undo %s' rolls the "
			"rest back\n",
			x->s.id, x->s.id);
		return -1;
	}
	journal_free(&jr);
	events_append(&x->log, cm_summary_event("commit", "failed", 0, cr->cs.n));
	cm_seal(x);
	return error("nothing committed: the host is as it was");
}

/* Record and say what was committed, then run the approved deferred commands. The exit
   status. */
static int commit_record_done(struct commit_run *cr)
{
	struct cm_session *x = &cr->x;

	events_append(&x->log, cm_summary_event("commit", "committed", cr->n, cr->nleft));
	cm_set_item(x->meta, "commit",
		    commit_record(cr->steps, cr->n, cr->left, cr->nleft, cr->nconf));
	cJSON_DeleteItemFromObjectCaseSensitive(x->meta, "undo"); /* of an earlier commit */
	cm_set_item(x->meta, "state", cJSON_CreateString("committed"));
	if (cm_seal(x) < 0)
		return EXIT_REFUSED;
	printf("committed %zu change%s of session %s%s ('airlock undo %s' takes them back)\n",
	       cr->n, cr->n == 1 ? "" : "s", x->s.id, cr->nconf ? " (conflicts forced)" : "",
	       x->s.id);
	say_left(&x->s, cr->left, cr->nleft, true);
	/* The approved deferred commands run after the files, and only when they went in. */
	return run_deferred(&x->s, &x->log, &cr->a);
}

static void commit_run_free(struct commit_run *cr)
{
	size_t i;

	/* Whatever was appended (a rollback, a refusal, deferred runs) is sealed (cm_close). */
	for (i = 0; i < cr->n; i++) {
		free(cr->steps[i].conflict);
		free(cr->steps[i].partial);
	}
	free(cr->steps);
	free(cr->left);
	free(cr->ldirs);
	free(cr->matched);
	if (cr->ap.jw.fd >= 0)
		close(cr->ap.jw.fd);
	buf_release(&cr->ap.jw.b);
	dir_cache_reset(&cr->ap.host);
	dir_cache_reset(&cr->ap.upper);
	dir_cache_reset(&cr->checks);
	guards_free(&cr->guards);
	if (cr->sfd >= 0)
		close(cr->sfd);
	if (cr->bfd >= 0)
		close(cr->bfd);
	change_set_free(&cr->cs);
	if (cr->have_gate)
		gate_close(&cr->gate);
	cm_close(&cr->x);
}

/* `airlock commit`: the paths a takes (exactly, with exact), then a's deferred commands. */
static int commit_session(const struct session_args *args, bool exact)
{
	struct commit_run cr = {
		.a = *args,
		.exact = exact,
		.mode = exact || args->npaths > 0 ? GATE_TAKE_NAMED
			: args->all		  ? GATE_TAKE_ALL
						  : GATE_TAKE_APPROVED,
		.x = CM_SESSION_INIT,
		.sfd = -1,
		.bfd = -1,
		.ap = {.failed = SIZE_MAX,
		       .host = {.fd = -1},
		       .upper = {.fd = -1},
		       .jw = {.fd = -1}},
		.checks = {.fd = -1},
	};
	bool files = args->all || args->npaths > 0 || args->nruns == 0;
	int rc = EXIT_REFUSED, r;

	buf_init(&cr.ap.jw.b);
	cr.matched = xcalloc(cr.a.npaths + 1, sizeof(*cr.matched));
	r = commit_open(&cr);
	if (r < 0)
		goto out;
	if (!files) {
		/* --run N alone: the deferred commands, with the files as they are. */
		rc = run_deferred(&cr.x.s, &cr.x.log, &cr.a);
		goto out;
	}
	if (r == 1) {
		error("session %s is already committed; 'airlock undo %s' first", cr.x.s.id,
		      cr.x.s.id);
		goto out;
	}
	if (commit_select(&cr) < 0)
		goto out;
	if (cr.n == 0) {
		if (cr.mode == GATE_TAKE_APPROVED && cr.cs.n > 0)
			printf("session %s has no approved changes to commit\n", cr.x.s.id);
		else
			printf("session %s has no changes to commit\n", cr.x.s.id);
		say_left(&cr.x.s, cr.left, cr.nleft, false);
		rc = run_deferred(&cr.x.s, &cr.x.log, &cr.a);
		goto out;
	}
	if (commit_check_conflicts(&cr) < 0)
		goto out;
	commit_plan(&cr);
	if (commit_apply(&cr) < 0)
		goto out;
	rc = commit_record_done(&cr);
out:
	commit_run_free(&cr);
	return rc;
}
