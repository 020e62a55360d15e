/* SPDX-License-Identifier: MIT */
/*
 * The writer side of the record's integrity: session events, the seal of meta.json and the
 * chain head, and the log opened for them; see seal.h. audit.c checks what is written here.
 */
#include "supervisor/record/seal.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/sha256.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Record the chain's head in meta as "chain": {"events": N, "head": HEX}, replacing an older
 * one: N lines so far, HEX the SHA-256 of line N ("" when N is 0). With it, verify also
 * detects lines cut from the end of events.jsonl and an edit of the last line, which the
 * chain alone cannot.
 */
static void record_head(cJSON *meta, struct event_log *log)
{
	cJSON *chain = cJSON_CreateObject();

	cJSON_AddNumberToObject(chain, "events", (double)log->seq);
	cJSON_AddStringToObject(chain, "head", events_head(log));
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "chain");
	cJSON_AddItemToObject(meta, "chain", chain);
}

/*
 * What a seal covers: meta's compact text without "chain" (which points past the seal, so
 * cannot be in it; verify checks it against the log instead). cJSON prints a parsed value back
 * to the same text, so the reader recomputes exactly what the writer hashed. Caller frees;
 * NULL when out of memory.
 */
char *seal_meta_text(cJSON *meta)
{
	cJSON *chain = cJSON_DetachItemFromObjectCaseSensitive(meta, "chain");
	char *text = cJSON_PrintUnformatted(meta);

	if (chain)
		cJSON_AddItemToObject(meta, "chain", chain);
	return text;
}

/* The first SEAL_FIELD_DIGEST hex digits of the SHA-256 of a member's compact value. */
void seal_member_digest(const cJSON *item, char out[SEAL_FIELD_DIGEST + 1])
{
	cleanup_free char *text = cJSON_PrintUnformatted(item);
	char hex[65];

	sha256_hex(text ? text : "", text ? strlen(text) : 0, hex);
	memcpy(out, hex, SEAL_FIELD_DIGEST);
	out[SEAL_FIELD_DIGEST] = '\0';
}

cJSON *seal_session_event(const char *op, const char *target, const char *by)
{
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "class", "session");
	cJSON_AddStringToObject(ev, "op", op);
	if (target) {
		cleanup_free char *clean = utf8_sanitize(target);

		cJSON_AddStringToObject(ev, "target", clean);
	}
	cJSON_AddStringToObject(ev, "decision", op);
	cJSON_AddStringToObject(ev, "by", by);
	return ev;
}

int seal_meta(cJSON *meta, struct event_log *log, cJSON *ev)
{
	cleanup_free char *text = seal_meta_text(meta);
	cJSON *fields, *m;
	char hex[65], digest[SEAL_FIELD_DIGEST + 1];
	int rc;

	if (!text) {
		cJSON_Delete(ev);
		return error_code(-ENOMEM, "cannot seal meta.json: out of memory");
	}
	sha256_hex(text, strlen(text), hex);
	fields = cJSON_CreateObject();
	cJSON_ArrayForEach(m, meta)
	{
		if (!m->string || strcmp(m->string, "chain") == 0)
			continue;
		seal_member_digest(m, digest);
		cJSON_AddStringToObject(fields, m->string, digest);
	}
	cJSON_AddStringToObject(ev, "meta_sha256", hex);
	cJSON_AddItemToObject(ev, "meta_fields", fields);
	rc = events_append(log, ev);
	if (rc < 0)
		error_rc(rc, "cannot append the seal of meta.json to the event log");
	/* Recorded even so: verify then says meta.json is not sealed, which is the truth. */
	record_head(meta, log);
	return rc;
}

void seal_head(cJSON *meta, struct event_log *log)
{
	seal_meta(meta, log, seal_session_event("seal", "meta.json", "airlock"));
}

int seal_open_log(struct event_log *log, const char *path, const cJSON *meta)
{
	const char *id = meta_str(meta, "id");
	int rc = events_open(log, path);

	/* A run with --log-syslog: what happens to its session later is forwarded too. */
	if (rc == 0 && id && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(meta, "syslog")))
		events_forward_syslog(log, id);
	return rc;
}
