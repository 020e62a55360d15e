/* SPDX-License-Identifier: MIT */
/* A growable, NULL-terminated vector of owned strings; see strvec.h. */
#include "common/strvec.h"

#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

char *strvec_push(struct strvec *sv, char *s)
{
	GROW(sv->v, sv->cap, sv->n + 2);
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return s;
}

const char *strvec_add(struct strvec *sv, const char *s)
{
	return strvec_push(sv, xstrdup(s));
}

void strvec_remove(struct strvec *sv, size_t i)
{
	if (i >= sv->n)
		return;
	free(sv->v[i]);
	/* n - i moves the terminating NULL down too. */
	memmove(&sv->v[i], &sv->v[i + 1], (sv->n - i) * sizeof(*sv->v));
	sv->n--;
}

char **strvec_detach(struct strvec *sv)
{
	char **v;

	if (!sv->v) {
		GROW(sv->v, sv->cap, 1);
		sv->v[0] = NULL;
	}
	v = sv->v;
	*sv = (struct strvec)STRVEC_INIT;
	return v;
}

void strvec_clear(struct strvec *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	*sv = (struct strvec)STRVEC_INIT;
}
