/* SPDX-License-Identifier: MIT */
/*
 * The rules a session runs under: the built-in defaults, then the user's rules file, then each
 * --rules file. A run keeps a copy of every file it loaded in the session (rules/N) and lists
 * them in meta.json "rules" ({"source", "sha256", "copy"}), so that the review, replay and
 * audit see exactly the rules that decided, whatever happens to the files afterwards.
 */
#ifndef AIRLOCK_SUPERVISOR_POLICY_H
#define AIRLOCK_SUPERVISOR_POLICY_H

#include "rules/rules.h"
#include "supervisor/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>

/* The user's rules file: $XDG_CONFIG_HOME/airlock/rules, else ~/.config/airlock/rules. Caller
   frees. */
char *policy_user_file(const char *home);

/*
 * Load the defaults, the user's file (when it exists) and files[0..n) into rs, refusing any
 * file that someone other than the user or root can change, or that lies in the session store.
 * With s not NULL, each file's bytes are kept as s->dir/rules/N and described in *sources (a
 * new JSON array for meta "rules"). Prints "airlock: FILE:LINE: message" and returns -1 on the
 * first bad file; 0 on success.
 */
int policy_load(struct ruleset *rs, const char *const *files, size_t n, const struct rules_env *env,
		const char *store, const struct session *s, cJSON **sources);

/*
 * Rebuild the ruleset of a recorded session: the defaults, then the copies meta "rules" names.
 * home and cwd come from meta (cwd) and the caller (home, NULL for $HOME). 0, or -errno after
 * printing which copy failed.
 */
int policy_of_session(struct ruleset *rs, const struct session *s, const cJSON *meta,
		      const char *home);

/* What a write rule says of path: RULE_ALLOW, RULE_DENY or RULE_ASK (no rule: RULE_ASK). */
enum rule_action policy_write_verdict(const struct ruleset *rs, const char *path,
				      const struct rule **by);

#endif
