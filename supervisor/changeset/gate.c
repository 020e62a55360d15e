/* SPDX-License-Identifier: MIT */
/* The state and risk of a session's changes: one classifier for review, show and commit. */
#include "supervisor/changeset/gate.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "supervisor/changeset/hunks.h"
#include "supervisor/supervise/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const state_names[] = {
	[GATE_UNDECIDED] = "undecided",
	[GATE_APPROVED] = "approved",
	[GATE_DENIED] = "denied",
};

const char *gate_state_name(enum gate_state st)
{
	return (unsigned)st < ARRAY_SIZE(state_names) ? state_names[st] : "undecided";
}

static int state_of(const char *s, enum gate_state *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_names); i++)
		if (s && strcmp(s, state_names[i]) == 0) {
			*st = (enum gate_state)i;
			return 0;
		}
	return -EINVAL;
}

static int cmp_dec(const void *a, const void *b)
{
	const struct gate_decision *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static struct gate_decision *find_dec(const struct gate *g, const char *path)
{
	size_t i = SORTED_FIND(g->dec, g->ndec, path, path);

	return i < g->ndec && strcmp(g->dec[i].path, path) == 0 ? &g->dec[i] : NULL;
}

static void free_hunks(struct gate_decision *d)
{
	free(d->hunks);
	free(d->old_sha);
	free(d->new_sha);
	free(d->pin);
	d->hunks = d->old_sha = d->new_sha = d->pin = NULL;
}

static bool is_sha(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/*
 * A line's hunk decisions, when whole and valid. A line that has them but not well formed is
 * a file decided hunk by hunk all the same: no hunk is approved, so commit writes none.
 */
static void read_hunks(struct gate_decision *d, const cJSON *o)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hunks");
	const char *hunks = cJSON_GetStringValue(h);
	const char *os = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "old_sha256"));
	const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "new_sha256"));

	if (!h)
		return;
	if (!hunks || !hunks_valid(hunks, strlen(hunks)) || !is_sha(os) || !is_sha(ns)) {
		d->hunks = xstrdup("u");
		d->old_sha = xstrdup("-");
		d->new_sha = xstrdup("-");
		return;
	}
	d->hunks = xstrdup(hunks);
	d->old_sha = xstrdup(os);
	d->new_sha = xstrdup(ns);
}

/*
 * A line's pin. One that is there but not a string pins to nothing a change has (""): fail
 * closed. A line without one (older, or not an approval) is not pinned and holds as ever.
 */
static void read_pin(struct gate_decision *d, const cJSON *o)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "pin");
	const char *pin = cJSON_GetStringValue(p);

	if (p && !d->hunks)
		d->pin = xstrdup(pin && *pin ? pin : "");
}

static void push_deferred(struct gate *g, unsigned n, enum gate_state st)
{
	GROW(g->defer, g->defer_cap, g->ndefer + 1);
	g->defer[g->ndefer++] = (struct gate_deferred){n, st};
}

/*
 * A line's decision on a deferred command ({"deferred": N, "state": ...}), kept when N is a
 * whole number from 1 and the state is known; whether N names a command is the reader's
 * question (gate_deferred_state() is asked only about the session's own). Else it is ignored.
 */
static void read_deferred(struct gate *g, const cJSON *o)
{
	const cJSON *num = cJSON_GetObjectItemCaseSensitive(o, "deferred");
	const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "state"));
	enum gate_state st;
	double d;

	if (!cJSON_IsNumber(num) || state_of(state, &st) < 0)
		return;
	d = num->valuedouble;
	if (!(d >= 1 && d <= UINT32_MAX) || d != (double)(unsigned)d)
		return;
	push_deferred(g, (unsigned)d, st);
}

/* Read decisions.jsonl: one decision per path, the last line for it winning. */
static void load_decisions(struct gate *g)
{
	cleanup_file FILE *f = fopen(g->file, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0, dcap = 0, i, k;
	ssize_t len;

	if (!f) {
		if (errno != ENOENT)
			warn("cannot read %s: %s; the review's earlier decisions are not used",
			     g->file, strerror(errno));
		return;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		cJSON *o = cJSON_ParseWithLength(line, (size_t)len);
		const char *path =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "path"));
		const char *state =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "state"));
		enum gate_state st;

		if (path && path[0] == '/' && state_of(state, &st) == 0) {
			GROW(g->dec, dcap, g->ndec + 1);
			g->dec[g->ndec] = (struct gate_decision){
				.path = xstrdup(path), .state = st, .seq = g->ndec};
			read_hunks(&g->dec[g->ndec], o);
			read_pin(&g->dec[g->ndec], o);
			g->ndec++;
		} else if (!path) {
			read_deferred(g, o);
		}
		cJSON_Delete(o);
	}
	if (g->ndec == 0)
		return;
	qsort(g->dec, g->ndec, sizeof(*g->dec), cmp_dec);
	/* Keep the last of each run of equal paths. */
	for (i = k = 0; i < g->ndec; i++) {
		if (i + 1 < g->ndec && strcmp(g->dec[i].path, g->dec[i + 1].path) == 0) {
			free(g->dec[i].path);
			free_hunks(&g->dec[i]);
			continue;
		}
		g->dec[k++] = g->dec[i];
	}
	g->ndec = k;
}

static void init_hidden(struct gate *g, const char *const *hidden, size_t n)
{
	g->hidden = xcalloc(n + 1, sizeof(*g->hidden));
	for (size_t i = 0; i < n; i++)
		if (hidden[i] && hidden[i][0] == '/')
			g->hidden[g->nhidden++] = xstrdup(hidden[i]);
}

static const char *reason_of(struct gate *g, const struct rule *r);

void gate_init(struct gate *g, struct ruleset *rs, const char *const *hidden, size_t nhidden)
{
	memset(g, 0, sizeof(*g));
	g->rs = *rs;
	memset(rs, 0, sizeof(*rs));
	g->have_rules = true;
	init_hidden(g, hidden, nhidden);
	/* Every sensitive rule's reason now: gate_classify() then only reads the gate (the
	   review classifies on two threads). */
	for (size_t i = 0; i < g->rs.n; i++)
		if (g->rs.rules[i]->cls == RULE_RISK)
			reason_of(g, g->rs.rules[i]);
}

void gate_load_decisions(struct gate *g, const char *file)
{
	free(g->file);
	g->file = xstrdup(file);
	load_decisions(g);
}

/* The reason a sensitive rule gives: its comment, else its pattern and origin. */
static const char *reason_of(struct gate *g, const struct rule *r)
{
	cleanup_free char *origin = NULL;
	size_t i;

	if (r->reason)
		return r->reason;
	for (i = 0; i < g->nreasons; i++)
		if (g->reasons[i].rule == r)
			return g->reasons[i].text;
	origin = rule_origin(r);
	GROW(g->reasons, g->reasons_cap, g->nreasons + 1);
	g->reasons[g->nreasons].rule = r;
	g->reasons[g->nreasons].text = xasprintf("sensitive %s (%s)", r->text, origin);
	return g->reasons[g->nreasons++].text;
}

void gate_open(struct gate *g, const struct session *s, const cJSON *meta)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(meta, "hidden"), *e;
	const char **hidden = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*hidden));
	struct ruleset rs = RULESET_INIT;
	cleanup_free char *file = session_path(s, "decisions.jsonl");
	size_t n = 0;
	/* Fail closed: without the rules nothing starts approved. */
	bool have_rules = policy_of_session(&rs, s, meta, NULL) == 0;

	cJSON_ArrayForEach(e, arr)
	{
		if (cJSON_IsString(e))
			hidden[n++] = e->valuestring;
	}
	gate_init(g, &rs, hidden, n);
	g->have_rules = have_rules;
	free(hidden);
	gate_load_decisions(g, file);
}

void gate_classify(struct gate *g, const char *path, struct gate_verdict *v)
{
	gate_classify_cached(g, NULL, path, v);
}

void gate_cache_free(struct gate_cache *c)
{
	rules_cache_free(&c->rules);
	free(c->dir);
	free(c->named);
	memset(c, 0, sizeof(*c));
}

/* The length path_is_under() compares of hidden path h. */
static size_t under_len(const char *h)
{
	size_t n = strlen(h);

	while (n > 1 && h[n - 1] == '/')
		n--;
	return n;
}

/*
 * Work out c for the directory of path, the k bytes before its last slash: whether a path
 * there is under a hidden path depends on the name only for hidden paths longer than k that
 * start with those k bytes and the slash; for the others it is the same for every name.
 */
static void cache_hidden(const struct gate *g, struct gate_cache *c, const char *path, size_t k)
{
	free(c->dir);
	c->dir = xstrndup(path, k);
	c->len = k;
	c->under = g->nhidden;
	c->named = xrealloc(c->named, (g->nhidden + 1) * sizeof(*c->named));
	c->nnamed = 0;
	for (size_t i = 0; i < g->nhidden; i++) {
		const char *h = g->hidden[i];

		if (strcmp(h, "/") == 0 || under_len(h) <= k) {
			if (path_is_under(path, h)) {
				c->under = i;
				return;
			}
		} else if (strncmp(path, h, k + 1) == 0) {
			c->named[c->nnamed++] = i;
		}
	}
}

/* The first hidden path that path is or is under, as gate_classify() looks for it; or NULL. */
static const char *hidden_of(const struct gate *g, struct gate_cache *c, const char *path)
{
	const char *slash = c ? strrchr(path, '/') : NULL;
	size_t k = slash ? (size_t)(slash - path) : 0;

	if (!slash) {
		for (size_t i = 0; i < g->nhidden; i++)
			if (path_is_under(path, g->hidden[i]))
				return g->hidden[i];
		return NULL;
	}
	if (!c->dir || c->len != k || memcmp(c->dir, path, k) != 0)
		cache_hidden(g, c, path, k);
	for (size_t j = 0; j < c->nnamed; j++)
		if (path_is_under(path, g->hidden[c->named[j]]))
			return g->hidden[c->named[j]];
	return c->under < g->nhidden ? g->hidden[c->under] : NULL;
}

/* The verdict of the rules on path (there are rules, path is not hidden). */
static void classify_by_rules(struct gate *g, struct gate_cache *c, const char *path,
			      struct gate_verdict *v)
{
	const struct rule *sensitive = NULL;
	enum rule_action a;

	if (c) {
		rules_match_cached(&g->rs, &c->rules, path, &v->rule, &sensitive);
		a = policy_write_action(v->rule);
	} else {
		a = policy_write_verdict(&g->rs, path, &v->rule);
	}
	if (a == RULE_DENY) {
		v->state = GATE_DENIED;
		v->by = GATE_BY_DENY;
		return;
	}
	v->sensitive = c ? sensitive : rules_match_sensitive(&g->rs, path);
	if (v->sensitive)
		v->risk = reason_of(g, v->sensitive);
	if (v->sensitive && !(a == RULE_ALLOW && rules_write_is_exact(v->rule))) {
		v->state = GATE_UNDECIDED;
		v->by = GATE_BY_RISK;
	} else {
		v->state = a == RULE_ALLOW ? GATE_APPROVED : GATE_UNDECIDED;
		v->by = GATE_BY_RULES;
	}
}

void gate_classify_cached(struct gate *g, struct gate_cache *c, const char *path,
			  struct gate_verdict *v)
{
	const struct gate_decision *d;

	memset(v, 0, sizeof(*v));
	v->hidden = hidden_of(g, c, path);
	if (v->hidden) {
		v->state = GATE_DENIED;
		v->by = GATE_BY_HIDDEN;
		return;
	}
	if (!g->have_rules) {
		v->state = GATE_UNDECIDED;
		v->by = GATE_BY_NO_RULES;
		return;
	}
	classify_by_rules(g, c, path, v);
	if (v->by == GATE_BY_DENY)
		return;
	d = find_dec(g, path);
	if (d) {
		v->state = d->state;
		v->person = true;
		v->hunks = d->hunks;
		v->old_sha = d->old_sha;
		v->new_sha = d->new_sha;
		v->pin = d->pin;
	}
}

/*
 * The pin is the upper entry's identity, not a hash of its content: device, inode, size and
 * ctime, all from the lstat the change scan already made, so pinning 100,000 decisions costs
 * nothing (a hash would read every file at each review and commit). It is enough because the
 * upper directory is on the store's filesystem, which the program reaches only through the
 * overlay: every write, truncation, chmod or rename onto the path sets the upper inode's ctime
 * to the kernel's clock (or gives a new inode, as a copy-up does), and no unprivileged call
 * sets ctime back (utimensat moves mtime, and ctime with it to now). Since Linux 6.13 the
 * common filesystems give a fine-grained ctime to an inode that was stat'ed since its last
 * change, as the scan that took the pin did, so even a rewrite right after the scan shows.
 * A directory is pinned to its permissions only: its ctime moves whenever an entry below it
 * changes, and those are changes decided on their own.
 */
char *gate_pin(const struct change *c)
{
	if (c->kind == CHANGE_DELETED)
		return NULL;
	if (S_ISDIR(c->mode))
		return xasprintf("d:%o", (unsigned)(c->mode & 07777));
	return xasprintf("i:%o:%ju:%ju:%jd:%jd.%09ld", (unsigned)c->mode, (uintmax_t)c->dev,
			 (uintmax_t)c->ino, (intmax_t)c->size, (intmax_t)c->ctim.tv_sec,
			 (long)c->ctim.tv_nsec);
}

void gate_classify_change(struct gate *g, const struct change *c, struct gate_verdict *v)
{
	gate_classify_change_cached(g, NULL, c, v);
}

void gate_classify_change_cached(struct gate *g, struct gate_cache *gc, const struct change *c,
				 struct gate_verdict *v)
{
	cleanup_free char *pin = NULL;

	gate_classify_cached(g, gc, c->path, v);
	if (!v->person || v->state != GATE_APPROVED || !v->pin)
		return;
	pin = gate_pin(c);
	if (pin && strcmp(pin, v->pin) == 0)
		return;
	v->state = GATE_UNDECIDED;
	v->person = false;
	v->changed = true;
}

int gate_decide(struct gate *g, const char *path, enum gate_state st)
{
	return gate_decide_pinned(g, path, st, NULL);
}

static int decide(struct gate *g, const char *path, enum gate_state st, const char *hunks,
		  const char *old_sha, const char *new_sha, const char *pin);

int gate_decide_pinned(struct gate *g, const char *path, enum gate_state st, const char *pin)
{
	return decide(g, path, st, NULL, NULL, NULL, st == GATE_APPROVED ? pin : NULL);
}

int gate_decide_hunks(struct gate *g, const char *path, enum gate_state st, const char *hunks,
		      const char *old_sha, const char *new_sha)
{
	return decide(g, path, st, hunks, old_sha, new_sha, NULL);
}

/* Append the decision o (freed here) to the session's file as one line. 0 or -errno (printed). */
static int append_decision(struct gate *g, cJSON *o)
{
	cleanup_free char *line = cJSON_PrintUnformatted(o);
	cleanup_free char *nl = NULL;
	cleanup_fd int fd = -1;
	size_t len;

	cJSON_Delete(o);
	if (!line) {
		error("cannot record a decision in %s", g->file);
		return -ENOMEM;
	}
	nl = xasprintf("%s\n", line);
	len = strlen(nl);
	fd = open(g->file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* One write per line: concurrent reviews append whole lines. */
	if (fd < 0 || write(fd, nl, len) != (ssize_t)len) {
		int e = fd < 0 ? errno : EIO;

		error_errno("cannot record the decision in %s", g->file);
		return -e;
	}
	return 0;
}

static int decide(struct gate *g, const char *path, enum gate_state st, const char *hunks,
		  const char *old_sha, const char *new_sha, const char *pin)
{
	struct gate_decision *d = find_dec(g, path);
	cJSON *o;

	if (d) {
		d->state = st;
	} else {
		/* Kept sorted: a review decides one change at a time. */
		/* By bisection: D in the review inserts 100,000 paths, one after another. */
		size_t at = SORTED_FIND(g->dec, g->ndec, path, path);

		g->dec = xrealloc(g->dec, (g->ndec + 1) * sizeof(*g->dec));
		memmove(&g->dec[at + 1], &g->dec[at], (g->ndec - at) * sizeof(*g->dec));
		g->dec[at] = (struct gate_decision){.path = xstrdup(path), .state = st};
		g->ndec++;
		d = &g->dec[at];
	}
	free_hunks(d);
	if (hunks) {
		d->hunks = xstrdup(hunks);
		d->old_sha = xstrdup(old_sha);
		d->new_sha = xstrdup(new_sha);
	}
	if (pin)
		d->pin = xstrdup(pin);
	if (!g->file)
		return 0;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "state", gate_state_name(st));
	if (hunks) {
		cJSON_AddStringToObject(o, "hunks", hunks);
		cJSON_AddStringToObject(o, "old_sha256", old_sha);
		cJSON_AddStringToObject(o, "new_sha256", new_sha);
	}
	if (pin)
		cJSON_AddStringToObject(o, "pin", pin);
	return append_decision(g, o);
}

int gate_decide_deferred(struct gate *g, unsigned n, enum gate_state st)
{
	cJSON *o;

	push_deferred(g, n, st);
	if (!g->file)
		return 0;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "deferred", n);
	cJSON_AddStringToObject(o, "state", gate_state_name(st));
	return append_decision(g, o);
}

bool gate_deferred_state(const struct gate *g, unsigned n, enum gate_state *st)
{
	size_t i;

	/* The last line for n wins, as for a path. */
	for (i = g->ndefer; i-- > 0;)
		if (g->defer[i].n == n) {
			*st = g->defer[i].state;
			return true;
		}
	return false;
}

const char *gate_select(struct gate *g, const struct change *c, enum gate_mode mode, bool named,
			bool exact, struct gate_verdict *v)
{
	gate_classify_change(g, c, v);
	/* Never, whatever the person named: the commit's re-check of every final host path. */
	if (v->by == GATE_BY_DENY)
		return "denied";
	/* Hidden: the commit's own check says so when the change is in scope. */
	if (v->by == GATE_BY_HIDDEN)
		return mode == GATE_TAKE_ALL || (mode == GATE_TAKE_NAMED && named) ? NULL
										   : "hidden";
	switch (mode) {
	case GATE_TAKE_NAMED:
		if (!named)
			return "skip";
		/* A flagged change goes in only when the person named it. */
		if (v->risk && v->state != GATE_APPROVED && !exact)
			return "flagged";
		return NULL;
	case GATE_TAKE_ALL:
		if (v->state == GATE_UNDECIDED && !v->risk)
			return NULL;
		break;
	case GATE_TAKE_APPROVED:
		break;
	}
	if (v->state == GATE_APPROVED)
		return NULL;
	if (v->state == GATE_DENIED)
		return "denied";
	return v->risk ? "flagged" : "undecided";
}

bool gate_named_exactly(struct gate *g, const char *path, char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gate_verdict v;

		if (strcmp(paths[i], path) == 0)
			return true;
		if (!path_is_under(path, paths[i]))
			continue;
		gate_classify(g, paths[i], &v);
		if (v.risk)
			return true;
	}
	return false;
}

void gate_close(struct gate *g)
{
	size_t i;

	for (i = 0; i < g->nhidden; i++)
		free(g->hidden[i]);
	for (i = 0; i < g->ndec; i++) {
		free(g->dec[i].path);
		free_hunks(&g->dec[i]);
	}
	for (i = 0; i < g->nreasons; i++)
		free(g->reasons[i].text);
	free(g->hidden);
	free(g->dec);
	free(g->defer);
	free(g->reasons);
	free(g->file);
	rules_release(&g->rs);
	memset(g, 0, sizeof(*g));
}
