/* SPDX-License-Identifier: MIT */
/* `airlock run`'s output: the relayed or captured streams, limits said, the --json result. */
#include "common/json.h"
#include "supervisor/supervise/run_int.h"

/* Copy everything to fd (a regular file the caller gave airlock as stdout or stderr). */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the caller's file is full or gone: the output is lost, as it
				   would be */
		p += w;
		n -= (size_t)w;
	}
}

void capture_read(struct capture *c)
{
	char chunk[65536];
	int rounds;

	/* A bounded number of reads per wake-up: busy writers must not starve notifications. */
	for (rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(c->fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(c->fd);
			c->fd = -1;
			return;
		}
		if (c->sink >= 0) {
			write_all(c->sink, chunk, (size_t)n);
			continue;
		}
		{
			size_t keep = (size_t)n;

			/* Keep draining past the limit, so the program is never blocked on us. */
			if (c->limit && c->data.len + keep > c->limit)
				keep = c->data.len >= c->limit ? 0
							       : (size_t)(c->limit - c->data.len);
			buf_add(&c->data, chunk, keep);
			c->dropped += (unsigned long long)n - keep;
		}
	}
}

/*
 * Whether descriptor fd of ours may be handed to the sandbox as it is. The program can
 * reopen its stdio through /proc/self/fd/N with any access the file's permissions allow:
 * a regular file, a directory or a named FIFO handed over as is would let it write to the
 * host outside every overlay. Terminals, sockets and anonymous pipes give it nothing new.
 */
bool stdio_safe(int fd)
{
	char link[64], target[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return true; /* closed: nothing to reopen */
	if (S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode))
		return true;
	if (!S_ISFIFO(st.st_mode))
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strncmp(target, "pipe:", 5) == 0;
}

/* One step: read when nothing is held (our stdin polled readable), else write what is. */
void feeder_write(struct feeder *f)
{
	ssize_t n;

	if (f->off == f->len) {
		n = read(f->src, f->buf, sizeof(f->buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) { /* end of file, or a directory: the command sees end of file */
			close(f->pipe);
			f->pipe = -1;
			return;
		}
		f->off = 0;
		f->len = (size_t)n;
	}
	n = write(f->pipe, f->buf + f->off, f->len - f->off);
	if (n > 0)
		f->off += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		close(f->pipe); /* the command closed its stdin */
		f->pipe = -1;
	}
}

/* "104857600" -> "100 MiB", for messages. */
void human_size(unsigned long long v, char *out, size_t sz)
{
	if (v >= (1ULL << 30) && v % (1ULL << 30) == 0)
		snprintf(out, sz, "%llu GiB", v >> 30);
	else if (v >= (1ULL << 20))
		snprintf(out, sz, "%.1f MiB", (double)v / (1 << 20));
	else
		snprintf(out, sz, "%llu bytes", v);
}

void report_limit(const char *limit, const struct run_limits *l)
{
	char v[64] = "";

	if (strcmp(limit, "memory") == 0)
		human_size(l->memory, v, sizeof(v));
	else if (strcmp(limit, "fsize") == 0)
		human_size(l->fsize, v, sizeof(v));
	else if (strcmp(limit, "pids") == 0)
		snprintf(v, sizeof(v), "%llu tasks", l->pids);
	else if (strcmp(limit, "cpu") == 0)
		snprintf(v, sizeof(v), "%.1f s of CPU", (double)l->cpu_ms / 1000);
	else if (strcmp(limit, "timeout") == 0)
		snprintf(v, sizeof(v), "%.1f s", (double)l->timeout_ms / 1000);
	if (strcmp(limit, "disk") == 0) {
		fprintf(stderr, "airlock: the disk holding the session store ran low on free space "
				"(AIRLOCK_DISK_RESERVE) and the sandbox was stopped\n");
		return;
	}
	fprintf(stderr, "airlock: the sandbox reached its %s limit (--%s, %s) and was stopped\n",
		limit, limit, v);
}

/* Limits as the record keeps them: value and what enforced it. */
cJSON *limits_json(const struct run_limits *l, bool root)
{
	cJSON *o = cJSON_CreateObject();
	struct {
		const char *name;
		unsigned long long v;
		const char *how;
	} rows[] = {
		{"timeout_ms", l->timeout_ms, "supervisor timer"},
		{"cpu_ms", l->cpu_ms,
		 "supervisor, sum over the sandbox every 10-50 ms; RLIMIT_CPU"},
		{"memory", l->memory,
		 "supervisor, resident memory and socket buffers summed every 10-50 ms"},
		{"pids", l->pids,
		 root ? "supervisor, tasks counted every 10-50 ms (RLIMIT_NPROC does not bind uid 0)"
		      : "supervisor, tasks counted every 10-50 ms; RLIMIT_NPROC"},
		{"fsize", l->fsize, "RLIMIT_FSIZE"},
		{"output", l->output, "supervisor, captured output cut"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		cJSON *r = cJSON_CreateObject();

		if (rows[i].v)
			cJSON_AddNumberToObject(r, "value", (double)rows[i].v);
		else
			cJSON_AddNullToObject(r, "value");
		cJSON_AddStringToObject(r, "enforced_by", rows[i].v ? rows[i].how : "none");
		cJSON_AddItemToObject(o, rows[i].name, r);
	}
	return o;
}

/*
 * Values of removed variables become literals to redact. Values with a '/' are paths or path
 * lists (OLDPWD, VIRTUAL_ENV): redacting them would blank ordinary output, so they are kept
 * unless the name itself says secret.
 */
void add_env_literals(struct redactor *r, char *const *removed)
{
	for (; removed && *removed; removed++) {
		const char *v = getenv(*removed);
		cleanup_free char *kind = NULL;

		if (!v || strlen(v) < 8)
			continue;
		if (strchr(v, '/') && !env_looks_secret(*removed))
			continue;
		kind = xasprintf("env:%s", *removed);
		redactor_add_literal(r, kind, v);
	}
}

/* JSON text from captured bytes: NUL and invalid UTF-8 written as \xNN escapes. */
static cJSON *json_bytes(const char *data, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i = 0;
	cJSON *j;

	buf_init(&b);
	while (i < len) {
		const char *nul = memchr(data + i, '\0', len - i);
		size_t seg = nul ? (size_t)(nul - (data + i)) : len - i;
		cleanup_free char *part = xstrndup(data + i, seg);
		cleanup_free char *clean = utf8_sanitize(part);

		buf_adds(&b, clean);
		i += seg;
		if (nul) {
			buf_adds(&b, "\\x00");
			i++;
		}
	}
	j = cJSON_CreateString(b.data);
	buf_release(&b);
	return j;
}

/* The rules' own redactions (redact KIND ERE), beside the built-in patterns. */
static void add_rule_patterns(struct redactor *red, const struct ruleset *rules)
{
	const struct rule **v = NULL;
	size_t n = rules_redactions(rules, &v), i;

	for (i = 0; i < n; i++)
		if (redactor_add_pattern(red, v[i]->kind, v[i]->expr) < 0)
			warn("cannot use the redaction '%s' (%s): not applied", v[i]->text,
			     v[i]->kind);
	free(v);
}

/* Redact what was captured, keep it in the session, free the raw bytes. */
void finish_output(struct run_state *rs, const struct session *s, char *const *removed,
		   const struct ruleset *rules, struct output *out)
{
	static const char *const names[2] = {"stdout", "stderr"};
	int k;

	memset(out, 0, sizeof(*out));
	out->red = redactor_new();
	add_env_literals(out->red, removed);
	add_rule_patterns(out->red, rules);
	for (k = 0; k < 2; k++) {
		struct capture *c = &rs->out[k];
		cleanup_free char *path = session_path(s, names[k]);

		if (!c->data.data)
			buf_init(&c->data);
		if (c->dropped) {
			out->truncated = true;
			buf_addf(&c->data,
				 "\n[airlock: output cut at %llu bytes; %llu more dropped]\n",
				 c->limit, c->dropped);
		}
		out->text[k] = redactor_apply(out->red, c->data.data, c->data.len, &out->len[k]);
		buf_release(&c->data);
		if (write_file_atomic(path, out->text[k], out->len[k], 0600, false) < 0)
			warn("cannot keep the captured %s in the session", names[k]);
	}
}

cJSON *redactions_json(const struct redactor *r)
{
	cJSON *o = cJSON_CreateObject();
	size_t i, n = redactor_nkinds(r);

	for (i = 0; i < n; i++) {
		size_t count;
		const char *kind = redactor_kind(r, i, &count);

		cJSON_AddNumberToObject(o, kind, (double)count);
	}
	return o;
}

/*
 * The network the program was refused, in the run's last lines: a tool that retries refused
 * connections (npm did for 3.5 minutes) should not end with only a count of changes.
 */
void say_denied_net(const struct event_log *log)
{
	unsigned i;

	fprintf(stderr, "airlock: %lu network attempt%s denied (", log->denied_net,
		log->denied_net == 1 ? " was" : "s were");
	for (i = 0; i < log->ndenied_first; i++) {
		char *shown = term_sanitize(log->denied_first[i]);

		fprintf(stderr, "%s%s", i ? ", " : "", shown);
		free(shown);
	}
	if (log->denied_net > log->ndenied_first)
		fputs(", ...", stderr);
	fputs("); 'airlock log' shows them, and 'allow connect HOST:PORT' in a rules file "
	      "allows one (airlock-rules(5))\n",
	      stderr);
}

void print_result(const struct session *s, struct session_record *rec, const struct output *out,
		  int status, int sig, const char *limit, unsigned long denied_net)
{
	cJSON *res = cJSON_CreateObject();
	struct change_set rescan = {0};
	const cJSON *meta = rec->meta;
	cleanup_free char *text = NULL;

	cJSON_AddNumberToObject(res, "version", 1); /* airlock-json(7) */
	cJSON_AddStringToObject(res, "session", s->id);
	cJSON_AddNumberToObject(res, "exit_code", status);
	if (sig)
		cJSON_AddNumberToObject(res, "signal", sig);
	else
		cJSON_AddNullToObject(res, "signal");
	if (limit)
		cJSON_AddStringToObject(res, "limit", limit);
	else
		cJSON_AddNullToObject(res, "limit");
	cJSON_AddNumberToObject(res, "duration_ms", meta_num(meta, "duration_ms", 0));
	cJSON_AddItemToObject(res, "stdout", json_bytes(out->text[0], out->len[0]));
	cJSON_AddItemToObject(res, "stderr", json_bytes(out->text[1], out->len[1]));
	cJSON_AddBoolToObject(res, "truncated", out->truncated);
	cJSON_AddItemToObject(res, "redactions", redactions_json(out->red));
	cJSON_AddNumberToObject(res, "network_denied", (double)denied_net);
	/* The end of the run scanned the change set already; scan again only if that failed. */
	if (rec->nchanges >= 0)
		report_add(res, s, meta, &rec->changes, true);
	else
		report_add(res, s, meta, &rescan, false);
	change_set_free(&rescan);
	text = cJSON_Print(res);
	cJSON_Delete(res);
	if (text)
		puts(text);
	fflush(stdout);
}

void open_capture(struct capture *c, int *write_end, unsigned long long limit)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		die_errno("cannot create a pipe for the output");
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
		die_errno("cannot set up the output pipe");
	c->fd = p[0];
	c->limit = limit;
	buf_init(&c->data);
	*write_end = p[1];
}
