/* SPDX-License-Identifier: MIT */
/* Listing a session's deferred commands and running the approved ones on the host. */
#include "supervisor/changeset/deferred.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/changeset/gate.h"
#include "supervisor/record/report.h"
#include "supervisor/record/session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Output kept per command; more is shown but not kept. */
#define KEEP_OUTPUT (16u << 20)

struct deferred_cmd *deferred_find(struct deferred_list *l, unsigned n)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].n == n)
			return &l->v[i];
	return NULL;
}

static void add_cmd(struct deferred_list *l, const cJSON *ev, unsigned n)
{
	struct deferred_cmd *c;
	const char *path = meta_str(ev, "target"), *cwd = meta_str(ev, "cwd");
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(ev, "command");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(ev, "env");

	if (!path || !cwd || !cJSON_IsArray(cmd) || deferred_find(l, n))
		return;
	GROW(l->v, l->cap, l->n + 1);
	c = &l->v[l->n++];
	c->n = n;
	c->command = cJSON_Duplicate(cmd, true);
	c->path = xstrdup(path);
	c->cwd = xstrdup(cwd);
	c->env = cJSON_IsArray(env) ? cJSON_Duplicate(env, true) : cJSON_CreateArray();
	c->ran = -1;
}

/* Take ev into out when it is a deferred command, or how one ran. */
static void note_event(struct deferred_list *out, const cJSON *ev)
{
	const char *cls = meta_str(ev, "class");
	double n = meta_num(ev, "deferred", 0);

	if (!cls || n < 1 || n >= 1e9)
		return;
	if (strcmp(cls, "exec") == 0 && meta_str(ev, "decision") &&
	    strcmp(meta_str(ev, "decision"), "defer") == 0)
		add_cmd(out, ev, (unsigned)n);
	else if (strcmp(cls, "deferred") == 0 && deferred_find(out, (unsigned)n))
		/* A start without an end (airlock died meanwhile) counts as run. */
		deferred_find(out, (unsigned)n)->ran =
			meta_str(ev, "op") && strcmp(meta_str(ev, "op"), "start") == 0
				? -2
				: (int)meta_num(ev, "exit_code", 0);
}

int deferred_load(const struct session *s, struct deferred_list *out)
{
	cleanup_free char *path = session_path(s, "events.jsonl");
	cleanup_file FILE *f = fopen(path, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &cap, f) > 0) {
		cJSON *ev = cJSON_Parse(line);

		if (ev)
			note_event(out, ev);
		cJSON_Delete(ev);
	}
	return 0;
}

void deferred_from_events(const cJSON *events, struct deferred_list *out)
{
	const cJSON *ev;

	memset(out, 0, sizeof(*out));
	cJSON_ArrayForEach(ev, events)
	{
		note_event(out, ev);
	}
}

void deferred_free(struct deferred_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		cJSON_Delete(l->v[i].command);
		cJSON_Delete(l->v[i].env);
		free(l->v[i].path);
		free(l->v[i].cwd);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool any_deferred(const cJSON *commands)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, commands)
	{
		if (cJSON_GetObjectItemCaseSensitive(c, "deferred"))
			return true;
	}
	return false;
}

/* The state of deferred command n: how it ran, else the decision saved in g. */
static void add_state(cJSON *c, struct deferred_list *l, const struct gate *g, double n)
{
	const struct deferred_cmd *d = n >= 1 && n < 1e9 ? deferred_find(l, (unsigned)n) : NULL;
	enum gate_state st = GATE_UNDECIDED;

	if (d && d->ran != -1) {
		cJSON_AddStringToObject(c, "state", "ran");
		if (d->ran == -2)
			cJSON_AddNullToObject(c, "exit_code");
		else
			cJSON_AddNumberToObject(c, "exit_code", d->ran);
		return;
	}
	/* Only a command the log has (one deferred_run() would take) is looked up. */
	if (d)
		gate_deferred_state(g, d->n, &st);
	cJSON_AddStringToObject(c, "state", gate_state_name(st));
}

void deferred_report(const struct session *s, cJSON *commands)
{
	cleanup_free char *file = NULL;
	struct ruleset rs = RULESET_INIT;
	struct deferred_list l;
	struct gate g;
	cJSON *c;

	if (!any_deferred(commands))
		return;
	if (deferred_load(s, &l) < 0) {
		warn("cannot read the deferred commands of session %s: their state is unknown",
		     s->id);
		return;
	}
	/* The saved decisions only: no rules decide a deferred command. */
	file = session_path(s, "decisions.jsonl");
	gate_init(&g, &rs, NULL, 0);
	gate_load_decisions(&g, file);
	cJSON_ArrayForEach(c, commands)
	{
		double n = meta_num(c, "deferred", 0);

		if (cJSON_GetObjectItemCaseSensitive(c, "deferred"))
			add_state(c, &l, &g, n);
	}
	gate_close(&g);
	deferred_free(&l);
}

/* Run c with its output shown and kept; its waitpid() status, or -1 when it cannot start. */
static int run_one(const struct session *s, const struct deferred_cmd *c)
{
	cleanup_free char **argv = json_strings(c->command);
	cleanup_free char *name = xasprintf("deferred/%u.out", c->n);
	cleanup_free char *dir = session_path(s, "deferred");
	cleanup_free char *out = session_path(s, name);
	struct buf kept = BUF_INIT;
	int p[2], status = -1;
	pid_t pid;

	if (!argv[0])
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		if (chdir(c->cwd) < 0) {
			fprintf(stderr, "airlock: cannot enter %s: %s\n", c->cwd, strerror(errno));
			_exit(126);
		}
		/* The person's environment, not the recorded one (deferred.h). */
		execve(c->path, argv, environ);
		fprintf(stderr, "airlock: cannot run %s: %s\n", c->path, strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(p[1]);
	buf_init(&kept);
	for (;;) {
		char chunk[65536];
		ssize_t r = read(p[0], chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		(void)!write(STDOUT_FILENO, chunk, (size_t)r);
		if (kept.len < KEEP_OUTPUT)
			buf_add(&kept, chunk,
				kept.len + (size_t)r > KEEP_OUTPUT ? KEEP_OUTPUT - kept.len
								   : (size_t)r);
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if ((mkdir(dir, 0700) == 0 || errno == EEXIST) &&
	    write_file_atomic(out, kept.data, kept.len, 0600, true) < 0)
		warn("cannot keep the output of deferred command %u in the session", c->n);
	buf_release(&kept);
	return status;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* The event of a start (started) or of an end with status (a waitpid() status, -1: none). */
static cJSON *run_event(const struct deferred_cmd *c, bool started, int status)
{
	struct passwd *pw = getpwuid(getuid());
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "class", "deferred");
	cJSON_AddStringToObject(ev, "op", started ? "start" : "run");
	cJSON_AddNumberToObject(ev, "deferred", c->n);
	cJSON_AddItemToObject(ev, "command", cJSON_Duplicate(c->command, true));
	cJSON_AddStringToObject(ev, "target", c->path);
	cJSON_AddStringToObject(ev, "cwd", c->cwd);
	cJSON_AddStringToObject(ev, "decision", "allow");
	cJSON_AddStringToObject(ev, "by", "person");
	cJSON_AddStringToObject(ev, "user", pw ? pw->pw_name : "?");
	if (started) {
		cJSON_AddStringToObject(ev, "result", "started");
	} else if (status < 0) {
		cJSON_AddStringToObject(ev, "result", "not started");
		cJSON_AddNumberToObject(ev, "exit_code", 126);
	} else if (WIFEXITED(status)) {
		cJSON_AddStringToObject(ev, "result", "exited");
		cJSON_AddNumberToObject(ev, "exit_code", WEXITSTATUS(status));
	} else {
		cJSON_AddStringToObject(ev, "result", "killed");
		cJSON_AddNumberToObject(ev, "exit_code", 128 + WTERMSIG(status));
	}
	return ev;
}

int deferred_run(const struct session *s, struct event_log *log, const unsigned *which, size_t n)
{
	struct deferred_list l;
	cleanup_free unsigned *order = NULL;
	int rc = 0;
	size_t i;

	if (n == 0)
		return 0;
	if (deferred_load(s, &l) < 0)
		return error("cannot read the deferred commands of session %s", s->id);
	order = xcalloc(n, sizeof(*order));
	memcpy(order, which, n * sizeof(*order));
	qsort(order, n, sizeof(*order), cmp_uint);
	for (i = 0; i < n; i++) {
		const struct deferred_cmd *c = deferred_find(&l, order[i]);

		if (!c || (i > 0 && order[i] == order[i - 1])) {
			error("session %s has no deferred command %u%s", s->id, order[i],
			      l.n ? "" : " (it deferred none)");
			deferred_free(&l);
			return -1;
		}
		if (c->ran != -1) {
			if (c->ran == -2)
				error("deferred command %u of session %s was started already",
				      order[i], s->id);
			else
				error("deferred command %u of session %s already ran (exit "
				      "status %d)",
				      order[i], s->id, c->ran);
			deferred_free(&l);
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		const struct deferred_cmd *c = deferred_find(&l, order[i]);
		cleanup_free char *cmd = join_argv(c->command);
		cleanup_free char *clean = term_sanitize(cmd);
		int status;

		cleanup_free char *exe = term_sanitize(c->path);
		cleanup_free char *cwd = term_sanitize(c->cwd);

		fprintf(stderr,
			"airlock: running deferred command %u: %s\n"
			"airlock:   program %s, in %s, with your environment\n",
			c->n, clean, exe, cwd);
		/* Recorded before it runs: what happens on the host is never unrecorded. */
		if (events_append(log, run_event(c, true, 0)) < 0) {
			error("cannot record deferred command %u: not run", c->n);
			rc = 1;
			continue;
		}
		status = run_one(s, c);
		if (events_append(log, run_event(c, false, status)) < 0)
			warn("cannot record the end of deferred command %u", c->n);
		if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "airlock: deferred command %u failed (%s %d)\n", c->n,
				status >= 0 && WIFSIGNALED(status) ? "signal" : "exit status",
				status < 0	      ? 126
				: WIFSIGNALED(status) ? WTERMSIG(status)
						      : WEXITSTATUS(status));
			rc = 1;
		}
	}
	deferred_free(&l);
	return rc;
}
