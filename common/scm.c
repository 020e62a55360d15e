/* SPDX-License-Identifier: MIT */
/* Descriptors passed over Unix sockets; see scm.h. */
#include "common/scm.h"

#include <string.h>
#include <unistd.h>

size_t scm_take_fds(struct msghdr *mh, int *fds, size_t want)
{
	size_t got = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (got < want)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	return got;
}

int scm_take_exactly(struct msghdr *mh, int *fds, size_t want)
{
	size_t got = scm_take_fds(mh, fds, want);

	if (got == want)
		return 0;
	while (got-- > 0)
		close(fds[got]);
	return -1;
}

void scm_put_fds(struct msghdr *mh, union scm_buf *cbuf, const int *fds, size_t n)
{
	struct cmsghdr *c;

	if (n == 0 || n > SCM_MAX_FDS)
		return;
	mh->msg_control = cbuf->b;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
}

pid_t scm_sender_pid(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		struct ucred cred;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_CREDENTIALS ||
		    c->cmsg_len != CMSG_LEN(sizeof(cred)))
			continue;
		memcpy(&cred, CMSG_DATA(c), sizeof(cred));
		return cred.pid;
	}
	return -1;
}
