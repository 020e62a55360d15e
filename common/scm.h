/* SPDX-License-Identifier: MIT */
/*
 * Descriptors passed over Unix sockets (SCM_RIGHTS): one way to take them out of a received
 * message and to put them into one, so that every receiver closes what it did not ask for (a
 * descriptor left open is one the sandbox might reach).
 */
#ifndef AIRLOCK_COMMON_SCM_H
#define AIRLOCK_COMMON_SCM_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

#define SCM_MAX_FDS 3 /* the most any of airlock's messages carries */

/* Room for a message's control data: SCM_MAX_FDS descriptors and the sender's credentials. */
union scm_buf {
	char b[CMSG_SPACE(sizeof(int) * SCM_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred))];
	struct cmsghdr align;
};

/*
 * Take up to want descriptors that mh carried into fds, closing every other one. Returns how
 * many were taken.
 */
size_t scm_take_fds(struct msghdr *mh, int *fds, size_t want);

/*
 * Exactly want descriptors (into fds), or none: when mh carried another number, all are
 * closed and -1 is returned.
 */
int scm_take_exactly(struct msghdr *mh, int *fds, size_t want);

/* The sender's pid as the kernel attached it (SCM_CREDENTIALS, in our pid namespace), or -1. */
pid_t scm_sender_pid(struct msghdr *mh);

/* Attach n (at most SCM_MAX_FDS) descriptors to mh, using cbuf for the control data. */
void scm_put_fds(struct msghdr *mh, union scm_buf *cbuf, const int *fds, size_t n);

#endif
