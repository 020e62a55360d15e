/* SPDX-License-Identifier: MIT */
/* The commit journal's writer, and the events a commit records. */
#include "common/json.h"
#include "supervisor/changeset/commit_int.h"

const char *const op_names[4] = {"add", "replace", "delete", "chmod"};

/* ---- the journal ------------------------------------------------------------------------ */

void jw_add(struct jwriter *w, cJSON *o)
{
	/* Straight into the buffer: a commit writes four lines per step. */
	events_put_json(&w->b, o);
	cJSON_Delete(o);
	buf_addc(&w->b, '\n');
}

/* Write what is buffered; with sync, make it durable. 0 or -errno. */
int jw_flush(struct jwriter *w, bool sync)
{
	size_t off = 0;

	while (off < w->b.len) {
		ssize_t n = write(w->fd, w->b.data + off, w->b.len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	buf_reset(&w->b);
	return sync && fdatasync(w->fd) < 0 ? -errno : 0;
}

cJSON *cm_jline(const char *op, long step)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "op", op);
	if (step >= 0)
		cJSON_AddNumberToObject(o, "step", (double)step);
	return o;
}

void cm_add_ts(cJSON *o, const char *key, const struct timespec *ts)
{
	cJSON *a = cJSON_AddArrayToObject(o, key);

	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)ts->tv_sec));
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)ts->tv_nsec));
}

bool cm_get_ts(const cJSON *o, const char *key, struct timespec *ts)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
	const cJSON *s = cJSON_GetArrayItem(a, 0), *ns = cJSON_GetArrayItem(a, 1);

	if (!cJSON_IsNumber(s) || !cJSON_IsNumber(ns))
		return false;
	ts->tv_sec = (time_t)s->valuedouble;
	ts->tv_nsec = (long)ns->valuedouble;
	return true;
}

/* Inode numbers go up to 2^64, past what a JSON number holds exactly: written as hex text. */
void cm_add_ident(cJSON *o, const char *key, const struct ident *id)
{
	char text[40];

	snprintf(text, sizeof(text), "%llx:%llx", id->dev, id->ino);
	cJSON_AddStringToObject(o, key, text);
}

bool cm_get_ident(const cJSON *o, const char *key, struct ident *id)
{
	const char *s = meta_str(o, key);

	return s && sscanf(s, "%llx:%llx", &id->dev, &id->ino) == 2;
}

/* The temporary names of step i in its host directory: the new entry, the old one, undo's. */
char *cm_temp_name(const char *id, size_t i, const char *suffix)
{
	return xasprintf(".airlock-commit-%s-%zu%s", id, i, suffix);
}

/* ---- the record --------------------------------------------------------------------------- */

cJSON *commit_event(const char *cls, const char *kind, const char *path, const char *decision)
{
	cleanup_free char *clean = utf8_sanitize(path);
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "class", cls);
	cJSON_AddStringToObject(ev, "op", kind);
	cJSON_AddStringToObject(ev, "target", clean);
	cJSON_AddStringToObject(ev, "decision", decision);
	cJSON_AddStringToObject(ev, "by", "person");
	return ev;
}

/* {"user", "uid", "time"}: who did it, and when. */
cJSON *cm_who_when(void)
{
	struct passwd *pw = getpwuid(getuid());
	cJSON *o = cJSON_CreateObject();
	char now[64];

	session_iso_time(now, sizeof(now));
	cJSON_AddStringToObject(o, "user", pw ? pw->pw_name : "?");
	cJSON_AddNumberToObject(o, "uid", getuid());
	cJSON_AddStringToObject(o, "time", now);
	return o;
}

void cm_set_item(cJSON *obj, const char *key, cJSON *v)
{
	if (cJSON_HasObjectItem(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}
