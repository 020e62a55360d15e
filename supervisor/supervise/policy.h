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
#include "supervisor/record/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>

/* The user's rules file: $XDG_CONFIG_HOME/airlock/rules, else ~/.config/airlock/rules. Caller
   frees. */
char *policy_user_file(const char *home);

/*
 * airlock's own configuration directories: the one holding policy_user_file() and
 * ~/.config/airlock (once when they are the same). The sandbox shows them read-only and a
 * commit never changes them. Fills out[0..n) (caller frees each); returns n.
 */
size_t policy_config_dirs(const char *home, char *out[2]);

/* The rules of a run, with the bytes of each file as loaded (kept in the session later). */
struct policy_file {
	char *source; /* the path as given, or a name such as "<command line>" */
	char *data;
	size_t len;
};

struct policy {
	struct ruleset rs;
	struct policy_file *files;
	size_t nfiles, cap;
};

/*
 * Load the defaults, the user's file (when it exists) and files[0..n) into p (zeroed by the
 * caller), refusing any file that someone other than the user or root can change, or that
 * lies in the session store. Prints "airlock: FILE:LINE: message" and returns -1 on the first
 * bad file; 0 on success.
 */
int policy_load(struct policy *p, const char *const *files, size_t n, const struct rules_env *env,
		const char *store);

/* Add rules text from another source (the command line's --hide and the like). 0 or -1. */
int policy_add_text(struct policy *p, const char *name, const char *text,
		    const struct rules_env *env);

/*
 * Keep a copy of every loaded source as s->dir/rules/N; returns the array for meta "rules"
 * ({"source", "sha256", "copy"}), or NULL after printing why.
 */
cJSON *policy_keep(const struct policy *p, const struct session *s);

/*
 * The directories of path_var (the person's $PATH) as sensitive rules (DIR and all below it), under
 * the name "<PATH>": a program placed there runs whenever the person types its name. Entries that
 * are not absolute, or that the grammar cannot hold, are left out. 0 or -1 (printed).
 */
int policy_add_path_dirs(struct policy *p, const char *path_var, const struct rules_env *env);

void policy_free(struct policy *p);

/*
 * Rebuild the ruleset of a recorded session: the defaults, then the copies meta "rules" names.
 * home and cwd come from meta (cwd) and the caller (home, NULL for $HOME). 0, or -errno after
 * printing which copy failed.
 */
int policy_of_session(struct ruleset *rs, const struct session *s, const cJSON *meta,
		      const char *home);

/* What the write rule r says (r NULL, no rule matched: RULE_ASK). */
enum rule_action policy_write_action(const struct rule *r);

/* What a write rule says of path: RULE_ALLOW, RULE_DENY or RULE_ASK (no rule: RULE_ASK). */
enum rule_action policy_write_verdict(const struct ruleset *rs, const char *path,
				      const struct rule **by);

#endif
