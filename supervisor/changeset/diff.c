/* SPDX-License-Identifier: MIT */
/* `airlock diff`: a session's change set as a git patch, file by file with libgit2; see diff.h. */
#include "supervisor/changeset/diff.h"

#include "common/buf.h"
#include "common/json.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/openat2.h"
#include "common/path.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "supervisor/cli/cli.h"
#include "supervisor/changeset/git.h"
#include "supervisor/changeset/gate.h"
#include "supervisor/changeset/renames.h"
#include "supervisor/record/session.h"
#include "supervisor/record/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_DEPTH 1024
/* libgit2, loaded when a diff is made (supervisor/changeset/git.h). */
static const struct git_api *git;

#define GIT_MODE_FILE 0100644
#define GIT_MODE_EXEC 0100755
#define GIT_MODE_LINK 0120000

/* One side of a file in the patch: the host's old entry or the upper's new one. */
struct side {
	char *path; /* absolute host path */
	const char
		*upper; /* new side: the upper entry (borrowed from the change); NULL: old side */
	const char *target; /* new side of a symlink: its target (borrowed) */
	mode_t mode;	    /* st_mode */
	off_t size;	    /* its length as the scan or the walk saw it (to find renames) */
	size_t change;	    /* the change of cs it comes from */
	bool same_content;  /* new side of a mode change: the content is the host's */
};

/* One line of --stat or --name-status. */
struct stat_entry {
	const char *path;	      /* the host path (borrowed from the side) */
	char *name;		      /* as git writes it: quoted when it has to be */
	unsigned long added, deleted; /* lines; for a binary file, the new and old sizes */
	bool binary;
	char status;	/* A, M, D, T, R */
	int score;	/* R: the similarity */
	char *old_name; /* R: the old path as git writes it (name is the new one) */
};

struct diff {
	FILE *out;
	const struct diff_format *fmt;
	bool escape;
	int base_fd;	  /* upper_base, O_PATH */
	const char *base; /* upper_base, normalised */
	struct side *v;
	size_t n, cap;
	struct buf text;       /* the patch of the file being written */
	int rc;		       /* the first failure, reported already */
	struct stat_entry *st; /* DIFF_STAT and DIFF_NAME_STATUS: what they print at the end */
	size_t nst, capst;
	size_t cur;   /* the change collect() is at */
	size_t *pair; /* for each side, the other side of its rename, or (size_t)-1 */
	int *score;   /* for each side of a rename, the similarity */
};

static void failed(struct diff *d, int rc)
{
	if (d->rc == 0)
		d->rc = rc;
}

/* git knows three modes for what it can store; every other permission bit is lost. */
static unsigned git_mode(mode_t m)
{
	if (S_ISLNK(m))
		return GIT_MODE_LINK;
	return m & S_IXUSR ? GIT_MODE_EXEC : GIT_MODE_FILE;
}

static bool expressible(mode_t m)
{
	return S_ISREG(m) || S_ISLNK(m);
}

static const char *type_name(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a fifo";
	if (S_ISSOCK(m))
		return "a socket";
	return "a device";
}

static void push(struct diff *d, const char *path, const struct change *c, mode_t mode, off_t size)
{
	GROW(d->v, d->cap, d->n + 1);
	d->v[d->n++] = (struct side){
		.path = xstrdup(path),
		.upper = c ? c->upper : NULL,
		.target = c ? c->link_target : NULL,
		.mode = mode,
		.size = size,
		.change = d->cur,
		.same_content = c && c->kind == CHANGE_MODE_CHANGED,
	};
}

struct walk {
	unsigned empty, odd; /* empty directories; fifos, sockets, devices */
	bool root_stays;     /* the top directory is the sandbox's too: its emptiness is no loss */
};

/* Add every file and symlink below the host directory open at dfd, whose path is in *path. */
static int walk_host(struct diff *d, int dfd, struct buf *path, int depth, struct walk *w)
{
	cleanup_strvec struct strvec names = STRVEC_INIT;
	size_t i, base = path->len;
	int rc;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	rc = dir_list(dfd, &names);
	if (rc == 0 && names.n == 0 && (depth > 0 || !w->root_stays))
		w->empty++;
	for (i = 0; rc == 0 && i < names.n; i++) {
		struct stat st;

		buf_addc(path, '/');
		buf_adds(path, names.v[i]);
		if (fstatat(dfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			cleanup_fd int cfd = openat(
				dfd, names.v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			rc = cfd < 0 ? -errno : walk_host(d, cfd, path, depth + 1, w);
		} else if (expressible(st.st_mode)) {
			push(d, path->data, NULL, st.st_mode, st.st_size);
		} else {
			w->odd++;
		}
		if (rc == 0) {
			path->len = base;
			path->data[base] = '\0';
		}
	}
	return rc;
}

/*
 * The host's entry at path (st_mode mode) as old sides: itself, or for a directory every file
 * below it (and never the directory: git has no directories).
 */
static void add_host(struct diff *d, const char *path, mode_t mode, off_t size, bool root_stays,
		     bool warn_lost)
{
	struct walk w = {.root_stays = root_stays};
	struct buf p = BUF_INIT;
	int dfd, rc;

	if (!S_ISDIR(mode)) {
		if (expressible(mode)) {
			push(d, path, NULL, mode, size);
		} else if (warn_lost) {
			cleanup_free char *shown = term_sanitize(path);

			warn("%s: the deletion of %s cannot be expressed in a patch", shown,
			     type_name(mode));
		}
		return;
	}
	buf_init(&p);
	buf_adds(&p, strcmp(path, "/") == 0 ? "" : path);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	rc = dfd < 0 ? -errno : walk_host(d, dfd, &p, 0, &w);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0) {
		cleanup_free char *shown = term_sanitize(p.len ? p.data : "/");

		failed(d, error_rc(rc, "cannot read the host's %s", shown));
	} else if (warn_lost && (w.empty || w.odd)) {
		cleanup_free char *shown = term_sanitize(path);

		warn("%s: the deletion of %u empty directories and %u fifos, sockets or devices below "
		     "it cannot be expressed in a patch",
		     shown, w.empty, w.odd);
	}
	buf_release(&p);
}

/* True when cs has a change strictly below path (cs is sorted by path, so they are adjacent
   from the first path >= "path/"). */
static bool has_below(const struct change_set *cs, const char *path)
{
	cleanup_free char *key = xasprintf("%s/", strcmp(path, "/") == 0 ? "" : path);
	size_t lo = SORTED_FIND(cs->items, cs->n, path, key), len = strlen(key);

	return lo < cs->n && strncmp(cs->items[lo].path, key, len) == 0;
}

/* A directory the sandbox has and the patch cannot create unless files are below it. */
static void check_dir(const struct change_set *cs, const struct change *c, bool warn_lost)
{
	if (warn_lost && !has_below(cs, c->path)) {
		cleanup_free char *shown = term_sanitize(c->path);

		warn("%s: an empty directory cannot be expressed in a patch", shown);
	}
}

/* The sides of change c. warn_lost: warn about what the patch cannot express. */
static void collect(struct diff *d, const struct change_set *cs, const struct change *c,
		    bool warn_lost)
{
	cleanup_free char *shown = warn_lost ? term_sanitize(c->path) : NULL;
	size_t before;

	switch (c->kind) {
	case CHANGE_ADDED:
	case CHANGE_SYMLINK_ADDED:
		if (expressible(c->mode))
			push(d, c->path, c, c->mode, c->size);
		else if (warn_lost)
			warn("%s: %s cannot be expressed in a patch", shown, type_name(c->mode));
		break;
	case CHANGE_MODIFIED:
	case CHANGE_SYMLINK_CHANGED:
	case CHANGE_MODE_CHANGED:
		if (!expressible(c->mode)) {
			if (warn_lost && S_ISDIR(c->mode))
				warn("%s: the mode of a directory (%04o -> %04o) cannot be expressed in "
				     "a patch",
				     shown, c->old_mode & 07777, c->mode & 07777);
			else if (warn_lost)
				warn("%s: %s cannot be expressed in a patch", shown,
				     type_name(c->mode));
			break;
		}
		if ((c->mode ^ c->old_mode) & 07777 && git_mode(c->mode) == git_mode(c->old_mode)) {
			if (warn_lost)
				warn("%s: the mode change %04o -> %04o cannot be expressed in a patch "
				     "(only the owner's executable bit can)",
				     shown, c->old_mode & 07777, c->mode & 07777);
			if (c->kind == CHANGE_MODE_CHANGED)
				break;
		}
		push(d, c->path, NULL, c->old_mode, c->old_size);
		push(d, c->path, c, c->mode, c->size);
		break;
	case CHANGE_DELETED:
		add_host(d, c->path, c->old_mode, c->old_size, false, warn_lost);
		break;
	case CHANGE_DIR_ADDED:
		check_dir(cs, c, warn_lost);
		break;
	case CHANGE_DIR_REPLACED:
		/* Everything the host had below it goes; what the sandbox has there is listed in
		   cs one by one, as added. git apply removes a directory it deletes the last file
		   of: only then can the sandbox's empty one not be had. */
		before = d->n;
		add_host(d, c->path, c->old_mode, c->old_size, true, warn_lost);
		if (d->n > before)
			check_dir(cs, c, warn_lost);
		break;
	case CHANGE_TYPE_CHANGED:
		add_host(d, c->path, c->old_mode, c->old_size, false, warn_lost);
		if (S_ISDIR(c->mode))
			check_dir(cs, c, warn_lost);
		else if (expressible(c->mode))
			push(d, c->path, c, c->mode, c->size);
		else if (warn_lost)
			warn("%s: %s cannot be expressed in a patch", shown, type_name(c->mode));
		break;
	}
}

/* By path; at one path the old side first: git apply must see a deletion before an addition. */
static int cmp_side(const void *a, const void *b)
{
	const struct side *x = a, *y = b;
	int r = strcmp(x->path, y->path);

	if (r)
		return r;
	return (x->upper != NULL) - (y->upper != NULL);
}

/* Read the regular file open at fd: at most the size fstat gives, so the content cannot make
   us read more than the file was. NULL with errno. */
static char *read_regular(int fd, size_t *len)
{
	cleanup_free char *data = NULL;
	struct stat st;
	size_t size, got = 0;

	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return NULL;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size >= SIZE_MAX) {
		errno = EFBIG;
		return NULL;
	}
	size = (size_t)st.st_size;
	/* Not xmalloc: a sparse file of a terabyte is a refusal, not an abort. */
	data = malloc(size + 1);
	if (!data)
		return NULL;
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		if (n == 0)
			break; /* it shrank meanwhile: what is there is what we show */
		got += (size_t)n;
	}
	data[got] = '\0';
	*len = got;
	return steal_pointer(&data);
}

/* The content of side s as git sees it: a file's bytes, a symlink's target. Caller frees. */
static char *load(struct diff *d, const struct side *s, size_t *len)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	cleanup_fd int fd = -1;
	char *data;

	if (S_ISLNK(s->mode)) {
		ssize_t n;

		if (s->upper) {
			*len = strlen(s->target ? s->target : "");
			return xstrdup(s->target ? s->target : "");
		}
		data = xmalloc(PATH_MAX);
		n = readlink(s->path, data, PATH_MAX);
		if (n < 0 || n >= PATH_MAX) {
			if (n >= PATH_MAX)
				errno = ENAMETOOLONG;
			free(data);
			return NULL;
		}
		data[n] = '\0';
		*len = (size_t)n;
		return data;
	}
	if (s->upper) {
		/* The upper is the program's: no symlink anywhere on the way, nothing outside. */
		if (!path_is_under(s->upper, d->base)) {
			errno = EXDEV;
			return NULL;
		}
		fd = openat2_fd(d->base_fd, path_rel(s->upper, d->base), flags,
				RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		if (fd < 0) {
			errno = -fd;
			return NULL;
		}
	} else {
		fd = open(s->path, flags);
	}
	if (fd < 0)
		return NULL;
	return read_regular(fd, len);
}

/* Append "a/PATH" as git writes a path: in quotes with C escapes when it has to be. */
static void add_git_path(struct buf *b, const char *prefix, const char *path)
{
	static const char named[] = "\a\b\t\n\v\f\r";
	static const char letter[] = "abtnvfr";
	const unsigned char *p;
	bool quote = false;

	for (p = (const unsigned char *)path; *p && !quote; p++)
		quote = *p < ' ' || *p >= 0x7f || *p == '"' || *p == '\\';
	if (!quote) {
		buf_adds(b, prefix);
		buf_adds(b, path);
		return;
	}
	buf_addc(b, '"');
	buf_adds(b, prefix);
	for (p = (const unsigned char *)path; *p; p++) {
		const char *e = *p ? strchr(named, *p) : NULL;

		if (e)
			buf_addf(b, "\\%c", letter[e - named]);
		else if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else if (*p < ' ' || *p >= 0x7f)
			buf_addf(b, "\\%03o", *p);
		else
			buf_addc(b, (char)*p);
	}
	buf_addc(b, '"');
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

/*
 * Append libgit2's patch of one file to b with the real modes: from buffers it writes 100644
 * for every file. The line after "diff --git" is the one that carries a mode.
 */
static void add_patch(struct buf *b, const char *t, size_t len, unsigned omode, unsigned nmode)
{
	const char *end = t + len;
	const char *l2 = memchr(t, '\n', len);
	const char *e2 = l2 ? memchr(l2 + 1, '\n', (size_t)(end - l2 - 1)) : NULL;
	size_t n2;

	if (!e2) {
		buf_add(b, t, len);
		return;
	}
	l2++;
	n2 = (size_t)(e2 - l2);
	buf_add(b, t, (size_t)(l2 - t));
	if (starts_with(l2, n2, "new file mode ")) {
		buf_addf(b, "new file mode %06o\n", nmode);
	} else if (starts_with(l2, n2, "deleted file mode ")) {
		buf_addf(b, "deleted file mode %06o\n", omode);
	} else if (starts_with(l2, n2, "index ")) {
		const char *sp = memchr(l2 + 6, ' ', n2 - 6);
		size_t ids = sp ? (size_t)(sp - l2) : n2;

		if (omode != nmode)
			buf_addf(b, "old mode %06o\nnew mode %06o\n", omode, nmode);
		buf_add(b, l2, ids);
		if (omode == nmode)
			buf_addf(b, " %06o", nmode);
		buf_addc(b, '\n');
	} else {
		buf_add(b, l2, n2 + 1);
	}
	buf_add(b, e2 + 1, (size_t)(end - e2 - 1));
}

/* Write text for a terminal: every line and tab-separated field through term_sanitize(). */
static void put_escaped(FILE *out, const char *t, size_t len)
{
	const char *end = t + len;

	while (t < end) {
		size_t n = 0;

		while (t + n < end && t[n] != '\n' && t[n] != '\t')
			n++;
		cleanup_free char *part = xstrndup(t, n);
		cleanup_free char *clean = term_sanitize(part);

		fputs(clean, out);
		t += n;
		if (t < end)
			fputc(*t++, out);
	}
}

/* git's colours: a header bold, a hunk's range cyan, removed red, added green. */
#define C_META	"\033[1m"
#define C_FRAG	"\033[36m"
#define C_OLD	"\033[31m"
#define C_NEW	"\033[32m"
#define C_RESET "\033[m"

static void put_part(struct diff *d, const char *t, size_t len)
{
	if (d->escape)
		put_escaped(d->out, t, len);
	else
		fwrite(t, 1, len, d->out);
}

/* Write d->text, line by line in git's colours when asked for. */
static void put(struct diff *d)
{
	const char *t = d->text.data, *end = t + d->text.len;
	bool header = false;

	if (!d->fmt->colour) {
		put_part(d, t, d->text.len);
		return;
	}
	while (t < end) {
		const char *nl = memchr(t, '\n', (size_t)(end - t));
		size_t len = nl ? (size_t)(nl - t) : (size_t)(end - t);
		const char *c = NULL;

		if (starts_with(t, len, "diff --git "))
			header = true;
		if (starts_with(t, len, "@@")) {
			const char *close = len > 2 ? memmem(t + 2, len - 2, "@@", 2) : NULL;
			size_t range = close ? (size_t)(close + 2 - t) : len;

			header = false;
			fputs(C_FRAG, d->out);
			put_part(d, t, range);
			fputs(C_RESET, d->out);
			put_part(d, t + range, len - range);
			len = len + (nl != NULL);
			t += len;
			if (nl)
				fputc('\n', d->out);
			continue;
		}
		if (starts_with(t, len, "GIT binary patch") || starts_with(t, len, "Binary files"))
			header = false;
		else if (header)
			c = C_META;
		else if (len > 0 && *t == '+')
			c = C_NEW;
		else if (len > 0 && *t == '-')
			c = C_OLD;
		if (c && len > 0) {
			fputs(c, d->out);
			put_part(d, t, len);
			fputs(C_RESET, d->out);
		} else {
			put_part(d, t, len);
		}
		if (nl)
			fputc('\n', d->out);
		t += len + (nl != NULL);
	}
}

/* The name of a path in the output: below the --relative directory, else below "/". */
static const char *out_name(const struct diff *d, const char *path)
{
	return d->fmt->relative ? path_rel(path, d->fmt->relative) : path + 1;
}

/* The name of a path in --stat and --name-status: as git writes it, and for a terminal
   escaped (git quotes control characters, not the rest of an escape sequence). */
static char *stat_name(const struct diff *d, const char *path)
{
	struct buf name = BUF_INIT;
	char *out;

	buf_init(&name);
	add_git_path(&name, "", out_name(d, path));
	out = d->escape ? term_sanitize(name.data) : xstrdup(name.data);
	buf_release(&name);
	return out;
}

/* The --stat line of one file: a new one, or the one before when the file changed type (a
   deletion and an addition in the patch, one line in the stat). score >= 0: a rename. */
static struct stat_entry *stat_entry_for(struct diff *d, const struct side *o, const struct side *n,
					 int score)
{
	const struct side *s = score >= 0 ? n : o ? o : n;
	struct stat_entry *e;

	if (score < 0 && d->nst > 0 && d->st[d->nst - 1].status != 'R' &&
	    strcmp(d->st[d->nst - 1].path, s->path) == 0) {
		e = &d->st[d->nst - 1];
		e->status = 'T';
		return e;
	}
	GROW(d->st, d->capst, d->nst + 1);
	e = &d->st[d->nst++];
	*e = (struct stat_entry){
		.path = s->path,
		.status = score >= 0 ? 'R'
			  : o && n   ? 'M'
			  : o	     ? 'D'
				     : 'A',
		.score = score,
	};
	e->name = stat_name(d, s->path);
	if (score >= 0)
		e->old_name = stat_name(d, o->path);
	return e;
}

/* Count one file's patch (in d->text) for --stat and --name-status. */
static void record(struct diff *d, const struct side *o, const struct side *n, size_t olen,
		   size_t nlen, int score)
{
	const char *t = d->text.data, *end = t + d->text.len;
	struct stat_entry *e = stat_entry_for(d, o, n, score);
	bool hunks = false;

	while (t < end) {
		const char *nl = memchr(t, '\n', (size_t)(end - t));
		size_t len = nl ? (size_t)(nl - t) : (size_t)(end - t);

		if (!hunks && starts_with(t, len, "GIT binary patch")) {
			e->binary = true;
			e->added += nlen;
			e->deleted += olen;
			break;
		}
		if (starts_with(t, len, "@@"))
			hunks = true;
		else if (hunks && len > 0 && *t == '+')
			e->added++;
		else if (hunks && len > 0 && *t == '-')
			e->deleted++;
		t += len + (nl != NULL);
	}
}

/* d->text is one file's patch: write it, or count it for --stat and --name-status. */
static void done_file(struct diff *d, const struct side *o, const struct side *n, size_t olen,
		      size_t nlen, int score)
{
	if (d->fmt->output == DIFF_PATCH)
		put(d);
	else
		record(d, o, n, olen, nlen, score);
}

/* The contents of o and n (either may be NULL): false after reporting what failed. */
static bool load_both(struct diff *d, const struct side *o, const struct side *n, char **obuf,
		      size_t *olen, char **nbuf, size_t *nlen)
{
	if (o && !(*obuf = load(d, o, olen))) {
		cleanup_free char *shown = term_sanitize(o->path);

		failed(d, error_errno("cannot read the host's %s", shown));
		return false;
	}
	if (n && !(*nbuf = load(d, n, nlen))) {
		cleanup_free char *shown = term_sanitize(n->upper);

		failed(d, error_errno("cannot read %s", shown));
		return false;
	}
	return true;
}

/*
 * libgit2's patch from obuf to nbuf (either NULL: absent), under the names opath and npath,
 * into *gb. 0, or -EIO after reporting it (about path) when report is set.
 */
static int git_text(struct diff *d, const char *obuf, size_t olen, const char *opath,
		    const char *nbuf, size_t nlen, const char *npath, git_buf *gb, const char *path,
		    bool report)
{
	git_diff_options opts;
	git_patch *patch = NULL;
	int rc;

	git->diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.flags = GIT_DIFF_SHOW_BINARY;
	/* libgit2, like git, looks for a NUL in the first 8000 bytes only; one further on would
	   go into a text patch raw. Binary patches carry any byte safely. */
	if ((obuf && memchr(obuf, 0, olen)) || (nbuf && memchr(nbuf, 0, nlen)))
		opts.flags |= GIT_DIFF_FORCE_BINARY;
	rc = git->patch_from_buffers(&patch, obuf, olen, opath, nbuf, nlen, npath, &opts);
	if (rc == 0)
		rc = git->patch_to_buf(gb, patch);
	git->patch_free(patch);
	if (rc < 0 && report) {
		const git_error *e = git->error_last();
		cleanup_free char *shown = term_sanitize(path);

		failed(d, error("cannot diff %s: %s", shown,
				e && e->message ? e->message : "libgit2"));
	}
	return rc < 0 ? -EIO : 0;
}

/* The header of a mode change alone: the content is the host's. */
static void emit_mode(struct diff *d, const struct side *o, const struct side *n)
{
	const char *gpath = out_name(d, o->path);

	buf_adds(&d->text, "diff --git ");
	add_git_path(&d->text, "a/", gpath);
	buf_addc(&d->text, ' ');
	add_git_path(&d->text, "b/", gpath);
	buf_addf(&d->text, "\nold mode %06o\nnew mode %06o\n", git_mode(o->mode),
		 git_mode(n->mode));
	done_file(d, o, n, 0, 0, -1);
}

/* Write the patch of one file: old side o, new side n, either may be NULL. */
static void emit(struct diff *d, const struct side *o, const struct side *n)
{
	const struct side *s = o ? o : n;
	const char *gpath = out_name(d, s->path); /* "a/" + the path below "/" or --relative */
	cleanup_free char *obuf = NULL;
	cleanup_free char *nbuf = NULL;
	size_t olen = 0, nlen = 0;
	git_buf gb = GIT_BUF_INIT;

	buf_reset(&d->text);
	if (o && n && n->same_content) {
		emit_mode(d, o, n);
		return;
	}
	if (!load_both(d, o, n, &obuf, &olen, &nbuf, &nlen))
		return;
	if (git_text(d, obuf, olen, gpath, nbuf, nlen, gpath, &gb, s->path, true) == 0 &&
	    gb.size > 0) {
		add_patch(&d->text, gb.ptr, gb.size, o ? git_mode(o->mode) : 0,
			  n ? git_mode(n->mode) : 0);
		done_file(d, o, n, olen, nlen, -1);
	}
	git->buf_dispose(&gb);
}

/*
 * libgit2's patch of a rename's content change, without its first line (the header is ours):
 * its index line carries the mode when the mode stays, as git's does.
 */
static void add_rename_hunks(struct buf *b, const char *t, size_t len, unsigned omode,
			     unsigned nmode)
{
	const char *end = t + len, *l2 = memchr(t, '\n', len), *e2;

	if (!l2)
		return;
	l2++;
	e2 = memchr(l2, '\n', (size_t)(end - l2));
	if (e2 && starts_with(l2, (size_t)(e2 - l2), "index ")) {
		const char *sp = memchr(l2 + 6, ' ', (size_t)(e2 - l2 - 6));

		buf_add(b, l2, sp ? (size_t)(sp - l2) : (size_t)(e2 - l2));
		if (omode == nmode)
			buf_addf(b, " %06o", nmode);
		buf_addc(b, '\n');
		l2 = e2 + 1;
	}
	buf_add(b, l2, (size_t)(end - l2));
}

/* Write a rename: git's header, then the hunks from the old content to the new. */
static void emit_rename(struct diff *d, const struct side *o, const struct side *n, int score)
{
	const char *oname = out_name(d, o->path), *nname = out_name(d, n->path);
	unsigned omode = git_mode(o->mode), nmode = git_mode(n->mode);
	cleanup_free char *obuf = NULL;
	cleanup_free char *nbuf = NULL;
	size_t olen = 0, nlen = 0;
	git_buf gb = GIT_BUF_INIT;

	buf_reset(&d->text);
	if (!load_both(d, o, n, &obuf, &olen, &nbuf, &nlen))
		return;
	buf_adds(&d->text, "diff --git ");
	add_git_path(&d->text, "a/", oname);
	buf_addc(&d->text, ' ');
	add_git_path(&d->text, "b/", nname);
	buf_addc(&d->text, '\n');
	if (omode != nmode)
		buf_addf(&d->text, "old mode %06o\nnew mode %06o\n", omode, nmode);
	buf_addf(&d->text, "similarity index %d%%\nrename from ", score);
	add_git_path(&d->text, "", oname);
	buf_adds(&d->text, "\nrename to ");
	add_git_path(&d->text, "", nname);
	buf_addc(&d->text, '\n');
	if (olen != nlen || memcmp(obuf, nbuf, olen) != 0) {
		if (git_text(d, obuf, olen, oname, nbuf, nlen, nname, &gb, n->path, true) < 0)
			return;
		add_rename_hunks(&d->text, gb.ptr, gb.size, omode, nmode);
		git->buf_dispose(&gb);
	}
	done_file(d, o, n, olen, nlen, score);
}

/* --- renames --------------------------------------------------------------------------- */

/* git's -M default: a rename keeps at least half of the old content. */
#define RENAME_MIN_SCORE 50

/* A side alone at its path, a deletion or an addition: only those can be a rename's. */
static bool alone(const struct diff *d, size_t i)
{
	return (i == 0 || strcmp(d->v[i - 1].path, d->v[i].path) != 0) &&
	       (i + 1 == d->n || strcmp(d->v[i + 1].path, d->v[i].path) != 0);
}

static bool free_side(const struct diff *d, size_t i, bool upper)
{
	return (d->v[i].upper != NULL) == upper && d->pair[i] == (size_t)-1 && alone(d, i);
}

/* Bytes of the old content the lines of a text patch delete (after its first hunk). */
static size_t deleted_bytes(const char *t, size_t size)
{
	const char *end = t + size;
	size_t gone = 0;
	bool hunks = false;

	while (t < end) {
		const char *nl = memchr(t, '\n', (size_t)(end - t));
		size_t len = nl ? (size_t)(nl - t) : (size_t)(end - t);

		if (starts_with(t, len, "@@"))
			hunks = true;
		else if (hunks && len > 0 && *t == '-')
			gone += len - 1 + (nl != NULL);
		t += len + (nl != NULL);
	}
	return gone;
}

/*
 * How much of o's content n keeps, in percent, as git's similarity index: the old bytes that
 * survive over the larger of the two. A symlink or binary content counts only when identical.
 * -1 when either cannot be read (the patch says so later).
 */
static int similarity(struct diff *d, const struct side *o, const struct side *n)
{
	cleanup_free char *obuf = NULL;
	cleanup_free char *nbuf = NULL;
	size_t olen = 0, nlen = 0, gone, most;
	git_buf gb = GIT_BUF_INIT;
	int score;

	obuf = load(d, o, &olen);
	nbuf = obuf ? load(d, n, &nlen) : NULL;
	if (!obuf || !nbuf)
		return -1;
	if (olen == nlen && memcmp(obuf, nbuf, olen) == 0)
		return 100;
	if (S_ISLNK(o->mode) || olen == 0 || memchr(obuf, 0, olen) || memchr(nbuf, 0, nlen))
		return 0;
	if (git_text(d, obuf, olen, "a", nbuf, nlen, "b", &gb, n->path, false) < 0)
		return 0;
	gone = deleted_bytes(gb.ptr, gb.size);
	git->buf_dispose(&gb);
	most = olen > nlen ? olen : nlen;
	score = (int)((olen - (gone < olen ? gone : olen)) * 100 / most);
	return score >= 100 ? 99 : score;
}

static void link_pair(struct diff *d, size_t o, size_t n, int score)
{
	d->pair[o] = n;
	d->pair[n] = o;
	d->score[o] = d->score[n] = score;
}

/* The old side at path that is free to pair, or (size_t)-1 (d->v is sorted by path). */
static size_t find_old(const struct diff *d, const char *path)
{
	size_t lo = SORTED_FIND(d->v, d->n, path, path);

	return lo < d->n && strcmp(d->v[lo].path, path) == 0 && free_side(d, lo, false)
		       ? lo
		       : (size_t)-1;
}

/* The renames the record saw, when enough of the content came along. */
static void pair_recorded(struct diff *d)
{
	size_t i, j;

	for (i = 0; d->fmt->renames && i < d->n; i++) {
		cleanup_free char *origin = NULL, *replaced = NULL;
		int score;

		if (!free_side(d, i, true))
			continue;
		origin = rename_hints_origin(d->fmt->renames, d->v[i].path);
		j = origin ? find_old(d, origin) : (size_t)-1;
		/* Its origin no deleted host file: a new file saved over the one it replaced. */
		if (j == (size_t)-1 && origin &&
		    (replaced = rename_hints_replaced(d->fmt->renames, d->v[i].path)))
			j = find_old(d, replaced);
		if (j == (size_t)-1 || S_ISLNK(d->v[j].mode) != S_ISLNK(d->v[i].mode))
			continue;
		score = similarity(d, &d->v[j], &d->v[i]);
		if (score >= RENAME_MIN_SCORE)
			link_pair(d, j, i, score);
	}
}

/* A candidate for an identical rename: its kind and size, and its content's hash once read. */
struct cand {
	size_t side;
	bool link;
	off_t size;
	bool wanted; /* a candidate of the other side has its kind and size */
	bool hashed;
	char hash[65];
};

/* By kind and size, then (when both were read) by content. */
static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->link != y->link)
		return x->link ? 1 : -1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->hashed && y->hashed ? strcmp(x->hash, y->hash) : 0;
}

/* The same, and by path among equals: "the first by path" is then the first found. */
static int cmp_cand_sort(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = cmp_cand(a, b);

	return c ? c : (x->side > y->side) - (x->side < y->side);
}

/* The first of v[0..n) not before key, and the end of those equal to it (v sorted). */
static size_t equal_range(const struct cand *v, size_t n, const struct cand *key, size_t *end)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_cand(&v[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (*end = lo; *end < n && cmp_cand(&v[*end], key) == 0; (*end)++)
		;
	return lo;
}

static void cand_hash(struct diff *d, struct cand *c)
{
	cleanup_free char *data = NULL;
	size_t len = 0;

	data = load(d, &d->v[c->side], &len);
	c->hashed = data != NULL;
	if (data)
		sha256_hex(data, len, c->hash);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The free sides of one direction that are not empty (git pairs no empty files). */
static size_t cands(const struct diff *d, bool upper, struct cand *out)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		if (free_side(d, i, upper) && d->v[i].size > 0)
			out[n++] = (struct cand){
				.side = i, .link = S_ISLNK(d->v[i].mode), .size = d->v[i].size};
	return n;
}

/*
 * Read the candidates that can have a twin: those of a kind and size the other direction
 * has too. The olds left are the ones read, sorted by kind, size and content.
 */
static size_t hash_twins(struct diff *d, struct cand *olds, size_t nold, struct cand *news,
			 size_t nnew)
{
	size_t i, j, lo, end, keep = 0;

	qsort(olds, nold, sizeof(*olds), cmp_cand);
	for (i = 0; i < nnew; i++) {
		lo = equal_range(olds, nold, &news[i], &end);
		for (j = lo; j < end; j++)
			olds[j].wanted = true;
		if (lo < end)
			cand_hash(d, &news[i]);
	}
	for (i = 0; i < nold; i++) {
		if (olds[i].wanted)
			cand_hash(d, &olds[i]);
		if (olds[i].hashed)
			olds[keep++] = olds[i];
	}
	qsort(olds, keep, sizeof(*olds), cmp_cand_sort);
	return keep;
}

/* Deleted and added files with the same content; among several, the same name first, then
   the first by path. Only files whose kind and size match are read. */
static void pair_identical(struct diff *d)
{
	struct cand *olds = xcalloc(d->n + 1, sizeof(*olds));
	struct cand *news = xcalloc(d->n + 1, sizeof(*news));
	size_t nold = cands(d, false, olds), nnew = cands(d, true, news), i, j, lo, end;

	if (nold && nnew)
		nold = hash_twins(d, olds, nold, news, nnew);
	for (i = 0; nold && i < nnew; i++) {
		const char *name = base_name(d->v[news[i].side].path);
		size_t found = (size_t)-1;

		if (!news[i].hashed)
			continue;
		lo = equal_range(olds, nold, &news[i], &end);
		for (j = lo; j < end; j++) {
			size_t o = olds[j].side;

			if (d->pair[o] != (size_t)-1)
				continue;
			if (found == (size_t)-1 || (strcmp(base_name(d->v[o].path), name) == 0 &&
						    strcmp(base_name(d->v[found].path), name) != 0))
				found = o;
		}
		if (found != (size_t)-1)
			link_pair(d, found, news[i].side, 100);
	}
	free(olds);
	free(news);
}

/* Pair deletions with additions (d->v sorted; libgit2 loaded). */
static void find_renames(struct diff *d)
{
	size_t i;

	d->pair = xcalloc(d->n + 1, sizeof(*d->pair));
	d->score = xcalloc(d->n + 1, sizeof(*d->score));
	for (i = 0; i < d->n; i++)
		d->pair[i] = (size_t)-1;
	pair_recorded(d);
	pair_identical(d);
}

/* --- --stat and --name-status ---------------------------------------------------------- */

static int decimal_width(unsigned long v)
{
	int w = 1;

	while (v >= 10) {
		v /= 10;
		w++;
	}
	return w;
}

/* it of most changes in width columns, at least one column when it is not 0 (as git). */
static unsigned long scale(unsigned long it, long width, unsigned long most)
{
	return it ? 1 + it * (unsigned long)(width - 1) / most : 0;
}

static void add_graph(struct diff *d, char c, unsigned long n, const char *colour)
{
	if (n == 0)
		return;
	if (d->fmt->colour)
		buf_adds(&d->text, colour);
	while (n--)
		buf_addc(&d->text, c);
	if (d->fmt->colour)
		buf_adds(&d->text, C_RESET);
}

/*
 * A rename as git's --stat names it: the common leading directories and trailing part once,
 * the rest in braces, "dir/{old => new}/file"; "old => new" when nothing is common.
 */
static char *rename_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), pfx = 0, sfx = 0, i, am, bm;

	for (i = 0; a[i] && a[i] == b[i]; i++)
		if (a[i] == '/')
			pfx = i + 1;
	/* A common suffix starts at a '/', and stays clear of the prefix. */
	for (i = 1;
	     i <= la && i <= lb && la - i + 1 > pfx && lb - i + 1 > pfx && a[la - i] == b[lb - i];
	     i++)
		if (a[la - i] == '/')
			sfx = i;
	am = la - pfx - sfx;
	bm = lb - pfx - sfx;
	if (pfx + sfx == 0)
		return xasprintf("%s => %s", a, b);
	return xasprintf("%.*s{%.*s => %.*s}%s", (int)pfx, a, (int)am, a + pfx, (int)bm, b + pfx,
			 a + la - sfx);
}

/* How --stat lays its lines out (as git): the widths of the name, the count and the graph. */
struct stat_layout {
	long name_width, graph_width;
	int number_width;
	unsigned long most; /* the largest count of a text file */
};

static void stat_layout(const struct diff *d, struct stat_layout *l)
{
	long width = d->fmt->width > 0 ? d->fmt->width : 80;
	int bin_width = 0;
	size_t max_len = 0, i;

	*l = (struct stat_layout){0};
	for (i = 0; i < d->nst; i++) {
		const struct stat_entry *e = &d->st[i];

		if (strlen(e->name) > max_len)
			max_len = strlen(e->name);
		if (e->binary) {
			int w = 14 + decimal_width(e->added) + decimal_width(e->deleted);

			bin_width = w > bin_width ? w : bin_width;
			l->number_width = 3; /* counts line up with "Bin" */
		} else if (e->added + e->deleted > l->most) {
			l->most = e->added + e->deleted;
		}
	}
	if (decimal_width(l->most) > l->number_width)
		l->number_width = decimal_width(l->most);
	if (width < 16 + 6 + l->number_width)
		width = 16 + 6 + l->number_width;
	l->graph_width = l->most + 4 > (unsigned long)bin_width ? (long)l->most : bin_width - 4;
	l->name_width = (long)max_len;
	if (l->name_width + l->number_width + 6 + l->graph_width <= width)
		return;
	/* Too wide: the graph gets at most 3/8 of the line, the name what is left. */
	if (l->graph_width > width * 3 / 8 - l->number_width - 6) {
		l->graph_width = width * 3 / 8 - l->number_width - 6;
		if (l->graph_width < 6)
			l->graph_width = 6;
	}
	if (l->name_width > width - l->number_width - 6 - l->graph_width)
		l->name_width = width - l->number_width - 6 - l->graph_width;
	else
		l->graph_width = width - l->number_width - 6 - l->name_width;
}

/* The name in its column; one too long is cut at a '/' after "...". */
static void stat_add_name(struct diff *d, const char *name, long width)
{
	const char *prefix = "";
	long len = width, name_len = (long)strlen(name);

	if (width < name_len) {
		const char *slash;

		prefix = "...";
		len -= 3;
		name += name_len - len;
		slash = strchr(name, '/');
		if (slash)
			name = slash;
	}
	buf_addf(&d->text, " %s%-*s |", prefix, (int)len, name);
}

/* A text file's count and its graph of + and - scaled to the graph's width. */
static void stat_add_graph(struct diff *d, const struct stat_entry *e, const struct stat_layout *l)
{
	unsigned long add = e->added, del = e->deleted;

	if ((unsigned long)l->graph_width <= l->most) {
		unsigned long total = scale(add + del, l->graph_width, l->most);

		if (total < 2 && add && del)
			total = 2;
		if (add < del) {
			add = scale(add, l->graph_width, l->most);
			del = total - add;
		} else {
			del = scale(del, l->graph_width, l->most);
			add = total - del;
		}
	}
	buf_addf(&d->text, " %*lu%s", l->number_width, e->added + e->deleted,
		 e->added + e->deleted ? " " : "");
	add_graph(d, '+', add, C_NEW);
	add_graph(d, '-', del, C_OLD);
}

/* A binary file's line shows its sizes, "Bin OLD -> NEW bytes". */
static void stat_add_binary(struct diff *d, const struct stat_entry *e, int number_width)
{
	bool c = d->fmt->colour;

	buf_addf(&d->text, " %*s", number_width, "Bin");
	if (e->added || e->deleted)
		buf_addf(&d->text, " %s%lu%s -> %s%lu%s bytes", c ? C_OLD : "", e->deleted,
			 c ? C_RESET : "", c ? C_NEW : "", e->added, c ? C_RESET : "");
}

/* The stat as git lays it out: each file's line, then the totals. */
static void print_stat(struct diff *d)
{
	unsigned long adds = 0, dels = 0;
	struct stat_layout l;
	size_t i;

	if (d->nst == 0)
		return;
	for (i = 0; i < d->nst; i++) {
		struct stat_entry *e = &d->st[i];

		/* A rename's line names both paths, "dir/{old => new}". */
		if (e->status == 'R') {
			char *both = rename_name(e->old_name, e->name);

			free(e->name);
			e->name = both;
		}
	}
	stat_layout(d, &l);
	for (i = 0; i < d->nst; i++) {
		const struct stat_entry *e = &d->st[i];

		buf_reset(&d->text);
		stat_add_name(d, e->name, l.name_width);
		if (e->binary) {
			stat_add_binary(d, e, l.number_width);
		} else {
			adds += e->added;
			dels += e->deleted;
			stat_add_graph(d, e, &l);
		}
		buf_addc(&d->text, '\n');
		fwrite(d->text.data, 1, d->text.len, d->out);
	}
	fprintf(d->out, " %zu file%s changed", d->nst, d->nst == 1 ? "" : "s");
	if (adds || !dels)
		fprintf(d->out, ", %lu insertion%s(+)", adds, adds == 1 ? "" : "s");
	if (dels || !adds)
		fprintf(d->out, ", %lu deletion%s(-)", dels, dels == 1 ? "" : "s");
	fputc('\n', d->out);
}

static void print_name_status(struct diff *d)
{
	size_t i;

	for (i = 0; i < d->nst; i++) {
		const struct stat_entry *e = &d->st[i];

		buf_reset(&d->text);
		if (e->status == 'R')
			buf_addf(&d->text, "R%03d\t%s\t%s\n", e->score, e->old_name, e->name);
		else
			buf_addf(&d->text, "%c\t%s\n", e->status, e->name);
		fwrite(d->text.data, 1, d->text.len, d->out);
	}
}

/* --- the patch ------------------------------------------------------------------------- */

/* git apply refuses any path with a ".git" component (any case: core.protectNTFS). */
static bool in_dot_git(const char *path)
{
	const char *p = path;

	while ((p = strchr(p, '/'))) {
		p++;
		if (strncasecmp(p, ".git", 4) == 0 && (p[4] == '/' || p[4] == '\0'))
			return true;
	}
	return false;
}

static bool selected(const char *path, const char *const *paths, size_t npaths, bool *matched)
{
	bool any = npaths == 0;
	size_t i;

	for (i = 0; i < npaths; i++) {
		if (path_is_under(path, paths[i])) {
			any = true;
			if (matched)
				matched[i] = true;
		}
	}
	return any;
}

/* The sides of the changes at or below paths, and of the host files a path below a deleted or
   replaced directory names. */
static void collect_selected(struct diff *d, const struct change_set *cs, const char *const *paths,
			     size_t npaths, bool *matched)
{
	size_t i, j;

	for (i = 0; i < cs->n; i++) {
		const struct change *c = &cs->items[i];
		bool whole = selected(c->path, paths, npaths, matched);
		bool part = false;

		for (j = 0; !whole && j < npaths; j++)
			part = part || path_is_under(paths[j], c->path);
		d->cur = i;
		if (whole || part)
			collect(d, cs, c, whole && !d->fmt->quiet);
	}
}

/* Keep the sides at or below paths; with --relative, only those inside its directory (as
   git: what is outside is not in its patch). */
static void keep_selected(struct diff *d, const char *const *paths, size_t npaths, bool *matched)
{
	size_t i, keep;

	for (i = keep = 0; i < d->n; i++) {
		bool outside =
			d->fmt->relative && (!path_is_under(d->v[i].path, d->fmt->relative) ||
					     strcmp(d->v[i].path, d->fmt->relative) == 0);

		if (selected(d->v[i].path, paths, npaths, matched) && !outside)
			d->v[keep++] = d->v[i];
		else
			free(d->v[i].path);
	}
	d->n = keep;
}

/* Each file's patch, a rename's at its new path; how many are inside a .git directory. */
static size_t emit_all(struct diff *d)
{
	size_t i, dot_git = 0;

	for (i = 0; i < d->n; i++) {
		const struct side *s = &d->v[i], *next = i + 1 < d->n ? &d->v[i + 1] : NULL;

		dot_git += in_dot_git(s->path);
		if (d->pair[i] != (size_t)-1) {
			if (s->upper)
				emit_rename(d, &d->v[d->pair[i]], s, d->score[i]);
			continue;
		}
		/* An old and a new side of one type make one patch; of two types (a file that
		   became a symlink), a deletion and an addition, as git has it. */
		if (!s->upper && next && next->upper && strcmp(s->path, next->path) == 0 &&
		    S_ISLNK(s->mode) == S_ISLNK(next->mode)) {
			emit(d, s, next);
			i++;
		} else {
			emit(d, s->upper ? NULL : s, s->upper ? s : NULL);
		}
	}
	return dot_git;
}

/* Sort the sides, load libgit2, find the renames. 0 or -EIO after printing why. */
static int diff_prepare(struct diff *d)
{
	qsort(d->v, d->n, sizeof(*d->v), cmp_side);
	git = git_api();
	if (!git)
		return -EIO;
	if (git->libgit2_init() < 0)
		return error_code(-EIO, "cannot initialise libgit2");
	find_renames(d);
	return 0;
}

/* Write the selected sides as the format says. */
static int write_sides(struct diff *d)
{
	size_t dot_git;
	int rc = diff_prepare(d);

	if (rc < 0)
		return rc;
	dot_git = emit_all(d);
	git->libgit2_shutdown();
	if (d->fmt->output == DIFF_STAT)
		print_stat(d);
	else if (d->fmt->output == DIFF_NAME_STATUS)
		print_name_status(d);
	else if (dot_git && !d->fmt->quiet)
		warn("%zu files of the patch are inside a .git directory, which git apply "
		     "refuses; leave them out with git apply --exclude='*/.git/*'",
		     dot_git);
	return d->rc;
}

static int diff_open(struct diff *d, const char *upper_base)
{
	d->base = path_normalize(upper_base);
	d->base_fd = open(d->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->base_fd < 0)
		return error_errno("cannot open %s", d->base);
	buf_init(&d->text);
	d->escape = d->fmt->escape;
	return 0;
}

static void diff_free(struct diff *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].path);
	free(d->v);
	free(d->pair);
	free(d->score);
	for (i = 0; i < d->nst; i++) {
		free(d->st[i].name);
		free(d->st[i].old_name);
	}
	free(d->st);
	buf_release(&d->text);
	if (d->base_fd >= 0)
		close(d->base_fd);
	free((char *)d->base);
}

int diff_write(FILE *out, const struct change_set *cs, const char *upper_base,
	       const char *const *paths, size_t npaths, bool *matched,
	       const struct diff_format *fmt)
{
	static const struct diff_format plain = {.output = DIFF_PATCH};
	struct diff d = {.out = out, .fmt = fmt ? fmt : &plain, .base_fd = -1};
	size_t j;
	int rc;

	if (npaths > 0)
		memset(matched, 0, npaths * sizeof(*matched));
	rc = diff_open(&d, upper_base);
	if (rc == 0) {
		collect_selected(&d, cs, paths, npaths, matched);
		keep_selected(&d, paths, npaths, matched);
		for (j = 0; j < npaths; j++)
			if (!matched[j])
				rc = -ENOENT;
	}
	if (rc == 0)
		rc = write_sides(&d);
	diff_free(&d);
	return rc;
}

int diff_find_renames(const struct change_set *cs, const char *upper_base,
		      const struct rename_hints *hints, size_t *partner, int *score)
{
	const struct diff_format fmt = {.output = DIFF_PATCH, .renames = hints, .quiet = true};
	struct diff d = {.fmt = &fmt, .base_fd = -1};
	size_t i;
	int rc;

	for (i = 0; i < cs->n; i++) {
		partner[i] = (size_t)-1;
		if (score)
			score[i] = 0;
	}
	rc = diff_open(&d, upper_base);
	for (i = 0; rc == 0 && i < cs->n; i++) {
		const struct change *c = &cs->items[i];

		d.cur = i;
		if (c->kind == CHANGE_DELETED && expressible(c->old_mode))
			push(&d, c->path, NULL, c->old_mode, c->old_size);
		else if ((c->kind == CHANGE_ADDED || c->kind == CHANGE_SYMLINK_ADDED) &&
			 expressible(c->mode))
			push(&d, c->path, c, c->mode, c->size);
	}
	if (rc == 0 && d.n > 1)
		rc = diff_prepare(&d);
	for (i = 0; rc == 0 && d.pair && i < d.n; i++) {
		if (d.pair[i] == (size_t)-1)
			continue;
		partner[d.v[i].change] = d.v[d.pair[i]].change;
		if (score)
			score[d.v[i].change] = d.score[i];
	}
	if (d.pair)
		git->libgit2_shutdown();
	diff_free(&d);
	return rc;
}

/*
 * A comment line before the patch for each flagged change it holds (git apply skips lines
 * before the first "diff --git"), so the person reading the patch sees the risk.
 */
static void flag_lines(const struct session *s, const cJSON *meta, const struct change_set *cs,
		       char *const *paths, size_t npaths)
{
	struct gate g;
	size_t i, j;

	gate_open(&g, s, meta);
	for (i = 0; i < cs->n; i++) {
		const struct change *c = &cs->items[i];
		struct gate_verdict v;
		bool in = npaths == 0;

		for (j = 0; j < npaths && !in; j++)
			in = path_is_under(c->path, paths[j]);
		if (!in)
			continue;
		gate_classify_change(&g, c, &v);
		if (v.risk) {
			cleanup_free char *shown = term_sanitize(c->path);
			cleanup_free char *why = term_sanitize(v.risk);

			printf("# airlock: flagged: %s: %s (%s; it runs code on the host later)\n",
			       shown, why, gate_state_name(v.state));
		}
	}
	gate_close(&g);
}

static const struct session_args_spec diff_spec = {
	.usage = "airlock diff [ID] [--stat|--name-status] [--relative[=DIR]] "
		 "[--color=WHEN] [--no-pager] [--] [PATH...]",
	.help = "A git patch of the session's changes on stdout; apply it with `cd / && git "
		"apply`,\nor to a copy of DIR with `cd COPY && git apply -pN` (N = 1 + the "
		"components of DIR).\nA deleted file and a new one with the same content, or "
		"that the program renamed and\nthat keep half of it, are one rename, as git "
		"shows them.\n\n"
		"  --stat             a diffstat, as git diff --stat (a rename: dir/{old => "
		"new})\n"
		"  --name-status      A, M, D or T and the path of each changed file; a rename "
		"R,\n"
		"                     its similarity, the old path and the new one\n"
		"  --relative[=DIR]   paths relative to DIR (default: the directory the "
		"session ran\n"
		"                     in), so `cd DIR && git apply` takes the patch; changes "
		"outside\n"
		"                     DIR are left out\n"
		"  --color=WHEN       auto (default: on a terminal, unless NO_COLOR is set), "
		"always,\n"
		"                     never\n"
		"  --no-pager         on a terminal the output goes through $AIRLOCK_PAGER, "
		"else $PAGER,\n"
		"                     else `less -FRX`; not with this (or PAGER=cat)\n",
	.accept = ARG_PATHS | ARG_DIFF,
};

/* What cmd_diff() holds while it writes. */
struct diff_cmd {
	struct session_args a;
	struct session s;
	cJSON *meta;
	struct change_set cs;
	struct rename_hints renames;
	char *relative;
	bool *matched;
};

/* Find the session, refuse a discarded one, settle --relative, scan the changes. 0 or -1
   after printing why. */
static int diff_load(struct diff_cmd *c)
{
	cleanup_free char *events = NULL;

	c->matched = xcalloc(c->a.npaths + 1, sizeof(*c->matched));
	/* Reading needs no lock, as for show: a running session can be looked at as it goes. */
	if (store_find(c->a.id, &c->s) < 0 || !(c->meta = store_read_meta(&c->s)))
		return -1;
	if (strcmp(session_state(&c->s, c->meta), "discarded") == 0)
		return error("session %s was discarded: its changes are gone", c->s.id);
	if (c->a.relative) {
		const char *cwd = c->a.relative_dir ? c->a.relative_dir : meta_str(c->meta, "cwd");

		if (!cwd || cwd[0] != '/')
			return error("session %s: no working directory recorded: name one with "
				     "--relative=DIR",
				     c->s.id);
		c->relative = path_normalize(cwd);
	}
	if (session_scan_changes(&c->s, c->meta, &c->cs) < 0)
		return -1;
	/* Without the record's renames, only identical files are paired: no reason to fail. */
	events = session_path(&c->s, "events.jsonl");
	rename_hints_load(events, &c->renames);
	return 0;
}

/* Write the patch, the stat or the names to stdout (paged). 0, or the exit status. */
static int diff_print(struct diff_cmd *c)
{
	struct diff_format fmt = {
		.output = c->a.stat	     ? DIFF_STAT
			  : c->a.name_status ? DIFF_NAME_STATUS
					     : DIFF_PATCH,
		.escape = isatty(STDOUT_FILENO),
		.colour = colour_wanted(c->a.view.colour),
		.relative = c->relative,
		.width = term_columns(),
		.renames = &c->renames,
	};
	size_t i;
	int r;

	pager_start(c->a.view.no_pager);
	/* The flagged changes are news for a person; --name-status is for a script. */
	if (fmt.output != DIFF_NAME_STATUS)
		flag_lines(&c->s, c->meta, &c->cs, c->a.paths, c->a.npaths);
	r = diff_write(stdout, &c->cs, c->s.dir, (const char *const *)c->a.paths, c->a.npaths,
		       c->matched, &fmt);
	if (r == -ENOENT) {
		for (i = 0; i < c->a.npaths; i++) {
			cleanup_free char *shown = NULL;

			if (c->matched[i])
				continue;
			shown = term_sanitize(c->a.paths[i]);
			error("%s: not changed in session %s", shown, c->s.id);
		}
		return EXIT_REFUSED;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error_errno("cannot write the patch");
		return EXIT_REFUSED;
	}
	return r == 0 ? 0 : EXIT_REFUSED;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_cmd c = {.s = {.lock_fd = -1}};
	int rc = parse_session_args(argc, argv, &diff_spec, &c.a);

	if (rc < 0)
		rc = diff_load(&c) < 0 ? EXIT_REFUSED : diff_print(&c);
	session_args_free(&c.a);
	free(c.matched);
	free(c.relative);
	rename_hints_free(&c.renames);
	change_set_free(&c.cs);
	cJSON_Delete(c.meta);
	store_close(&c.s);
	return rc;
}
