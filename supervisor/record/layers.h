/* SPDX-License-Identifier: MIT */
/* Where a session's changes are: the overlay layers its meta.json names. */
#ifndef AIRLOCK_SUPERVISOR_LAYERS_H
#define AIRLOCK_SUPERVISOR_LAYERS_H

#include "supervisor/changeset/changes.h"
#include "supervisor/record/store.h"

#include <cjson/cJSON.h>

/*
 * The overlays whose upper directories hold a session's changes, from meta "mounts" (scratch
 * overlays are left out; an upper path that would leave the session directory is skipped).
 * The layers borrow strings from meta, which must outlive them.
 */
struct session_layers {
	struct overlay_layer *v;
	size_t n;
	char **uppers;		/* owned: v[i].upper_dir */
	const char ***premades; /* owned arrays: v[i].premade */
};
void session_layers(const struct session *s, const cJSON *meta, struct session_layers *out);
void session_layers_free(struct session_layers *l);

#endif
