/* SPDX-License-Identifier: MIT */
/*
 * The curses review and replay timeline, as the rest of airlock sees them: plain data filled
 * by the supervisor (supervisor/review/review.c), and callbacks for what is computed lazily (diffs,
 * conflicts). Nothing here includes curses or knows about seccomp. Every string is borrowed
 * raw from the session record and may hold anything the sandboxed program chose: ui/ escapes
 * it (control characters, escape sequences, invalid UTF-8, bidirectional overrides) before it
 * reaches the terminal.
 *
 * Testing: with AIRLOCK_UI_SCRIPT=FILE the UI draws to /dev/null instead of the terminal and
 * takes its keys from FILE; <Dump> there appends the screen's text to AIRLOCK_UI_DUMP (see
 * ui/term.c for the script's syntax). tests/ui/ drives the real binary that way.
 */
#ifndef AIRLOCK_UI_UI_H
#define AIRLOCK_UI_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum ui_decision {
	UI_UNDECIDED,
	UI_APPROVED,
	UI_DENIED,
};

struct ui_change {
	const char *path; /* absolute host path */
	const char *kind; /* "added", "modified", ... (change_kind_name) */
	mode_t mode, old_mode;
	off_t size, old_size;
	const char *link_target; /* new symlink target, or NULL */
	bool creates_dir;	 /* the commit makes a directory here (added, replaced, type) */
	enum ui_decision decision;
	const char *why;   /* why it starts so, e.g. the write rule that matched; owned by caller */
	const char *risk;  /* why applying it runs code on the host later (flagged), or NULL */
	const char *fixed; /* why it can never be approved (a hidden path, a deny write rule) */
	size_t *cmds;	   /* indices into ui_review.commands of the commands that wrote it */
	size_t ncmds;
	unsigned *steps; /* a live session's steps that wrote it (airlock exec), owned by caller */
	size_t nsteps;
	/* A modified text file decided hunk by hunk: one letter a hunk, 'a' approved, 'd' denied,
	   'u' undecided (malloc'd; freed by ui_review_free()); NULL: decided whole. decision is
	   then UI_APPROVED when a hunk is approved (the file is approved in part). */
	char *hunks;
	/* A rename (the deletion of the old path and the addition of the new one, paired by
	   supervisor/changeset/renames.h): the list shows "old -> new", and deciding one of the
	   two decides both, so that what reaches the host is the rename approved. */
	bool renamed;
	size_t rename_other; /* the other change of the rename */
	int similarity;	     /* how much of the old content the new keeps, in percent */
	/* Filled by ui/: */
	int added, removed; /* line counts; -1 not counted yet, -2 binary or not countable */
	int conflict_state; /* 0 not checked yet, 1 none, 2 conflict, 3 unsafe conflict */
	char *conflict;	    /* why it conflicts (from the callback; freed by ui_review_free) */
	const char *set_by; /* who set the decision since: "you", "the command"; NULL: rules */
	size_t parent;	    /* index of the nearest change that is a directory above it, or -1 */
};

struct ui_command {
	const char *argv; /* the command line, joined with spaces */
	const char *exe;  /* the executable's path */
	long pid;
	const char *ran;      /* what the run decided: "allow", "deny", "defer", ... */
	const char *by;	      /* who decided it: a rule "file:line", "person", "default" */
	unsigned defer_index; /* 1-based among the deferred commands; 0 when not deferred */
	const char *cwd;      /* a deferred command's directory, where it would run */
	long long seq;	      /* its exec event in the log; -1: unknown */
	unsigned step;	      /* the live session's step it ran in, 0: none */
	enum ui_decision decision;
	size_t *files; /* indices into ui_review.changes of the changes it made */
	size_t nfiles;
	const char *set_by;
	/* A deferred command that ran on the host already (commit --run, an earlier review's
	   commit): how it ended ("exit status 0", ...). It runs at most once, so it is decided no
	   more (ui_set_command() refuses it) and the commit never counts it. NULL: not run. */
	const char *done;
	const char *output; /* where the session keeps a done command's output, or NULL */
};

struct ui_connection {
	const char *target, *name, *decision, *by, *argv;
};

struct ui_review {
	const char *id;	     /* the session */
	const char *command; /* what ran, joined */
	const char *note;    /* a line to show at the top (rules that could not be read), or NULL */
	const char *ended;   /* how the program ended: "exit 0", "SIGKILL", ...; or NULL */
	struct ui_change *changes;
	size_t nchanges;
	struct ui_command *commands;
	size_t ncommands;
	struct ui_connection *conns;
	size_t nconns;
	void *ctx;
	/* The patch of change i (raw git patch text) and its length; NULL after a message. */
	char *(*diff)(void *ctx, size_t i, size_t *len);
	/* Why committing change i would conflict with the host (caller frees), or NULL; *unsafe
	   when forcing cannot override it. */
	char *(*conflict)(void *ctx, size_t i, bool *unsafe);
	/* How many hunks of change i the person may decide one by one in patch, the diff shown
	   (what diff() gave); 0: the change is decided whole. Or NULL. */
	size_t (*hunks)(void *ctx, size_t i, const char *patch, size_t len);
	/* Called after each key that may have changed decisions, to save them; or NULL. */
	void (*decided)(void *ctx);
};

enum {
	UI_QUIT = 0,   /* the person left without committing */
	UI_COMMIT = 1, /* commit the approved items (decisions are in the review) */
};

/*
 * Link changes to their parent directories (ui_change.parent) and reset what ui/ fills.
 * Call once after filling r, before ui_review_run() or the model functions below.
 */
void ui_review_prepare(struct ui_review *r);

/*
 * Run the review on the terminal (stdin/stdout) until the person commits or quits. Returns
 * UI_COMMIT or UI_QUIT, or -errno when the terminal cannot be used (printed). *force is set
 * when the person confirmed committing over conflicts.
 */
int ui_review_run(struct ui_review *r, bool *force);

/*
 * Progress while a review opens (ui/loading.c): after ui_loading_start(session id), once
 * opening has taken longer than a moment, one line on stderr (a terminal only) says what is
 * being done (ui_loading_stage(), a static string, or NULL) and for how long, until
 * ui_loading_done() erases it. ui_review_run() calls ui_loading_done() itself.
 */
void ui_loading_start(const char *id);
void ui_loading_stage(const char *stage);
void ui_loading_done(void);

/* Free what ui/ allocated inside r (conflict texts, hunk decisions). */
void ui_review_free(struct ui_review *r);

/*
 * The decision model, apart from drawing (unit-tested). Setting a change approves the
 * directories it needs (an added parent) and denying a directory the commit would create
 * denies everything below it; setting a command sets every change it made. Commands that
 * were denied when the program ran made nothing and keep their state, as do deferred
 * commands that ran already (ui_command.done): these return false for them.
 */
void ui_set_change(struct ui_review *r, size_t i, enum ui_decision d, const char *by);

/*
 * Decide hunk h of change i (n hunks; letter 'a' or 'd'): its other hunks keep their decisions
 * (at first the file's). Every hunk approved approves the file whole, every hunk denied denies
 * it; otherwise the file is approved in part while a hunk is approved, else undecided.
 */
void ui_set_hunk(struct ui_review *r, size_t i, size_t n, size_t h, char letter);
bool ui_set_command(struct ui_review *r, size_t i, enum ui_decision d);

/*
 * Decide a live session's whole step: every command that ran in it and every change it made
 * (a change that another step also made goes with the decision too). Returns how many
 * changes and commands it set.
 */
size_t ui_set_step(struct ui_review *r, unsigned step, enum ui_decision d);

/* One event of the timeline. */
struct ui_event {
	unsigned long long seq;
	const char *time; /* local, with its offset: "2026-11-23T12:10:05.123+0100" */
	long pid;
	const char *cls; /* "exec", "write", "connect", "dns", ... */
	const char *op;
	const char *target, *target2;
	const char *decision, *by, *result;
	const char *argv;    /* the process's command line */
	const char *command; /* exec: the new command line */
};

struct ui_replay {
	const char *id;
	const char *command;
	struct ui_event *events;
	size_t nevents;
	void *ctx;
	/* The patch of the session's change at path (raw), or NULL with *why set (borrowed). */
	char *(*diff_path)(void *ctx, const char *path, size_t *len, const char **why);
	/* The kind of the session's change at path, or NULL when the change set has none. */
	const char *(*change_kind)(void *ctx, const char *path);
};

/* Run the replay timeline until the person quits. 0, or -errno when the terminal fails. */
int ui_replay_run(struct ui_replay *p);

#endif
