/* SPDX-License-Identifier: MIT */
/* Per-hunk decisions: the hunks of a modified file and the file with some of them; see hunks.h. */
#include "supervisor/changeset/hunks.h"

#include "common/cleanup.h"
#include "common/openat2.h"
#include "common/path.h"
#include "common/sha256.h"
#include "supervisor/changeset/git.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A decimal at *p (advanced past it), at most a billion. false when there is none. */
static bool number(const char **p, const char *end, size_t *out)
{
	size_t v = 0;
	const char *s = *p;

	while (s < end && *s >= '0' && *s <= '9' && v < 1000000000)
		v = v * 10 + (size_t)(*s++ - '0');
	if (s == *p || (s < end && *s >= '0' && *s <= '9'))
		return false;
	*p = s;
	*out = v;
	return true;
}

/* "START[,COUNT]" of one side of a hunk header; a count of 0 names the line before. */
static bool range(const char **p, const char *end, size_t *start, size_t *lines)
{
	size_t s;

	if (!number(p, end, &s))
		return false;
	*lines = 1;
	if (*p < end && **p == ',') {
		(*p)++;
		if (!number(p, end, lines))
			return false;
	}
	if (*lines > 0 && s == 0)
		return false;
	*start = *lines > 0 ? s - 1 : s;
	return true;
}

/* "@@ -a,b +c,d @@..." into h. */
static bool header(const char *l, size_t len, struct hunk *h)
{
	const char *p = l + 4, *end = l + len;

	if (len < 4 || memcmp(l, "@@ -", 4) != 0)
		return false;
	if (!range(&p, end, &h->old_start, &h->old_lines))
		return false;
	if (end - p < 2 || memcmp(p, " +", 2) != 0)
		return false;
	p += 2;
	if (!range(&p, end, &h->new_start, &h->new_lines))
		return false;
	return end - p >= 3 && memcmp(p, " @@", 3) == 0;
}

/* The line at *p (advanced past its newline): its length. */
static size_t next_line(const char **p, const char *end, const char **line)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

	*line = *p;
	*p += n + (nl != NULL);
	return n;
}

/* The body of hunk h from *p: exactly the lines its counts say, and the markers after them. */
static int body(const char **p, const char *end, const struct hunk *h)
{
	size_t o = h->old_lines, n = h->new_lines;
	const char *l;

	while ((o || n) && *p < end) {
		size_t len = next_line(p, end, &l);

		if (len == 0)
			return -EINVAL;
		if (*l == ' ' && o && n) {
			o--;
			n--;
		} else if (*l == '-' && o) {
			o--;
		} else if (*l == '+' && n) {
			n--;
		} else if (*l != '\\') {
			return -EINVAL;
		}
	}
	if (o || n)
		return -EINVAL;
	/* "\ No newline at end of file" after the last line of a side. */
	while (*p < end && **p == '\\')
		next_line(p, end, &l);
	return 0;
}

int hunks_parse(const char *patch, size_t len, struct hunk **v, size_t *n, size_t *at)
{
	const char *p = patch, *end = patch + len, *l;
	struct hunk *out = NULL;
	size_t cap = 0, count = 0;
	int rc = 0;

	*v = NULL;
	*n = 0;
	*at = len;
	/* The file's header: up to the first hunk (no header line starts with "@@"). */
	while (p < end && !(end - p >= 4 && memcmp(p, "@@ -", 4) == 0))
		next_line(&p, end, &l);
	*at = (size_t)(p - patch);
	while (p < end && rc == 0) {
		size_t ln = next_line(&p, end, &l);
		struct hunk h;

		if (!header(l, ln, &h) || count == HUNKS_MAX) {
			rc = -EINVAL;
			break;
		}
		rc = body(&p, end, &h);
		GROW(out, cap, count + 1);
		out[count++] = h;
	}
	if (rc < 0) {
		free(out);
		return rc;
	}
	*v = out;
	*n = count;
	return 0;
}

/* Where each line of t starts, and t's end last: *n lines. Caller frees. */
static size_t *line_starts(const char *t, size_t len, size_t *n)
{
	size_t cap = 64, k = 0, i;
	size_t *s = xcalloc(cap, sizeof(*s));

	s[k++] = 0;
	for (i = 0; i < len; i++)
		if (t[i] == '\n' && i + 1 < len) {
			GROW(s, cap, k + 2);
			s[k++] = i + 1;
		}
	*n = len ? k : 0;
	GROW(s, cap, k + 2);
	s[*n] = len;
	return s;
}

/* Lines [a, b) of the text whose line starts are ls, as a byte range. */
static void span(const size_t *ls, size_t a, size_t b, size_t *off, size_t *len)
{
	*off = ls[a];
	*len = ls[b] - ls[a];
}

/* Whether lines [oa, ob) of old are byte for byte lines [na, nb) of new. */
static bool same(const char *old, const size_t *ol, size_t oa, size_t ob, const char *new,
		 const size_t *nl, size_t na, size_t nb)
{
	size_t o_off, o_len, n_off, n_len;

	if (ob - oa != nb - na)
		return false;
	span(ol, oa, ob, &o_off, &o_len);
	span(nl, na, nb, &n_off, &n_len);
	return o_len == n_len && memcmp(old + o_off, new + n_off, o_len) == 0;
}

int hunks_apply(const char *old, size_t olen, const char *new, size_t nlen, const struct hunk *v,
		size_t n, const char *states, struct buf *out)
{
	size_t on, nn, i, po = 0, pn = 0, off, len;
	cleanup_free size_t *ol = line_starts(old, olen, &on);
	cleanup_free size_t *nl = line_starts(new, nlen, &nn);

	if (!hunks_valid(states, n))
		return -EINVAL;
	/* Check everything first: nothing is written from hunks that do not fit. */
	for (i = 0; i <= n; i++) {
		size_t os = i < n ? v[i].old_start : on, ns = i < n ? v[i].new_start : nn;

		/* Bounds first: same() looks up the line starts of what lies before the hunk. */
		if (os > on || ns > nn || os < po || ns < pn ||
		    !same(old, ol, po, os, new, nl, pn, ns))
			return -EINVAL;
		if (i == n)
			break;
		if (v[i].old_lines > on - os || v[i].new_lines > nn - ns)
			return -EINVAL;
		po = os + v[i].old_lines;
		pn = ns + v[i].new_lines;
	}
	po = 0;
	for (i = 0; i <= n; i++) {
		size_t os = i < n ? v[i].old_start : on;

		span(ol, po, os, &off, &len);
		buf_add(out, old + off, len);
		if (i == n)
			break;
		if (states[i] == 'a')
			span(nl, v[i].new_start, v[i].new_start + v[i].new_lines, &off, &len);
		else
			span(ol, os, os + v[i].old_lines, &off, &len);
		buf_add(out, states[i] == 'a' ? new + off : old + off, len);
		po = os + v[i].old_lines;
	}
	return 0;
}

bool hunks_valid(const char *states, size_t n)
{
	size_t i;

	if (!states || strlen(states) != n || n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (states[i] != 'a' && states[i] != 'd' && states[i] != 'u')
			return false;
	return true;
}

/* The patch of f's sides by libgit2, with the options `airlock diff` uses. 0 or -errno. */
static int make_patch(struct hunk_file *f)
{
	const struct git_api *git = git_api();
	git_diff_options opts;
	git_patch *patch = NULL;
	git_buf gb = GIT_BUF_INIT;
	int rc;

	if (!git)
		return -ENOSYS;
	/* Text only: libgit2 looks for a NUL in the first 8000 bytes, the review anywhere. */
	if (memchr(f->old, 0, f->olen) || memchr(f->new, 0, f->nlen))
		return -EMEDIUMTYPE;
	git->libgit2_init();
	git->diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.flags = GIT_DIFF_SHOW_BINARY;
	rc = git->patch_from_buffers(&patch, f->old, f->olen, "f", f->new, f->nlen, "f", &opts);
	if (rc == 0)
		rc = git->patch_to_buf(&gb, patch);
	git->patch_free(patch);
	if (rc == 0) {
		f->patch = xstrndup(gb.ptr ? gb.ptr : "", gb.size);
		f->plen = gb.size;
	}
	git->buf_dispose(&gb);
	git->libgit2_shutdown();
	if (rc < 0)
		return -EIO;
	if (memmem(f->patch, f->plen, "\nGIT binary patch", 17) ||
	    memmem(f->patch, f->plen, "\nBinary files ", 14))
		return -EMEDIUMTYPE;
	rc = hunks_parse(f->patch, f->plen, &f->v, &f->n, &f->hunks_at);
	if (rc == 0 && f->n == 0)
		rc = -EMEDIUMTYPE;
	return rc;
}

int hunk_file_from(struct hunk_file *f, const char *old, size_t olen, const char *new, size_t nlen)
{
	memset(f, 0, sizeof(*f));
	if (olen > HUNKS_MAX_SIZE || nlen > HUNKS_MAX_SIZE)
		return -EMEDIUMTYPE;
	f->old = xmalloc(olen + 1);
	f->new = xmalloc(nlen + 1);
	memcpy(f->old, old, olen);
	memcpy(f->new, new, nlen);
	f->olen = olen;
	f->nlen = nlen;
	sha256_hex(f->old, olen, f->old_sha);
	sha256_hex(f->new, nlen, f->new_sha);
	return make_patch(f);
}

/* The regular file open at fd, at most HUNKS_MAX_SIZE bytes as fstat says. */
static int read_side(int fd, char **data, size_t *len)
{
	cleanup_fd int own = fd;
	cleanup_free char *d = NULL;
	struct stat st;
	size_t got = 0, size;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > HUNKS_MAX_SIZE)
		return -EMEDIUMTYPE;
	size = (size_t)st.st_size;
	d = xmalloc(size + 1);
	while (got < size) {
		ssize_t r = read(fd, d + got, size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*data = steal_pointer(&d);
	*len = got;
	return 0;
}

int hunk_file_load(struct hunk_file *f, int sfd, const char *sdir, const struct change *c)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	cleanup_free char *old = NULL, *new = NULL;
	size_t olen = 0, nlen = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	if (c->kind != CHANGE_MODIFIED || !S_ISREG(c->mode) || !S_ISREG(c->old_mode))
		return -EMEDIUMTYPE;
	if (!path_is_under(c->upper, sdir) || strcmp(c->upper, sdir) == 0)
		return -EXDEV;
	rc = read_side(
		openat2_fd(AT_FDCWD, c->path, flags, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS),
		&old, &olen);
	if (rc == 0)
		rc = read_side(
			openat2_fd(sfd, path_rel(c->upper, sdir), flags,
				   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS),
			&new, &nlen);
	if (rc < 0)
		return rc;
	return hunk_file_from(f, old, olen, new, nlen);
}

void hunk_file_free(struct hunk_file *f)
{
	free(f->old);
	free(f->new);
	free(f->patch);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

bool hunks_shown(const struct hunk_file *f, const char *shown, size_t len)
{
	const char *p = shown, *end = shown + len;
	size_t mine = f->plen - f->hunks_at;

	/* The shown patch's header names the real path and mode; its hunks must be ours. */
	while (p < end && !(end - p >= 4 && memcmp(p, "@@ -", 4) == 0)) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		p = nl ? nl + 1 : end;
	}
	return (size_t)(end - p) == mine && memcmp(p, f->patch + f->hunks_at, mine) == 0;
}
