/* SPDX-License-Identifier: MIT */
/* The overlay layers a session's meta.json names; see layers.h. */
#include "supervisor/record/layers.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "common/path.h"

#include <stdlib.h>
#include <string.h>

/* A relative path from meta must stay inside the session directory. */
static char *session_subpath(const struct session *s, const char *rel)
{
	cleanup_free char *norm = NULL;

	if (!rel || rel[0] == '/' || rel[0] == '\0')
		return NULL;
	norm = path_normalize(rel);
	if (strcmp(norm, "..") == 0 || strncmp(norm, "../", 3) == 0)
		return NULL;
	return path_join(s->dir, norm);
}

void session_layers(const struct session *s, const cJSON *meta, struct session_layers *out)
{
	const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(meta, "mounts");
	const cJSON *m;
	size_t cap = 0, ucap = 0, pcap = 0;

	memset(out, 0, sizeof(*out));
	cJSON_ArrayForEach(m, mounts)
	{
		const char *kind = meta_str(m, "kind");
		const char *path = meta_str(m, "path");
		const cJSON *pre = cJSON_GetObjectItemCaseSensitive(m, "premade");
		const cJSON *p;
		char *upper;
		const char **pv = NULL;
		size_t np = 0, npcap = 0;

		/* Scratch overlays are thrown away and never reviewed. */
		if (!kind || strcmp(kind, "overlay") != 0 || !path)
			continue;
		upper = session_subpath(s, meta_str(m, "upper"));
		if (!upper)
			continue;
		cJSON_ArrayForEach(p, pre)
		{
			if (!cJSON_IsString(p))
				continue;
			GROW(pv, npcap, np + 1);
			pv[np++] = p->valuestring;
		}
		GROW(out->v, cap, out->n + 1);
		GROW(out->uppers, ucap, out->n + 1);
		GROW(out->premades, pcap, out->n + 1);
		out->uppers[out->n] = upper;
		out->premades[out->n] = pv;
		out->v[out->n] = (struct overlay_layer){
			.mount_path = path, .upper_dir = upper, .premade = pv, .npremade = np};
		out->n++;
	}
}

void session_layers_free(struct session_layers *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->uppers[i]);
		free(l->premades[i]);
	}
	free(l->uppers);
	free(l->premades);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
