/* SPDX-License-Identifier: MIT */
/* The view stack and its loop, text views (diffs, help) and the y/n box; see view.h. */
#include "ui/view.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "ui/term.h"
#include "ui/ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_ROWS 3 /* two status rows and the message row */

int view_rows(void)
{
	int rows = LINES - 1 - STATUS_ROWS;

	return rows > 1 ? rows : 1;
}

static void view_free(struct view *v)
{
	if (v->ops->free)
		v->ops->free(v);
	free(v);
}

void app_push(struct app *app, struct view *v)
{
	if (app->depth == ARRAY_SIZE(app->stack)) {
		view_free(v);
		app_message(app, "too many views open");
		return;
	}
	v->app = app;
	app->stack[app->depth++] = v;
}

bool app_pop(struct app *app)
{
	if (app->depth <= 1)
		return false;
	view_free(app->stack[--app->depth]);
	return true;
}

void app_close(struct app *app)
{
	while (app_pop(app))
		;
	if (app->depth == 1)
		view_free(app->stack[0]);
	app->depth = 0;
	buf_release(&app->message);
}

void app_set_root(struct app *app, struct view *v)
{
	while (app_pop(app))
		;
	if (app->depth == 1)
		view_free(app->stack[0]);
	app->depth = 0;
	app_push(app, v);
}

void app_message(struct app *app, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&app->message);
	va_start(ap, fmt);
	buf_vaddf(&app->message, fmt, ap);
	va_end(ap);
}

static struct view *top(struct app *app)
{
	return app->stack[app->depth - 1];
}

/* Keep the selection on screen. */
static void clamp(struct view *v)
{
	size_t n = v->ops->count(v), rows = (size_t)view_rows();

	if (v->scroll_only) {
		if (v->top + rows > n)
			v->top = n > rows ? n - rows : 0;
		v->sel = v->top;
		return;
	}
	if (n == 0) {
		v->sel = v->top = 0;
		return;
	}
	if (v->sel >= n)
		v->sel = n - 1;
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + rows)
		v->top = v->sel - rows + 1;
}

/* The key hints of the bottom row, from the key table. */
static void draw_hints(struct app *app, int y)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_init(&b);
	for (i = 0; i < UI_REQ_COUNT - 1; i++) {
		const struct ui_key *k = &ui_keys[i];
		const char *comma = strchr(k->shown, ',');

		if (!k->hint || !(k->where & app->where))
			continue;
		buf_addf(&b, "%s%.*s %s", b.len ? "  " : "",
			 (int)(comma ? (size_t)(comma - k->shown) : strlen(k->shown)), k->shown,
			 k->hint);
	}
	term_put(y, 0, COLS, b.data, A_NORMAL);
	buf_release(&b);
}

void app_draw(struct app *app)
{
	struct view *v = top(app);
	struct buf t = BUF_INIT, s1 = BUF_INIT, s2 = BUF_INIT;
	size_t n, i;
	int rows = view_rows(), y, x;

	buf_init(&t);
	buf_init(&s1);
	buf_init(&s2);
	clamp(v);
	erase();
	app->title(app, &t);
	if (v->ops->title) {
		if (t.len)
			buf_adds(&t, "  ");
		v->ops->title(v, &t);
	}
	x = term_put(0, 0, COLS, t.data, term_color(PAIR_TITLE) | A_BOLD);
	term_fill(0, x, term_color(PAIR_TITLE));
	n = v->ops->count(v);
	for (i = v->top, y = 1; i < n && y <= rows; i++, y++)
		v->ops->draw(v, i, y, COLS, !v->scroll_only && i == v->sel);
	if (v->ops->status)
		v->ops->status(v, &s1, &s2);
	if (n > 0 && !v->scroll_only) {
		char pos[48];

		snprintf(pos, sizeof(pos), "  [%zu/%zu]", v->sel + 1, n);
		buf_adds(&s1, pos);
	} else if (v->scroll_only && n > (size_t)rows) {
		char pos[48];

		snprintf(pos, sizeof(pos), "  [lines %zu-%zu of %zu]", v->top + 1,
			 v->top + (size_t)rows < n ? v->top + (size_t)rows : n, n);
		buf_adds(&s1, pos);
	}
	x = term_put(rows + 1, 0, COLS, s1.data, A_REVERSE);
	term_fill(rows + 1, x, A_REVERSE);
	term_put(rows + 2, 0, COLS, s2.data, A_NORMAL);
	{
		char *msg = term_last_message();

		if (msg) {
			buf_reset(&app->message);
			buf_adds(&app->message, msg);
			free(msg);
		}
	}
	if (app->message.len)
		term_put(rows + 3, 0, COLS, app->message.data, A_BOLD);
	else
		draw_hints(app, rows + 3);
	refresh();
	buf_release(&t);
	buf_release(&s1);
	buf_release(&s2);
}

/* Read a line on the message row; false when it was cancelled. */
static bool read_line(struct app *app, const char *prompt, char *out, size_t size)
{
	size_t len = 0;
	int y = view_rows() + 3;

	out[0] = '\0';
	for (;;) {
		int k, x;

		move(y, 0);
		clrtoeol();
		x = term_put(y, 0, COLS, prompt, A_BOLD);
		term_put(y, x, COLS - x, out, A_NORMAL);
		refresh();
		k = term_key(-1);
		if (k == UI_KEY_ENTER)
			return true;
		if (k == UI_KEY_ESC || k == UI_KEY_EOF || k == UI_CTRL('c'))
			return false;
		if (k == UI_KEY_RESIZE) {
			app_draw(app);
			continue;
		}
		if (k == UI_KEY_BACKSPACE) {
			/* Back over one UTF-8 character. */
			while (len > 0 && ((unsigned char)out[--len] & 0xc0) == 0x80)
				;
			out[len] = '\0';
			continue;
		}
		if (k >= 0x20 && k < UI_KEY_BASE && k != 0x7f) {
			char enc[8];
			int n = 0;

			if (k < 0x80) {
				enc[n++] = (char)k;
			} else if (k < 0x800) {
				enc[n++] = (char)(0xc0 | (k >> 6));
				enc[n++] = (char)(0x80 | (k & 0x3f));
			} else if (k < 0x10000) {
				enc[n++] = (char)(0xe0 | (k >> 12));
				enc[n++] = (char)(0x80 | ((k >> 6) & 0x3f));
				enc[n++] = (char)(0x80 | (k & 0x3f));
			} else {
				enc[n++] = (char)(0xf0 | (k >> 18));
				enc[n++] = (char)(0x80 | ((k >> 12) & 0x3f));
				enc[n++] = (char)(0x80 | ((k >> 6) & 0x3f));
				enc[n++] = (char)(0x80 | (k & 0x3f));
			}
			if (len + (size_t)n < size) {
				memcpy(out + len, enc, (size_t)n);
				len += (size_t)n;
				out[len] = '\0';
			}
		}
	}
}

static bool search_from(struct app *app, struct view *v, bool forward, bool include_sel)
{
	size_t n = v->ops->count(v), i, k;

	if (!app->search[0] || !v->ops->text || n == 0)
		return false;
	for (k = include_sel ? 0 : 1; k <= n; k++) {
		char *t;
		bool hit;

		i = forward ? (v->sel + k) % n : (v->sel + n - k % n) % n;
		t = v->ops->text(v, i);
		hit = t && strstr(t, app->search);
		free(t);
		if (hit) {
			v->sel = i;
			if (v->scroll_only)
				v->top = i;
			return true;
		}
	}
	return false;
}

static void move_sel(struct view *v, long delta)
{
	size_t n = v->ops->count(v);
	size_t *p = v->scroll_only ? &v->top : &v->sel;

	if (delta < 0)
		*p = (size_t)-delta > *p ? 0 : *p - (size_t)-delta;
	else
		*p = *p + (size_t)delta >= n ? (n ? n - 1 : 0) : *p + (size_t)delta;
}

/* Requests every view shares. */
static int common_request(struct app *app, struct view *v, enum ui_req req)
{
	long page = view_rows();

	switch (req) {
	case UI_REQ_DOWN:
		move_sel(v, 1);
		break;
	case UI_REQ_UP:
		move_sel(v, -1);
		break;
	case UI_REQ_PAGE_DOWN:
	case UI_REQ_SCREEN_DOWN:
		move_sel(v, page);
		if (!v->scroll_only)
			v->top += (size_t)page;
		break;
	case UI_REQ_PAGE_UP:
	case UI_REQ_SCREEN_UP:
		move_sel(v, -page);
		if (!v->scroll_only)
			v->top = v->top > (size_t)page ? v->top - (size_t)page : 0;
		break;
	case UI_REQ_FIRST:
		v->sel = v->top = 0;
		break;
	case UI_REQ_LAST:
		move_sel(v, (long)v->ops->count(v));
		break;
	case UI_REQ_SEARCH:
		if (read_line(app, "/", app->search, sizeof(app->search)) && app->search[0] &&
		    !search_from(app, v, true, false))
			app_message(app, "not found: %s", app->search);
		break;
	case UI_REQ_SEARCH_NEXT:
	case UI_REQ_SEARCH_PREV:
		if (!app->search[0])
			app_message(app, "no search yet: / starts one");
		else if (!search_from(app, v, req == UI_REQ_SEARCH_NEXT, false))
			app_message(app, "not found: %s", app->search);
		break;
	case UI_REQ_HELP:
		app_push(app, help_view_new(app->where));
		break;
	case UI_REQ_REDRAW:
		clearok(curscr, TRUE);
		break;
	case UI_REQ_QUIT:
		if (!app_pop(app))
			return VIEW_EXIT;
		break;
	case UI_REQ_CLOSE:
		/* Never a way out: a stray Esc must not end a review and its decisions. */
		if (!app_pop(app))
			app_message(app, "Esc closes views; q quits");
		break;
	default:
		return VIEW_UNHANDLED;
	}
	return VIEW_DONE;
}

int app_run(struct app *app)
{
	app->result = UI_QUIT;
	for (;;) {
		struct view *v;
		enum ui_req req;
		int k, r;

		app_draw(app);
		k = term_key(app->idle ? 100 : -1);
		if (k == TERM_IDLE) {
			if (app->idle && !app->idle(app))
				app->idle = NULL;
			continue;
		}
		buf_reset(&app->message);
		if (k == UI_KEY_EOF)
			return UI_QUIT;
		if (k == UI_KEY_RESIZE)
			continue;
		v = top(app);
		req = ui_key_request(k, app->where | (v->scroll_only ? UI_TEXT : 0));
		if (req == UI_REQ_NONE) {
			app_message(app, "that key does nothing here: ? shows the keys");
			continue;
		}
		/* Quitting from a view goes back first; the view decides the rest. */
		r = (req == UI_REQ_QUIT || req == UI_REQ_CLOSE) && app->depth > 1 ? VIEW_UNHANDLED
		    : v->ops->request ? v->ops->request(v, req)
				      : VIEW_UNHANDLED;
		if (r == VIEW_UNHANDLED)
			r = common_request(app, v, req);
		if (r != VIEW_UNHANDLED && app->after)
			app->after(app);
		if (r == VIEW_EXIT)
			return app->result;
		if (r == VIEW_UNHANDLED)
			app_message(app, "that key does nothing in this view");
	}
}

/* A box with a border at rows y0.. and columns x0.., blanking what is under it. */
static void draw_box(int y0, int x0, int h, int w)
{
	int i;

	for (i = 0; i < h; i++) {
		move(y0 + i, x0);
		hline(' ', w);
	}
	mvaddch(y0, x0, '+');
	mvhline(y0, x0 + 1, '-', w - 2);
	mvaddch(y0, x0 + w - 1, '+');
	mvaddch(y0 + h - 1, x0, '+');
	mvhline(y0 + h - 1, x0 + 1, '-', w - 2);
	mvaddch(y0 + h - 1, x0 + w - 1, '+');
	mvvline(y0 + 1, x0, '|', h - 2);
	mvvline(y0 + 1, x0 + w - 1, '|', h - 2);
}

/* Cut lines longer than width at spaces, into b (starts[] index it). How many lines. */
static size_t wrap_lines(const char *const *lines, size_t n, size_t width, struct buf *b,
			 size_t *starts, size_t max)
{
	size_t i, nl = 0;

	for (i = 0; i < n && nl < max; i++) {
		const char *p = lines[i];

		do {
			size_t len = strlen(p), cut = len;

			if (len > width) {
				for (cut = width; cut > 0 && p[cut] != ' '; cut--)
					;
				if (cut == 0)
					cut = width;
			}
			starts[nl++] = b->len;
			buf_add(b, p, cut);
			buf_addc(b, '\0');
			p += cut;
			while (*p == ' ')
				p++;
		} while (*p && nl < max);
	}
	return nl;
}

bool app_ask(struct app *app, const char *const *lines, size_t n, const char *question)
{
	for (;;) {
		struct buf b = BUF_INIT;
		size_t starts[64], nw;
		int w = COLS - 4, h, y0, x0, i, k;

		if (w < 8)
			w = COLS;
		buf_init(&b);
		nw = wrap_lines(lines, n, w > 4 ? (size_t)w - 4 : 1, &b, starts,
				ARRAY_SIZE(starts));
		h = (int)nw + 4;
		if (h > LINES)
			h = LINES;
		y0 = (LINES - h) / 2;
		x0 = (COLS - w) / 2;
		app_draw(app);
		draw_box(y0, x0, h, w);
		for (i = 0; i < (int)nw && i < h - 4; i++)
			term_put(y0 + 1 + i, x0 + 2, w - 4, b.data + starts[i], A_NORMAL);
		term_put(y0 + h - 2, x0 + 2, w - 4, question, A_BOLD);
		buf_release(&b);
		refresh();
		k = term_key(-1);
		if (k == 'y' || k == 'Y')
			return true;
		if (k == UI_KEY_RESIZE)
			continue;
		return false;
	}
}

bool app_confirm(struct app *app, const char *const *lines, size_t n)
{
	return app_ask(app, lines, n, "Commit? y: yes, n: no");
}

/* --- text views ---------------------------------------------------------------------- */

struct tline {
	size_t off, len;
	enum term_pair pair;
	bool bold;
	bool no_newline; /* git's "\ No newline at end of file": shown as it is, not escaped */
};

struct text_view {
	char *title;
	char *text;
	struct tline *lines;
	size_t n, cap;
	int (*forward)(void *ctx, enum ui_req req);
	void (*fstatus)(void *ctx, struct buf *l1, struct buf *l2);
	void *fctx;
	size_t *hunks; /* the line of each "@@" header, in order */
	size_t nhunks, hcap;
	size_t cur;	  /* the hunk under the cursor */
	size_t decidable; /* hunks decided one by one (text_view_hunks()), 0: none */
	const char *(*states)(void *ctx); /* their decisions, one letter a hunk */
	int hscroll;			  /* columns scrolled to the right (< and >) */
	int widest;			  /* the widest line's columns, or -1: not measured */
};

static bool starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

static void add_line(struct text_view *t, size_t off, size_t len, enum term_pair pair, bool bold)
{
	GROW(t->lines, t->cap, t->n + 1);
	t->lines[t->n++] = (struct tline){off, len, pair, bold, false};
}

#define NO_NEWLINE "\\ No newline at end of file"

/* Split a patch into lines, colour them, and replace each binary part with one line. */
static void split_diff(struct text_view *t, bool diff)
{
	const char *p = t->text, *end = t->text + strlen(t->text);
	bool binary = false, hunk = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t off = (size_t)(p - t->text);

		p += len + (nl ? 1 : 0);
		if (!diff) {
			add_line(t, off, len, PAIR_NONE, false);
			continue;
		}
		if (starts(t->text + off, len, "diff --git ")) {
			binary = hunk = false;
			add_line(t, off, len, PAIR_NONE, true);
		} else if (binary) {
			continue;
		} else if (starts(t->text + off, len, "GIT binary patch") ||
			   (starts(t->text + off, len, "Binary files ") && !hunk)) {
			binary = true;
			/* The summary replaces the base85 data, which no one can read. */
			add_line(t, SIZE_MAX, 0, PAIR_HUNK, false);
		} else if (starts(t->text + off, len, "@@")) {
			hunk = true;
			GROW(t->hunks, t->hcap, t->nhunks + 1);
			t->hunks[t->nhunks++] = t->n;
			add_line(t, off, len, PAIR_HUNK, false);
		} else if (hunk && starts(t->text + off, len, "\\")) {
			/* Only git writes a line starting so in a hunk: content has a prefix. */
			add_line(t, off, len, PAIR_HUNK, false);
			t->lines[t->n - 1].no_newline =
				len == strlen(NO_NEWLINE) && starts(t->text + off, len, NO_NEWLINE);
		} else if (hunk && starts(t->text + off, len, "+")) {
			add_line(t, off, len, PAIR_ADD, false);
		} else if (hunk && starts(t->text + off, len, "-")) {
			add_line(t, off, len, PAIR_DEL, false);
		} else {
			add_line(t, off, len, PAIR_NONE, !hunk);
		}
	}
}

static size_t text_count(struct view *v)
{
	return ((struct text_view *)v->data)->n;
}

/* The line's raw text with tabs expanded (caller frees). */
static char *line_text(const struct text_view *t, size_t i)
{
	const struct tline *l = &t->lines[i];
	struct buf b = BUF_INIT;
	size_t k, col = 0;

	buf_init(&b);
	if (l->off == SIZE_MAX) {
		buf_adds(&b, "Binary content changed (not shown)");
		return buf_detach(&b);
	}
	for (k = 0; k < l->len; k++) {
		char c = t->text[l->off + k];

		if (c == '\t') {
			do
				buf_addc(&b, ' ');
			while (++col % 8);
			continue;
		}
		buf_addc(&b, c);
		col++;
	}
	return buf_detach(&b);
}

/* The hunk line i is in (SIZE_MAX: before the first), by the header lines. */
static size_t hunk_of(const struct text_view *t, size_t i)
{
	size_t lo = 0, hi = t->nhunks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->hunks[mid] <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : SIZE_MAX;
}

/* Keep the hunk under the cursor on screen: when it is scrolled away, the first one shown. */
static void follow_hunk(struct view *v)
{
	struct text_view *t = v->data;
	size_t rows = (size_t)view_rows(), first, end;

	if (!t->decidable)
		return;
	first = t->hunks[t->cur];
	end = t->cur + 1 < t->nhunks ? t->hunks[t->cur + 1] : t->n;
	if (end > v->top && first < v->top + rows)
		return;
	t->cur = hunk_of(t, v->top);
	if (t->cur == SIZE_MAX || (t->hunks[t->cur] < v->top && t->cur + 1 < t->decidable &&
				   t->hunks[t->cur + 1] < v->top + rows))
		t->cur = t->cur == SIZE_MAX ? 0 : t->cur + 1;
	if (t->cur >= t->decidable)
		t->cur = t->decidable - 1;
}

/*
 * Draw s from column x, scrolled by skip columns, the search's matches in reverse; '>' in the
 * last column when the line goes on past it, '<' in the first when some of it is scrolled
 * away to the left. The scroll never starts inside an escape or a wide character
 * (term_skip()): what straddles the edge is left blank. Every line scrolled shows the same
 * columns of its text.
 */
static void put_line(struct view *v, const char *s, int y, int x, int width, attr_t attr, int skip)
{
	const char *q = v->app ? v->app->search : "";
	size_t ql = strlen(q);
	int pad = 0, x0 = x;
	/* The mark takes the first column: what was there is scrolled away with the rest. */
	const char *p = s + (skip > 0 ? term_skip(s, skip + 1, &pad) : 0), *m;
	bool left = p > s, cut;

	x += (left ? 1 : 0) + pad;
	cut = x + term_width(p) > width;
	/* The mark takes the last column: no character is drawn there to be cut in half. */
	if (cut)
		width--;
	while (ql && x < width && (m = strstr(p, q))) {
		cleanup_free char *before = xstrndup(p, (size_t)(m - p));
		cleanup_free char *match = xstrndup(m, ql);

		x += term_put(y, x, width - x, before, attr);
		x += term_put(y, x, width - x, match, attr | A_REVERSE | A_BOLD);
		p = m + ql;
	}
	if (x < width)
		term_put(y, x, width - x, p, attr);
	if (left && x0 < width)
		term_put(y, x0, 1, "<", A_REVERSE | A_BOLD);
	if (cut && width >= 0)
		term_put(y, width, 1, ">", A_REVERSE | A_BOLD);
}

static void text_draw(struct view *v, size_t i, int y, int width, bool selected)
{
	struct text_view *t = v->data;
	cleanup_free char *s = line_text(t, i);
	attr_t attr = term_color(t->lines[i].pair) | (t->lines[i].bold ? A_BOLD : 0);
	size_t h = hunk_of(t, i);
	int x = 0;

	(void)selected;
	if (i == v->top)
		follow_hunk(v);
	if (t->lines[i].no_newline) {
		/* Drawn as git writes it: its backslash is git's, not the file's. */
		if (t->hscroll == 0)
			mvaddnstr(y, 0, NO_NEWLINE, width);
		else if ((size_t)t->hscroll < strlen(NO_NEWLINE) && width > 1)
			mvaddnstr(y, 1, NO_NEWLINE + t->hscroll, width - 1);
		if (t->hscroll)
			term_put(y, 0, 1, "<", A_REVERSE | A_BOLD);
		return;
	}
	if (t->decidable && h != SIZE_MAX && h < t->decidable && t->hunks[h] == i) {
		const char *st = t->states ? t->states(t->fctx) : NULL;
		char c = st && strlen(st) > h ? st[h] : 'u';

		x = term_put(y, 0, width, h == t->cur ? "> " : "  ", A_BOLD);
		x += term_put(y, x, width - x,
			      c == 'a'	 ? "[+]"
			      : c == 'd' ? "[-]"
					 : "[?]",
			      term_color(c == 'a'   ? PAIR_APPROVED
					 : c == 'd' ? PAIR_DENIED
						    : PAIR_UNDECIDED) |
				      A_BOLD | (h == t->cur ? A_REVERSE : 0));
		x += term_put(y, x, width - x, " ", attr);
	}
	put_line(v, s, y, x, width, attr, t->hscroll);
}

static char *text_text(struct view *v, size_t i)
{
	return line_text(v->data, i);
}

static void text_title(struct view *v, struct buf *out)
{
	buf_adds(out, ((struct text_view *)v->data)->title);
}

/* Move the cursor to hunk h and show it from its header. */
static void go_hunk(struct view *v, size_t h)
{
	struct text_view *t = v->data;

	t->cur = h;
	v->top = t->hunks[h] > 0 ? t->hunks[h] - 1 : 0;
}

static int hunk_request(struct view *v, enum ui_req req)
{
	struct text_view *t = v->data;
	bool next = req == UI_REQ_NEXT_HUNK;
	size_t h, pos = v->top + 1; /* where go_hunk() puts a header */

	if (t->nhunks == 0) {
		app_message(v->app, "no hunks here");
		return VIEW_DONE;
	}
	if (t->decidable) {
		if (next ? t->cur + 1 >= t->decidable : t->cur == 0) {
			app_message(v->app, next ? "the last hunk" : "the first hunk");
			go_hunk(v, t->cur);
			return VIEW_DONE;
		}
		go_hunk(v, next ? t->cur + 1 : t->cur - 1);
		return VIEW_DONE;
	}
	/* No cursor: the next header below the top line's, or the nearest above it. */
	for (h = 0; h < t->nhunks && t->hunks[h] <= pos; h++)
		;
	if (next && h < t->nhunks)
		go_hunk(v, h);
	else if (!next && h > 0 && t->hunks[h - 1] < pos)
		go_hunk(v, h - 1);
	else if (!next && h > 1)
		go_hunk(v, h - 2);
	else
		app_message(v->app, next ? "the last hunk" : "the first hunk");
	return VIEW_DONE;
}

/* The columns of the widest line, measured once. */
static int widest(struct text_view *t)
{
	size_t i;

	if (t->widest >= 0)
		return t->widest;
	t->widest = 0;
	for (i = 0; i < t->n; i++) {
		cleanup_free char *s = line_text(t, i);
		int w = term_width(s);

		if (w > t->widest)
			t->widest = w;
	}
	return t->widest;
}

/* < and >: half a screen left or right, as less does; no further right than the widest line
   needs to end on the screen. */
static int hscroll_request(struct view *v, bool right)
{
	struct text_view *t = v->data;
	int step = COLS / 2 > 0 ? COLS / 2 : 1;
	/* A hunk's header has its marks before it ("> [+] "): room for them too. */
	int end = widest(t) + (t->decidable ? 6 : 0) - COLS;

	if (right && t->hscroll >= end) {
		app_message(v->app, "the end of the longest line is shown");
		return VIEW_DONE;
	}
	if (!right && t->hscroll == 0) {
		app_message(v->app, "the lines are shown from their start");
		return VIEW_DONE;
	}
	t->hscroll = right ? t->hscroll + step : t->hscroll > step ? t->hscroll - step : 0;
	return VIEW_DONE;
}

static int text_request(struct view *v, enum ui_req req)
{
	struct text_view *t = v->data;

	if (req == UI_REQ_NEXT_HUNK || req == UI_REQ_PREV_HUNK)
		return hunk_request(v, req);
	if (req == UI_REQ_SCROLL_LEFT || req == UI_REQ_SCROLL_RIGHT)
		return hscroll_request(v, req == UI_REQ_SCROLL_RIGHT);
	if (t->forward && req != UI_REQ_QUIT)
		return t->forward(t->fctx, req);
	return VIEW_UNHANDLED;
}

static void text_status(struct view *v, struct buf *l1, struct buf *l2)
{
	struct text_view *t = v->data;

	if (t->fstatus)
		t->fstatus(t->fctx, l1, l2);
	if (t->hscroll)
		buf_addf(l1, "%sfrom column %d", l1->len ? "  " : "", t->hscroll + 1);
}

static void text_free(struct view *v)
{
	struct text_view *t = v->data;

	free(t->title);
	free(t->text);
	free(t->lines);
	free(t->hunks);
	free(t);
}

static const struct view_ops text_ops = {
	.count = text_count,
	.draw = text_draw,
	.text = text_text,
	.request = text_request,
	.status = text_status,
	.title = text_title,
	.free = text_free,
};

struct view *text_view_new(const char *title, const char *text, size_t len, bool diff)
{
	struct view *v = xcalloc(1, sizeof(*v));
	struct text_view *t = xcalloc(1, sizeof(*t));

	t->title = xstrdup(title);
	t->text = xstrndup(text, len);
	t->widest = -1;
	split_diff(t, diff);
	v->ops = &text_ops;
	v->data = t;
	v->scroll_only = true;
	return v;
}

void text_view_forward(struct view *v, int (*fn)(void *ctx, enum ui_req req),
		       void (*status)(void *ctx, struct buf *l1, struct buf *l2), void *ctx)
{
	struct text_view *t = v->data;

	t->forward = fn;
	t->fstatus = status;
	t->fctx = ctx;
}

void text_view_hunks(struct view *v, size_t n, const char *(*states)(void *ctx))
{
	struct text_view *t = v->data;

	/* Only when the hunks are the ones shown: else each is decided with its file. */
	t->decidable = n == t->nhunks ? n : 0;
	t->states = states;
	t->cur = 0;
}

size_t text_view_hunk(struct view *v)
{
	struct text_view *t = v->data;

	return t->decidable ? t->cur : SIZE_MAX;
}

bool text_view_next_hunk(struct view *v)
{
	struct text_view *t = v->data;
	size_t rows = (size_t)view_rows(), end;

	if (!t->decidable || t->cur + 1 >= t->decidable)
		return false;
	t->cur++;
	/* Scroll only when the next hunk is not shown whole. */
	end = t->cur + 1 < t->nhunks ? t->hunks[t->cur + 1] : t->n;
	if (t->hunks[t->cur] < v->top || end > v->top + rows)
		go_hunk(v, t->cur);
	return true;
}

struct view *help_view_new(int where)
{
	struct buf b = BUF_INIT;
	struct view *v;
	size_t i;

	buf_init(&b);
	for (i = 0; i < UI_REQ_COUNT - 1; i++) {
		if (ui_keys[i].where & where)
			buf_addf(&b, "  %-14s %s\n", ui_keys[i].shown, ui_keys[i].help);
	}
	v = text_view_new("keys (q closes this)", b.data, b.len, false);
	buf_release(&b);
	return v;
}

void diff_count(const char *text, size_t len, int *added, int *removed)
{
	const char *p = text, *end = text + len;
	bool hunk = false;

	*added = *removed = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (starts(p, n, "diff --git "))
			hunk = false;
		else if (starts(p, n, "GIT binary patch") ||
			 (!hunk && starts(p, n, "Binary files "))) {
			*added = *removed = -2;
			return;
		} else if (starts(p, n, "@@"))
			hunk = true;
		else if (hunk && n > 0 && *p == '+')
			(*added)++;
		else if (hunk && n > 0 && *p == '-')
			(*removed)++;
		p += n + (nl ? 1 : 0);
	}
}
