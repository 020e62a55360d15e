/* SPDX-License-Identifier: MIT */
/* Path strings and small file helpers; see path.h. */
#include "common/path.h"

#include "common/buf.h"
#include "common/cleanup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *path_join(const char *a, const char *b)
{
	size_t la, lb;
	char *out;

	if (b[0] == '/' || a[0] == '\0')
		return xstrdup(b);
	la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	if (b[0] == '\0')
		return xstrndup(a, la);
	/* By hand, not xasprintf(): a change scan joins two paths for each of 100,000 entries. */
	if (la == 1 && a[0] == '/')
		la = 0;
	lb = strlen(b);
	out = xmalloc(la + lb + 2);
	memcpy(out, a, la);
	out[la] = '/';
	memcpy(out + la + 1, b, lb + 1);
	return out;
}

char *path_normalize(const char *path)
{
	bool abs = path[0] == '/';
	size_t n = strlen(path);
	char *out = xmalloc(n + 2);
	size_t o = 0;
	const char *p = path;

	if (abs)
		out[o++] = '/';
	while (*p) {
		const char *seg;
		size_t len;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - seg);
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			size_t floor = abs ? 1 : 0;
			size_t j = o;

			while (j > floor && out[j - 1] != '/')
				j--;
			/* Pop the last component, unless it is a ".." a relative path keeps. */
			if (o > floor && !(o - j == 2 && out[j] == '.' && out[j + 1] == '.')) {
				o = j;
				if (o > floor)
					o--;
				continue;
			}
			if (abs)
				continue;
		}
		if (o > 0 && out[o - 1] != '/')
			out[o++] = '/';
		memcpy(out + o, seg, len);
		o += len;
	}
	if (o == 0)
		out[o++] = abs ? '/' : '.';
	out[o] = '\0';
	return out;
}

char *path_absolute(const char *p)
{
	cleanup_free char *cwd = NULL;
	cleanup_free char *joined = NULL;

	if (p[0] == '/')
		return path_normalize(p);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	joined = path_join(cwd, p);
	return path_normalize(joined);
}

bool path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

const char *path_rel(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	/* Skip dir as path_is_under() matched it: "/a/" must not step past the end of "/a". */
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		n = 0;
	path += n;
	while (*path == '/')
		path++;
	return path;
}

/* One getdents64() reads this much: most directories in one call and the end in a second. */
#define DIR_READ_BUF 32768

int dir_each(int dfd, bool (*fn)(const struct dirent64 *e, void *arg), void *arg)
{
	cleanup_free char *buf = xmalloc(DIR_READ_BUF);
	ssize_t n, off;

	while ((n = getdents64(dfd, buf, DIR_READ_BUF)) > 0) {
		for (off = 0; off < n;) {
			const struct dirent64 *de = (const struct dirent64 *)(buf + off);
			const char *name = de->d_name;

			off += de->d_reclen;
			if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
				continue;
			if (!fn(de, arg))
				return 0;
		}
	}
	return n < 0 ? -errno : 0;
}

static bool add_name(const struct dirent64 *e, void *arg)
{
	strvec_add(arg, e->d_name);
	return true;
}

int dir_list(int dfd, struct strvec *names)
{
	/*
	 * On dfd itself, from its start: a reopen of "." and fdopendir() cost an openat, an
	 * fstat, two fcntls and a close per directory, and the walks of the upper directories
	 * list every one of them.
	 */
	if (lseek(dfd, 0, SEEK_SET) < 0)
		return -errno;
	return dir_each(dfd, add_name, names);
}

int mkdir_p(const char *path, mode_t mode)
{
	cleanup_free char *p = xstrdup(path);
	struct stat st;
	char *s;

	if (!p[0])
		return -ENOENT;
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* EEXIST also means a file or a dangling symlink is in the way. */
	if (stat(p, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/*
 * How deep rm_rf_at() descends. Each level holds two descriptors and a stack frame, and a
 * program can nest directories without limit (mkdir d; cd d; ... in a loop), so a directory
 * found deeper is moved up to the top of the tree and removed by a later pass: a tree of any
 * depth goes within a fixed number of descriptors (the usual limit is 1024) and of stack.
 */
#define RM_RF_MAX_DEPTH 64

struct rm_rf_walk {
	int top;	     /* the tree's top directory, where deep directories are moved */
	dev_t dev;	     /* its filesystem: directories on any other are left alone */
	unsigned long moved; /* directories moved up so far */
	unsigned long seq;   /* for names at the top that are not taken yet */
};

static int rm_rf_at(struct rm_rf_walk *w, int dfd, int depth);

/* Move the directory name in dfd to the top of the tree under a new name. 0 or -errno. */
static int rm_rf_move_up(struct rm_rf_walk *w, int dfd, const char *name)
{
	/* Names at the top are the program's to choose: never replace one. */
	for (;;) {
		char to[64];

		snprintf(to, sizeof(to), ".airlock-rm-%lu", w->seq++);
		if (renameat2(dfd, name, w->top, to, RENAME_NOREPLACE) == 0) {
			w->moved++;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
}

/* Remove the directory name in dfd, depth levels below the top, and what it holds. */
static int rm_rf_dir(struct rm_rf_walk *w, int dfd, const char *name, int depth)
{
	cleanup_fd int sub = -1;
	int rc = 0;

	if (depth >= RM_RF_MAX_DEPTH) {
		if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
			return 0;
		if (errno != ENOTEMPTY && errno != EEXIST)
			return -errno;
		return rm_rf_move_up(w, dfd, name);
	}
	sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub >= 0)
		rc = rm_rf_at(w, sub, depth + 1);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* Remove everything inside the directory open at dfd, depth levels below the top. */
static int rm_rf_at(struct rm_rf_walk *w, int dfd, int depth)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int rc = 0;
	int fd;

	fd = dup(dfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	/* The duplicate shares the offset an earlier pass left at the end. */
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;
		int r = 0;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(dfd, de->d_name, 0) < 0)
				r = -errno;
		} else if (st.st_dev == w->dev) {
			/* The program may have left a directory we cannot enter (mode 000). */
			if ((st.st_mode & 0700) != 0700)
				(void)!fchmodat(dfd, de->d_name, 0700, 0);
			r = rm_rf_dir(w, dfd, de->d_name, depth);
		}
		if (r < 0 && !rc)
			rc = r;
	}
	return rc;
}

int rm_rf(const char *path)
{
	cleanup_fd int fd = -1;
	struct rm_rf_walk w = {0};
	unsigned long moved;
	struct stat st;
	int rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	if ((st.st_mode & 0700) != 0700)
		(void)!chmod(path, 0700);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w.top = fd;
	w.dev = st.st_dev;
	/*
	 * Repeat while a pass moved directories up. This ends: a move only ever makes a
	 * directory shallower, and the last pass's errors are those of what is left.
	 */
	do {
		moved = w.moved;
		rc = rm_rf_at(&w, fd, 0);
	} while (w.moved != moved);
	if (rmdir(path) < 0 && !rc)
		rc = -errno;
	return rc;
}

char *read_fd(int fd, size_t max, size_t *len_out)
{
	struct buf b = BUF_INIT;
	char chunk[65536];

	buf_init(&b);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_release(&b);
			return NULL;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			buf_release(&b);
			errno = EFBIG;
			return NULL;
		}
		buf_add(&b, chunk, (size_t)n);
	}
	if (len_out)
		*len_out = b.len;
	return buf_detach(&b);
}

/* The len bytes of fd at off into buf; 0 or -1 with errno (EIO when the file ends first). */
static int pread_all(int fd, char *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t k = pread(fd, buf + got, len - got, off + (off_t)got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		got += (size_t)k;
	}
	return 0;
}

char *read_last_line(int fd, off_t size, size_t max, size_t *len_out, off_t *end)
{
	size_t piece = 4096;

	for (;;) {
		off_t from = size > (off_t)piece ? size - (off_t)piece : 0;
		size_t len = (size_t)(size - from);
		cleanup_free char *buf = xmalloc(len + 1);
		char *nl, *start;

		if (pread_all(fd, buf, len, from) < 0)
			return NULL;
		errno = 0;
		nl = memrchr(buf, '\n', len);
		if (!nl && from == 0)
			return NULL; /* no complete line */
		start = nl && nl > buf ? memrchr(buf, '\n', (size_t)(nl - buf)) : NULL;
		if (start || (nl && from == 0)) {
			start = start ? start + 1 : buf;
			if ((size_t)(nl - start) > max)
				return NULL;
			*end = from + (off_t)(nl + 1 - buf);
			*len_out = (size_t)(nl - start);
			memmove(buf, start, *len_out);
			buf[*len_out] = '\0';
			return steal_pointer(&buf);
		}
		/* The line begins before this piece (or a line cut short fills it): read more. */
		if (nl && (size_t)(nl - buf) > max)
			return NULL;
		piece *= 4;
	}
}

char *read_file(const char *path, size_t max, size_t *len_out)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	return read_fd(fd, max, len_out);
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool durable)
{
	cleanup_free char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	cleanup_fd int fd = -1;
	const char *p = data;
	int rc;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (durable && fsync(fd) < 0)
		goto fail;
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail:
	rc = -errno;
	unlink(tmp);
	return rc;
}

/* Parse a decimal number with an optional fraction; returns the end or NULL. */
static const char *parse_number(const char *s, double *out)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return NULL;
	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *out < 0)
		return NULL;
	return end;
}

struct unit {
	const char *suffix;
	double mult;
};

/* A number followed by one of the units' suffixes, as an integer. */
static int parse_with_units(const char *s, const struct unit *units, size_t n, bool fold_case,
			    double max, unsigned long long *out)
{
	const char *end;
	double v;
	size_t i;

	end = parse_number(s, &v);
	if (!end)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if ((fold_case ? strcasecmp(end, units[i].suffix) : strcmp(end, units[i].suffix)) ==
		    0) {
			double r = v * units[i].mult;

			if (r > max)
				return -EINVAL;
			*out = (unsigned long long)r;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_duration_ms(const char *s, unsigned long long *ms)
{
	static const struct unit units[] = {
		{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};

	/* Case matters: "M" could be minutes or months. */
	return parse_with_units(s, units, ARRAY_SIZE(units), false, 1e15, ms);
}

int parse_size(const char *s, unsigned long long *bytes)
{
	static const struct unit units[] = {
		{"", 1},
		{"b", 1},
		{"k", 1024.0},
		{"m", 1048576.0},
		{"g", 1073741824.0},
		{"t", 1099511627776.0},
		{"kb", 1024.0},
		{"mb", 1048576.0},
		{"gb", 1073741824.0},
		{"kib", 1024.0},
		{"mib", 1048576.0},
		{"gib", 1073741824.0},
	};

	return parse_with_units(s, units, ARRAY_SIZE(units), true, 9.0e18, bytes);
}

const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : "/";
}

size_t sorted_find(const void *base, size_t n, size_t size, size_t off, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = *(const char *const *)((const char *)base + mid * size + off);

		if (strcmp(s, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
