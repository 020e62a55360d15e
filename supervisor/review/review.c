/* SPDX-License-Identifier: MIT */
/*
 * `airlock review` and `airlock replay`: a session's record (change set, event log, rules)
 * turned into the plain data ui/ shows, the lazy diffs and conflict checks it asks for, and
 * what the person chose applied afterwards (commit, then the approved deferred commands).
 */
#include "supervisor/review/review.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/path.h"
#include "common/strvec.h"
#include "common/utf8.h"
#include "rules/rules.h"
#include "supervisor/changeset/changes.h"
#include "supervisor/cli/cli.h"
#include "supervisor/changeset/commit.h"
#include "supervisor/changeset/deferred.h"
#include "supervisor/changeset/diff.h"
#include "supervisor/changeset/renames.h"
#include "supervisor/record/events.h"
#include "supervisor/record/handover.h"
#include "supervisor/changeset/gate.h"
#include "supervisor/changeset/git.h"
#include "supervisor/changeset/hunks.h"
#include "supervisor/supervise/policy.h"
#include "supervisor/record/report.h"
#include "supervisor/record/session.h"
#include "ui/ui.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Run the approved deferred commands (1-based numbers) after the commit. They append to the
 * session's chain: take the session exclusively for that, as commit does.
 */
static int run_deferred(const struct session *sess, const unsigned *which, size_t n)
{
	struct session s = {.lock_fd = -1};
	struct event_log log = {.fd = -1};
	cleanup_free char *path = NULL;
	int rc;

	if (store_open(sess->id, true, &s) < 0)
		return -1;
	path = session_path(&s, "events.jsonl");
	rc = events_open(&log, path); /* it says what failed */
	if (rc == 0) {
		rc = deferred_run(&s, &log, which, n);
		events_close(&log);
	}
	store_close(&s);
	return rc;
}

/* Strings the ui structs borrow (a strvec), freed together: keep s there, return it. */
static const char *keep(struct strvec *pool, char *s)
{
	return strvec_push(pool, s);
}

/* The sides a change's hunks were shown on (hunks.h): their hashes and how many hunks. */
struct seen {
	char old_sha[65], new_sha[65];
	size_t n;
};

/* A session opened for review or replay, with everything the UI borrows. */
struct record {
	struct session *s;
	cJSON *meta;
	struct change_set cs;
	bool scanned;
	struct strvec pool;
	int sfd;	       /* the session directory, O_PATH */
	struct timespec start; /* baseline of the conflict check */
	bool have_start;
	struct ui_review r;
	struct gate gate; /* the rules and saved decisions the states come from */
	bool have_gate;
	enum ui_decision *saved;     /* each change's decision as saved in the session */
	enum ui_decision *saved_cmd; /* each command's, for the deferred ones */
	bool *person;		     /* each change's decision is the person's, saved earlier */
	size_t *files_cap;	     /* capacity of each ui_command.files */
	struct seen *seen;	     /* each change's hunks as last shown (or saved), or NULL */
	char **saved_hunks;	     /* each change's hunk letters as saved, or NULL */
	cJSON *commands, *conns;     /* the ui structs point into them */
	struct rename_hints renames; /* the record's renames, for the renames' patches */
};

static void record_free(struct record *rec)
{
	size_t i;

	for (i = 0; i < rec->r.nchanges; i++) {
		free(rec->r.changes[i].cmds);
		free(rec->r.changes[i].steps);
	}
	for (i = 0; i < rec->r.ncommands; i++)
		free(rec->r.commands[i].files);
	ui_review_free(&rec->r);
	free(rec->r.changes);
	free(rec->r.commands);
	free(rec->r.conns);
	free(rec->files_cap);
	if (rec->saved_hunks)
		for (i = 0; i < rec->r.nchanges; i++)
			free(rec->saved_hunks[i]);
	free(rec->saved_hunks);
	free(rec->seen);
	free(rec->saved);
	free(rec->saved_cmd);
	free(rec->person);
	if (rec->have_gate)
		gate_close(&rec->gate);
	change_set_free(&rec->cs);
	rename_hints_free(&rec->renames);
	cJSON_Delete(rec->meta);
	cJSON_Delete(rec->commands);
	cJSON_Delete(rec->conns);
	strvec_clear(&rec->pool);
	if (rec->sfd >= 0)
		close(rec->sfd);
}

/*
 * The patch of one change (of a rename's two: r is the other or NULL), as `airlock diff`
 * writes it, into memory. What git apply would refuse or a patch cannot carry is the diff
 * command's to say, not the review's.
 */
static char *change_patch(const struct record *rec, const struct change *c, const struct change *r,
			  size_t *len)
{
	struct change two[2] = {*c};
	struct change_set one = {.items = two, .n = r ? 2 : 1, .cap = 2};
	const struct diff_format fmt = {.renames = &rec->renames, .quiet = true};
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	int rc;

	if (!f)
		return NULL;
	/* Sorted by path, as a change set is. */
	if (r && strcmp(r->path, c->path) < 0) {
		two[1] = *c;
		two[0] = *r;
	} else if (r) {
		two[1] = *r;
	}
	rc = diff_write(f, &one, rec->s->dir, NULL, 0, NULL, &fmt);
	if (fclose(f) != 0 || rc < 0) {
		free(text);
		return NULL;
	}
	*len = size;
	return text;
}

static char *ui_diff(void *ctx, size_t i, size_t *len)
{
	struct record *rec = ctx;
	const struct ui_change *c = &rec->r.changes[i];

	return change_patch(rec, &rec->cs.items[i],
			    c->renamed ? &rec->cs.items[c->rename_other] : NULL, len);
}

/* The renames among the changes (renames.h): shown as one row each, decided together. Only
   the deletion of a file can start one, and most sessions have none: then nothing is read. */
static void find_renames(struct record *rec)
{
	cleanup_free char *events = NULL;
	cleanup_free size_t *other = NULL;
	cleanup_free int *score = NULL;
	size_t i;

	for (i = 0; i < rec->cs.n &&
		    (rec->cs.items[i].kind != CHANGE_DELETED || S_ISDIR(rec->cs.items[i].old_mode));
	     i++)
		;
	if (i == rec->cs.n)
		return;
	events = session_path(rec->s, "events.jsonl");
	rename_hints_load(events, &rec->renames);
	other = xcalloc(rec->cs.n, sizeof(*other));
	score = xcalloc(rec->cs.n, sizeof(*score));
	if (diff_find_renames(&rec->cs, rec->s->dir, &rec->renames, other, score) < 0)
		return;
	for (i = 0; i < rec->cs.n; i++) {
		if (other[i] == (size_t)-1)
			continue;
		rec->r.changes[i].renamed = true;
		rec->r.changes[i].rename_other = other[i];
		rec->r.changes[i].similarity = score[i];
	}
}

static char *ui_conflict(void *ctx, size_t i, bool *unsafe)
{
	struct record *rec = ctx;

	if (!rec->have_start) {
		*unsafe = true;
		return xstrdup("the session has no valid start time to compare the host with");
	}
	return commit_conflict(rec->sfd, rec->s->dir, &rec->cs.items[i], &rec->start, unsafe);
}

/* Command lines sorted, to find the commands a writer's command line names. */
struct by_argv {
	const char *argv;
	size_t cmd;
};

static int cmp_by_argv(const void *a, const void *b)
{
	const struct by_argv *x = a, *y = b;
	int c = strcmp(x->argv, y->argv);

	return c ? c : (x->cmd > y->cmd) - (x->cmd < y->cmd);
}

struct attribution {
	struct record *rec;
	struct by_argv *index;
	size_t n;
	size_t change;
	size_t cmds_cap;
};

static void link_change(struct attribution *at, size_t k)
{
	struct ui_review *r = &at->rec->r;
	struct ui_change *c = &r->changes[at->change];
	struct ui_command *cmd = &r->commands[k];

	GROW(c->cmds, at->cmds_cap, c->ncmds + 1);
	c->cmds[c->ncmds++] = k;
	GROW(cmd->files, at->rec->files_cap[k], cmd->nfiles + 1);
	cmd->files[cmd->nfiles++] = at->change;
}

/*
 * Link the change being attributed with the command that started the program of a process
 * that wrote it: its exec event (exec_seq), as observed, so that another program that ran
 * (or made itself look like) the same command line is not that command. A record from
 * before exec events were kept with writes links by command line.
 */
static void attribute(void *ctx, const char *argv, long long exec_seq)
{
	struct attribution *at = ctx;
	struct ui_review *r = &at->rec->r;
	size_t lo = 0, hi = r->ncommands;

	if (exec_seq >= 0) {
		/* Commands are in log order, so by seq. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (r->commands[mid].seq < exec_seq)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < r->ncommands && r->commands[lo].seq == exec_seq)
			link_change(at, lo);
		return;
	}
	if (!argv[0])
		return; /* nobody known */
	for (lo = SORTED_FIND(at->index, at->n, argv, argv);
	     lo < at->n && strcmp(at->index[lo].argv, argv) == 0; lo++)
		link_change(at, at->index[lo].cmd);
}

static void fill_commands(struct record *rec, const cJSON *commands)
{
	struct ui_review *r = &rec->r;
	const cJSON *c;
	unsigned deferred = 0;

	r->ncommands = (size_t)cJSON_GetArraySize(commands);
	r->commands = xcalloc(r->ncommands ? r->ncommands : 1, sizeof(*r->commands));
	rec->files_cap = xcalloc(r->ncommands ? r->ncommands : 1, sizeof(*rec->files_cap));
	r->ncommands = 0;
	cJSON_ArrayForEach(c, commands)
	{
		struct ui_command *u = &r->commands[r->ncommands++];
		const char *ran = meta_str(c, "decision") ?: "?";

		u->argv = keep(&rec->pool, join_argv(cJSON_GetObjectItemCaseSensitive(c, "argv")));
		u->exe = meta_str(c, "path");
		u->seq = (long long)meta_num(c, "seq", -1);
		u->step = (unsigned)meta_num(c, "step", 0);
		u->pid = (long)meta_num(c, "pid", 0);
		u->ran = ran;
		u->by = meta_str(c, "by") ?: "?";
		if (strcmp(ran, "defer") == 0) {
			/* Deferred commands wait for a person: undecided until approved. The log
			   numbers them; count for a record that does not. */
			++deferred;
			u->defer_index = (unsigned)meta_num(c, "deferred", deferred);
			u->cwd = meta_str(c, "cwd");
			u->decision = UI_UNDECIDED;
		} else {
			u->decision = strcmp(ran, "allow") == 0	 ? UI_APPROVED
				      : strcmp(ran, "deny") == 0 ? UI_DENIED
								 : UI_UNDECIDED;
		}
	}
}

static void fill_connections(struct record *rec, const cJSON *conns)
{
	struct ui_review *r = &rec->r;
	const cJSON *c;

	r->conns = xcalloc((size_t)cJSON_GetArraySize(conns) + 1, sizeof(*r->conns));
	cJSON_ArrayForEach(c, conns)
	{
		struct ui_connection *u = &r->conns[r->nconns++];

		u->target = meta_str(c, "target") ?: "?";
		u->name = meta_str(c, "name");
		u->decision = meta_str(c, "decision") ?: "?";
		u->by = meta_str(c, "by");
		u->argv = keep(&rec->pool, join_argv(cJSON_GetObjectItemCaseSensitive(c, "argv")));
	}
}

/* Why the rules put a change in its first state, shared by the changes one rule decides. */
struct why_cache {
	const struct rule *rule;
	const char *why;
};

static const char *rule_why_text(struct record *rec, const struct gate_verdict *v)
{
	cleanup_free char *origin = v->rule ? rule_origin(v->rule) : NULL;

	if (v->by == GATE_BY_RISK)
		return keep(&rec->pool, xasprintf("flagged: %s; it runs code on the host later, "
						  "so it waits for your decision",
						  v->risk));
	if (!v->rule)
		return "no write rule matches: it waits for a decision";
	return keep(&rec->pool, xasprintf("%s write %s (%s)%s", rule_action_name(v->rule->action),
					  v->rule->text, origin,
					  v->by == GATE_BY_DENY ? ": never committed" : ""));
}

static const char *rule_why(struct record *rec, struct why_cache *cache, size_t *ncache,
			    const struct gate_verdict *v)
{
	const struct rule *key = v->by == GATE_BY_RISK ? v->sensitive : v->rule;
	size_t i;

	if (v->by == GATE_BY_HIDDEN)
		return "inside a path hidden in the sandbox: never committed";
	if (v->by == GATE_BY_NO_RULES)
		return "the session's rules could not be read: it waits for a decision";
	for (i = 0; i < *ncache; i++)
		if (cache[i].rule == key)
			return cache[i].why;
	if (*ncache < 64) {
		cache[*ncache].rule = key;
		cache[*ncache].why = rule_why_text(rec, v);
		return cache[(*ncache)++].why;
	}
	return rule_why_text(rec, v);
}

static enum ui_decision ui_of(enum gate_state st)
{
	return st == GATE_APPROVED ? UI_APPROVED : st == GATE_DENIED ? UI_DENIED : UI_UNDECIDED;
}

static enum gate_state gate_of(enum ui_decision d)
{
	return d == UI_APPROVED ? GATE_APPROVED : d == UI_DENIED ? GATE_DENIED : GATE_UNDECIDED;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether change i is saved as it stands now. */
static bool is_saved(const struct record *rec, size_t i)
{
	const struct ui_change *u = &rec->r.changes[i];

	return u->decision == rec->saved[i] &&
	       same_str(u->hunks, rec->saved_hunks ? rec->saved_hunks[i] : NULL);
}

/* Save change i's decision, hunk by hunk when it has hunks. 0 or -errno (printed). */
static int save_one(struct record *rec, size_t i)
{
	struct ui_change *u = &rec->r.changes[i];
	int rc;

	/* Denied whole by a key that does not know about hunks (D): no hunk goes in. */
	if (u->hunks && u->decision == UI_DENIED) {
		free(u->hunks);
		u->hunks = NULL;
	}
	if (u->hunks && rec->seen && rec->seen[i].n == strlen(u->hunks))
		rc = gate_decide_hunks(&rec->gate, u->path, gate_of(u->decision), u->hunks,
				       rec->seen[i].old_sha, rec->seen[i].new_sha);
	else if (u->hunks)
		rc = error("cannot save the hunks of %s: they were not shown", u->path);
	else {
		/* Tied to the sandbox's side as scanned when the review opened: what was shown. */
		cleanup_free char *pin = gate_pin(&rec->cs.items[i]);

		rc = gate_decide_pinned(&rec->gate, u->path, gate_of(u->decision), pin);
	}
	if (rc < 0)
		return rc;
	rec->saved[i] = u->decision;
	if (!rec->saved_hunks)
		rec->saved_hunks = xcalloc(rec->r.nchanges + 1, sizeof(*rec->saved_hunks));
	free(rec->saved_hunks[i]);
	rec->saved_hunks[i] = u->hunks ? xstrdup(u->hunks) : NULL;
	return 0;
}

/* Save the decisions the person changed since the last call (ui_review.decided): changes, and
   deferred commands by their number (the others' decisions are their changes'). */
static void ui_decided(void *ctx)
{
	struct record *rec = ctx;
	size_t i;

	for (i = 0; i < rec->r.nchanges; i++)
		if (!is_saved(rec, i) && save_one(rec, i) < 0)
			return; /* printed; the next key tries again */
	for (i = 0; i < rec->r.ncommands && rec->saved_cmd; i++) {
		const struct ui_command *c = &rec->r.commands[i];

		if (!c->defer_index || c->decision == rec->saved_cmd[i])
			continue;
		if (gate_decide_deferred(&rec->gate, c->defer_index, gate_of(c->decision)) < 0)
			return;
		rec->saved_cmd[i] = c->decision;
	}
}

static bool has_deferred(const struct ui_review *r);

/*
 * A deferred command that ran already (commit --run, an earlier review's commit) is done: it
 * runs at most once, so the review shows how it ended and lets nobody approve it again (an
 * approval would make the review's commit refuse to run any).
 */
static void mark_done(struct record *rec, struct ui_command *c, const struct deferred_cmd *d)
{
	cleanup_free char *out = xasprintf("deferred/%u.out", d->n);
	struct stat st;

	c->done = keep(&rec->pool, d->ran == -2 ? xstrdup("started; its end is not recorded")
						: xasprintf("exit status %d", d->ran));
	if (fstatat(rec->sfd, out, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		c->output = keep(&rec->pool, steal_pointer(&out));
	c->decision = UI_UNDECIDED;
	c->set_by = NULL;
}

/*
 * Which deferred commands ran already (mark_done()), and the decisions an earlier review saved
 * on the others. Only the session's own deferred commands are looked up. Without the log's
 * list of them, none is marked and nothing is restored (they start undecided).
 */
static void restore_deferred(struct record *rec, const struct writers *ws)
{
	struct ui_review *r = &rec->r;
	struct deferred_list l = {0};
	size_t i;

	rec->saved_cmd = xcalloc(r->ncommands + 1, sizeof(*rec->saved_cmd));
	for (i = 0; i < r->ncommands; i++)
		rec->saved_cmd[i] = r->commands[i].decision;
	if (!has_deferred(r))
		return;
	/* From the log as the reader read it for the commands: not read a second time. */
	deferred_from_events(writers_deferred_events(ws), &l);
	for (i = 0; i < r->ncommands; i++) {
		struct ui_command *c = &r->commands[i];
		const struct deferred_cmd *d =
			c->defer_index ? deferred_find(&l, c->defer_index) : NULL;
		enum gate_state st;

		if (!d)
			continue;
		if (d->ran != -1)
			mark_done(rec, c, d);
		else if (rec->have_gate && gate_deferred_state(&rec->gate, c->defer_index, &st)) {
			c->decision = rec->saved_cmd[i] = ui_of(st);
			c->set_by = st == GATE_UNDECIDED ? NULL : "you, earlier";
		}
	}
	deferred_free(&l);
}

/*
 * How many hunks of change i the person may decide one by one in the patch shown: those of
 * its sides read now, when the patch shown has exactly them and more than one (ui_review.hunks).
 * Hunk decisions saved for other sides (either file changed since) are dropped.
 */
static size_t ui_hunks(void *ctx, size_t i, const char *patch, size_t len)
{
	struct record *rec = ctx;
	struct ui_change *u = &rec->r.changes[i];
	struct hunk_file f;
	size_t n = 0;

	/* One hunk is the whole file: decided with it. */
	if (hunk_file_load(&f, rec->sfd, rec->s->dir, &rec->cs.items[i]) == 0 &&
	    hunks_shown(&f, patch, len) && f.n > 1)
		n = f.n;
	if (!rec->seen)
		rec->seen = xcalloc(rec->r.nchanges + 1, sizeof(*rec->seen));
	if (u->hunks &&
	    (n == 0 || rec->seen[i].n != n || strcmp(rec->seen[i].old_sha, f.old_sha) != 0 ||
	     strcmp(rec->seen[i].new_sha, f.new_sha) != 0)) {
		warn("%s changed since its hunks were decided: decide them again", u->path);
		free(u->hunks);
		u->hunks = NULL;
		u->decision = UI_UNDECIDED;
		u->set_by = "you, earlier; the file changed since";
	}
	if (n) {
		memcpy(rec->seen[i].old_sha, f.old_sha, sizeof(f.old_sha));
		memcpy(rec->seen[i].new_sha, f.new_sha, sizeof(f.new_sha));
		rec->seen[i].n = n;
	}
	hunk_file_free(&f);
	return n;
}

/* A file decided hunk by hunk earlier: its letters and the sides they were seen on. */
static void restore_hunks(struct record *rec, size_t i, const struct gate_verdict *v)
{
	size_t n = strlen(v->hunks);

	if (!rec->seen)
		rec->seen = xcalloc(rec->r.nchanges + 1, sizeof(*rec->seen));
	if (!rec->saved_hunks)
		rec->saved_hunks = xcalloc(rec->r.nchanges + 1, sizeof(*rec->saved_hunks));
	snprintf(rec->seen[i].old_sha, sizeof(rec->seen[i].old_sha), "%s", v->old_sha);
	snprintf(rec->seen[i].new_sha, sizeof(rec->seen[i].new_sha), "%s", v->new_sha);
	rec->seen[i].n = n;
	rec->r.changes[i].hunks = xstrdup(v->hunks);
	rec->saved_hunks[i] = xstrdup(v->hunks);
}

/* ASCII only: the event log writes it as it is (see utf8_sanitize()). */
static bool ascii(const char *s)
{
	while (*s && !(*s & 0x80))
		s++;
	return *s == '\0';
}

/* Changes to classify, on a thread of their own (see verdicts()). */
struct classify_job {
	struct gate *g;
	const struct change *c;
	struct gate_verdict *v;
	size_t n;
	bool load_git;
};

static void *classify_job(void *arg)
{
	struct classify_job *job = arg;
	struct gate_cache gc = {0};

	for (size_t i = 0; i < job->n; i++)
		gate_classify_change_cached(job->g, &gc, &job->c[i], &job->v[i]);
	gate_cache_free(&gc);
	/* Loaded once (pthread_once): here it is off the log reader's longer path. */
	if (job->load_git)
		git_api();
	return NULL;
}

/*
 * Every change's verdict, half of them on a second thread, which then loads libgit2 for the
 * first screen's diff: the log reader, the longest path before that screen, would load it
 * after the log. The gate is only read meanwhile.
 */
static struct gate_verdict *verdicts(struct record *rec)
{
	size_t n = rec->cs.n, half = n / 2;
	struct gate_verdict *v = xcalloc(n ? n : 1, sizeof(*v));
	struct classify_job a = {&rec->gate, rec->cs.items, v, half, true};
	struct classify_job b = {&rec->gate, rec->cs.items + half, v + half, n - half, false};
	pthread_t t;
	bool threaded = half >= 1024 && pthread_create(&t, NULL, classify_job, &a) == 0;

	if (!threaded) {
		a.load_git = false; /* the reader does, beside this thread */
		classify_job(&a);
	}
	classify_job(&b);
	if (threaded)
		pthread_join(t, NULL);
	return v;
}

/* Each change's row and its rules' verdict: what needs no event log. */
static void fill_changes(struct record *rec)
{
	struct ui_review *r = &rec->r;
	struct why_cache cache[64];
	size_t ncache = 0, i;
	cleanup_free struct gate_verdict *all = verdicts(rec);

	r->nchanges = rec->cs.n;
	r->changes = xcalloc(r->nchanges ? r->nchanges : 1, sizeof(*r->changes));
	rec->saved = xcalloc(r->nchanges + 1, sizeof(*rec->saved));
	rec->person = xcalloc(r->nchanges + 1, sizeof(*rec->person));
	for (i = 0; i < rec->cs.n; i++) {
		const struct change *c = &rec->cs.items[i];
		struct ui_change *u = &r->changes[i];
		const struct gate_verdict v = all[i];

		u->path = c->path;
		u->kind = change_kind_name(c->kind);
		u->mode = c->mode;
		u->old_mode = c->old_mode;
		u->size = c->size;
		u->old_size = c->old_size;
		u->link_target = c->link_target;
		u->creates_dir = c->kind == CHANGE_DIR_ADDED ||
				 (c->kind == CHANGE_TYPE_CHANGED && S_ISDIR(c->mode));
		u->decision = ui_of(v.state);
		rec->saved[i] = u->decision;
		rec->person[i] = v.person;
		u->risk = v.risk;
		u->why = v.changed ? "changed in the session after it was approved: decide it again"
				   : rule_why(rec, cache, &ncache, &v);
		if (v.hunks)
			restore_hunks(rec, i, &v);
		/* The commit refuses these whatever the person says. */
		if (v.by == GATE_BY_HIDDEN || v.by == GATE_BY_DENY)
			u->fixed = u->why;
	}
}

/* Each change's commands and steps, from the writers the event log names (after fill_changes
   and fill_commands). */
static void attribute_changes(struct record *rec, const struct writers *ws)
{
	struct ui_review *r = &rec->r;
	struct attribution at = {.rec = rec};
	size_t i, where = 0; /* the changes are sorted: each one's writers follow the last's */

	at.index = xcalloc(r->ncommands ? r->ncommands : 1, sizeof(*at.index));
	for (i = 0; i < r->ncommands; i++)
		at.index[at.n++] = (struct by_argv){r->commands[i].argv, i};
	if (at.n)
		qsort(at.index, at.n, sizeof(*at.index), cmp_by_argv);
	for (i = 0; i < rec->cs.n; i++) {
		const struct change *c = &rec->cs.items[i];
		struct ui_change *u = &r->changes[i];
		cleanup_free char *logged = ascii(c->path) ? NULL : utf8_sanitize(c->path);
		unsigned steps[16];
		size_t n;

		at.change = i;
		at.cmds_cap = 0;
		writers_each_at(ws, &where, logged ? logged : c->path, attribute, &at);
		n = writers_steps_at(ws, &where, logged ? logged : c->path, steps,
				     ARRAY_SIZE(steps));
		if (n) {
			u->steps = xcalloc(n, sizeof(*u->steps));
			memcpy(u->steps, steps, n * sizeof(*steps));
			u->nsteps = n;
		}
	}
	free(at.index);
}

/* The event log read beside the change scan (and libgit2 loaded, see git_api()). */
struct events_job {
	const struct session *s;
	cJSON *commands, *conns;
	struct writers *ws;
};

static void *read_events_job(void *arg)
{
	struct events_job *job = arg;

	job->ws = report_read_events(job->s, job->commands, job->conns);
	/* The first screen shows a diff: load libgit2 here, off the main thread's scan. */
	git_api();
	return NULL;
}

/* How the program ended, for the review's title: the limit, the signal or the exit status. */
static const char *ended_text(struct record *rec)
{
	const char *limit = meta_str(rec->meta, "limit");
	double sig = meta_num(rec->meta, "signal", 0);

	if (limit)
		return keep(&rec->pool, xasprintf("stopped: %s", limit));
	if (sig > 0 && sig < 65)
		return keep(&rec->pool,
			    xasprintf("killed by SIG%s", sigabbrev_np((int)sig) ?: "?"));
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(rec->meta, "exit_code")))
		return keep(&rec->pool,
			    xasprintf("exit %.0f", meta_num(rec->meta, "exit_code", 0)));
	return NULL;
}

/* Open the session's record for the review: everything but the UI. 0 or -1 (printed). */
/* The session's meta.json read, and the session one a review can open. */
static bool reviewable(struct record *rec, struct session *s)
{
	const char *state;

	rec->meta = store_read_meta(s);
	if (!rec->meta)
		return false;
	state = session_state(s, rec->meta);
	if (strcmp(state, "discarded") == 0) {
		error("session %s was discarded: its changes are gone", s->id);
		return false;
	}
	if (strcmp(state, "committed") == 0) {
		error("session %s is already committed; 'airlock undo %s' first", s->id, s->id);
		return false;
	}
	return true;
}

/* What the UI gets once the changes and the event log are read: the header, the commands and
   connections, each change's commands and rename, and the callbacks. */
static void fill_review(struct record *rec, const struct writers *ws)
{
	rec->r.id = rec->s->id;
	rec->r.command =
		keep(&rec->pool, join_argv(cJSON_GetObjectItemCaseSensitive(rec->meta, "command")));
	if (!rec->gate.have_rules)
		rec->r.note = "(rules unreadable: nothing starts approved)";
	rec->r.ended = ended_text(rec);
	fill_commands(rec, rec->commands);
	restore_deferred(rec, ws);
	fill_connections(rec, rec->conns);
	attribute_changes(rec, ws);
	find_renames(rec);
	rec->r.ctx = rec;
	rec->r.diff = ui_diff;
	rec->r.conflict = ui_conflict;
	rec->r.decided = ui_decided;
	rec->r.hunks = ui_hunks;
	ui_review_prepare(&rec->r);
	for (size_t i = 0; i < rec->r.nchanges; i++)
		if (rec->person[i])
			rec->r.changes[i].set_by = "you, earlier";
}

/*
 * Load the record (see record_load()). With handed, the change set handed over from the run's
 * end is used while its proof runs beside the verdicts and the attribution: 0, -1 (printed),
 * or 1 when it proved stale (rec is to be freed and loaded again by a scan).
 */
static int record_load_once(struct record *rec, struct session *s, bool handed)
{
	struct handover_check *check = NULL;
	struct writers *ws = NULL;
	struct events_job job;
	pthread_t reader;
	bool threaded;
	int rc = -1, scanned, open_errno = 0;

	memset(rec, 0, sizeof(*rec));
	rec->s = s;
	rec->sfd = -1;
	rec->commands = cJSON_CreateArray();
	rec->conns = cJSON_CreateArray();
	if (!reviewable(rec, s))
		goto out;
	job = (struct events_job){s, rec->commands, rec->conns, NULL};
	threaded = pthread_create(&reader, NULL, read_events_job, &job) == 0;
	if (!threaded)
		read_events_job(&job);
	/*
	 * While the log is read: the changes, then each change's verdict, which need nothing from
	 * the log (the reader touches only job's arrays, rec->commands and rec->conns, until it
	 * is joined). With 100,000 changes the log takes longer than the scan.
	 */
	scanned = handed ? handover_changes_async(s, rec->meta, &rec->cs, &check)
			 : session_scan_changes(s, rec->meta, &rec->cs);
	if (scanned >= 0) {
		rec->sfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		open_errno = errno;
	}
	if (rec->sfd >= 0) {
		rec->have_start = commit_baseline(s, rec->meta, &rec->start) == 0;
		/* Fail closed: without the rules nothing starts approved (the gate sees to it). */
		gate_open(&rec->gate, s, rec->meta);
		rec->have_gate = true;
		fill_changes(rec);
	}
	if (threaded)
		pthread_join(reader, NULL);
	ws = job.ws;
	if (scanned < 0) {
		error("cannot read the changes of session %s", s->id);
		goto out;
	}
	if (rec->sfd < 0) {
		error("cannot open %s: %s", s->dir, strerror(open_errno));
		goto out;
	}
	fill_review(rec, ws);
	rc = 0;
out:
	/* Nothing of the set has been shown or decided yet: a stale one is thrown away. */
	if (check && !handover_check(check) && rc == 0)
		rc = 1;
	writers_free(ws);
	return rc;
}

static int record_load(struct record *rec, struct session *s)
{
	int rc;

	ui_loading_start(s->id);
	rc = record_load_once(rec, s, true);
	if (rc == 1) {
		record_free(rec);
		rc = record_load_once(rec, s, false);
	}
	ui_loading_done();
	return rc;
}

static bool has_deferred(const struct ui_review *r)
{
	size_t i;

	for (i = 0; i < r->ncommands; i++)
		if (r->commands[i].defer_index)
			return true;
	return false;
}

/* Run the review on rec and apply what the person chose. The exit status. */
static int review(struct record *rec)
{
	struct ui_review *r = &rec->r;
	cleanup_free const char **paths = NULL;
	cleanup_free unsigned *which = NULL;
	size_t n = 0, nd = 0, i;
	bool force = false;
	int rc;

	rc = ui_review_run(r, &force);
	if (rc < 0)
		return EXIT_REFUSED;
	if (rc == UI_QUIT) {
		fprintf(stderr,
			"airlock: session %s: nothing committed; 'airlock review %s' opens the review "
			"again, 'airlock discard %s' throws the changes away\n",
			rec->s->id, rec->s->id, rec->s->id);
		return 0;
	}
	/* The commit reads hunk decisions from the session: they must all be there. */
	ui_decided(rec);
	for (i = 0; i < r->nchanges; i++)
		if (!is_saved(rec, i))
			return error("the decisions could not be saved in session %s: nothing "
				     "committed",
				     rec->s->id);
	paths = xcalloc(r->nchanges + 1, sizeof(*paths));
	which = xcalloc(r->ncommands + 1, sizeof(*which));
	for (i = 0; i < r->nchanges; i++)
		if (r->changes[i].decision == UI_APPROVED)
			paths[n++] = r->changes[i].path;
	/* One that ran already is done (mark_done()): asking for it would refuse them all. */
	for (i = 0; i < r->ncommands; i++)
		if (r->commands[i].defer_index && !r->commands[i].done &&
		    r->commands[i].decision == UI_APPROVED)
			which[nd++] = r->commands[i].defer_index;
	/* The commit takes the session's lock itself. */
	if (rec->s->lock_fd >= 0) {
		close(rec->s->lock_fd);
		rec->s->lock_fd = -1;
	}
	rc = n ? commit_paths(rec->s->id, paths, n, force) : 0;
	if (rc != 0) {
		if (nd)
			error("the commit failed: the %zu approved deferred command%s did not run",
			      nd, nd == 1 ? "" : "s");
		return rc;
	}
	if (nd && run_deferred(rec->s, which, nd) != 0)
		return EXIT_REFUSED;
	return 0;
}

/* --help or -h among the arguments: the long help rather than parse_id_args()'s usage. */
static bool wants_help(int argc, char **argv)
{
	int a;

	for (a = 1; a < argc; a++)
		if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0)
			return true;
	return false;
}

int cmd_review(int argc, char **argv)
{
	static const char usage[] = "airlock review [ID]";
	struct session s = {.lock_fd = -1};
	struct record rec;
	const char *id;
	int rc;

	if (wants_help(argc, argv)) {
		printf("usage: %s\n\n"
		       "Review a session on the terminal: its changes as a tree of directories "
		       "that fold, with\ncounts of approved, denied, undecided and conflicting "
		       "changes; the commands that ran\n(with the files each changed) and the "
		       "connections they tried; a diff of each change.\nEach change and command "
		       "starts approved, denied or undecided as the session's rules say\n"
		       "(the status rows say which rule); a change that runs code on the host "
		       "later\n(a git hook, a shell start-up file, ...) is flagged and starts "
		       "undecided. A command's\ndecision applies to the changes it made; "
		       "decisions are saved in the session as they\nare made. In the diff of a modified "
		       "text file, a and d decide the hunk marked >:\nthe commit then writes the host's "
		       "file with only the approved hunks. Space and b page,\n} and { go from hunk "
		       "to hunk, J and K from file to file.\nc commits the approved changes (after a y/n summary; "
		       "undecided ones are left out)\nand then runs the approved deferred "
		       "commands; q quits without committing (asking first\nwhen decisions were changed); "
		       "Esc only closes views; ? shows the keys. Conflicts\nwith the host are marked '!'. "
		       "See airlock(1), REVIEW.\n",
		       usage);
		return 0;
	}
	rc = parse_id_args(argc, argv, usage, &id, NULL);
	if (rc >= 0)
		return rc;
	/* Shared: another review may look too, but nobody commits while it is open. */
	if (store_open(id, false, &s) < 0)
		return EXIT_REFUSED;
	rc = record_load(&rec, &s) < 0 ? EXIT_REFUSED : review(&rec);
	record_free(&rec);
	store_close(&s);
	return rc;
}

int review_parse_when(const char *arg, enum review_when *when)
{
	if (strcmp(arg, "auto") == 0)
		*when = REVIEW_AUTO;
	else if (strcmp(arg, "always") == 0)
		*when = REVIEW_ALWAYS;
	else if (strcmp(arg, "never") == 0)
		*when = REVIEW_NEVER;
	else
		return -EINVAL;
	return 0;
}

bool review_may_open(enum review_when when, bool json)
{
	bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

	return !(when == REVIEW_NEVER || (when == REVIEW_AUTO && (json || !tty)));
}

void review_after_run(struct session *s, enum review_when when, bool json)
{
	bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	struct record rec;

	if (!review_may_open(when, json))
		return;
	if (!tty && !getenv("AIRLOCK_UI_SCRIPT")) {
		error("--review always: the review needs a terminal; 'airlock review %s' opens it "
		      "later",
		      s->id);
		return;
	}
	/* The run is over: others may read the session while the person reviews it. */
	if (s->lock_fd >= 0)
		flock(s->lock_fd, LOCK_SH);
	if (record_load(&rec, s) == 0 &&
	    (when == REVIEW_ALWAYS || rec.r.nchanges > 0 || has_deferred(&rec.r)))
		review(&rec);
	record_free(&rec);
}

/* --- replay -------------------------------------------------------------------------- */

struct replay_rec {
	struct session s;
	cJSON *meta;
	struct change_set cs;
	bool changes_ok;
	const char *why_none;
	struct strvec pool;
	struct ui_replay p;
	struct by_argv *paths; /* change paths as the log writes them, sorted */
	struct record diffrec; /* what change_patch() needs */
};

static const struct change *find_change(const struct replay_rec *rp, const char *path)
{
	size_t i = SORTED_FIND(rp->paths, rp->cs.n, argv, path);

	return i < rp->cs.n && strcmp(rp->paths[i].argv, path) == 0
		       ? &rp->cs.items[rp->paths[i].cmd]
		       : NULL;
}

static char *replay_diff(void *ctx, const char *path, size_t *len, const char **why)
{
	struct replay_rec *rp = ctx;
	const struct change *c;
	char *text;

	if (!rp->changes_ok) {
		*why = rp->why_none;
		return NULL;
	}
	c = find_change(rp, path);
	if (!c) {
		*why = "the change set has nothing at this path (written, then removed or put "
		       "back as it was?)";
		return NULL;
	}
	text = change_patch(&rp->diffrec, c, NULL, len);
	if (!text)
		*why = "the diff could not be made";
	return text;
}

static const char *replay_kind(void *ctx, const char *path)
{
	struct replay_rec *rp = ctx;
	const struct change *c = rp->changes_ok ? find_change(rp, path) : NULL;

	return c ? change_kind_name(c->kind) : NULL;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct by_argv *)a)->argv, ((const struct by_argv *)b)->argv);
}

static void read_timeline(struct replay_rec *rp)
{
	cleanup_free char *path = session_path(&rp->s, "events.jsonl");
	cleanup_file FILE *f = fopen(path, "re");
	cleanup_free char *line = NULL;
	struct exec_index *xi;
	size_t cap = 0, ecap = 0;
	ssize_t len;

	if (!f)
		return;
	xi = exec_index_new();
	while ((len = getline(&line, &cap, f)) > 0) {
		cJSON *ev = cJSON_ParseWithLength(line, (size_t)len);
		struct ui_event *e;
		char when[48];

		if (!cJSON_IsObject(ev)) {
			cJSON_Delete(ev);
			continue;
		}
		GROW(rp->p.events, ecap, rp->p.nevents + 1);
		e = &rp->p.events[rp->p.nevents++];
		memset(e, 0, sizeof(*e));
		e->seq = (unsigned long long)meta_num(ev, "seq", 0);
#define TAKE(field, key)                                                                           \
	e->field = meta_str(ev, key) ? keep(&rp->pool, xstrdup(meta_str(ev, key))) : NULL
		/* A person reads local time (ui/replay.c shows the time of day; its details the
		   whole of it, with the offset). */
		session_local_iso(meta_str(ev, "time"), when, sizeof(when));
		e->time = keep(&rp->pool, xstrdup(when));
		TAKE(cls, "class");
		TAKE(op, "op");
		TAKE(target, "target");
		TAKE(target2, "target2");
		TAKE(decision, "decision");
		TAKE(by, "by");
		TAKE(result, "result");
#undef TAKE
		e->pid = (long)meta_num(ev, "pid", 0);
		e->argv = keep(&rp->pool, xstrdup(exec_index_joined(xi, ev)));
		exec_index_add(xi, ev);
		if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ev, "command")))
			e->command =
				keep(&rp->pool,
				     join_argv(cJSON_GetObjectItemCaseSensitive(ev, "command")));
		cJSON_Delete(ev);
	}
	exec_index_free(xi);
}

int cmd_replay(int argc, char **argv)
{
	static const char usage[] = "airlock replay [ID]";
	struct replay_rec rp;
	const char *id;
	size_t i;
	int rc;

	if (wants_help(argc, argv)) {
		printf("usage: %s\n\n"
		       "Step through a session's recorded events on the terminal, as "
		       "'airlock log' lists them.\nf shows one class of events at a time "
		       "(exec, write, connect, dns), p only the selected\nevent's process; "
		       "Enter on a write event shows that file's diff, on an exec event the\n"
		       "files its process changed. ? shows the keys, q quits. See airlock(1), "
		       "REPLAY.\n",
		       usage);
		return 0;
	}
	rc = parse_id_args(argc, argv, usage, &id, NULL);
	if (rc >= 0)
		return rc;
	memset(&rp, 0, sizeof(rp));
	rp.diffrec.sfd = -1;
	/* Reading needs no lock, as for log: a running session can be looked at as it goes. */
	if (store_find(id, &rp.s) < 0)
		return EXIT_REFUSED;
	rc = EXIT_REFUSED;
	rp.meta = store_read_meta(&rp.s);
	if (!rp.meta)
		goto out;
	if (strcmp(session_state(&rp.s, rp.meta), "discarded") == 0) {
		rp.why_none = "the session was discarded: its changes are gone";
	} else if (strcmp(session_state(&rp.s, rp.meta), "committed") == 0) {
		rp.why_none = "the session is committed: the host has its changes now";
	} else if (session_scan_changes(&rp.s, rp.meta, &rp.cs) < 0) {
		rp.why_none = "the session's changes could not be read";
	} else {
		rp.changes_ok = true;
		rp.paths = xcalloc(rp.cs.n + 1, sizeof(*rp.paths));
		for (i = 0; i < rp.cs.n; i++)
			rp.paths[i] = (struct by_argv){
				keep(&rp.pool, utf8_sanitize(rp.cs.items[i].path)), i};
		if (rp.cs.n)
			qsort(rp.paths, rp.cs.n, sizeof(*rp.paths), cmp_key);
	}
	rp.diffrec.s = &rp.s;
	read_timeline(&rp);
	rp.p.id = rp.s.id;
	rp.p.command =
		keep(&rp.pool, join_argv(cJSON_GetObjectItemCaseSensitive(rp.meta, "command")));
	rp.p.ctx = &rp;
	rp.p.diff_path = replay_diff;
	rp.p.change_kind = replay_kind;
	rc = ui_replay_run(&rp.p) < 0 ? EXIT_REFUSED : 0;
out:
	free(rp.paths);
	free(rp.p.events);
	change_set_free(&rp.cs);
	cJSON_Delete(rp.meta);
	strvec_clear(&rp.pool);
	store_close(&rp.s);
	return rc;
}
