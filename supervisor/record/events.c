/* SPDX-License-Identifier: MIT */
/* The hash-chained event log; see events.h. */
#include "supervisor/record/events.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/path.h"
#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/*
 * A forwarded line is cut here (and marked): rsyslog's default maxMessageSize is 8 KiB, so a
 * longer one would be cut anyway, without a mark.
 */
#define SYSLOG_MAX 8192
/* How long one line may wait for a log daemon that does not read; see syslog_send(). */
#define SYSLOG_WAIT_MS 250

struct syslog_fwd {
	int fd;
	char *path;
	char *session;
	bool stalled; /* the last line timed out: do not wait again until one goes through */
	bool warned;
	unsigned long long sent, dropped;
};

/*
 * The chain's head from the log's last complete line alone (read_last_line()): a session's log
 * grows by every commit and undo (3 MB for 10,000 files), and reading all of it to count its
 * lines made each commit read every earlier one. The line must start as events_append()
 * writes it, {"seq":N, and the next seq is N + 1; *end is where the complete lines end.
 * Returns 1 when found, 0 when the log must be read whole (no complete line, or one not of
 * that form), -errno when it cannot be read.
 */
static int head_from_tail(struct event_log *log, off_t size, off_t *end)
{
	size_t len;
	cleanup_free char *line = read_last_line(log->fd, size, SIZE_MAX, &len, end);
	unsigned long long seq;
	char *after;

	if (!line)
		return errno ? -errno : 0;
	if (strncmp(line, "{\"seq\":", 7) != 0 || line[7] < '0' || line[7] > '9')
		return 0;
	errno = 0;
	seq = strtoull(line + 7, &after, 10);
	if (errno || *after != ',' || seq == ULLONG_MAX)
		return 0;
	log->seq = seq + 1;
	sha256_hex(line, len, log->prev);
	return 1;
}

/* The chain's head by reading the whole log and counting its complete lines. */
static int head_from_all(struct event_log *log, const char *path, off_t *end)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	char *line, *next, *last;

	data = read_fd(log->fd, (size_t)1 << 34, &len);
	if (!data)
		return error_errno("cannot read the event log %s", path);
	for (line = data, last = NULL; line < data + len; line = next) {
		char *nl = memchr(line, '\n', (size_t)(data + len - line));

		if (!nl)
			break;
		next = nl + 1;
		last = line;
		log->seq++;
	}
	/* Only the last line's hash is needed: the next one names it (verify checks the rest). */
	if (last)
		sha256_hex(last, (size_t)(line - 1 - last), log->prev);
	*end = (off_t)(line - data);
	return 0;
}

int events_open(struct event_log *log, const char *path)
{
	struct stat st;
	off_t end = 0;
	int rc;

	memset(log, 0, sizeof(*log));
	log->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (log->fd < 0)
		return error_errno("cannot open the event log %s", path);
	rc = fstat(log->fd, &st) < 0 ? error_errno("cannot read the event log %s", path) : 0;
	if (rc == 0 && st.st_size > 0) {
		rc = head_from_tail(log, st.st_size, &end);
		if (rc < 0)
			rc = error_rc(rc, "cannot read the event log %s", path);
		else if (rc == 0)
			rc = head_from_all(log, path, &end);
		else
			rc = 0;
	}
	/* A line cut short by a crash is not part of the chain: drop it before appending. */
	if (rc == 0 && end < st.st_size && ftruncate(log->fd, end) < 0)
		rc = error_errno("cannot drop the partial last line of %s", path);
	if (rc < 0) {
		close(log->fd);
		log->fd = -1;
	}
	return rc;
}

static int syslog_connect(struct syslog_fwd *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 0, .tv_usec = SYSLOG_WAIT_MS * 1000};

	if (f->fd >= 0)
		close(f->fd);
	f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		return -errno;
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	if (setsockopt(f->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(f->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = -errno;

		close(f->fd);
		f->fd = -1;
		return rc;
	}
	return 0;
}

int events_forward_syslog(struct event_log *log, const char *session_id)
{
	const char *env = getenv("AIRLOCK_SYSLOG_SOCKET");
	const char *path = env && env[0] ? env : "/dev/log";
	struct syslog_fwd *f;
	int rc;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return error_code(-ENAMETOOLONG, "--log-syslog: the socket path %s is too long",
				  path);
	f = xcalloc(1, sizeof(*f));
	f->fd = -1;
	f->path = xstrdup(path);
	f->session = xstrdup(session_id);
	log->fwd = f;
	rc = syslog_connect(f);
	if (rc < 0) {
		errno = -rc;
		warn("--log-syslog: cannot connect to %s: %s; the events are still recorded in the "
		     "session, and sent when it can be reached",
		     path, strerror(errno));
		f->warned = true;
	}
	return rc;
}

/*
 * The datagram glibc's syslog(3) would send for LOG_USER|LOG_INFO, ident "airlock" with
 * LOG_PID, which journald and rsyslog parse: "<14>Mmm dd hh:mm:ss airlock[PID]: MSG". MSG is
 * "session=ID " and the event's line as events.jsonl holds it, so that a collector can check
 * the chain from its own copy; JSON escapes every control character, so a line the program
 * shaped cannot forge another entry. Caller frees.
 */
static char *syslog_message(const struct syslog_fwd *f, const char *line, size_t len,
			    size_t *out_len)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const char cut_mark[] = " [cut]";
	time_t now = time(NULL);
	struct tm tm;
	struct buf b = BUF_INIT;
	size_t room;

	localtime_r(&now, &tm);
	buf_init(&b);
	buf_addf(&b, "<14>%s %2d %02d:%02d:%02d airlock[%ld]: session=%s ", mon[tm.tm_mon % 12],
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)getpid(), f->session);
	room = SYSLOG_MAX - b.len;
	if (len > room) {
		len = room - (sizeof(cut_mark) - 1);
		/* Cut between characters, not inside one. */
		while (len > 0 && ((unsigned char)line[len] & 0xc0) == 0x80)
			len--;
		buf_add(&b, line, len);
		buf_adds(&b, cut_mark);
	} else {
		buf_add(&b, line, len);
	}
	*out_len = b.len;
	return buf_detach(&b);
}

/*
 * Send one line. A daemon that reads slowly makes the send wait (that keeps the copy whole),
 * but at most SYSLOG_WAIT_MS: the supervisor's loop answers the program's calls and enforces
 * the time limit, and a log daemon that stopped reading must not freeze either. After a line
 * timed out, the next ones are not waited for until one goes through again. A daemon that
 * restarted gets a new connection. Lines lost are counted (meta.json "syslog").
 */
static void syslog_send(struct syslog_fwd *f, const char *line, size_t len)
{
	cleanup_free char *msg = NULL;
	size_t n;
	int attempt, err = 0;

	msg = syslog_message(f, line, len, &n);
	for (attempt = 0; attempt < 2; attempt++) {
		if (f->fd < 0 && (err = -syslog_connect(f)) != 0)
			break;
		if (send(f->fd, msg, n, MSG_NOSIGNAL | (f->stalled ? MSG_DONTWAIT : 0)) ==
		    (ssize_t)n) {
			f->sent++;
			f->stalled = false;
			return;
		}
		err = errno;
		if (err == EAGAIN || err == EWOULDBLOCK) {
			f->stalled = true;
			break;
		}
		if (err != ECONNREFUSED && err != ENOTCONN && err != ECONNRESET && err != EPIPE)
			break;
		close(f->fd);
		f->fd = -1;
	}
	f->dropped++;
	if (!f->warned) {
		f->warned = true;
		warn("--log-syslog: an event could not be sent to %s: %s; the session's record "
		     "keeps it, and meta.json counts the lines lost",
		     f->path,
		     err == EAGAIN || err == EWOULDBLOCK ? "the log daemon is not reading"
							 : strerror(err));
	}
}

void events_syslog_counts(const struct event_log *log, unsigned long long *sent,
			  unsigned long long *dropped)
{
	*sent = log->fwd ? log->fwd->sent : 0;
	*dropped = log->fwd ? log->fwd->dropped : 0;
}

const char *events_syslog_path(const struct event_log *log)
{
	return log->fwd ? log->fwd->path : NULL;
}

/* Count a denied "connect" or "dns" event, keeping the first few distinct names. */
static void tally_denied(struct event_log *log, const cJSON *ev)
{
	const char *cls = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "class"));
	const char *dec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "decision"));
	const char *what = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "name"));
	unsigned i;

	if (!cls || !dec || strcmp(dec, "deny") != 0 ||
	    (strcmp(cls, "connect") != 0 && strcmp(cls, "dns") != 0))
		return;
	log->denied_net++;
	if (!what)
		what = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "target"));
	if (!what || log->ndenied_first >= ARRAY_SIZE(log->denied_first))
		return;
	for (i = 0; i < log->ndenied_first; i++)
		if (strncmp(log->denied_first[i], what, sizeof(log->denied_first[i]) - 1) == 0)
			return;
	snprintf(log->denied_first[log->ndenied_first++], sizeof(log->denied_first[0]), "%s", what);
}

/*
 * The event as compact JSON, byte for byte what cJSON_PrintUnformatted() gives (verify and
 * the readers parse it back; the seal hashes cJSON's own print of meta.json, not this), but
 * written straight into the log's line buffer: no second string per event, no copy of it.
 */
static void put_string(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *run = p;

	buf_addc(b, '"');
	for (; *p; p++) {
		if (*p >= 32 && *p != '"' && *p != '\\')
			continue;
		buf_add(b, run, (size_t)(p - run));
		run = p + 1;
		buf_addc(b, '\\');
		switch (*p) {
		case '"':
		case '\\':
			buf_addc(b, (char)*p);
			break;
		case '\b':
			buf_addc(b, 'b');
			break;
		case '\f':
			buf_addc(b, 'f');
			break;
		case '\n':
			buf_addc(b, 'n');
			break;
		case '\r':
			buf_addc(b, 'r');
			break;
		case '\t':
			buf_addc(b, 't');
			break;
		default:
			buf_add(b, "u00", 3);
			buf_addc(b, hex[*p >> 4]);
			buf_addc(b, hex[*p & 15]);
		}
	}
	buf_add(b, run, (size_t)(p - run));
	buf_addc(b, '"');
}

static void put_uint(struct buf *b, unsigned long long v)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_add(b, d + i, sizeof(d) - i);
}

/* As cJSON prints a number: %1.15g, or %1.17g when that does not read back as the same value;
   NaN and infinities as null. A whole number below 10^15 prints its digits under %1.15g. */
static void put_number(struct buf *b, const cJSON *item)
{
	double d = item->valuedouble, back;
	char num[32];

	if (isnan(d) || isinf(d)) {
		buf_adds(b, "null");
	} else if (d > -1e15 && d < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
		if (d < 0)
			buf_addc(b, '-');
		put_uint(b, (unsigned long long)(d < 0 ? -(long long)d : (long long)d));
	} else {
		snprintf(num, sizeof(num), "%1.15g", d);
		back = strtod(num, NULL);
		if (fabs(back - d) > (fabs(back) > fabs(d) ? fabs(back) : fabs(d)) * DBL_EPSILON)
			snprintf(num, sizeof(num), "%1.17g", d);
		buf_adds(b, num);
	}
}

void events_put_json(struct buf *b, const cJSON *item)
{
	const cJSON *c;

	switch (item->type & 0xff) {
	case cJSON_False:
		buf_adds(b, "false");
		break;
	case cJSON_True:
		buf_adds(b, "true");
		break;
	case cJSON_NULL:
		buf_adds(b, "null");
		break;
	case cJSON_Number:
		put_number(b, item);
		break;
	case cJSON_Raw:
		buf_adds(b, item->valuestring ? item->valuestring : "");
		break;
	case cJSON_String:
		put_string(b, item->valuestring ? item->valuestring : "");
		break;
	case cJSON_Array:
		buf_addc(b, '[');
		for (c = item->child; c; c = c->next) {
			events_put_json(b, c);
			if (c->next)
				buf_addc(b, ',');
		}
		buf_addc(b, ']');
		break;
	case cJSON_Object:
		buf_addc(b, '{');
		for (c = item->child; c; c = c->next) {
			put_string(b, c->string ? c->string : "");
			buf_addc(b, ':');
			events_put_json(b, c);
			if (c->next)
				buf_addc(b, ',');
		}
		buf_addc(b, '}');
		break;
	default:
		buf_adds(b, "null");
	}
}

/* Each of n decimal digits of v into p, most significant first. */
static void put_digits(char *p, unsigned n, unsigned v)
{
	for (; n > 0; n--, v /= 10)
		p[n - 1] = (char)('0' + v % 10);
}

/*
 * "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" of ts into out[28]. The date and time are worked out once
 * per second (gmtime_r() and its digits were a visible part of each notified call).
 */
static void format_time(struct event_log *log, const struct timespec *ts, char out[28])
{
	if (log->when_sec != ts->tv_sec || !log->when_sec) {
		struct tm tm;
		char *p = log->when_text;

		gmtime_r(&ts->tv_sec, &tm);
		put_digits(p, 4, (unsigned)(tm.tm_year + 1900));
		p[4] = '-';
		put_digits(p + 5, 2, (unsigned)(tm.tm_mon + 1));
		p[7] = '-';
		put_digits(p + 8, 2, (unsigned)tm.tm_mday);
		p[10] = 'T';
		put_digits(p + 11, 2, (unsigned)tm.tm_hour);
		p[13] = ':';
		put_digits(p + 14, 2, (unsigned)tm.tm_min);
		p[16] = ':';
		put_digits(p + 17, 2, (unsigned)tm.tm_sec);
		p[19] = '.';
		log->when_sec = ts->tv_sec;
	}
	memcpy(out, log->when_text, 20);
	put_digits(out + 20, 6, (unsigned)(ts->tv_nsec / 1000));
	out[26] = 'Z';
	out[27] = '\0';
}

/*
 * The chain's head: the hash of the last line written. It is computed here, when first needed
 * (the next line, the seal), not as the line is written: hashing is then off the path between
 * writing a call's event and answering the call.
 */
const char *events_head(struct event_log *log)
{
	if (log->unhashed) {
		sha256_hex(log->line.data, log->line.len - 1, log->prev);
		log->unhashed = false;
	}
	return log->prev;
}

int events_append(struct event_log *log, cJSON *ev)
{
	struct buf *line = &log->line;
	struct timespec ts;
	char when[28];
	const cJSON *c;
	ssize_t n;
	int rc = 0;

	events_head(log);
	buf_reset(line);
	clock_gettime(CLOCK_REALTIME, &ts);
	format_time(log, &ts, when);
	tally_denied(log, ev);
	/* seq, time first and prev last, so a reader sees the chain fields where it expects. */
	buf_add(line, "{\"seq\":", 7);
	put_uint(line, log->seq);
	buf_add(line, ",\"time\":\"", 9);
	buf_add(line, when, sizeof(when) - 1);
	buf_add(line, "\",", 2);
	for (c = ev->child; c; c = c->next) {
		put_string(line, c->string ? c->string : "");
		buf_addc(line, ':');
		events_put_json(line, c);
		buf_addc(line, ',');
	}
	cJSON_Delete(ev);
	buf_add(line, "\"prev\":\"", 8);
	buf_adds(line, log->prev);
	buf_add(line, "\"}\n", 3);
	n = write(log->fd, line->data, line->len);
	if (n != (ssize_t)line->len) {
		rc = n < 0 ? -errno : -EIO;
		/* Leave no partial line behind: the chain must stay parseable. */
		if (n > 0) {
			struct stat st;

			if (fstat(log->fd, &st) == 0)
				(void)!ftruncate(log->fd, st.st_size - n);
		}
	} else {
		log->unhashed = true;
		log->seq++;
		/* After the record: the copy never holds a line the session's log does not. */
		if (log->fwd)
			syslog_send(log->fwd, line->data, line->len - 1);
	}
	return rc;
}

void events_close(struct event_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
	events_head(log);
	buf_release(&log->line);
	if (log->fwd) {
		if (log->fwd->fd >= 0)
			close(log->fwd->fd);
		free(log->fwd->path);
		free(log->fwd->session);
		free(log->fwd);
		log->fwd = NULL;
	}
}

/* ev[key] when it is a number, else -1. */
static double number_of(const cJSON *ev, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

struct exec_entry {
	long long seq;
	cJSON *command; /* owned */
	char *joined;	/* made when first asked for */
};

struct exec_index {
	struct exec_entry *e;
	size_t n, cap;
	char *scratch; /* the last joined "argv" of an old record */
};

struct exec_index *exec_index_new(void)
{
	return xcalloc(1, sizeof(struct exec_index));
}

void exec_index_free(struct exec_index *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++) {
		cJSON_Delete(x->e[i].command);
		free(x->e[i].joined);
	}
	free(x->e);
	free(x->scratch);
	free(x);
}

void exec_index_add(struct exec_index *x, const cJSON *ev)
{
	const char *cls = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "class"));
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(ev, "command");
	double seq = number_of(ev, "seq");

	if (!cls || strcmp(cls, "exec") != 0 || !cJSON_IsArray(cmd) || !(seq >= 0) || seq > 1e18)
		return;
	/* In log order: an edited record out of order is simply not found later. */
	if (x->n && x->e[x->n - 1].seq >= (long long)seq)
		return;
	GROW(x->e, x->cap, x->n + 1);
	x->e[x->n].seq = (long long)seq;
	x->e[x->n].command = cJSON_Duplicate(cmd, true);
	x->e[x->n].joined = NULL;
	x->n++;
}

static struct exec_entry *exec_find_seq(const struct exec_index *x, double want)
{
	size_t lo = 0, hi = x->n;

	if (!(want >= 0) || want > 1e18)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->e[mid].seq < (long long)want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->n && x->e[lo].seq == (long long)want ? &x->e[lo] : NULL;
}

static struct exec_entry *exec_find(const struct exec_index *x, const cJSON *ev)
{
	return exec_find_seq(x, number_of(ev, "exec_seq"));
}

const cJSON *exec_index_argv(const struct exec_index *x, const cJSON *ev)
{
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(ev, "argv");
	const struct exec_entry *e;

	if (cJSON_IsArray(argv))
		return argv;
	e = exec_find(x, ev);
	return e ? e->command : NULL;
}

const char *exec_index_joined(struct exec_index *x, const cJSON *ev)
{
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(ev, "argv");

	if (cJSON_IsArray(argv)) {
		free(x->scratch);
		x->scratch = join_argv(argv);
		return x->scratch;
	}
	return exec_index_joined_seq(x, number_of(ev, "exec_seq"));
}

const char *exec_index_joined_seq(struct exec_index *x, double exec_seq)
{
	struct exec_entry *e = exec_find_seq(x, exec_seq);

	if (!e)
		return "";
	if (!e->joined)
		e->joined = join_argv(e->command);
	return e->joined;
}
