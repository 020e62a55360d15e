/* SPDX-License-Identifier: MIT */
/* The session store; see store.h. */
#include "supervisor/record/store.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/strvec.h"
#include "common/utf8.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *store_root(void)
{
	const char *env = getenv("AIRLOCK_STATE_DIR");
	const char *home;

	if (env && env[0] == '/')
		return path_normalize(env);
	if (env && env[0]) {
		error("AIRLOCK_STATE_DIR must be an absolute path: %s", env);
		return NULL;
	}
	env = getenv("XDG_STATE_HOME");
	if (env && env[0] == '/') {
		cleanup_free char *p = path_join(env, "airlock");

		return path_normalize(p);
	}
	home = getenv("HOME");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || home[0] != '/') {
		error("cannot find the session store: HOME is not set");
		return NULL;
	}
	{
		cleanup_free char *p = path_join(home, ".local/state/airlock");

		return path_normalize(p);
	}
}

char *session_path(const struct session *s, const char *name)
{
	return path_join(s->dir, name);
}

static char *sessions_dir(void)
{
	cleanup_free char *root = store_root();

	return root ? path_join(root, "sessions") : NULL;
}

static int lock_dir(const char *dir, bool exclusive, bool wait)
{
	cleanup_free char *lock = path_join(dir, "lock");
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) < 0) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return rc;
	}
	return fd;
}

void store_utc(time_t t, struct tm *tm)
{
	long long days = t / 86400, secs = t % 86400, era, year;
	unsigned doe, yoe, doy, mp;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/* Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted). */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	year = yoe + era * 400 + (mp >= 10);
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = (int)(year - 1900);
	tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_sec = (int)(secs % 60);
}

/*
 * Make sdir, and the store's directories above it when they are missing (its first session):
 * one mkdir() for each session after. 0, -EEXIST, or -errno after printing why.
 */
static int make_session_dir(const char *dir, const char *sdir)
{
	int rc;

	if (mkdir(sdir, 0700) == 0)
		return 0;
	if (errno == ENOENT) {
		rc = mkdir_p(dir, 0700);
		if (rc < 0)
			return error_rc(rc, "cannot create the session store %s", dir);
		if (mkdir(sdir, 0700) == 0)
			return 0;
	}
	if (errno == EEXIST)
		return -EEXIST;
	return error_errno("cannot create session directory %s", sdir);
}

int store_create(struct session *s)
{
	cleanup_free char *dir = sessions_dir();
	int rc, attempt;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	if (!dir)
		return -ENOENT;
	for (attempt = 0; attempt < 64; attempt++) {
		char id[64];
		unsigned char r = 0;
		struct timespec now;
		struct tm tm;
		cleanup_free char *sdir = NULL;

		/* Milliseconds keep IDs in time order ("last" is the greatest); the random
		   digit separates sessions started in the same millisecond. */
		clock_gettime(CLOCK_REALTIME, &now);
		store_utc(now.tv_sec, &tm);
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (unsigned char)(getpid() + attempt);
		snprintf(id, sizeof(id), "%02d%02d%02d-%02d%02d%02d-%03ld%x", tm.tm_year % 100,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 now.tv_nsec / 1000000, (unsigned)(r & 15));
		sdir = path_join(dir, id);
		rc = make_session_dir(dir, sdir);
		if (rc == -EEXIST)
			continue;
		if (rc < 0)
			return rc;
		rc = lock_dir(sdir, true, false);
		if (rc < 0)
			return error_rc(rc, "cannot lock session %s", id);
		s->lock_fd = rc;
		s->id = xstrdup(id);
		s->dir = steal_pointer(&sdir);
		return 0;
	}
	return error_code(-EEXIST, "cannot create a unique session id in %s", dir);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool valid_id(const char *name)
{
	size_t i;

	if (!name[0] || name[0] == '.')
		return false;
	for (i = 0; name[i]; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f') ||
		      name[i] == '-'))
			return false;
	return true;
}

int store_list(struct strvec *ids)
{
	cleanup_free char *dir = sessions_dir();
	cleanup_dir DIR *d = NULL;
	struct dirent *de;

	if (!dir)
		return -ENOENT;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : error_errno("cannot read %s", dir);
	while ((de = readdir(d))) {
		if (!valid_id(de->d_name))
			continue;
		strvec_add(ids, de->d_name);
	}
	if (ids->n)
		qsort(ids->v, ids->n, sizeof(*ids->v), cmp_str);
	return 0;
}

/*
 * "last~N" or "@N": the Nth session before the newest (N >= 0). Returns N, or -1 when arg is
 * not spelled so.
 */
static long back_handle(const char *arg)
{
	const char *num = NULL;
	char *end;
	long v;

	if (strncmp(arg, "last~", 5) == 0)
		num = arg + 5;
	else if (arg[0] == '@')
		num = arg + 1;
	if (!num || !isdigit((unsigned char)num[0]))
		return -1;
	errno = 0;
	v = strtol(num, &end, 10);
	if (*end || errno || v < 0)
		return -1;
	return v;
}

/* arg names id: the whole of it, a prefix of it, or a suffix of it (its random tail). */
static bool id_matches(const char *id, const char *arg)
{
	size_t il = strlen(id), al = strlen(arg);

	return al <= il && (strncmp(id, arg, al) == 0 || strcmp(id + il - al, arg) == 0);
}

static bool quiet; /* store_find_quiet(): no message for a name that names nothing */

/* The newest session named arg (airlock start --name), from ids sorted oldest first. */
static char *find_by_name(const char *arg, char **ids, size_t n)
{
	cleanup_free char *dir = sessions_dir();

	if (!dir || !isalpha((unsigned char)arg[0]))
		return NULL;
	for (size_t i = n; i-- > 0;) {
		cleanup_free char *path = xasprintf("%s/%s/name", dir, ids[i]);
		cleanup_free char *name = read_file(path, 128, NULL);
		size_t len = name ? strlen(name) : 0;

		if (len && name[len - 1] == '\n')
			name[len - 1] = '\0';
		if (name && strcmp(name, arg) == 0)
			return xstrdup(ids[i]);
	}
	return NULL;
}

/* Say that arg names no session, or several, listing up to a few candidates. */
static void id_error(const char *arg, char *const *ids, size_t n, size_t matches)
{
	struct buf b;
	size_t i, shown = 0;
	char *safe = term_sanitize(arg);
	struct stat st;

	if (matches == 0) {
		if (lstat(arg, &st) == 0)
			error("no session '%s' (see 'airlock list'); '%s' was read as a session id: "
			      "to name the path, put it after '--'",
			      safe, safe);
		else
			error("no session '%s' (see 'airlock list')", safe);
		free(safe);
		return;
	}
	buf_init(&b);
	for (i = n; i-- > 0 && shown < 5;) {
		if (!id_matches(ids[i], arg))
			continue;
		buf_addf(&b, "%s%s", shown ? ", " : "", ids[i]);
		shown++;
	}
	if (matches > shown)
		buf_addf(&b, " and %zu more", matches - shown);
	error("session id '%s' is ambiguous: %s (see 'airlock list')", safe, b.data);
	buf_release(&b);
	free(safe);
}

/*
 * Resolve NULL or "last" (the newest), "last~N" or "@N" (the Nth before it), an exact ID, or
 * a unique prefix or suffix of one. Caller frees.
 */
static char *resolve_id(const char *arg)
{
	cleanup_strvec struct strvec list = STRVEC_INIT;
	char **ids;
	size_t n, i, matches = 0;
	char *found = NULL;
	long back;

	if (store_list(&list) < 0)
		return NULL;
	ids = list.v;
	n = list.n;
	if (n == 0) {
		if (!quiet)
			error("no sessions yet (run one with 'airlock run -- COMMAND')");
		return NULL;
	}
	back = arg ? back_handle(arg) : 0;
	if (!arg || strcmp(arg, "last") == 0 || back >= 0) {
		if (back < 0)
			back = 0;
		if ((size_t)back >= n) {
			error("there are only %zu sessions: '%s' names none (see 'airlock list')",
			      n, arg);
			return NULL;
		}
		found = xstrdup(ids[n - 1 - (size_t)back]);
		return found;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(ids[i], arg) == 0) {
			free(found);
			found = xstrdup(ids[i]);
			matches = 1;
			break;
		}
		if (arg[0] && id_matches(ids[i], arg)) {
			matches++;
			free(found);
			found = xstrdup(ids[i]);
		}
	}
	if (matches == 0)
		found = find_by_name(arg, ids, n);
	if (matches > 1 || (matches == 0 && !found)) {
		free(found);
		found = NULL;
		if (!quiet)
			id_error(arg, ids, n, matches);
	}
	return found;
}

int store_find(const char *arg, struct session *s)
{
	cleanup_free char *dir = sessions_dir();
	char *id;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	if (!dir)
		return -ENOENT;
	s->dir = arg && valid_id(arg) ? path_join(dir, arg) : NULL;
	/* An exact ID is what readdir() would find first (it wins over any prefix or name):
	   one lookup instead of reading and sorting the whole store, as every exec did. */
	if (s->dir && access(s->dir, F_OK) == 0) {
		s->id = xstrdup(arg);
		store_wait_sealed(s);
		return 0;
	}
	free(s->dir);
	s->dir = NULL;
	id = resolve_id(arg);
	if (!id)
		return -ENOENT;
	s->dir = path_join(dir, id);
	s->id = id;
	store_wait_sealed(s);
	return 0;
}

int store_find_quiet(const char *arg, struct session *s)
{
	int rc;

	quiet = true;
	rc = store_find(arg, s);
	quiet = false;
	return rc;
}

int store_set_name(const struct session *s, const char *name)
{
	cleanup_free char *path = session_path(s, "name");
	cleanup_free char *text = xasprintf("%s\n", name);

	if (write_file_atomic(path, text, strlen(text), 0600, false) < 0)
		return error_errno("cannot write %s", path);
	return 0;
}

void store_wait_sealed(const struct session *s)
{
	cleanup_free char *marker = session_path(s, STORE_SEALING);
	int fd;

	if (access(marker, F_OK) != 0)
		return;
	/* The run that seals it holds the lock until the seal is written. */
	fd = lock_dir(s->dir, false, true);
	if (fd >= 0)
		close(fd);
}

int store_wait_released(const struct session *s, int timeout_ms)
{
	const struct timespec tick = {0, 5 * 1000 * 1000};
	int waited, fd;

	/* Polled, not a blocking flock(): a review holding the session must not hang us. */
	for (waited = 0;; waited += 5) {
		fd = lock_dir(s->dir, true, false);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (fd != -EBUSY)
			return fd;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
}

int store_open(const char *arg, bool exclusive, struct session *s)
{
	int fd, rc;

	rc = store_find(arg, s);
	if (rc < 0)
		return rc;
	fd = lock_dir(s->dir, exclusive, false);
	if (fd < 0) {
		if (fd == -EBUSY) {
			error("session %s is in use by another airlock process", s->id);
		} else {
			error_rc(fd, "cannot lock session %s", s->id);
		}
		store_close(s);
		return fd;
	}
	s->lock_fd = fd;
	return 0;
}

bool store_in_use(const char *id)
{
	cleanup_free char *dir = sessions_dir();
	cleanup_free char *sdir = NULL;
	int fd;

	if (!dir)
		return false;
	sdir = path_join(dir, id);
	fd = lock_dir(sdir, false, false);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return fd == -EBUSY;
}

bool store_is_id_arg(const char *arg)
{
	size_t len = strlen(arg), digits = strspn(arg, "0123456789-");

	/*
	 * A whole ID ends in four hex digits ("261123-114428-020c"); its prefixes are digits and
	 * '-'; its suffix of four hex digits ("020c") is its random tail.
	 */
	if (strcmp(arg, "last") == 0 || back_handle(arg) >= 0)
		return true;
	if (len > 0 && digits == len)
		return true;
	/* A session's name (airlock start --name), when one has it. */
	if (isalpha((unsigned char)arg[0]) && len <= 64 && !strchr(arg, '/')) {
		cleanup_strvec struct strvec list = STRVEC_INIT;
		char *id;

		if (store_list(&list) == 0) {
			id = find_by_name(arg, list.v, list.n);
			if (id) {
				free(id);
				return true;
			}
		}
	}
	if (len == 4 && strspn(arg, "0123456789abcdef") == 4)
		return true;
	return len == 18 && digits >= 14 && strspn(arg + 14, "0123456789abcdef") == 4;
}

void store_close(struct session *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->id);
	free(s->dir);
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
}

cJSON *store_read_meta(const struct session *s)
{
	cleanup_free char *path = session_path(s, "meta.json");
	cleanup_free char *text = read_file(path, 64 << 20, NULL);
	cJSON *meta;

	if (!text) {
		error_errno("cannot read %s", path);
		return NULL;
	}
	meta = cJSON_Parse(text);
	if (!meta || !cJSON_IsObject(meta)) {
		cJSON_Delete(meta);
		error("%s: not a valid session record", path);
		return NULL;
	}
	return meta;
}

int store_write_meta(const struct session *s, const cJSON *meta, bool durable)
{
	cleanup_free char *path = session_path(s, "meta.json");
	cleanup_free char *text = cJSON_Print(meta);
	struct buf b = BUF_INIT;
	int rc;

	if (!text)
		return error_code(-ENOMEM, "cannot serialise the session record: out of memory");
	buf_init(&b);
	buf_adds(&b, text);
	buf_addc(&b, '\n');
	rc = write_file_atomic(path, b.data, b.len, 0600, durable);
	buf_release(&b);
	if (rc < 0)
		return error_rc(rc, "cannot write %s", path);
	return 0;
}
