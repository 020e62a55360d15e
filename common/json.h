/* SPDX-License-Identifier: MIT */
/*
 * Small helpers over cJSON for reading the record (meta.json, events) and building reports.
 * Every function takes what it reads as borrowed; a returned char * belongs to the caller.
 */
#ifndef AIRLOCK_COMMON_JSON_H
#define AIRLOCK_COMMON_JSON_H

#include <cjson/cJSON.h>

/* A JSON string from untrusted bytes: invalid UTF-8 escaped, a NUL ends it; NULL gives "". */
cJSON *json_text(const char *s);

/* Set dst[dkey] to a copy of src[skey], or null when src has none. */
void json_copy(cJSON *dst, const char *dkey, const cJSON *src, const char *skey);

/* Join a JSON array of strings with spaces, for display. Caller frees. */
char *join_argv(const cJSON *arr);

/* The strings of a JSON array as a NULL-terminated vector of borrowed pointers (non-strings
   skipped). Caller frees the vector, not the strings. */
char **json_strings(const cJSON *arr);

/* A string member of an object, or NULL (absent, or not a string). Borrowed. */
const char *meta_str(const cJSON *meta, const char *key);

/* A number member of an object, or dflt (absent, or not a number). */
double meta_num(const cJSON *meta, const char *key, double dflt);

#endif
