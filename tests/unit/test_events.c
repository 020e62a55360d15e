/* SPDX-License-Identifier: MIT */
/* Unit tests for supervisor/record/events.h: the hash-chained events.jsonl and the SHA-256 helpers.
 */
#include "supervisor/record/events.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/path.h"
#include "common/sha256.h"
#include "tests/unit/tap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINES 16

static char base[PATH_MAX];

static char *at(const char *rel)
{
	return path_join(base, rel);
}

/* The file's lines, split in place at '\n' (the text is owned by *data). Returns the count. */
static size_t split_lines(const char *path, char **data, char *lines[MAX_LINES], bool *torn)
{
	size_t len = 0, n = 0;
	char *p, *end;

	*torn = false;
	*data = read_file(path, 1 << 20, &len);
	if (!*data)
		return 0;
	end = *data + len;
	for (p = *data; p < end && n < MAX_LINES;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl) {
			*torn = true;
			break;
		}
		*nl = '\0';
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

static cJSON *event(const char *op, const char *path)
{
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "class", "file");
	cJSON_AddStringToObject(ev, "op", op);
	cJSON_AddStringToObject(ev, "path", path);
	return ev;
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" */
static bool is_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t i;

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

/* Check every line of the log: JSON, seq = its index, a time, prev chaining to the line before. */
static void check_chain(const char *path, size_t want_lines, const char *label)
{
	cleanup_free char *data = NULL;
	char *lines[MAX_LINES];
	char prev[65] = "";
	bool torn;
	size_t n = split_lines(path, &data, lines, &torn), i;

	is_int(n, want_lines, "%s: %zu lines", label, want_lines);
	ok(!torn, "%s: the file ends with a newline", label);
	for (i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(lines[i]);
		const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
		const cJSON *when = cJSON_GetObjectItemCaseSensitive(j, "time");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "prev");

		ok(cJSON_IsObject(j), "%s: line %zu is a JSON object", label, i);
		ok(cJSON_IsNumber(seq) && seq->valuedouble == (double)i, "%s: line %zu has seq %zu",
		   label, i, i);
		ok(cJSON_IsString(when) && is_time(when->valuestring),
		   "%s: line %zu has a UTC time", label, i);
		ok(cJSON_IsString(p), "%s: line %zu has prev", label, i);
		if (cJSON_IsString(p))
			is_str(p->valuestring, prev, "%s: line %zu's prev is %s", label, i,
			       i ? "the hash of the line before" : "\"\"");
		ok(strncmp(lines[i], "{\"seq\":", 7) == 0, "%s: line %zu starts with seq", label,
		   i);
		sha256_hex(lines[i], strlen(lines[i]), prev);
		cJSON_Delete(j);
	}
}

static void test_chain(void)
{
	cleanup_free char *path = at("events.jsonl");
	cleanup_free char *data = NULL;
	struct event_log log;
	char *lines[MAX_LINES];
	char last[65];
	bool torn;
	size_t n;

	is_int(events_open(&log, path), 0, "events_open creates a new log");
	ok(log.fd >= 0 && log.seq == 0 && log.prev[0] == '\0',
	   "a new log starts at seq 0, prev \"\"");
	is_int(events_append(&log, event("write", "/home/dev/a.txt")), 0, "append event 0");
	is_int(events_append(&log, event("unlink", "/home/dev/b\nc")), 0,
	       "append event 1 (a newline in a value)");
	is_int(events_append(&log, event("rename", "/home/dev/\"q\"")), 0,
	       "append event 2 (quotes in a value)");
	is_int(log.seq, 3, "seq is 3 after three events");
	events_close(&log);
	is_int(log.fd, -1, "events_close forgets the descriptor");
	{
		struct stat st;

		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the log is mode 0600");
	}
	check_chain(path, 3, "three events");

	n = split_lines(path, &data, lines, &torn);
	if (n == 3) {
		cJSON *j = cJSON_Parse(lines[1]);
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "path");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "op");

		ok(cJSON_IsString(p) && strcmp(p->valuestring, "/home/dev/b\nc") == 0 &&
			   cJSON_IsString(op) && strcmp(op->valuestring, "unlink") == 0,
		   "the event's own fields survive");
		cJSON_Delete(j);
		sha256_hex(lines[2], strlen(lines[2]), last);
	} else {
		last[0] = '\0';
	}

	is_int(events_open(&log, path), 0, "events_open reopens the log");
	is_int(log.seq, 3, "reopening continues at seq 3");
	is_str(log.prev, last, "reopening chains to the hash of the last line");
	is_int(events_append(&log, event("chmod", "/x")), 0, "append event 3 after reopening");
	events_close(&log);
	check_chain(path, 4, "after reopening");
}

/* The "time" of line (as is_time() shapes it) as a timespec; false when it does not parse. */
static bool line_time(const char *line, struct timespec *out)
{
	cJSON *j = cJSON_Parse(line);
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "time"));
	struct tm tm = {0};
	bool good = s && is_time(s);

	if (good) {
		tm.tm_year = atoi(s) - 1900;
		tm.tm_mon = atoi(s + 5) - 1;
		tm.tm_mday = atoi(s + 8);
		tm.tm_hour = atoi(s + 11);
		tm.tm_min = atoi(s + 14);
		tm.tm_sec = atoi(s + 17);
		out->tv_sec = timegm(&tm);
		out->tv_nsec = atol(s + 20) * 1000;
	}
	cJSON_Delete(j);
	return good;
}

static long long us_of(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000 + t->tv_nsec / 1000;
}

/*
 * Each event's time is the clock's when it was written, also across a change of second
 * (the date and time part is kept from one event to the next while the second stays).
 */
static void test_time_across_seconds(void)
{
	cleanup_free char *path = at("time.jsonl");
	cleanup_free char *data = NULL;
	struct timespec before[MAX_LINES], after[MAX_LINES], t0;
	char *lines[MAX_LINES];
	struct event_log log;
	size_t n = 0, i, good = 0;
	bool torn;

	is_int(events_open(&log, path), 0, "events_open for the time test");
	clock_gettime(CLOCK_REALTIME, &t0);
	/* Events until the wall clock's second has changed twice (at most ~2 s of waiting). */
	while (n < MAX_LINES) {
		clock_gettime(CLOCK_REALTIME, &before[n]);
		if (events_append(&log, event("write", "/t")) < 0)
			break;
		clock_gettime(CLOCK_REALTIME, &after[n]);
		n++;
		if (after[n - 1].tv_sec >= t0.tv_sec + 2)
			break;
		nanosleep(&(struct timespec){0, 150 * 1000 * 1000}, NULL);
	}
	events_close(&log);
	ok(n >= 3 && after[n - 1].tv_sec >= t0.tv_sec + 2,
	   "events written over two changes of second");
	is_int(split_lines(path, &data, lines, &torn), (long long)n, "one line per event");
	for (i = 0; i < n; i++) {
		struct timespec t;

		if (line_time(lines[i], &t) && us_of(&t) >= us_of(&before[i]) &&
		    us_of(&t) <= us_of(&after[i]))
			good++;
		else
			printf("# line %zu: %s\n", i, lines[i]);
	}
	is_int(good, (long long)n, "every event's time lies between the clock before and after it");
}

/* A write cut short (here by RLIMIT_FSIZE) must leave no partial line behind. */
static void test_short_write(void)
{
	cleanup_free char *path = at("short.jsonl");
	struct event_log log;
	struct rlimit saved, small;
	struct stat before, after;
	int rc;

	if (events_open(&log, path) < 0 || events_append(&log, event("write", "/a")) < 0) {
		ok(0, "cannot start short.jsonl");
		return;
	}
	if (getrlimit(RLIMIT_FSIZE, &saved) < 0 || fstat(log.fd, &before) < 0) {
		ok(0, "getrlimit: %s", strerror(errno));
		events_close(&log);
		return;
	}
	signal(SIGXFSZ, SIG_IGN);
	small = saved;
	small.rlim_cur = (rlim_t)before.st_size + 20;
	setrlimit(RLIMIT_FSIZE, &small);
	rc = events_append(&log, event("write", "/b"));
	setrlimit(RLIMIT_FSIZE, &saved);
	signal(SIGXFSZ, SIG_DFL);
	ok(rc < 0, "events_append fails when the write is cut short");
	ok(fstat(log.fd, &after) == 0 && after.st_size == before.st_size,
	   "the partial line is removed");
	is_int(log.seq, 1, "seq does not advance on failure");
	is_int(events_append(&log, event("write", "/c")), 0, "the next append succeeds");
	events_close(&log);
	check_chain(path, 2, "after a short write");
}

/* Append text to the file at path as it is, outside the writer. */
static bool append_raw(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	bool done = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return done;
}

/*
 * Reopening reads the log from its end: the head must be the same as a whole read's for a
 * last line longer than the first piece read, with a torn line after it, and for a last line
 * not of the writer's form (read whole then, counting lines).
 */
static void test_reopen_tail(void)
{
	cleanup_free char *path = at("tail.jsonl"), *big = xmalloc(200001), *data = NULL;
	struct event_log log;
	char *lines[MAX_LINES];
	char last[65];
	bool torn;
	struct stat st;

	memset(big, 'x', 200000);
	big[200000] = '\0';
	if (events_open(&log, path) < 0) {
		ok(0, "cannot start tail.jsonl");
		return;
	}
	events_append(&log, event("write", "/a"));
	events_append(&log, event("write", big));
	events_close(&log);
	ok(split_lines(path, &data, lines, &torn) == 2 && !torn, "two lines, one of 200 KB");
	sha256_hex(lines[1], strlen(lines[1]), last);
	ok(append_raw(path, "{\"seq\":2,\"torn"), "a torn line after it");
	is_int(events_open(&log, path), 0, "reopen");
	is_int(log.seq, 2, "the next seq follows the long last line");
	is_str(log.prev, last, "prev is the long last line's hash");
	ok(fstat(log.fd, &st) == 0 && data &&
		   st.st_size == (off_t)(strlen(lines[0]) + strlen(lines[1]) + 2),
	   "the torn line is dropped");
	is_int(events_append(&log, event("write", "/c")), 0, "append after it");
	events_close(&log);
	check_chain(path, 3, "after a long last line and a torn one");

	/* Not the writer's form (edited, or not airlock's): counted whole, as before. */
	ok(append_raw(path, "{\"other\":1}\n"), "a last line without seq");
	is_int(events_open(&log, path), 0, "reopen");
	is_int(log.seq, 4, "a last line of another form: the lines are counted");
	sha256_hex("{\"other\":1}", 11, last);
	is_str(log.prev, last, "and prev is its hash");
	events_close(&log);
}

static void test_open_errors(void)
{
	cleanup_free char *target = at("target.jsonl");
	cleanup_free char *link = at("link.jsonl");
	cleanup_free char *nodir = at("missing/events.jsonl");
	struct event_log log;

	if (symlink(target, link) < 0)
		printf("# cannot symlink: %s\n", strerror(errno));
	ok(events_open(&log, link) < 0, "events_open refuses a symlink");
	if (log.fd >= 0)
		events_close(&log);
	ok(access(target, F_OK) < 0, "and creates nothing at its target");
	is_int(events_open(&log, nodir), -ENOENT, "events_open in a missing directory: -ENOENT");
}

static void test_sha256(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	cleanup_free char *small = at("abc.txt");
	cleanup_free char *big = at("big.bin");
	cleanup_free char *link = at("abc.link");
	cleanup_free char *missing = at("missing.txt");
	cleanup_free char *bigdata = malloc(200000);
	char got[65], want[65];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		sha256_hex(cases[i].in, strlen(cases[i].in), got);
		is_str(got, cases[i].want, "sha256_hex(\"%s\")", cases[i].in);
	}

	write_file_atomic(small, "abc", 3, 0644, false);
	memset(got, 'x', sizeof(got));
	is_int(sha256_file(small, got), 0, "sha256_file of a 3-byte file");
	is_str(got, cases[0].want, "sha256_file(\"abc\") is the known digest");

	if (bigdata) {
		for (i = 0; i < 200000; i++)
			bigdata[i] = (char)(i * 7 + (i >> 8));
		write_file_atomic(big, bigdata, 200000, 0644, false);
		sha256_hex(bigdata, 200000, want);
		is_int(sha256_file(big, got), 0, "sha256_file of a file past one read");
		is_str(got, want, "sha256_file agrees with sha256_hex on 200000 bytes");
	}

	if (symlink(small, link) < 0)
		printf("# cannot symlink: %s\n", strerror(errno));
	is_int(sha256_file(link, got), -ELOOP, "sha256_file refuses a symlink");
	is_int(sha256_file(missing, got), -ENOENT, "sha256_file of a missing file: -ENOENT");
}

/*
 * events_append() formats the line itself: it must be what cJSON prints (the readers parse it,
 * and a record written before keeps the same shape), for every kind of value and escape.
 */
static void test_same_as_cjson(void)
{
	cleanup_free char *path = at("same.jsonl"), *data = NULL, *want = NULL;
	static const double nums[] = {0,
				      -1,
				      42,
				      2147483647,
				      2147483648.0,
				      -2147483649.0,
				      0.5,
				      1e300,
				      1.0 / 3.0,
				      123456789012.0,
				      1e-7,
				      -0.0,
				      999999999999999.0,
				      1e15,
				      -12.25};
	struct event_log log;
	char *lines[MAX_LINES], raw[160];
	cJSON *ev, *arr, *copy;
	bool torn;
	size_t i;

	for (i = 0; i < 127; i++)
		raw[i] = (char)(i + 1);
	snprintf(raw + 127, sizeof(raw) - 127, "\xc3\xa9\xe2\x80\xae\xf0\x9f\x98\x80\x7f\\\"");
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "class", "write");
	cJSON_AddStringToObject(ev, "target", raw);
	cJSON_AddStringToObject(ev, "empty", "");
	arr = cJSON_AddArrayToObject(ev, "nums");
	for (i = 0; i < ARRAY_SIZE(nums); i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(nums[i]));
	cJSON_AddItemToObject(ev, "none", cJSON_CreateArray());
	cJSON_AddItemToObject(ev, "obj", cJSON_CreateObject());
	cJSON_AddTrueToObject(ev, "yes");
	cJSON_AddFalseToObject(ev, "no");
	cJSON_AddNullToObject(ev, "nothing");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "nested"), "k\n\"", "v\t");
	copy = cJSON_Duplicate(ev, true);
	cJSON_AddStringToObject(copy, "prev", "");
	want = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);

	ok(events_open(&log, path) == 0, "open a log");
	ok(events_append(&log, ev) == 0, "append an event with every kind of value");
	events_close(&log);
	ok(split_lines(path, &data, lines, &torn) == 1 && !torn, "one line");
	{
		/* Past "{"seq":0,"time":"...",": the members as cJSON prints them. */
		const char *rest = strstr(lines[0], "Z\",");

		ok(rest && strcmp(rest + 3, want + 1) == 0, "the members are what cJSON prints");
		if (rest && strcmp(rest + 3, want + 1) != 0)
			printf("#   got  %s\n#   want %s\n", rest + 3, want + 1);
	}
}

/* exec_index: an event's command line through its exec_seq, or its own argv (older records). */
static void test_exec_index(void)
{
	struct exec_index *xi = exec_index_new();
	cJSON *exec0 = cJSON_Parse("{\"seq\":0,\"class\":\"exec\",\"argv\":[],"
				   "\"command\":[\"sh\",\"-c\",\"x\"]}");
	cJSON *exec3 = cJSON_Parse("{\"seq\":3,\"class\":\"exec\",\"exec_seq\":0,"
				   "\"command\":[\"make\",\"-j2\"]}");
	cJSON *w1 = cJSON_Parse("{\"seq\":1,\"class\":\"write\",\"exec_seq\":0}");
	cJSON *w4 = cJSON_Parse("{\"seq\":4,\"class\":\"write\",\"exec_seq\":3}");
	cJSON *old = cJSON_Parse("{\"seq\":5,\"class\":\"write\",\"argv\":[\"a\",\"b\"],"
				 "\"exec_seq\":3}");
	cJSON *unknown = cJSON_Parse("{\"seq\":6,\"class\":\"write\",\"exec_seq\":2}");

	exec_index_add(xi, exec0);
	is_str(exec_index_joined(xi, exec0), "", "the first exec's caller is not known");
	exec_index_add(xi, w1);
	is_str(exec_index_joined(xi, w1), "sh -c x", "a write names its program's exec event");
	is_str(exec_index_joined(xi, exec3), "sh -c x", "an exec is made by the program before it");
	exec_index_add(xi, exec3);
	is_str(exec_index_joined(xi, w4), "make -j2", "after an exec: the new command line");
	ok(cJSON_GetArraySize(exec_index_argv(xi, w4)) == 2, "... and as an array");
	is_str(exec_index_joined(xi, old), "a b", "an older record's argv is read as it is");
	ok(exec_index_argv(xi, unknown) == NULL, "an exec_seq that names no exec event: unknown");
	is_str(exec_index_joined(xi, unknown), "", "... shown as empty");
	exec_index_free(xi);
	cJSON_Delete(exec0);
	cJSON_Delete(exec3);
	cJSON_Delete(w1);
	cJSON_Delete(w4);
	cJSON_Delete(old);
	cJSON_Delete(unknown);
}

int main(void)
{
	char tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");

	setvbuf(stdout, NULL, _IONBF, 0);
	umask(022);
	snprintf(tmpl, sizeof(tmpl), "%s/airlock-events-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl) || !realpath(tmpl, base)) {
		printf("Bail out! cannot make a temporary directory: %s\n", strerror(errno));
		return 1;
	}

	test_chain();
	test_time_across_seconds();
	test_short_write();
	test_reopen_tail();
	test_open_errors();
	test_sha256();
	test_same_as_cjson();
	test_exec_index();

	if (rm_rf(base) < 0)
		printf("# cannot remove %s\n", base);
	return tap_done();
}
