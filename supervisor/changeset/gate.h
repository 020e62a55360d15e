/* SPDX-License-Identifier: MIT */
/*
 * The gate between a session's changes and the host: the state of each change (approved,
 * undecided, denied) and its risk, computed once here for the review, `show`, the JSON
 * result and `commit`.
 *
 * A change's state comes from, in order:
 *   1. a hidden path at or above it: denied, always (the program never saw what is there);
 *   2. a `deny write` rule: denied, always (commit re-checks it, however the change got in);
 *   3. the session's rules: a `sensitive` path (see airlock-rules(5)) starts undecided, with
 *      its risk, unless the deciding write rule allows it and names that exact path; else
 *      `allow write` approves, `ask write` (or no rule) leaves it undecided;
 *   4. the person's decisions from the review, saved in the session's decisions.jsonl
 *      ({"path", "state"} lines, the last for a path wins) as they are made. A file decided
 *      hunk by hunk has "hunks" too (one letter a hunk: a, d or u; see hunks.h) with the
 *      SHA-256 of the host's and the sandbox's side the hunks were seen on ("old_sha256",
 *      "new_sha256"): commit applies only its approved hunks, and only to those sides.
 *      A whole-file approval has "pin" too: the identity of the sandbox's side it was made on
 *      (gate_pin()). When that side is no longer the same (the program rewrote it in a later
 *      step of a live session), the approval does not hold: the change is undecided, with
 *      gate_verdict.changed set, until the person decides it again. A line without "pin"
 *      (written before pins existed, or a decision that needs none) holds as it always did.
 * The file also keeps the review's decisions on deferred commands, {"deferred": N, "state"}
 * lines (gate_decide_deferred()), for the next review to start from. Only the review reads
 * them: `airlock commit` runs a deferred command only when --run names it.
 * Without readable rules nothing starts approved.
 */
#ifndef AIRLOCK_SUPERVISOR_GATE_H
#define AIRLOCK_SUPERVISOR_GATE_H

#include "rules/rules.h"
#include "supervisor/changeset/changes.h"
#include "supervisor/record/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

enum gate_state {
	GATE_UNDECIDED,
	GATE_APPROVED,
	GATE_DENIED,
};

/* Where a change's state came from. */
enum gate_by {
	GATE_BY_RULES,	  /* the write rule (verdict.rule, NULL when none matched) */
	GATE_BY_RISK,	  /* a sensitive path, held for a person (verdict.risk) */
	GATE_BY_DENY,	  /* a deny write rule: never committed */
	GATE_BY_HIDDEN,	  /* inside a hidden path: never committed */
	GATE_BY_NO_RULES, /* the rules could not be read */
};

struct gate_verdict {
	enum gate_state state;
	enum gate_by by;	      /* where the state would come from without the person */
	bool person;		      /* the state is a decision saved from the review */
	const struct rule *rule;      /* the write rule that matched, or NULL */
	const struct rule *sensitive; /* the sensitive rule that matched, or NULL */
	const char *risk;	      /* why applying it runs code on the host later, or NULL */
	const char *hidden;	      /* GATE_BY_HIDDEN: the hidden path */
	/* A file decided hunk by hunk (person): its letters and the sides' hashes, else NULL. */
	const char *hunks, *old_sha, *new_sha;
	const char *pin; /* the person's approval is of this version (gate_pin()), or NULL */
	/* gate_classify_change(): the person approved another version of the sandbox's side; the
	   state is undecided (person false) until decided again. */
	bool changed;
};

struct gate_decision {
	char *path;
	enum gate_state state;
	size_t seq;			 /* line in the file: the last for a path wins */
	char *hunks, *old_sha, *new_sha; /* decided hunk by hunk, or NULL */
	char *pin; /* the sandbox side approved (gate_pin()), or NULL: not pinned */
};

/* A person's decision on deferred command n (its number in the event log). */
struct gate_deferred {
	unsigned n;
	enum gate_state state;
};

struct gate_reason {
	const struct rule *rule;
	char *text;
};

struct gate {
	struct ruleset rs;
	bool have_rules;
	char **hidden; /* absolute hidden paths (meta "hidden") */
	size_t nhidden;
	struct gate_decision *dec; /* sorted by path, one per path */
	size_t ndec;
	struct gate_deferred *defer; /* in the file's order: the last for a number wins */
	size_t ndefer, defer_cap;
	char *file; /* decisions.jsonl of the session; NULL when not opened from one */
	struct gate_reason *reasons; /* risk texts of sensitive rules without a comment */
	size_t nreasons, reasons_cap;
};

/* "approved", "undecided", "denied". */
const char *gate_state_name(enum gate_state st);

/*
 * Open the gate of session s (meta is its meta.json): its rules, hidden paths and saved
 * decisions. Unreadable rules are not an error (nothing starts approved; g->have_rules is
 * false and the reason was printed); unreadable decisions are ignored with a warning.
 * Release with gate_close(). (In policy.c, beside the rules it rebuilds.)
 */
void gate_open(struct gate *g, const struct session *s, const cJSON *meta);

/* A gate over rs (moved into g: rs is left empty) and the hidden paths, with no decisions. */
void gate_init(struct gate *g, struct ruleset *rs, const char *const *hidden, size_t nhidden);

/* Read the decisions saved in file (decisions.jsonl), where gate_decide() appends from now on.
   A missing file is no decision; an unreadable one is warned about and ignored. */
void gate_load_decisions(struct gate *g, const char *file);

/* The verdict on a change at path (absolute). Borrowed strings live as long as g. It only
   reads g: threads may classify at once, while nobody decides. */
void gate_classify(struct gate *g, const char *path, struct gate_verdict *v);

/*
 * The verdict on change c as scanned: gate_classify(), and a person's approval pinned to
 * another version of c's sandbox side (see gate_pin()) does not hold: v->state is undecided,
 * v->changed set.
 */
void gate_classify_change(struct gate *g, const struct change *c, struct gate_verdict *v);

/*
 * gate_classify() and gate_classify_change() for many paths: the same verdicts, with what
 * depends only on a path's directory (the hidden paths it may be under, the rules that may
 * match there: rules_match_cached()) worked out once per directory in c. One per thread,
 * zero-initialised, for one gate whose rules do not change meanwhile; gate_cache_free().
 */
struct gate_cache {
	struct rules_cache rules;
	char *dir; /* the directory of the last path (the bytes before its last slash) */
	size_t len;
	size_t under;  /* the first hidden path dir is or is under; nhidden if none */
	size_t *named; /* hidden paths before it that a path in dir may be, in order */
	size_t nnamed;
};
void gate_classify_cached(struct gate *g, struct gate_cache *c, const char *path,
			  struct gate_verdict *v);
void gate_classify_change_cached(struct gate *g, struct gate_cache *c, const struct change *ch,
				 struct gate_verdict *v);
void gate_cache_free(struct gate_cache *c);

/*
 * The pin of change c's sandbox side as scanned, which a whole-file approval is tied to
 * (caller frees), or NULL for a deletion (nothing to pin: the host entry goes either way).
 */
char *gate_pin(const struct change *c);

/*
 * Record the person's decision on path: in memory, and appended to the session's
 * decisions.jsonl when the gate was opened from a session. 0 or -errno (printed).
 */
int gate_decide(struct gate *g, const char *path, enum gate_state st);

/* As gate_decide(), an approval tied to pin (gate_pin() of the change shown; NULL: none). */
int gate_decide_pinned(struct gate *g, const char *path, enum gate_state st, const char *pin);

/*
 * Record a decision hunk by hunk: hunks (a, d or u a hunk) seen on the sides with the hashes
 * old_sha and new_sha, and the state of the file it makes. As gate_decide().
 */
int gate_decide_hunks(struct gate *g, const char *path, enum gate_state st, const char *hunks,
		      const char *old_sha, const char *new_sha);

/*
 * Record the person's decision on deferred command n, as gate_decide() (the line carries no
 * path: older readers skip it). 0 or -errno (printed).
 */
int gate_decide_deferred(struct gate *g, unsigned n, enum gate_state st);

/*
 * The decision saved on deferred command n (the last line naming it), into *st: true, or
 * false when there is none. A line is only a number and a state: the caller asks about the
 * session's own deferred commands, so a line naming another number is never used.
 */
bool gate_deferred_state(const struct gate *g, unsigned n, enum gate_state *st);

/* What `airlock commit` was asked to apply. */
enum gate_mode {
	GATE_TAKE_APPROVED, /* no PATH, no --all: the approved changes */
	GATE_TAKE_ALL,	    /* --all: approved and undecided, never denied or flagged */
	GATE_TAKE_NAMED,    /* PATH...: the changes at or below the named paths */
};

/*
 * Whether commit applies change c (v receives its verdict, from gate_classify_change()): NULL when
 * it does, else why it is left out: "denied" (by the person or a deny write rule: see v->by),
 * "hidden", "undecided", "flagged" (undecided with a risk), "skip" (not named). A hidden change in
 * scope (--all, or named) is taken here for the commit's own hidden-path check to refuse and
 * report. With GATE_TAKE_NAMED, named says a PATH takes it and exact that a PATH names it
 * explicitly (the path itself, or a flagged directory above it): only then does a flagged change
 * go in. Whatever the mode, a change under a deny write rule is never taken.
 */
const char *gate_select(struct gate *g, const struct change *c, enum gate_mode mode, bool named,
			bool exact, struct gate_verdict *v);

/*
 * Whether one of paths[0..n) names path explicitly for gate_select(): it is path, or a
 * directory above it that is itself flagged (naming `.vscode` takes what is below it).
 */
bool gate_named_exactly(struct gate *g, const char *path, char *const *paths, size_t n);

void gate_close(struct gate *g);

#endif
