/* SPDX-License-Identifier: MIT */
/* The change set handed over from the run's end, proven fresh before use; see handover.h. */
#include "supervisor/record/handover.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "common/path.h"
#include "common/sha256.h"
#include "common/testenv.h"
#include "supervisor/record/layers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * The file: MAGIC, then native-endian fields (the machine that wrote it reads it; a file from
 * another would fail its layers' or entries' checks):
 *   str token (meta "end"); u32 layers, each: str mount, str upper, u32 n, n x str premade;
 *   u64 dirs, each: u32 layer, str rel, stat, u8 host, [stat hst], u64 first, u64 n;
 *   u64 entries, each: str name, stat, u8 host (enum scan_host), [stat hst when present];
 *   u64 changes, each in the set's order: u64 entry, u32 kind, u8 link, [str target];
 *   then the hex SHA-256 of all before it.
 * str is u32 length, the bytes and a NUL; stat is u64 dev, rdev, ino, u32 mode, u64 size,
 * u64 ctime seconds, u32 nanoseconds.
 */
#define MAGIC	      "airlock changes handover 1\n"
#define MAX_FILE      ((size_t)1 << 30)
#define HOST_MARGIN_S 2
#define STAT_BYTES    (8 * 5 + 4 * 2)
#define WAIT_MIN      1024 /* changes: a scan of fewer takes less than the wait */

static void put(struct buf *b, const void *p, size_t n)
{
	buf_add(b, p, n);
}

static void put_u64(struct buf *b, uint64_t v)
{
	put(b, &v, sizeof(v));
}

static void put_u32(struct buf *b, uint32_t v)
{
	put(b, &v, sizeof(v));
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, sizeof(v));
}

static void put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	put_u32(b, (uint32_t)n);
	put(b, s, n + 1);
}

static void put_stat(struct buf *b, const struct scan_stat *st)
{
	put_u64(b, st->dev);
	put_u64(b, st->rdev);
	put_u64(b, st->ino);
	put_u32(b, st->mode);
	put_u64(b, (uint64_t)st->size);
	put_u64(b, (uint64_t)st->ctim.tv_sec);
	put_u32(b, (uint32_t)st->ctim.tv_nsec);
}

/* --- the writer ------------------------------------------------------------------------ */

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* How settled the ctimes kept are (settled()). */
enum settle {
	SETTLED, /* no later change can carry one of them */
	RACY,	 /* but some upper entries changed in the clock's last tick: see hand_over() */
	UNSETTLED,
};

/* Whether upper entry st is settled by t0, else racy, noting the newest racy ctime. */
static enum settle upper_settled(const struct scan_stat *st, const struct timespec *t0,
				 struct timespec *newest)
{
	if (before(&st->ctim, t0))
		return SETTLED;
	if (st->ctim.tv_sec > t0->tv_sec + 1)
		return UNSETTLED; /* from the future: no clock to trust */
	if (before(newest, &st->ctim))
		*newest = st->ctim;
	return RACY;
}

/*
 * Whether no later change can carry a ctime kept here (handover.h): all changed before t0,
 * the coarse clock when the scan started, or two seconds before it where the stamps are
 * coarser or another machine's. Upper entries changed after t0 (the program's last writes,
 * stamped finer than the coarse clock) make it RACY, *newest the latest of them.
 */
static enum settle settled(const struct scan_seen *sn, const struct timespec *t0,
			   struct timespec *newest)
{
	const struct timespec early = {t0->tv_sec - HOST_MARGIN_S, t0->tv_nsec};
	enum settle worst = SETTLED, st;
	size_t i, k;

	if (sn->raced)
		return UNSETTLED;
	for (i = 0; i < sn->ndirs; i++) {
		const struct scan_seen_dir *d = &sn->dirs[i];

		if (!d->fine || (st = upper_settled(&d->st, t0, newest)) == UNSETTLED)
			return UNSETTLED;
		worst = st > worst ? st : worst;
		for (k = d->first; k < d->first + d->n; k++) {
			const struct scan_seen_entry *e = &sn->entries[k];
			bool fine = d->hfine && e->hst.dev == d->hst.dev;

			if (e->st.dev != d->st.dev ||
			    (st = upper_settled(&e->st, t0, newest)) == UNSETTLED)
				return UNSETTLED;
			worst = st > worst ? st : worst;
			if (e->host == SCAN_HOST_PRESENT && !S_ISDIR(e->hst.mode) &&
			    !before(&e->hst.ctim, fine ? t0 : &early))
				return UNSETTLED;
		}
	}
	return worst;
}

static void put_layers(struct buf *b, const struct session_layers *l)
{
	size_t i, k;

	put_u32(b, (uint32_t)l->n);
	for (i = 0; i < l->n; i++) {
		put_str(b, l->v[i].mount_path);
		put_str(b, l->v[i].upper_dir);
		put_u32(b, (uint32_t)l->v[i].npremade);
		for (k = 0; k < l->v[i].npremade; k++)
			put_str(b, l->v[i].premade[k]);
	}
}

static void put_seen(struct buf *b, const struct scan_seen *sn)
{
	size_t i;

	put_u64(b, sn->ndirs);
	for (i = 0; i < sn->ndirs; i++) {
		const struct scan_seen_dir *d = &sn->dirs[i];

		put_u32(b, (uint32_t)d->layer);
		put_str(b, d->rel);
		put_stat(b, &d->st);
		put_u8(b, d->host);
		if (d->host)
			put_stat(b, &d->hst);
		put_u64(b, d->first);
		put_u64(b, d->n);
	}
	put_u64(b, sn->nentries);
	for (i = 0; i < sn->nentries; i++) {
		const struct scan_seen_entry *e = &sn->entries[i];

		put_str(b, e->name);
		put_stat(b, &e->st);
		put_u8(b, (uint8_t)e->host);
		if (e->host == SCAN_HOST_PRESENT)
			put_stat(b, &e->hst);
	}
}

static int write_handover(const struct session *s, const char *token,
			  const struct session_layers *l, const struct scan_seen *sn,
			  const struct change_set *cs)
{
	cleanup_free char *path = session_path(s, HANDOVER_FILE);
	char hex[65];
	struct buf b;
	size_t i;
	int rc;

	buf_init(&b);
	buf_adds(&b, MAGIC);
	put_str(&b, token);
	put_layers(&b, l);
	put_seen(&b, sn);
	put_u64(&b, cs->n);
	for (i = 0; i < cs->n; i++) {
		put_u64(&b, cs->items[i].seen);
		put_u32(&b, cs->items[i].kind);
		put_u8(&b, cs->items[i].link_target != NULL);
		if (cs->items[i].link_target)
			put_str(&b, cs->items[i].link_target);
	}
	sha256_hex(b.data, b.len, hex);
	put(&b, hex, 64);
	/* Not durable: a torn file fails its hash, and the reader scans. */
	rc = write_file_atomic(path, b.data, b.len, 0600, false);
	buf_release(&b);
	return rc;
}

static bool proven_again(const struct session *s, const char *token,
			 const struct session_layers *l);

/* Wait until the coarse clock is past t (a tick or two): true, or false after 100 ms. */
static bool wait_past(const struct timespec *t)
{
	const struct timespec ms = {0, 1000000};
	struct timespec now;
	int i;

	for (i = 0; i < 100; i++) {
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		if (before(t, &now))
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

/*
 * Write the hand-over when it can be proven fresh later. Racy (the program's last writes in
 * the clock's last tick), it is worth a wait for a large set only: once the clock is past
 * them, every entry is checked again; a change after that check gets a later ctime, and no
 * process of the sandbox is left to make one before it (pid 1 reaped them all).
 */
static void hand_over(const struct session *s, const char *token, const struct session_layers *l,
		      const struct scan_seen *sn, const struct change_set *cs,
		      const struct timespec *t0)
{
	cleanup_free char *path = NULL;
	struct timespec newest = *t0;
	enum settle st = settled(sn, t0, &newest);

	if (st == UNSETTLED || (st == RACY && (cs->n < WAIT_MIN || !wait_past(&newest))))
		return;
	if (write_handover(s, token, l, sn, cs) < 0 || st == SETTLED)
		return;
	if (!proven_again(s, token, l)) {
		path = session_path(s, HANDOVER_FILE);
		unlink(path);
	}
}

int handover_scan(const struct session *s, const cJSON *meta, struct change_set *cs,
		  const struct scan_observer *obs)
{
	cleanup_free char *path = session_path(s, HANDOVER_FILE);
	const char *token = meta_str(meta, "end");
	struct scan_seen sn = {0};
	struct session_layers l;
	struct timespec t0;
	int rc;

	memset(cs, 0, sizeof(*cs));
	/* Whatever happens below, a set handed over at an earlier end is not this end's (nor
	   used for it: it names another "end"). */
	if (unlink(path) < 0 && errno != ENOENT)
		token = NULL;
	session_layers(s, meta, &l);
	clock_gettime(CLOCK_REALTIME_COARSE, &t0);
	rc = changes_scan_seen(l.v, l.n, cs, &sn, obs);
	/* Nothing changed, nothing to hand over: a review of no change is quick anyway. */
	if (rc == 0 && cs->n > 0 && token && !test_feature_off("handover"))
		hand_over(s, token, &l, &sn, cs, &t0); /* without it, readers scan */
	scan_seen_free(&sn);
	session_layers_free(&l);
	return rc;
}

/* --- the reader ------------------------------------------------------------------------ */

struct rd {
	char *p;
	size_t left;
	bool bad;
};

static char *take(struct rd *r, size_t n)
{
	char *p = r->p;

	if (r->bad || n > r->left) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint64_t get_u64(struct rd *r)
{
	uint64_t v = 0;
	const char *p = take(r, sizeof(v));

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get_u32(struct rd *r)
{
	uint32_t v = 0;
	const char *p = take(r, sizeof(v));

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

static uint8_t get_u8(struct rd *r)
{
	const char *p = take(r, 1);

	return p ? (uint8_t)*p : 0;
}

/* A string in the file, NUL-terminated there, without another NUL; "" when bad. */
static char *get_str(struct rd *r)
{
	uint32_t n = get_u32(r);
	char *p = n < PATH_MAX ? take(r, (size_t)n + 1) : NULL;

	if (!p || p[n] != '\0' || memchr(p, '\0', n)) {
		r->bad = true;
		return (char *)"";
	}
	return p;
}

static void get_stat(struct rd *r, struct scan_stat *st)
{
	st->dev = (dev_t)get_u64(r);
	st->rdev = (dev_t)get_u64(r);
	st->ino = (ino_t)get_u64(r);
	st->mode = (mode_t)get_u32(r);
	st->size = (off_t)get_u64(r);
	st->ctim.tv_sec = (time_t)get_u64(r);
	st->ctim.tv_nsec = (long)get_u32(r);
	if (st->ctim.tv_nsec >= 1000000000L || st->size < 0)
		r->bad = true;
}

/* A count of records of at least min bytes each: never more than what is left could hold. */
static size_t get_count(struct rd *r, size_t min)
{
	uint64_t n = get_u64(r);

	if (n > r->left / min)
		r->bad = true;
	return r->bad ? 0 : (size_t)n;
}

/* A handed-over set as read: its strings point into the file's text. */
struct handed {
	char *text;
	struct rd r;
	struct scan_seen_dir *dirs;
	size_t ndirs;
	struct scan_seen_entry *entries;
	size_t *entry_dir; /* each entry's directory */
	size_t nentries;
	char **mount, **upper; /* each layer's, as the scan writes them into a change */
	size_t nlayers;
};

static void handed_free(struct handed *h)
{
	size_t i;

	for (i = 0; i < h->nlayers; i++) {
		free(h->mount[i]);
		free(h->upper[i]);
	}
	free(h->mount);
	free(h->upper);
	free(h->dirs);
	free(h->entries);
	free(h->entry_dir);
	free(h->text);
}

/* Whether the file's layers are l's, string for string. */
static bool same_layers(struct rd *r, const struct session_layers *l)
{
	size_t i, k;
	bool same = get_u32(r) == l->n;

	for (i = 0; same && i < l->n; i++) {
		const struct overlay_layer *v = &l->v[i];

		same = strcmp(get_str(r), v->mount_path) == 0 &&
		       strcmp(get_str(r), v->upper_dir) == 0 && get_u32(r) == v->npremade;
		for (k = 0; same && k < v->npremade; k++)
			same = strcmp(get_str(r), v->premade[k]) == 0;
	}
	return same && !r->bad;
}

/* A name of one directory entry: not empty, ".", "..", nor with a slash. */
static bool plain_name(const char *n)
{
	return n[0] && strcmp(n, ".") != 0 && strcmp(n, "..") != 0 && !strchr(n, '/');
}

/* An upper-relative directory: "" (the root) or plain names joined by single slashes. */
static bool plain_rel(const char *rel)
{
	char name[NAME_MAX + 1];

	while (*rel) {
		size_t n = strcspn(rel, "/");

		if (n > NAME_MAX)
			return false;
		memcpy(name, rel, n);
		name[n] = '\0';
		if (!plain_name(name) || (rel[n] == '/' && rel[n + 1] == '\0'))
			return false;
		rel += n + (rel[n] == '/');
	}
	return true;
}

static void get_dirs(struct handed *h)
{
	struct rd *r = &h->r;
	size_t i, next = 0;

	h->ndirs = get_count(r, 4 + 5 + STAT_BYTES + 1 + 16);
	h->dirs = xcalloc(h->ndirs + 1, sizeof(*h->dirs));
	for (i = 0; i < h->ndirs && !r->bad; i++) {
		struct scan_seen_dir *d = &h->dirs[i];

		d->layer = get_u32(r);
		d->rel = get_str(r);
		get_stat(r, &d->st);
		d->host = get_u8(r) != 0;
		if (d->host)
			get_stat(r, &d->hst);
		d->first = (size_t)get_u64(r);
		d->n = (size_t)get_u64(r);
		/* The entries follow one directory after another, each once. */
		if (d->layer >= h->nlayers || d->first != next || d->n > SIZE_MAX - next ||
		    !plain_rel(d->rel))
			r->bad = true;
		next = d->first + d->n;
	}
	h->nentries = get_count(r, 5 + STAT_BYTES + 1);
	if (next != h->nentries)
		r->bad = true;
}

static void get_entries(struct handed *h)
{
	struct rd *r = &h->r;
	size_t i, d = 0;

	h->entries = xcalloc(h->nentries + 1, sizeof(*h->entries));
	h->entry_dir = xcalloc(h->nentries + 1, sizeof(*h->entry_dir));
	for (i = 0; i < h->nentries && !r->bad; i++) {
		struct scan_seen_entry *e = &h->entries[i];
		uint8_t host;

		while (d < h->ndirs && i >= h->dirs[d].first + h->dirs[d].n)
			d++;
		h->entry_dir[i] = d;
		e->name = get_str(r);
		get_stat(r, &e->st);
		host = get_u8(r);
		e->host = (enum scan_host)host;
		if (host == SCAN_HOST_PRESENT)
			get_stat(r, &e->hst);
		/* Looked up exactly where the host had a directory. */
		if (d >= h->ndirs || !plain_name(e->name) || host > SCAN_HOST_PRESENT ||
		    (host == SCAN_HOST_NONE) != !h->dirs[d].host)
			r->bad = true;
	}
}

/*
 * Read HANDOVER_FILE of s into h when it is whole (its hash), of this end of the run (token)
 * and of these layers. The changes are left to read at h->r. 0, or -1 (h freed).
 */
static int handed_read(struct handed *h, const struct session *s, const char *token,
		       const struct session_layers *l)
{
	cleanup_free char *path = session_path(s, HANDOVER_FILE);
	char hex[65];
	size_t len, i;

	memset(h, 0, sizeof(*h));
	h->text = read_file(path, MAX_FILE, &len);
	if (!h->text || len < strlen(MAGIC) + 64 || memcmp(h->text, MAGIC, strlen(MAGIC)) != 0)
		goto bad;
	sha256_hex(h->text, len - 64, hex);
	if (memcmp(hex, h->text + len - 64, 64) != 0)
		goto bad;
	h->r = (struct rd){h->text + strlen(MAGIC), len - 64 - strlen(MAGIC), false};
	if (strcmp(get_str(&h->r), token) != 0 || !same_layers(&h->r, l))
		goto bad;
	h->nlayers = l->n;
	h->mount = xcalloc(l->n + 1, sizeof(*h->mount));
	h->upper = xcalloc(l->n + 1, sizeof(*h->upper));
	for (i = 0; i < l->n; i++) {
		h->mount[i] = path_normalize(l->v[i].mount_path);
		h->upper[i] = path_absolute(l->v[i].upper_dir);
		if (!h->mount[i] || !h->upper[i])
			goto bad;
	}
	get_dirs(h);
	get_entries(h);
	if (!h->r.bad)
		return 0;
bad:
	handed_free(h);
	return -1;
}

static bool same_stat(const struct scan_stat *a, const struct stat *st)
{
	return a->dev == st->st_dev && a->ino == st->st_ino && a->mode == st->st_mode &&
	       a->rdev == st->st_rdev && a->size == st->st_size &&
	       a->ctim.tv_sec == st->st_ctim.tv_sec && a->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

/*
 * Whether a host entry would be classified as kept. A directory: by its type and permissions
 * only (a scan looks up the names below it one by one, each checked too), not by its ctime,
 * which moves with every name made or removed in it on the host.
 */
static bool same_host(const struct scan_stat *a, const struct stat *st)
{
	if (S_ISDIR(a->mode))
		return a->mode == st->st_mode;
	return same_stat(a, st);
}

/* Whether each name of directory d (open at ufd, the host's at hfd or -1) is as kept. */
static bool entries_fresh(const struct handed *h, const struct scan_seen_dir *d, int ufd, int hfd)
{
	struct stat st;
	size_t k;

	for (k = d->first; k < d->first + d->n; k++) {
		const struct scan_seen_entry *e = &h->entries[k];

		if (fstatat(ufd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same_stat(&e->st, &st))
			return false;
		if (hfd < 0)
			continue;
		if (fstatat(hfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if ((errno != ENOENT && errno != ENOTDIR) || e->host != SCAN_HOST_ABSENT)
				return false;
		} else if (e->host != SCAN_HOST_PRESENT || !same_host(&e->hst, &st)) {
			return false;
		}
	}
	return true;
}

/*
 * Whether upper directory d is as kept: the same directory, unchanged (so the same names),
 * over a host directory as it was or none, each name as kept in both. uroot and hroot are its
 * layer's roots as the scan opens them (hroot -1: the host has none).
 */
static bool dir_fresh(const struct handed *h, const struct scan_seen_dir *d, int uroot, int hroot)
{
	cleanup_fd int ufd = -1;
	cleanup_fd int hfd = -1;
	bool root = d->rel[0] == '\0';
	struct stat st;

	if (!root)
		ufd = openat(uroot, d->rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fstat(root ? uroot : ufd, &st) < 0 || !same_stat(&d->st, &st))
		return false;
	/*
	 * Whether the host has a directory here (below the root it follows from the entry above,
	 * checked there). Which one does not matter: only the lookups of the names in it do, and
	 * each is checked (the host's mounts come and go, a directory may be another).
	 */
	if (d->n == 0)
		return true; /* no name to look up: nothing depends on the host */
	if (root && d->host != (hroot >= 0))
		return false;
	if (d->host && !root) {
		hfd = hroot < 0 ? -1
				: openat(hroot, d->rel,
					 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (hfd < 0)
			return false;
	}
	return entries_fresh(h, d, root ? uroot : ufd, !d->host ? -1 : root ? hroot : hfd);
}

/* Whether a scan now would see what the kept one saw in directories from to to. */
static bool fresh_dirs(const struct handed *h, size_t from, size_t to)
{
	cleanup_free int *u = xcalloc(h->nlayers + 1, sizeof(*u));
	cleanup_free int *hr = xcalloc(h->nlayers + 1, sizeof(*hr));
	bool ok = true;
	size_t i;

	for (i = 0; i < h->nlayers; i++) {
		u[i] = open(h->upper[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		hr[i] = open(h->mount[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (u[i] < 0 || (hr[i] < 0 && errno != ENOENT && errno != ENOTDIR))
			ok = false;
	}
	for (i = from; ok && i < to; i++)
		ok = dir_fresh(h, &h->dirs[i], u[h->dirs[i].layer], hr[h->dirs[i].layer]);
	for (i = 0; i < h->nlayers; i++) {
		if (u[i] >= 0)
			close(u[i]);
		if (hr[i] >= 0)
			close(hr[i]);
	}
	return ok;
}

/* Whether a scan now would see what the kept one saw. */
static bool fresh(const struct handed *h)
{
	return fresh_dirs(h, 0, h->ndirs);
}

static off_t size_of(const struct scan_stat *st)
{
	return S_ISREG(st->mode) || S_ISLNK(st->mode) ? st->size : 0;
}

/*
 * Whether kind is what the scan would make of an entry with these lstats (a damaged file
 * cannot pass a change off as another; the content comparisons are not made again).
 */
static bool kind_fits(enum change_kind kind, const struct scan_seen_entry *e)
{
	bool host = e->host == SCAN_HOST_PRESENT;
	mode_t type = e->st.mode & S_IFMT, htype = e->hst.mode & S_IFMT;

	switch (kind) {
	case CHANGE_ADDED:
		return !host && type != S_IFDIR && type != S_IFLNK;
	case CHANGE_SYMLINK_ADDED:
		return !host && type == S_IFLNK;
	case CHANGE_DIR_ADDED:
		return !host && type == S_IFDIR;
	case CHANGE_DELETED:
		return host && type == S_IFCHR && e->st.rdev == 0;
	case CHANGE_TYPE_CHANGED:
		return host && type != htype;
	case CHANGE_MODIFIED:
		return host && type == htype && type != S_IFDIR && type != S_IFLNK;
	case CHANGE_SYMLINK_CHANGED:
		return host && type == S_IFLNK && htype == S_IFLNK;
	case CHANGE_DIR_REPLACED:
		return host && type == S_IFDIR && htype == S_IFDIR;
	case CHANGE_MODE_CHANGED:
		return host && type == htype && (e->st.mode & 07777) != (e->hst.mode & 07777);
	}
	return false;
}

/* Change k of the set, as add_change() made it from the entry's two lstats. 0 or -1. */
static int get_change(struct handed *h, struct buf *rel, struct change *c)
{
	struct rd *r = &h->r;
	uint64_t k = get_u64(r);
	uint32_t kind = get_u32(r);
	bool link = get_u8(r) != 0;
	const char *target = link ? get_str(r) : NULL;
	const struct scan_seen_entry *e;
	const struct scan_seen_dir *d;
	bool gone = kind == CHANGE_DELETED;

	if (r->bad || k >= h->nentries || kind > CHANGE_MODE_CHANGED)
		return -1;
	e = &h->entries[k];
	d = &h->dirs[h->entry_dir[k]];
	/* A symlink has its target, nothing else (a deletion's whiteout is no symlink). */
	if (!kind_fits((enum change_kind)kind, e) || link != (!gone && S_ISLNK(e->st.mode)))
		return -1;
	buf_reset(rel);
	if (d->rel[0]) {
		buf_adds(rel, d->rel);
		buf_addc(rel, '/');
	}
	buf_adds(rel, e->name);
	*c = (struct change){.path = path_join(h->mount[d->layer], rel->data),
			     .upper = path_join(h->upper[d->layer], rel->data),
			     .kind = (enum change_kind)kind,
			     .mode = gone ? 0 : e->st.mode,
			     .size = gone ? 0 : size_of(&e->st),
			     .link_target = target ? xstrdup(target) : NULL,
			     .seen = (size_t)k};
	if (e->host == SCAN_HOST_PRESENT) {
		c->old_mode = e->hst.mode;
		c->old_size = size_of(&e->hst);
	}
	if (!gone) {
		c->dev = e->st.dev;
		c->ino = e->st.ino;
		c->ctim = e->st.ctim;
	}
	return 0;
}

/* The handed-over set into *cs, from the end of the file. 0, or -1 (cs left empty). */
static int get_changes(struct handed *h, struct change_set *cs)
{
	size_t n = get_count(&h->r, 8 + 4 + 1), i;
	struct buf rel;
	int rc = 0;

	buf_init(&rel);
	cs->items = xcalloc(n + 1, sizeof(*cs->items));
	cs->cap = n + 1;
	for (i = 0; i < n && rc == 0; i++) {
		rc = get_change(h, &rel, &cs->items[i]);
		if (rc == 0)
			cs->n++;
	}
	buf_release(&rel);
	if (rc < 0 || h->r.bad || h->r.left != 0) {
		change_set_free(cs);
		return -1;
	}
	return 0;
}

static bool proven_again(const struct session *s, const char *token, const struct session_layers *l)
{
	struct handed h;
	bool ok;

	if (handed_read(&h, s, token, l) < 0)
		return false;
	ok = fresh(&h);
	handed_free(&h);
	return ok;
}

/* States in which no sandbox of the session runs or can have run since its end. */
static bool ended(const char *state)
{
	return state && (strcmp(state, "finished") == 0 ||
			 strcmp(state, "partially committed") == 0 || strcmp(state, "undone") == 0);
}

/* The scan the hand-over saves: as session_scan_changes(). */
static int scan(const struct session *s, const cJSON *meta, struct change_set *cs)
{
	struct session_layers l;
	int rc;

	session_layers(s, meta, &l);
	rc = changes_scan(l.v, l.n, cs);
	session_layers_free(&l);
	return rc;
}

/* Entries from which the proof is shared by two threads: an lstat each, about 1.5 us. */
#define SPLIT_MIN 4096

/* One part of the proof: the directories from to to. */
struct proof {
	const struct handed *h;
	size_t from, to;
	pthread_t thread;
	bool threaded, fresh;
};

/* A handed-over set read, its proof on threads (handover_changes_async()). */
struct handover_check {
	struct handed h;
	struct proof part[2];
};

static void *prove(void *arg)
{
	struct proof *p = arg;

	p->fresh = fresh_dirs(p->h, p->from, p->to);
	return NULL;
}

/*
 * Start the proof of c->h: on two threads, each with about half of the entries to lstat, for
 * a large set (the review's main thread has its own work meanwhile), else on one.
 */
static void prove_start(struct handover_check *c)
{
	const struct handed *h = &c->h;
	size_t mid = h->ndirs, seen = 0, i;

	if (h->nentries >= SPLIT_MIN)
		for (mid = 0; mid < h->ndirs && seen < h->nentries / 2; mid++)
			seen += h->dirs[mid].n;
	c->part[0] = (struct proof){h, 0, mid, 0, false, false};
	c->part[1] = (struct proof){h, mid, h->ndirs, 0, false, true};
	for (i = 0; i < 2; i++) {
		if (i > 0 && mid == h->ndirs)
			break; /* all in the first part */
		c->part[i].threaded =
			pthread_create(&c->part[i].thread, NULL, prove, &c->part[i]) == 0;
		if (!c->part[i].threaded)
			prove(&c->part[i]);
	}
}

/* Wait for the proof: whether every part of it found the set fresh. */
static bool prove_wait(struct handover_check *c)
{
	bool ok = true;

	for (size_t i = 0; i < 2; i++) {
		if (c->part[i].threaded)
			pthread_join(c->part[i].thread, NULL);
		ok = ok && c->part[i].fresh;
	}
	return ok;
}

/* The handed-over set into *cs, its proof started (*check): NULL, else why not. */
static const char *try_handed(const struct session *s, const cJSON *meta,
			      const struct session_layers *l, struct change_set *cs,
			      struct handover_check **check)
{
	const char *token = meta_str(meta, "end");
	struct handover_check *c;

	*check = NULL;
	if (test_feature_off("handover"))
		return "turned off";
	if (!ended(meta_str(meta, "state")) || !token)
		return "the session has not ended";
	c = xcalloc(1, sizeof(*c));
	if (handed_read(&c->h, s, token, l) < 0) {
		free(c);
		return "none, damaged, or of another end of the run";
	}
	/* The proof reads only the directories and entries, the changes are read meanwhile. */
	prove_start(c);
	if (get_changes(&c->h, cs) < 0) {
		prove_wait(c);
		handed_free(&c->h);
		free(c);
		return "damaged";
	}
	*check = c;
	return NULL;
}

bool handover_check(struct handover_check *c)
{
	bool ok;

	if (!c)
		return false;
	ok = prove_wait(c);
	test_mark(ok ? "handover used" : "handover scan: stale");
	handed_free(&c->h);
	free(c);
	return ok;
}

int handover_changes_async(const struct session *s, const cJSON *meta, struct change_set *cs,
			   struct handover_check **check)
{
	struct session_layers l;
	const char *why;
	int rc = 0;

	memset(cs, 0, sizeof(*cs));
	session_layers(s, meta, &l);
	why = try_handed(s, meta, &l, cs, check);
	if (why) {
		test_mark("handover scan: %s", why);
		rc = changes_scan(l.v, l.n, cs);
	}
	session_layers_free(&l);
	return rc;
}

int handover_changes(const struct session *s, const cJSON *meta, struct change_set *cs)
{
	struct handover_check *check;
	int rc = handover_changes_async(s, meta, cs, &check);

	if (check && !handover_check(check)) {
		change_set_free(cs);
		rc = scan(s, meta, cs);
	}
	return rc;
}
