/* SPDX-License-Identifier: MIT */
/*
 * Views, as tig has them: each view is a list of lines with a table of operations, and a
 * stack of views is shown one at a time (the list, then the diff opened from it). The loop
 * here moves, scrolls, searches, shows help and closes views; each view handles the rest of
 * the requests. The line model stays apart from drawing: a view's lines are indices into the
 * plain data of ui.h, drawn only when on screen. Internal to ui/.
 *
 * Screen: row 0 the title, then the lines, two status rows, and the message row.
 */
#ifndef AIRLOCK_UI_VIEW_H
#define AIRLOCK_UI_VIEW_H

#include "common/buf.h"
#include "ui/keys.h"

#include <stdbool.h>
#include <stddef.h>

struct view;
struct app;

/* What a request handler did. */
enum {
	VIEW_UNHANDLED, /* not this view's: the loop handles it (or says it is not bound) */
	VIEW_DONE,
	VIEW_EXIT, /* leave the loop; app->result holds the result */
};

struct view_ops {
	/* Number of lines. */
	size_t (*count)(struct view *v);
	/* Draw line i at screen row y in width columns; selected: under the cursor. */
	void (*draw)(struct view *v, size_t i, int y, int width, bool selected);
	/* The raw text of line i that / searches (caller frees), or NULL. */
	char *(*text)(struct view *v, size_t i);
	/* Handle req for the selected line. */
	int (*request)(struct view *v, enum ui_req req);
	/* The two status rows for the selection (raw text; escaped when drawn). */
	void (*status)(struct view *v, struct buf *line1, struct buf *line2);
	/* The view's title (raw). */
	void (*title)(struct view *v, struct buf *out);
	void (*free)(struct view *v);
};

struct view {
	const struct view_ops *ops;
	struct app *app;
	void *data;
	size_t top, sel;
	bool scroll_only; /* text: j/k scroll, no cursor line */
};

struct app {
	int where;		/* UI_REVIEW or UI_REPLAY */
	const char *name;	/* "review", "replay" */
	struct view *stack[16]; /* stack[0] is the root */
	size_t depth;
	struct buf message; /* the message row; empty for the key hints */
	char search[256];
	int result;
	/* Work to do when no key is waiting (true while more remains), or NULL. */
	bool (*idle)(struct app *app);
	void *data;
	/* The title's left part (raw). */
	void (*title)(struct app *app, struct buf *out);
	/* Called after every request a view handled, or NULL. */
	void (*after)(struct app *app);
};

/* Rows available for lines. */
int view_rows(void);

/* Push v (owned by the app from now on) on the stack and show it. */
void app_push(struct app *app, struct view *v);

/* Close the top view; false when it is the root (nothing closed). */
bool app_pop(struct app *app);

/* Close every view and free the message. */
void app_close(struct app *app);

/* Replace the root view, closing every other one. */
void app_set_root(struct app *app, struct view *v);

/* Show a message on the message row until the next key. */
void app_message(struct app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Draw everything now. */
void app_draw(struct app *app);

/* Run until a view returns VIEW_EXIT or the keys end (result then UI_KEY_EOF's default 0). */
int app_run(struct app *app);

/*
 * Ask a question in a bordered box over the screen (what is under it blanked): lines (raw
 * text, one per line), then the question, then wait for a key. True for y, false for any
 * other.
 */
bool app_ask(struct app *app, const char *const *lines, size_t n, const char *question);

/* app_ask() with "Commit? y: yes, n: no". */
bool app_confirm(struct app *app, const char *const *lines, size_t n);

/* A view of text lines: a diff (coloured, binary parts summarised) or plain text. */
struct view *text_view_new(const char *title, const char *text, size_t len, bool diff);

/* Where a text view sends the requests it does not handle and asks for its status rows (the
   change a diff is of), set by its opener; either may be NULL. */
void text_view_forward(struct view *v, int (*fn)(void *ctx, enum ui_req req),
		       void (*status)(void *ctx, struct buf *l1, struct buf *l2), void *ctx);

/*
 * Let the person decide the hunks of a diff view one by one: n hunks (its "@@" lines, in
 * order; nothing when the view has another number of them), their decisions read from
 * states(ctx) (one letter a hunk: a, d or u; ctx as given to text_view_forward()) when drawn.
 * The hunk under the cursor is marked '>'; } and { move it, scrolling follows it.
 */
void text_view_hunks(struct view *v, size_t n, const char *(*states)(void *ctx));

/* The hunk under the cursor, or SIZE_MAX when the view's hunks are not decided one by one. */
size_t text_view_hunk(struct view *v);

/* Move the cursor to the next hunk (scrolling to it when needed); false at the last. */
bool text_view_next_hunk(struct view *v);

/* The help view for the app's context. */
struct view *help_view_new(int where);

/* Count the +/- lines of a git patch; -2 in both when it has a binary part. */
void diff_count(const char *text, size_t len, int *added, int *removed);

#endif
