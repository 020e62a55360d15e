/* SPDX-License-Identifier: MIT */
/* Loading the rules of a run, keeping copies in the session, and rebuilding them later. */
#include "supervisor/supervise/policy.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/sha256.h"
#include "supervisor/record/events.h"
#include "rules/glob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *policy_user_file(const char *home)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");

	if (xdg && xdg[0] == '/')
		return path_join(xdg, "airlock/rules");
	return path_join(home, ".config/airlock/rules");
}

size_t policy_config_dirs(const char *home, char *out[2])
{
	cleanup_free char *user = policy_user_file(home);
	size_t n = 0;

	out[n++] = path_normalize(user);
	*strrchr(out[0], '/') = '\0'; /* .../airlock/rules: the directory */
	out[n] = path_join(home, ".config/airlock");
	if (strcmp(out[0], out[n]) == 0)
		free(out[n]);
	else
		n++;
	return n;
}

/* Read a rules file's bytes: a regular file, opened without following a FIFO into a hang. */
static char *read_rules(const char *path, size_t *len, struct rules_error *err)
{
	cleanup_fd int fd = -1;
	struct stat st;
	char *data;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err->msg, sizeof(err->msg), "%s: not a regular file", path);
		return NULL;
	}
	data = read_fd(fd, RULES_MAX_FILE, len);
	if (!data)
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
			 errno == EFBIG ? "file too large" : strerror(errno));
	return data;
}

/* Keep data as rules/N in the session and describe it for meta. */
static int keep_copy(const struct session *s, size_t idx, const struct policy_file *f,
		     cJSON *sources)
{
	cleanup_free char *name = xasprintf("rules/%zu", idx);
	cleanup_free char *path = session_path(s, name);
	char hex[65];
	cJSON *o;
	int rc;

	rc = write_file_atomic(path, f->data, f->len, 0600, false);
	if (rc < 0)
		return error_rc(rc, "cannot keep a copy of %s in the session", f->source);
	sha256_hex(f->data, f->len, hex);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "source", f->source);
	cJSON_AddStringToObject(o, "sha256", hex);
	cJSON_AddStringToObject(o, "copy", name);
	cJSON_AddItemToArray(sources, o);
	return 0;
}

cJSON *policy_keep(const struct policy *p, const struct session *s)
{
	cleanup_free char *dir = session_path(s, "rules");
	cJSON *sources = cJSON_CreateArray();
	size_t i;

	if (p->nfiles && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		error_errno("cannot create %s", dir);
		cJSON_Delete(sources);
		return NULL;
	}
	for (i = 0; i < p->nfiles; i++)
		if (keep_copy(s, i + 1, &p->files[i], sources) < 0) {
			cJSON_Delete(sources);
			return NULL;
		}
	return sources;
}

static void add_file(struct policy *p, const char *source, char *data, size_t len)
{
	GROW(p->files, p->cap, p->nfiles + 1);
	p->files[p->nfiles].source = xstrdup(source);
	p->files[p->nfiles].data = data;
	p->files[p->nfiles].len = len;
	p->nfiles++;
}

/* Load one file (trusted, outside the store). 0 or -1 after printing why. */
static int load_one(struct policy *p, const char *path, const struct rules_env *env,
		    const char *store)
{
	struct rules_error err = {0};
	cleanup_free char *abs = path_absolute(path);
	cleanup_free char *real = NULL;
	char *data;
	size_t len = 0;

	if (!abs)
		return error_errno("%s", path);
	/* The store holds what sandboxed programs wrote: never a source of rules. */
	real = realpath(abs, NULL);
	if (store && (path_is_under(abs, store) || (real && path_is_under(real, store))))
		return error("%s: a rules file in the session store is refused", path);
	if (rules_file_trusted(path, getuid(), &err) < 0)
		return error("%s", err.msg);
	data = read_rules(path, &len, &err);
	if (!data)
		return error("%s", err.msg);
	if (rules_parse_buffer(&p->rs, path, data, len, env, &err) < 0) {
		free(data);
		return error("%s", err.msg);
	}
	add_file(p, path, data, len);
	return 0;
}

int policy_load(struct policy *p, const char *const *files, size_t n, const struct rules_env *env,
		const char *store)
{
	struct rules_error err = {0};
	cleanup_free char *user = policy_user_file(env->home);
	struct stat st;
	size_t i;

	if (rules_load_defaults(&p->rs, env, &err) < 0)
		return error("%s", err.msg);
	if (lstat(user, &st) == 0 || errno != ENOENT)
		if (load_one(p, user, env, store) < 0)
			return -1;
	for (i = 0; i < n; i++)
		if (load_one(p, files[i], env, store) < 0)
			return -1;
	return 0;
}

int policy_add_text(struct policy *p, const char *name, const char *text,
		    const struct rules_env *env)
{
	struct rules_error err = {0};
	size_t len = strlen(text);

	if (rules_parse_buffer(&p->rs, name, text, len, env, &err) < 0)
		return error("%s", err.msg);
	add_file(p, name, xstrndup(text, len), len);
	return 0;
}

int policy_add_path_dirs(struct policy *p, const char *path_var, const struct rules_env *env)
{
	cleanup_free char *copy = xstrdup(path_var ? path_var : "");
	struct buf text = BUF_INIT;
	char *save = NULL, *dir;
	int rc = 0;

	buf_init(&text);
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		cleanup_free char *norm = dir[0] == '/' ? path_normalize(dir) : NULL;
		cleanup_free char *esc = norm ? glob_escape(norm) : NULL;
		cleanup_free char *glob =
			esc ? xasprintf("%s/**", strcmp(esc, "/") ? esc : "") : NULL;
		cleanup_free char *word = glob ? rules_quote(glob) : NULL;
		cleanup_free char *line = word ? xasprintf("sensitive %s # a directory on your "
							   "PATH\n",
							   word)
					       : NULL;
		struct ruleset scratch = RULESET_INIT;

		/* Each line on its own first: one odd entry must not cost the others. */
		if (line &&
		    rules_parse_buffer(&scratch, "<PATH>", line, strlen(line), env, NULL) == 0)
			buf_adds(&text, line);
		rules_release(&scratch);
	}
	if (text.len)
		rc = policy_add_text(p, "<PATH>", text.data, env);
	buf_release(&text);
	return rc;
}

void policy_free(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nfiles; i++) {
		free(p->files[i].source);
		free(p->files[i].data);
	}
	free(p->files);
	rules_release(&p->rs);
	memset(p, 0, sizeof(*p));
}

int policy_of_session(struct ruleset *rs, const struct session *s, const cJSON *meta,
		      const char *home)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(meta, "rules");
	const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(meta, "cwd");
	struct rules_env env = {.home = home ? home : home_dir(),
				.cwd = cJSON_IsString(cwd) ? cwd->valuestring : NULL};
	struct rules_error err = {0};
	const cJSON *o;

	if (rules_load_defaults(rs, &env, &err) < 0) {
		error("%s", err.msg);
		return -EINVAL;
	}
	cJSON_ArrayForEach(o, list)
	{
		const cJSON *copy = cJSON_GetObjectItemCaseSensitive(o, "copy");
		const cJSON *source = cJSON_GetObjectItemCaseSensitive(o, "source");
		cleanup_free char *path = NULL;
		cleanup_free char *data = NULL;
		size_t len = 0;

		/* A copy name is ours ("rules/N"); anything else in meta is not followed. */
		if (!cJSON_IsString(copy) || strncmp(copy->valuestring, "rules/", 6) != 0 ||
		    strchr(copy->valuestring + 6, '/') || strstr(copy->valuestring, "..")) {
			error("the session's record names a bad rules copy");
			return -EINVAL;
		}
		path = session_path(s, copy->valuestring);
		data = read_rules(path, &len, &err);
		if (!data) {
			error("%s", err.msg);
			return -EIO;
		}
		if (rules_parse_buffer(rs, cJSON_IsString(source) ? source->valuestring : path,
				       data, len, &env, &err) < 0) {
			error("%s", err.msg);
			return -EINVAL;
		}
	}
	return 0;
}

enum rule_action policy_write_action(const struct rule *r)
{
	return r ? r->action : RULE_ASK;
}

enum rule_action policy_write_verdict(const struct ruleset *rs, const char *path,
				      const struct rule **by)
{
	const struct rule *r = rules_match_write(rs, path);

	if (by)
		*by = r;
	return policy_write_action(r);
}
