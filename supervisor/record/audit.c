/* SPDX-License-Identifier: MIT */
/* `airlock verify` and `airlock log`: checking a session's hash-chained record and reading it. */
#include "supervisor/cli/cli.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/path.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "rules/rules.h"
#include "supervisor/record/manifest.h"
#include "supervisor/record/seal.h"
#include "supervisor/record/session.h"
#include "supervisor/record/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define META_MAX   (64 << 20)
#define MAX_INDENT 12 /* deeper process trees are drawn at this depth */

/* A line read from events.jsonl: 1 with the newline stripped, 0 at the end, -errno. */
static int read_line(FILE *f, char **line, size_t *cap, size_t *len, bool *terminated)
{
	ssize_t n;

	errno = 0;
	n = getline(line, cap, f);
	if (n < 0)
		return errno ? -errno : 0;
	*terminated = (*line)[n - 1] == '\n';
	if (*terminated)
		(*line)[--n] = '\0';
	*len = (size_t)n;
	return 1;
}

/* Parse a line as exactly one JSON object with nothing after it; NULL otherwise. */
static cJSON *parse_event(const char *line, size_t len)
{
	const char *end = NULL;
	cJSON *ev = cJSON_ParseWithLengthOpts(line, len, &end, false);

	if (ev && (!cJSON_IsObject(ev) || end != line + len)) {
		cJSON_Delete(ev);
		return NULL;
	}
	return ev;
}

/* The head meta.json recorded (see seal_meta()), if it recorded one. */
struct recorded_head {
	bool present;
	unsigned long long events;
	char head[65];
};

/* The last seal found in events.jsonl (see seal_meta() in seal.c). */
struct seal {
	bool present;
	unsigned long long line; /* its line number, from 1 */
	char sha256[65];
	cJSON *fields; /* owned */
};

/* A non-negative integer that a double holds exactly; false for anything else. */
static bool as_count(const cJSON *v, unsigned long long *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9007199254740992.0 ||
	    (double)(unsigned long long)v->valuedouble != v->valuedouble)
		return false;
	*out = (unsigned long long)v->valuedouble;
	return true;
}

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/*
 * Check meta.json: it parses, names this session, and its chain head (if any) is well formed.
 * *out gets the parsed meta when it is a JSON object (caller deletes), else NULL.
 */
static int check_meta(const struct session *s, struct recorded_head *rh, cJSON **out)
{
	cleanup_free char *path = session_path(s, "meta.json");
	cleanup_free char *text = NULL;
	const cJSON *chain, *head;
	const char *id;
	size_t len = 0;
	cJSON *meta;
	int rc = 0;

	memset(rh, 0, sizeof(*rh));
	*out = NULL;
	text = read_file(path, META_MAX, &len);
	if (!text)
		return error_errno("session %s: cannot read meta.json", s->id);
	meta = cJSON_ParseWithLength(text, len);
	if (!meta || !cJSON_IsObject(meta)) {
		cJSON_Delete(meta);
		return error("session %s: meta.json: not a valid JSON object (cut short or edited)",
			     s->id);
	}
	id = meta_str(meta, "id");
	if (!id) {
		rc = error("session %s: meta.json: names no session id", s->id);
	} else if (strcmp(id, s->id) != 0) {
		cleanup_free char *shown = term_sanitize(id);

		rc = error("session %s: meta.json: names session '%s', not this one", s->id, shown);
	}
	chain = cJSON_GetObjectItemCaseSensitive(meta, "chain");
	if (chain) {
		head = cJSON_GetObjectItemCaseSensitive(chain, "head");
		if (!as_count(cJSON_GetObjectItemCaseSensitive(chain, "events"), &rh->events) ||
		    !cJSON_IsString(head) || strlen(head->valuestring) != (rh->events ? 64 : 0)) {
			rc = error("session %s: meta.json: the recorded chain head is malformed",
				   s->id);
		} else {
			rh->present = true;
			memcpy(rh->head, head->valuestring, strlen(head->valuestring) + 1);
		}
	}
	*out = meta;
	return rc;
}

/* Remember ev as the last seal when it is one: only airlock writes "meta_sha256". */
static void note_seal(const cJSON *ev, unsigned long long lineno, struct seal *seal)
{
	const cJSON *sha = cJSON_GetObjectItemCaseSensitive(ev, "meta_sha256");
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(ev, "meta_fields");

	if (!sha)
		return;
	cJSON_Delete(seal->fields);
	seal->present = true;
	seal->line = lineno;
	/* A malformed seal matches no meta: verify then says meta.json differs from it. */
	snprintf(seal->sha256, sizeof(seal->sha256), "%s",
		 cJSON_IsString(sha) && is_hex64(sha->valuestring) ? sha->valuestring : "");
	seal->fields = cJSON_IsObject(fields) ? cJSON_Duplicate(fields, true) : NULL;
}

/*
 * Check one line of the chain: a JSON object whose seq is the expected one and whose prev is
 * the hash of the line before. NULL when it is good (a seal is noted), else what is wrong
 * (caller frees).
 */
static char *check_entry(const char *line, size_t len, unsigned long long lineno,
			 unsigned long long want_seq, const char *want_prev, struct seal *seal)
{
	cJSON *ev = parse_event(line, len);
	const cJSON *prev;
	unsigned long long seq;
	char *why = NULL;

	if (!ev)
		return xstrdup("not valid JSON (or not one JSON object)");
	prev = cJSON_GetObjectItemCaseSensitive(ev, "prev");
	if (!as_count(cJSON_GetObjectItemCaseSensitive(ev, "seq"), &seq))
		why = xstrdup("no valid \"seq\" number (edited)");
	else if (seq != want_seq)
		why = xasprintf("seq %llu where %llu was expected (a line was deleted, inserted or "
				"moved)",
				seq, want_seq);
	else if (!cJSON_IsString(prev))
		why = xasprintf("seq %llu: no \"prev\" hash (edited)", seq);
	else if (strcmp(prev->valuestring, want_prev) != 0 && lineno == 1)
		why = xasprintf("seq %llu: prev hash is not empty, as the first entry's must be "
				"(edited, or earlier lines deleted)",
				seq);
	else if (strcmp(prev->valuestring, want_prev) != 0)
		why = xasprintf("seq %llu: prev hash does not match line %llu (edited, deleted or "
				"reordered)",
				seq, lineno - 1);
	else
		note_seal(ev, lineno, seal);
	cJSON_Delete(ev);
	return why;
}

/*
 * Walk events.jsonl recomputing the chain. 0 when intact (*count = events, *seal = the last
 * seal), -1 after printing the first bad entry, or -errno when the file cannot be read.
 */
static int check_chain(const struct session *s, const struct recorded_head *rh,
		       unsigned long long *count, struct seal *seal)
{
	cleanup_free char *path = session_path(s, "events.jsonl");
	cleanup_file FILE *f = fopen(path, "re");
	cleanup_free char *line = NULL;
	char prev[65] = "";
	unsigned long long n = 0;
	size_t cap = 0, len;
	bool terminated;
	int rc;

	*count = 0;
	if (!f)
		return error_errno("session %s: cannot open events.jsonl", s->id);
	while ((rc = read_line(f, &line, &cap, &len, &terminated)) > 0) {
		cleanup_free char *why = NULL;

		if (!terminated) {
			/* A running session may be between write() and our read. */
			if (store_in_use(s->id))
				break;
			return error(
				"session %s: events.jsonl:%llu: the line has no end (cut short "
				"by a crash, or edited)",
				s->id, n + 1);
		}
		why = check_entry(line, len, n + 1, n, prev, seal);
		if (why)
			return error("session %s: events.jsonl:%llu: %s", s->id, n + 1, why);
		sha256_hex(line, len, prev);
		n++;
		if (rh->present && n == rh->events && strcmp(prev, rh->head) != 0)
			return error("session %s: events.jsonl:%llu: seq %llu: does not match the "
				     "chain head recorded in meta.json (edited)",
				     s->id, n, n - 1);
	}
	if (rc < 0)
		return error_rc(rc, "session %s: cannot read events.jsonl", s->id);
	if (rh->present && n < rh->events)
		return error("session %s: events.jsonl: %llu lines where meta.json recorded %llu "
			     "(lines were cut from the end)",
			     s->id, n, rh->events);
	*count = n;
	return 0;
}

/* meta differs from the seal: name the first member that does. Returns -1. */
static int name_changed_member(const struct session *s, cJSON *meta, const struct seal *seal)
{
	char digest[SEAL_FIELD_DIGEST + 1];
	const cJSON *f, *m;

	cJSON_ArrayForEach(f, seal->fields)
	{
		cleanup_free char *key = term_sanitize(f->string ? f->string : "");

		m = f->string ? cJSON_GetObjectItemCaseSensitive(meta, f->string) : NULL;
		if (!m || strcmp(f->string, "chain") == 0)
			return error("session %s: meta.json: \"%s\" was removed after "
				     "events.jsonl:%llu sealed it (edited)",
				     s->id, key, seal->line);
		seal_member_digest(m, digest);
		if (!cJSON_IsString(f) || strcmp(f->valuestring, digest) != 0)
			return error("session %s: meta.json: \"%s\" differs from what "
				     "events.jsonl:%llu sealed (edited)",
				     s->id, key, seal->line);
	}
	cJSON_ArrayForEach(m, meta)
	{
		cleanup_free char *key = term_sanitize(m->string ? m->string : "");

		if (m->string && strcmp(m->string, "chain") != 0 &&
		    !cJSON_GetObjectItemCaseSensitive(seal->fields, m->string))
			return error("session %s: meta.json: \"%s\" was added after "
				     "events.jsonl:%llu sealed it (edited)",
				     s->id, key, seal->line);
	}
	return error("session %s: meta.json: does not match the seal at events.jsonl:%llu "
		     "(edited)",
		     s->id, seal->line);
}

/*
 * Check meta against the last seal of the chain (n lines, all intact). 0, with *note set for a
 * session that is not sealed yet (running or interrupted); or -1 after printing why.
 */
static int check_seal(const struct session *s, cJSON *meta, const struct recorded_head *rh,
		      const struct seal *seal, unsigned long long n, const char **note)
{
	const char *state = meta_str(meta, "state");
	bool live = store_in_use(s->id);
	cleanup_free char *text = NULL;
	char hex[65];

	*note = NULL;
	if (!seal->present) {
		cleanup_free char *shown = term_sanitize(state ? state : "");

		if (state && strcmp(state, "running") == 0) {
			*note = live ? "running: meta.json is sealed when the run ends"
				     : "interrupted: the run never ended, so meta.json was never "
				       "sealed and the change set never recorded";
			return 0;
		}
		return error("session %s: meta.json: the state is '%s' but no event of "
			     "events.jsonl seals meta.json (edited)",
			     s->id, shown);
	}
	if (!rh->present)
		return error("session %s: meta.json: records no chain head, but events.jsonl:%llu "
			     "sealed it (edited)",
			     s->id, seal->line);
	if (rh->events != seal->line)
		return error("session %s: meta.json: its chain head counts %llu events, but the "
			     "last seal is events.jsonl:%llu (edited)",
			     s->id, rh->events, seal->line);
	if (n > seal->line) {
		if (!live)
			return error("session %s: events.jsonl:%llu: seq %llu: written after the "
				     "last seal (line %llu): appended later, or an airlock command "
				     "stopped before sealing meta.json",
				     s->id, seal->line + 1, seal->line, seal->line);
		*note = "another airlock command is changing the session: its last events are "
			"not sealed yet";
	}
	text = seal_meta_text(meta);
	if (!text)
		return error("session %s: cannot check meta.json: out of memory", s->id);
	sha256_hex(text, strlen(text), hex);
	if (strcmp(hex, seal->sha256) != 0)
		return name_changed_member(s, meta, seal);
	return 0;
}

/*
 * The files the sealed meta vouches for: the rules copies, the captured output and, by state,
 * the change set. 0 (*overlay says what was found) or -1 after printing the first bad one.
 */
static int check_files(const struct session *s, const cJSON *meta, bool sealed, struct buf *overlay)
{
	const cJSON *r, *out = cJSON_GetObjectItemCaseSensitive(meta, "output_sha256");
	const char *state = meta_str(meta, "state");
	size_t entries;
	int rc = 0;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(meta, "rules"))
	{
		const char *copy = meta_str(r, "copy"), *want = meta_str(r, "sha256");
		cleanup_free char *shown = NULL, *path = NULL;
		char hex[65];

		if (!copy)
			continue;
		shown = term_sanitize(copy);
		/* Names are airlock's ("rules/N"): anything else in meta is not followed. */
		if (strncmp(copy, "rules/", 6) != 0 || strchr(copy + 6, '/') || copy[6] == '.') {
			rc = error("session %s: meta.json: names a bad rules copy '%s'", s->id,
				   shown);
			continue;
		}
		path = session_path(s, copy);
		if (sha256_file(path, hex) < 0)
			rc = error_errno("session %s: cannot read %s", s->id, shown);
		else if (!want || strcmp(hex, want) != 0)
			rc = error("session %s: %s: does not match the SHA-256 meta.json records "
				   "(edited)",
				   s->id, shown);
	}
	for (r = out ? out->child : NULL; r; r = r->next) {
		cleanup_free char *path = NULL;
		char hex[65];

		if (!r->string || (strcmp(r->string, "stdout") && strcmp(r->string, "stderr")))
			continue;
		path = session_path(s, r->string);
		if (sha256_file(path, hex) < 0)
			rc = error_errno("session %s: cannot read the captured %s", s->id,
					 r->string);
		else if (!cJSON_IsString(r) || strcmp(hex, r->valuestring) != 0)
			rc = error("session %s: %s: the captured output does not match the SHA-256 "
				   "meta.json records (edited)",
				   s->id, r->string);
	}
	if (!sealed) {
		buf_adds(overlay, "");
	} else if (state && strcmp(state, "discarded") == 0) {
		/* Discard removes the overlays; what they held is still on record. */
		if (cJSON_GetObjectItemCaseSensitive(meta, "changes_sha256") &&
		    manifest_check_file(s, meta) < 0)
			rc = -1;
		else
			buf_adds(overlay, ", change set discarded (the overlays are gone; their "
					  "recorded hashes are kept)");
	} else if (manifest_check(s, meta, &entries) < 0) {
		rc = -1;
	} else {
		buf_addf(overlay, ", %zu overlay entr%s as recorded", entries,
			 entries == 1 ? "y" : "ies");
	}
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	static const char usage[] =
		"airlock verify [ID]\n\n"
		"Check that the session's record is intact: the hash chain of events.jsonl, that\n"
		"meta.json is what the last event sealed (the end of the run, a commit, an undo or\n"
		"a discard), the rules copies and captured output it vouches for, and that every\n"
		"entry in the overlays still matches changes.sha256. Exit 0 when it is; else name\n"
		"the first bad entry (a line, a member of meta.json, a path) and exit 1.";
	struct recorded_head rh;
	struct seal seal = {0};
	struct buf overlay = BUF_INIT;
	struct session s;
	unsigned long long n = 0;
	const char *id, *note = NULL;
	cJSON *meta = NULL;
	int rc = parse_id_args(argc, argv, usage, &id, NULL);
	int meta_rc, chain_rc, seal_rc = 0, files_rc = 0;

	if (rc >= 0)
		return rc;
	/* No lock: a running session can be verified as it goes. */
	if (store_find(id, &s) < 0)
		return EXIT_REFUSED;
	buf_init(&overlay);
	/* Each part is checked, so that one run names every part that is broken. */
	meta_rc = check_meta(&s, &rh, &meta);
	chain_rc = check_chain(&s, &rh, &n, &seal);
	if (meta && chain_rc == 0)
		seal_rc = check_seal(&s, meta, &rh, &seal, n, &note);
	if (meta)
		files_rc = check_files(&s, meta, seal.present, &overlay);
	rc = meta_rc == 0 && chain_rc == 0 && seal_rc == 0 && files_rc == 0 ? 0 : EXIT_REFUSED;
	if (rc == 0) {
		printf("session %s: %llu event%s, chain intact", s.id, n, n == 1 ? "" : "s");
		if (seal.present)
			printf(", meta.json sealed%s", overlay.data);
		if (note)
			printf(" (%s)", note);
		putchar('\n');
	}
	buf_release(&overlay);
	cJSON_Delete(seal.fields);
	cJSON_Delete(meta);
	store_close(&s);
	return rc;
}

/*
 * The line made safe for a terminal without changing what it means as JSON: inside strings,
 * control characters (C0, DEL, C1) become \u00XX, invisible and bidi characters
 * (utf8_invisible()) \uXXXX, and invalid UTF-8 becomes \ufffd; outside
 * strings (where cJSON took them as white space) they become spaces. Caller frees.
 */
static char *json_for_terminal(const char *line, size_t len)
{
	const unsigned char *p = (const unsigned char *)line, *end = p + len;
	bool in_str = false, esc = false;
	struct buf b = BUF_INIT;

	buf_init(&b);
	while (p < end) {
		size_t n = *p ? utf8_seq_len(p) : 1;
		unsigned ctl = 0x100; /* the control character at p, if any */
		unsigned cp;

		if (n == 0) {
			buf_adds(&b, in_str ? "\\ufffd" : " ");
			esc = false;
			p++;
			continue;
		}
		if (n == 1 && (*p < 0x20 || *p == 0x7f))
			ctl = *p;
		else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			ctl = p[1];
		if (ctl == 0x100 && n > 1 && utf8_invisible(p, n, &cp)) {
			/* Bidi controls and invisible characters: the same string, escaped. */
			if (!in_str)
				buf_addc(&b, ' ');
			else if (cp > 0xffff)
				buf_addf(&b, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
					 0xdc00 + ((cp - 0x10000) & 0x3ff));
			else
				buf_addf(&b, "\\u%04x", cp);
			esc = false;
		} else if (ctl != 0x100) {
			if (in_str)
				buf_addf(&b, "\\u%04x", ctl);
			else
				buf_addc(&b, ' ');
			esc = false;
		} else {
			if (n == 1 && in_str) {
				if (esc)
					esc = false;
				else if (*p == '\\')
					esc = true;
				else if (*p == '"')
					in_str = false;
			} else if (n == 1 && *p == '"') {
				in_str = true;
			} else {
				esc = false;
			}
			buf_add(&b, p, n);
		}
		p += n;
	}
	return buf_detach(&b);
}

/*
 * The process tree, derived from the record alone. Pids are host pids and no event names a
 * parent, but a forked child starts with its parent's command line: a pid seen for the first
 * time hangs under the most recently active process whose current command line equals the one
 * the child's event carries ("argv"). When none matches, it goes one level under the first
 * process, which every process in the sandbox descends from. A thread shows as a child of its
 * process, since each thread has its own id.
 */
struct proc {
	long pid;
	int depth;
	cJSON *cmd;  /* current command line (owned) */
	size_t last; /* index of its latest event */
};

struct tree {
	struct proc *p;
	size_t n, cap;
	size_t hint; /* the last process looked up: events come in runs */
};

static struct proc *tree_find(struct tree *t, long pid)
{
	size_t i;

	if (t->hint < t->n && t->p[t->hint].pid == pid)
		return &t->p[t->hint];
	for (i = 0; i < t->n; i++) {
		if (t->p[i].pid == pid) {
			t->hint = i;
			return &t->p[i];
		}
	}
	return NULL;
}

static void set_cmd(struct proc *p, const cJSON *cmd)
{
	if (!cJSON_IsArray(cmd) || cJSON_GetArraySize(cmd) == 0)
		return;
	cJSON_Delete(p->cmd);
	p->cmd = cJSON_Duplicate(cmd, true);
}

/* The depth of the event's process (-1 when it has none), updating the tree. */
static int tree_depth(struct tree *t, const cJSON *ev, size_t idx, const struct exec_index *xi)
{
	const cJSON *argv = exec_index_argv(xi, ev);
	const cJSON *pidv = cJSON_GetObjectItemCaseSensitive(ev, "pid");
	const char *result = meta_str(ev, "result");
	const char *cls = meta_str(ev, "class");
	struct proc *p;
	long pid;

	if (!cJSON_IsNumber(pidv) || pidv->valuedouble < 1 || pidv->valuedouble > 4194304)
		return -1;
	pid = (long)pidv->valuedouble;
	p = tree_find(t, pid);
	if (!p) {
		const struct proc *parent = NULL;
		size_t i;

		for (i = 0; i < t->n; i++) {
			if (t->p[i].cmd && cJSON_Compare(t->p[i].cmd, argv, true) &&
			    (!parent || t->p[i].last > parent->last))
				parent = &t->p[i];
		}
		GROW(t->p, t->cap, t->n + 1);
		p = &t->p[t->n];
		p->pid = pid;
		p->depth = parent ? parent->depth + 1 : t->n == 0 ? 0 : 1;
		p->cmd = NULL;
		t->hint = t->n++;
	}
	p->last = idx;
	set_cmd(p, argv);
	/* From here on the process runs the new program. */
	if (cls && strcmp(cls, "exec") == 0 && result && strcmp(result, "continued") == 0)
		set_cmd(p, cJSON_GetObjectItemCaseSensitive(ev, "command"));
	return p->depth;
}

static void tree_free(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		cJSON_Delete(t->p[i].cmd);
	free(t->p);
}

/* One line of the text timeline, every string already sanitised for the terminal. */
struct row {
	char time[16];
	char day[32]; /* "2026-11-23 +0100": a line says it when it changes */
	char pid[16];
	int depth;
	char *cls, *decision, *target, *by;
};

/* "HH:MM:SS.mmm" in local time from the recorded UTC time, and its day and offset; "?" when
   it does not parse. */
static void local_time(const char *when, struct row *r)
{
	struct tm tm;
	long ms;

	snprintf(r->time, sizeof(r->time), "?");
	snprintf(r->day, sizeof(r->day), "?");
	if (!session_local_time(when, &tm, &ms))
		return;
	snprintf(r->time, sizeof(r->time), "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ms);
	strftime(r->day, sizeof(r->day), "%Y-%m-%d %z", &tm);
}

/* What the event acted on: the command for an exec, "a -> b" for a rename or link. */
static char *event_target(const cJSON *ev)
{
	const char *cls = meta_str(ev, "class");
	const char *target = meta_str(ev, "target");
	const char *target2 = meta_str(ev, "target2");
	const char *link = meta_str(ev, "link");
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(ev, "command");
	struct buf b = BUF_INIT;

	buf_init(&b);
	if (cls && strcmp(cls, "step") == 0) {
		/* A live session's step: what `airlock exec` ran, where, and how it ended. */
		const char *op = meta_str(ev, "op") ?: "";

		buf_addf(&b, "step %.0f", meta_num(ev, "step", 0));
		if (strcmp(op, "start") == 0) {
			cleanup_free char *joined = join_argv(command);

			buf_addf(&b, ": %s (in %s)", joined, meta_str(ev, "cwd") ?: "?");
		} else {
			buf_addf(&b, " ended: exit %.0f", meta_num(ev, "exit_code", -1));
			if (target)
				buf_addf(&b, " (%s)", target);
		}
	} else if (cls && strcmp(cls, "exec") == 0 && cJSON_GetArraySize(command) > 0) {
		cleanup_free char *joined = join_argv(command);

		buf_adds(&b, joined);
	} else if (target) {
		buf_adds(&b, target);
		if (target2)
			buf_addf(&b, " -> %s", target2);
		if (link)
			buf_addf(&b, " (symlink to %s)", link);
	} else {
		/* Session events (discard, commit) have no target: name what happened. */
		buf_adds(&b, meta_str(ev, "op") ?: "");
	}
	return buf_detach(&b);
}

static void row_fill(struct row *r, const cJSON *ev, int depth)
{
	const char *by = meta_str(ev, "by");
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(ev, "pid");
	cleanup_free char *target = event_target(ev);

	local_time(meta_str(ev, "time"), r);
	if (depth >= 0)
		snprintf(r->pid, sizeof(r->pid), "%.0f", pid->valuedouble);
	else
		snprintf(r->pid, sizeof(r->pid), "-");
	r->depth = depth < 0 ? 0 : depth > MAX_INDENT ? MAX_INDENT : depth;
	r->cls = term_sanitize(meta_str(ev, "class") ?: "?");
	r->decision = term_sanitize(meta_str(ev, "decision") ?: "-");
	r->target = term_sanitize(target);
	/* The defaults decide most events: say who decided only when it was someone else. */
	r->by = by && strcmp(by, "default") != 0 && strncmp(by, RULES_DEFAULTS_NAME ":", 11) != 0
			? term_sanitize(by)
			: NULL;
}

static const char *decision_colour(const char *d)
{
	if (strcmp(d, "allow") == 0)
		return "\033[32m";
	if (strcmp(d, "deny") == 0)
		return "\033[31m";
	return "\033[33m";
}

static size_t max_sz(size_t a, size_t b)
{
	return a > b ? a : b;
}

static void print_rows(const struct row *rows, size_t n, bool colour)
{
	size_t wpid = 3, wcls = 5, wdec = 8, i;

	for (i = 0; i < n; i++) {
		wpid = max_sz(wpid, 2 * (size_t)rows[i].depth + strlen(rows[i].pid));
		wcls = max_sz(wcls, strlen(rows[i].cls));
		wdec = max_sz(wdec, strlen(rows[i].decision));
	}
	printf("%-12s  %-*s  %-*s  %-*s  %s\n", "TIME", (int)wpid, "PID", (int)wcls, "CLASS",
	       (int)wdec, "DECISION", "TARGET");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		int indent = 2 * r->depth;

		/* The times are local: the day and the offset head them, and again when either
		   changes (midnight, a change to summer time). */
		if (i == 0 || strcmp(r->day, rows[i - 1].day) != 0)
			printf("-- %s --\n", r->day);

		printf("%-12s  %*s%-*s  %-*s  ", r->time, indent, "", (int)wpid - indent, r->pid,
		       (int)wcls, r->cls);
		if (colour)
			printf("%s%s\033[0m%*s", decision_colour(r->decision), r->decision,
			       (int)(wdec - strlen(r->decision)), "");
		else
			printf("%-*s", (int)wdec, r->decision);
		printf("  %s", r->target);
		if (r->by)
			printf("  (by %s)", r->by);
		putchar('\n');
	}
}

static void rows_free(struct row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].cls);
		free(rows[i].decision);
		free(rows[i].target);
		free(rows[i].by);
	}
	free(rows);
}

int cmd_log(int argc, char **argv)
{
	static const char usage[] =
		"airlock log [ID] [--json] [--color=WHEN] [--no-pager]\n\n"
		"Print the session's timeline: time, process (indented under its parent), class,\n"
		"decision, target, and who decided when it was not the built-in policy. The times\n"
		"are local, under a line giving their day and UTC offset. --json prints the events\n"
		"as recorded (times in UTC), one JSON object per line. The hash chain is not\n"
		"checked: see 'airlock verify'. On a terminal the decisions are coloured\n"
		"(--color=auto|always|never; NO_COLOR turns auto off) and the timeline goes through\n"
		"$AIRLOCK_PAGER, else $PAGER, else 'less -FRX' (--no-pager or PAGER=cat: none).";
	cleanup_free char *path = NULL, *line = NULL;
	cleanup_file FILE *f = NULL;
	struct tree tree = {0};
	struct exec_index *xi;
	struct row *rows = NULL;
	size_t nrows = 0, cap = 0, linecap = 0, len;
	unsigned long long lineno = 0;
	struct session s;
	const char *id;
	bool json, terminated, skipped = false, colour;
	struct view_args view;
	int rc = parse_view_args(argc, argv, usage, &id, &json, &view);

	if (rc >= 0)
		return rc;
	colour = !json && colour_wanted(view.colour);
	if (store_find(id, &s) < 0)
		return EXIT_REFUSED;
	path = session_path(&s, "events.jsonl");
	f = fopen(path, "re");
	if (!f) {
		error_errno("session %s: cannot open events.jsonl", s.id);
		store_close(&s);
		return EXIT_REFUSED;
	}
	xi = exec_index_new();
	while ((rc = read_line(f, &line, &linecap, &len, &terminated)) > 0) {
		cJSON *ev;

		lineno++;
		/* An unterminated last line is still being written, or was cut by a crash. */
		if (!terminated)
			break;
		ev = parse_event(line, len);
		if (!ev) {
			warn("session %s: events.jsonl:%llu: not valid JSON, left out (see 'airlock "
			     "verify')",
			     s.id, lineno);
			skipped = true;
			continue;
		}
		if (json) {
			cleanup_free char *safe = json_for_terminal(line, len);

			puts(safe);
		} else {
			GROW(rows, cap, nrows + 1);
			row_fill(&rows[nrows], ev, tree_depth(&tree, ev, nrows, xi));
			nrows++;
			exec_index_add(xi, ev);
		}
		cJSON_Delete(ev);
	}
	if (rc < 0) {
		error_rc(rc, "session %s: cannot read events.jsonl", s.id);
		skipped = true;
	}
	if (!json) {
		pager_start(view.no_pager);
		print_rows(rows, nrows, colour);
	}
	rows_free(rows, nrows);
	tree_free(&tree);
	exec_index_free(xi);
	store_close(&s);
	if (fflush(stdout) != 0)
		return EXIT_REFUSED;
	return skipped ? EXIT_REFUSED : 0;
}
