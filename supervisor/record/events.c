/* SPDX-License-Identifier: MIT */
/* The hash-chained event log; see events.h. */
#include "supervisor/record/events.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
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

int events_open(struct event_log *log, const char *path)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	char *line, *next;

	memset(log, 0, sizeof(*log));
	log->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (log->fd < 0)
		return error_errno("cannot open the event log %s", path);
	data = read_fd(log->fd, (size_t)1 << 34, &len);
	if (!data) {
		int rc = error_errno("cannot read the event log %s", path);

		close(log->fd);
		log->fd = -1;
		return rc;
	}
	/* Find the last complete line: it is the chain's head. */
	for (line = data; line < data + len; line = next) {
		char *nl = memchr(line, '\n', (size_t)(data + len - line));

		if (!nl)
			break;
		next = nl + 1;
		sha256_hex(line, (size_t)(nl - line), log->prev);
		log->seq++;
	}
	/* A line cut short by a crash is not part of the chain: drop it before appending. */
	if (line < data + len && ftruncate(log->fd, (off_t)(line - data)) < 0) {
		int rc = error_errno("cannot drop the partial last line of %s", path);

		close(log->fd);
		log->fd = -1;
		return rc;
	}
	return 0;
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
		return error("--log-syslog: the socket path %s is too long", path);
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

int events_append(struct event_log *log, cJSON *ev)
{
	struct timespec ts;
	struct tm tm;
	char when[64];
	cleanup_free char *text = NULL;
	struct buf line = BUF_INIT;
	ssize_t n;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
	tally_denied(log, ev);
	/* seq, time first and prev last, so a reader sees the chain fields where it expects. */
	cJSON_AddItemToObject(ev, "prev", cJSON_CreateString(log->prev));
	text = cJSON_PrintUnformatted(ev);
	cJSON_Delete(ev);
	if (!text)
		return -ENOMEM;
	buf_init(&line);
	buf_addf(&line, "{\"seq\":%llu,\"time\":\"%s\",%s\n", log->seq, when, text + 1);
	n = write(log->fd, line.data, line.len);
	if (n != (ssize_t)line.len) {
		rc = n < 0 ? -errno : -EIO;
		/* Leave no partial line behind: the chain must stay parseable. */
		if (n > 0) {
			struct stat st;

			if (fstat(log->fd, &st) == 0)
				(void)!ftruncate(log->fd, st.st_size - n);
		}
	} else {
		sha256_hex(line.data, line.len - 1, log->prev);
		log->seq++;
		/* After the record: the copy never holds a line the session's log does not. */
		if (log->fwd)
			syslog_send(log->fwd, line.data, line.len - 1);
	}
	buf_release(&line);
	return rc;
}

void events_close(struct event_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
	if (log->fwd) {
		if (log->fwd->fd >= 0)
			close(log->fwd->fd);
		free(log->fwd->path);
		free(log->fwd->session);
		free(log->fwd);
		log->fwd = NULL;
	}
}
