/* SPDX-License-Identifier: MIT */
/* The change-set manifest (changes.sha256); see manifest.h. */
#include "supervisor/record/manifest.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/path.h"
#include "common/sha256.h"
#include "common/testenv.h"
#include "common/utf8.h"
#include "supervisor/changeset/changes.h"
#include "supervisor/record/events.h"
#include "supervisor/record/layers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MANIFEST_FILE "changes.sha256"
#define MANIFEST_MAX  ((size_t)1 << 32)
/* The regular files' bytes a manifest from the scan hashes at most (manifest.h). */
#define SCAN_HASH_MAX ((unsigned long long)8 << 20)

struct entry {
	char *path; /* the host path, raw bytes */
	char *line; /* its line, without the newline */
};

struct manifest {
	struct entry *v;
	size_t n, cap;
};

struct walk {
	char *mount;	/* the host path the layer covers, normalised */
	struct buf rel; /* upper-relative path of the entry being looked at */
	char *fail_rel; /* where the walk first failed */
	struct manifest *m;
};

static void manifest_free(struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].path);
		free(m->v[i].line);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static void add_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			buf_adds(b, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			buf_addf(b, "\\x%02x", c);
		else
			buf_addc(b, (char)c);
	}
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The raw path of an escaped one (caller frees), or NULL when it is not well formed. */
static char *unescape(const char *s)
{
	struct buf b = BUF_INIT;

	buf_init(&b);
	while (*s) {
		if (*s != '\\') {
			buf_addc(&b, *s++);
		} else if (s[1] == '\\') {
			buf_addc(&b, '\\');
			s += 2;
		} else if (s[1] == 'x' && hex_val(s[2]) >= 0 && hex_val(s[3]) >= 0 &&
			   (hex_val(s[2]) << 4 | hex_val(s[3])) != 0) {
			buf_addc(&b, (char)(hex_val(s[2]) << 4 | hex_val(s[3])));
			s += 4;
		} else {
			buf_release(&b);
			return NULL;
		}
	}
	return buf_detach(&b);
}

/*
 * Hash the regular file name in dfd (st its lstat). A file the program left unreadable
 * (chmod 000) is made readable for the owner while it is opened: the upper is ours, and a file
 * that cannot be hashed could be edited unseen.
 */
static int hash_regular(int dfd, const char *name, const struct stat *st, char out[65])
{
	cleanup_fd int fd = -1;
	struct stat now;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && st->st_uid == geteuid()) {
		int saved;

		if (fchmodat(dfd, name, (st->st_mode & 07777) | 0400, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		saved = errno;
		if (fchmodat(dfd, name, st->st_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0 && fd >= 0)
			return -errno;
		errno = saved;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &now) < 0)
		return -errno;
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		return -ESTALE;
	return sha256_fd(fd, out);
}

/* Add the line for the entry name in dfd, at rel below the layer's upper directory. */
static int add_entry(struct walk *w, int dfd, const char *name, const char *rel,
		     const struct stat *st, bool opaque)
{
	char digest[65] = "-", type[48];
	struct buf line = BUF_INIT;
	struct entry *e;
	int rc = 0;

	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		snprintf(type, sizeof(type), "file");
		rc = hash_regular(dfd, name, st, digest);
		break;
	case S_IFLNK: {
		cleanup_free char *target = NULL;

		snprintf(type, sizeof(type), "symlink");
		rc = changes_read_link(dfd, name, &target);
		if (rc == 0)
			sha256_hex(target, strlen(target), digest);
		break;
	}
	case S_IFDIR:
		snprintf(type, sizeof(type), opaque ? "opaque-dir" : "dir");
		break;
	case S_IFCHR:
		if (st->st_rdev == makedev(0, 0))
			snprintf(type, sizeof(type), "whiteout");
		else
			snprintf(type, sizeof(type), "chardev-%u:%u", major(st->st_rdev),
				 minor(st->st_rdev));
		break;
	case S_IFBLK:
		snprintf(type, sizeof(type), "blockdev-%u:%u", major(st->st_rdev),
			 minor(st->st_rdev));
		break;
	case S_IFIFO:
		snprintf(type, sizeof(type), "fifo");
		break;
	case S_IFSOCK:
		snprintf(type, sizeof(type), "socket");
		break;
	default:
		snprintf(type, sizeof(type), "unknown");
		break;
	}
	if (rc < 0)
		return rc;
	GROW(w->m->v, w->m->cap, w->m->n + 1);
	e = &w->m->v[w->m->n++];
	e->path = path_join(w->mount, rel);
	buf_init(&line);
	buf_addf(&line, "%s %s %04o ", digest, type, (unsigned)(st->st_mode & 07777));
	add_escaped(&line, e->path);
	e->line = buf_detach(&line);
	return 0;
}

static int walk_dir(struct walk *w, int *dfd, int depth);

/*
 * List the upper directory name in *dfd (self: *dfd's fstat) and descend. As changes.c does,
 * only one upper descriptor is held, not one per level: a tree 1024 deep would otherwise
 * exhaust the usual limit of 1024 descriptors.
 */
static int walk_subdir(struct walk *w, int *dfd, const struct stat *self, const char *name,
		       const struct stat *st, int depth)
{
	mode_t restore;
	cleanup_fd int cfd = changes_open_upper_dir(*dfd, name, st, &restore);
	int opaque, rc;

	if (cfd < 0)
		return cfd;
	opaque = changes_is_opaque(cfd);
	rc = opaque < 0 ? opaque : add_entry(w, *dfd, name, w->rel.data, st, opaque);
	if (rc == 0) {
		close(*dfd);
		*dfd = -1;
		rc = walk_dir(w, &cfd, depth + 1);
		if (cfd >= 0) {
			int pfd = changes_reopen_parent(cfd, self);

			if (pfd < 0 && rc == 0)
				rc = pfd;
			*dfd = pfd;
		}
	}
	if (restore != CHANGES_NO_RESTORE && cfd >= 0 && fchmod(cfd, restore) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int walk_dir(struct walk *w, int *dfd, int depth)
{
	size_t base = w->rel.len, i;
	cleanup_strvec struct strvec names = STRVEC_INIT;
	struct stat self;
	int rc;

	if (depth > CHANGES_MAX_DEPTH)
		return -ELOOP;
	if (fstat(*dfd, &self) < 0)
		return -errno;
	rc = dir_list(*dfd, &names);
	for (i = 0; rc == 0 && i < names.n; i++) {
		struct stat st;

		if (base > 0)
			buf_addc(&w->rel, '/');
		buf_adds(&w->rel, names.v[i]);
		if (fstatat(*dfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
		else if (S_ISDIR(st.st_mode))
			rc = walk_subdir(w, dfd, &self, names.v[i], &st, depth);
		else
			rc = add_entry(w, *dfd, names.v[i], w->rel.data, &st, false);
		if (rc < 0 && !w->fail_rel)
			w->fail_rel = xstrdup(w->rel.data);
		w->rel.len = base;
		w->rel.data[base] = '\0';
	}
	return rc;
}

static int walk_layer(const struct overlay_layer *layer, struct manifest *m)
{
	struct walk w = {.m = m};
	cleanup_fd int ufd = -1;
	mode_t restore = CHANGES_NO_RESTORE;
	struct stat st;
	int rc;

	w.mount = path_normalize(layer->mount_path);
	buf_init(&w.rel);
	if (lstat(layer->upper_dir, &st) < 0) {
		/* An upper directory removed whole: every entry it held shows as missing. */
		rc = errno == ENOENT ? 0 : -errno;
	} else if (!S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
	} else {
		ufd = changes_open_upper_dir(AT_FDCWD, layer->upper_dir, &st, &restore);
		rc = ufd < 0 ? ufd : walk_dir(&w, &ufd, 0);
		if (restore != CHANGES_NO_RESTORE && ufd >= 0 && fchmod(ufd, restore) < 0 &&
		    rc == 0)
			rc = -errno;
	}
	if (rc < 0)
		changes_walk_error("read", layer->upper_dir, w.fail_rel, rc);
	free(w.mount);
	free(w.fail_rel);
	buf_release(&w.rel);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : strcmp(x->line, y->line);
}

static void manifest_sort(struct manifest *m)
{
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), cmp_entry);
}

/* The manifest of the overlays as they are now, sorted. 0 or -errno (printed). */
static int manifest_build(const struct session *s, const cJSON *meta, struct manifest *m)
{
	struct session_layers l;
	size_t i;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	session_layers(s, meta, &l);
	for (i = 0; rc == 0 && i < l.n; i++)
		rc = walk_layer(&l.v[i], m);
	session_layers_free(&l);
	if (rc < 0) {
		manifest_free(m);
		return rc;
	}
	manifest_sort(m);
	return 0;
}

struct manifest_collect {
	struct manifest m;
	struct walk w;		   /* w.mount: the layer being told of, normalised; w.m: &m */
	char *layer_mount;	   /* that layer's mount path as given */
	unsigned long long hashed; /* bytes of the regular files hashed */
	int rc;			   /* 0, or why the collector gave up (m is then empty) */
};

struct manifest_collect *manifest_collect_new(void)
{
	struct manifest_collect *c = xcalloc(1, sizeof(*c));

	c->w.m = &c->m;
	return c;
}

void manifest_collect_free(struct manifest_collect *c)
{
	if (!c)
		return;
	manifest_free(&c->m);
	free(c->w.mount);
	free(c->layer_mount);
	free(c);
}

static void give_up(struct manifest_collect *c, int rc)
{
	manifest_free(&c->m);
	c->rc = rc;
}

/* The scan's observer (struct scan_observer): the entry's line, as walk_dir() would add it. */
static void collect_entry(void *arg, const struct overlay_layer *layer, int dfd, const char *name,
			  const char *rel, const struct stat *st, bool opaque)
{
	struct manifest_collect *c = arg;
	int rc;

	if (c->rc < 0)
		return;
	if (!c->layer_mount || strcmp(c->layer_mount, layer->mount_path) != 0) {
		free(c->layer_mount);
		free(c->w.mount);
		c->layer_mount = xstrdup(layer->mount_path);
		c->w.mount = path_normalize(layer->mount_path);
	}
	if (S_ISREG(st->st_mode)) {
		if ((unsigned long long)st->st_size > SCAN_HASH_MAX - c->hashed) {
			give_up(c, -EFBIG);
			return;
		}
		c->hashed += (unsigned long long)st->st_size;
	}
	rc = add_entry(&c->w, dfd, name, rel, st, opaque);
	if (rc < 0)
		give_up(c, rc);
}

struct scan_observer manifest_observer(struct manifest_collect *c)
{
	return (struct scan_observer){.entry = collect_entry, .arg = c};
}

static void set_member(cJSON *obj, const char *key, cJSON *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON_AddItemToObject(obj, key, v);
}

int manifest_record(const struct session *s, cJSON *meta, struct manifest_collect *c)
{
	cleanup_free char *path = session_path(s, MANIFEST_FILE);
	struct manifest m;
	struct buf text = BUF_INIT;
	char hex[65];
	size_t i;
	int rc;

	buf_init(&text);
	if (c && c->rc == 0) {
		/* Taken over from the scan's walk: the same lines, in the same order once sorted.
		 */
		test_mark("manifest from the scan");
		m = c->m;
		memset(&c->m, 0, sizeof(c->m));
		manifest_sort(&m);
		rc = 0;
	} else {
		test_mark("manifest walked");
		rc = manifest_build(s, meta, &m);
	}
	if (rc == 0) {
		for (i = 0; i < m.n; i++) {
			buf_adds(&text, m.v[i].line);
			buf_addc(&text, '\n');
		}
		rc = write_file_atomic(path, text.data, text.len, 0600, false);
		if (rc < 0)
			error_rc(rc, "cannot write %s", path);
	}
	if (rc < 0) {
		set_member(meta, "changes_sha256", cJSON_CreateNull());
		set_member(meta, "changes_entries", cJSON_CreateNull());
		set_member(meta, "changes_error",
			   cJSON_CreateString(rc == -ELOOP
						      ? "the overlay is deeper than 1024 levels"
						      : strerror(-rc)));
	} else {
		sha256_hex(text.data, text.len, hex);
		set_member(meta, "changes_sha256", cJSON_CreateString(hex));
		set_member(meta, "changes_entries", cJSON_CreateNumber((double)m.n));
	}
	buf_release(&text);
	manifest_free(&m);
	return rc;
}

/* Read changes.sha256 and check it has the hash meta records. The text or NULL (printed). */
static char *read_recorded(const struct session *s, const cJSON *meta, size_t *len)
{
	cleanup_free char *path = session_path(s, MANIFEST_FILE);
	const char *want = meta_str(meta, "changes_sha256");
	const char *why = meta_str(meta, "changes_error");
	char *text;
	char hex[65];

	if (!want) {
		if (why) {
			cleanup_free char *shown = term_sanitize(why);

			error("session %s: the change set was not recorded when the run ended (%s), "
			      "so the overlays cannot be checked",
			      s->id, shown);
		} else {
			error("session %s: meta.json records no hash of the change set "
			      "(\"changes_sha256\")",
			      s->id);
		}
		return NULL;
	}
	text = read_file(path, MANIFEST_MAX, len);
	if (!text) {
		error_errno("session %s: cannot read %s", s->id, MANIFEST_FILE);
		return NULL;
	}
	sha256_hex(text, *len, hex);
	if (strcmp(hex, want) != 0) {
		error("session %s: %s: does not match the SHA-256 meta.json records (edited)",
		      s->id, MANIFEST_FILE);
		free(text);
		return NULL;
	}
	return text;
}

int manifest_check_file(const struct session *s, const cJSON *meta)
{
	size_t len;
	char *text = read_recorded(s, meta, &len);

	free(text);
	return text ? 0 : -1;
}

/* The fields of a line: its digest, type, mode (strings in the line) and raw path (owned). */
struct fields {
	char *digest, *type, *mode;
	char *path;
};

/* Split line (changed in place) into f. 0, or -1 when it is not a manifest line. */
static int parse_line(char *line, struct fields *f)
{
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	char *sp3 = sp2 ? strchr(sp2 + 1, ' ') : NULL;

	memset(f, 0, sizeof(*f));
	if (!sp3)
		return -1;
	*sp1 = *sp2 = *sp3 = '\0';
	f->digest = line;
	f->type = sp1 + 1;
	f->mode = sp2 + 1;
	f->path = unescape(sp3 + 1);
	return f->path ? 0 : -1;
}

/* Say how the recorded line rec and the current line cur (either NULL at an end) differ. */
static void report_difference(const struct session *s, const char *rec, const char *cur,
			      size_t lineno)
{
	cleanup_free char *rcopy = rec ? xstrdup(rec) : NULL;
	cleanup_free char *ccopy = cur ? xstrdup(cur) : NULL;
	cleanup_free char *shown = NULL;
	struct fields r = {0}, c = {0};
	int cmp;

	if (rec && parse_line(rcopy, &r) < 0) {
		error("session %s: %s:%zu: not a manifest line", s->id, MANIFEST_FILE, lineno);
		goto out;
	}
	if (cur && parse_line(ccopy, &c) < 0) {
		error("session %s: cannot describe an overlay entry", s->id);
		goto out;
	}
	cmp = !cur ? -1 : !rec ? 1 : strcmp(r.path, c.path);
	shown = term_sanitize(cmp <= 0 ? r.path : c.path);
	if (cmp < 0)
		error("session %s: overlay: %s: recorded, now missing (removed after the run)",
		      s->id, shown);
	else if (cmp > 0)
		error("session %s: overlay: %s: not in the record (added after the run)", s->id,
		      shown);
	else if (strcmp(r.type, c.type) != 0)
		error("session %s: overlay: %s: a %s where a %s was recorded (replaced after the "
		      "run)",
		      s->id, shown, c.type, r.type);
	else if (strcmp(r.digest, c.digest) != 0)
		error("session %s: overlay: %s: %s differs from the record (changed after the run)",
		      s->id, shown, strcmp(c.type, "symlink") == 0 ? "its target" : "its content");
	else if (strcmp(r.mode, c.mode) != 0)
		error("session %s: overlay: %s: mode %s where %s was recorded (changed after the "
		      "run)",
		      s->id, shown, c.mode, r.mode);
	else
		error("session %s: overlay: %s: differs from the record", s->id, shown);
out:
	free(r.path);
	free(c.path);
}

int manifest_check(const struct session *s, const cJSON *meta, size_t *entries)
{
	cleanup_free char *text = NULL;
	struct manifest m;
	size_t len, j = 0, lineno = 0;
	char *p, *end;
	int rc = 0;

	*entries = 0;
	text = read_recorded(s, meta, &len);
	if (!text)
		return -1;
	if (manifest_build(s, meta, &m) < 0)
		return error("session %s: cannot read the overlays to check them", s->id);
	end = text + len;
	for (p = text; p < end; p++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		lineno++;
		if (!nl) {
			rc = error("session %s: %s:%zu: the line has no end", s->id, MANIFEST_FILE,
				   lineno);
			break;
		}
		*nl = '\0';
		if (j >= m.n || strcmp(p, m.v[j].line) != 0) {
			report_difference(s, p, j < m.n ? m.v[j].line : NULL, lineno);
			rc = -1;
			break;
		}
		j++;
		p = nl;
	}
	if (rc == 0 && j < m.n) {
		report_difference(s, NULL, m.v[j].line, lineno + 1);
		rc = -1;
	}
	if (rc == 0)
		*entries = m.n;
	manifest_free(&m);
	return rc;
}
