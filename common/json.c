/* SPDX-License-Identifier: MIT */
/* Small readers and copiers of cJSON values; see json.h. */
#include "common/json.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/utf8.h"

#include <stdbool.h>

cJSON *json_text(const char *s)
{
	cleanup_free char *clean = utf8_sanitize(s ? s : "");

	return cJSON_CreateString(clean);
}

void json_copy(cJSON *dst, const char *dkey, const cJSON *src, const char *skey)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, skey);

	cJSON_AddItemToObject(dst, dkey, v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
}

char *join_argv(const cJSON *arr)
{
	struct buf b = BUF_INIT;
	const cJSON *a;

	buf_init(&b);
	cJSON_ArrayForEach(a, arr)
	{
		if (!cJSON_IsString(a))
			continue;
		if (b.len)
			buf_addc(&b, ' ');
		buf_adds(&b, a->valuestring);
	}
	return buf_detach(&b);
}

char **json_strings(const cJSON *arr)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	char **v = xcalloc(n + 1, sizeof(*v));
	const cJSON *a;

	cJSON_ArrayForEach(a, arr)
	{
		if (cJSON_IsString(a) && i < n)
			v[i++] = a->valuestring;
	}
	return v;
}

const char *meta_str(const cJSON *meta, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double meta_num(const cJSON *meta, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}
