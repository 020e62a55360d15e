/* SPDX-License-Identifier: MIT */
/* The hash-chained event log; see events.h. */
#include "supervisor/events.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void to_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	to_hex(md, 32, out);
}

int sha256_file(const char *path, char out[65])
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	unsigned char md[32], chunk[65536];
	unsigned int mdlen = sizeof(md);
	EVP_MD_CTX *ctx;
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return -errno;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		EVP_DigestUpdate(ctx, chunk, (size_t)n);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (rc == 0)
		to_hex(md, 32, out);
	return rc;
}

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
	}
	buf_release(&line);
	return rc;
}

void events_close(struct event_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
}
