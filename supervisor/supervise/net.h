/* SPDX-License-Identifier: MIT */
/*
 * The mechanics of the mediated network (design.md, "Network"): the supervisor looks at the
 * program's socket through a duplicate (pidfd_getfd), makes sockets in the host's network
 * that carry the program socket's flags and options, connects them and sends on them with its
 * own copies of the address and the data, and installs them in place of the program's socket
 * (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SETFD). Connections and sends that cannot
 * finish at once wait here, on an epoll descriptor the event loop polls, and are answered when
 * they do. Decisions are made elsewhere (notify.c); nothing here reads the program's memory
 * twice.
 */
#ifndef AIRLOCK_SUPERVISOR_NET_H
#define AIRLOCK_SUPERVISOR_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Largest payload the supervisor copies for one message it sends for the program: a UDP
   datagram's limit. A stream send (TCP Fast Open) of more is cut there (a short count). */
#define NET_MAX_PAYLOAD 65536
/* Largest control data (ancillary messages) copied for one message. */
#define NET_MAX_CONTROL 4096
/* Connections and sends that wait at once; more are refused (EAGAIN). */
#define NET_MAX_WAITS 1024

/* The program's socket, as a duplicate the supervisor holds. */
struct net_sock {
	int fd; /* our duplicate (the same socket), or -1 */
	int domain, type, protocol;
	bool inside;   /* lives in the sandbox's network namespace */
	bool nonblock; /* O_NONBLOCK on the open file (shared with the program) */
	bool cloexec;  /* the program's descriptor has FD_CLOEXEC */
};

/*
 * Duplicate descriptor fd of task tid (a thread id, in our pid namespace) and describe it;
 * sandbox_cookie is the sandbox's network namespace cookie (SO_NETNS_COOKIE). 0, -EBADF (not
 * open), -ENOTSOCK, or another -errno (the task is gone: -ESRCH). s->fd is ours to release
 * with net_sock_put().
 */
int net_sock_get(pid_t tid, int fd, uint64_t sandbox_cookie, struct net_sock *s);

void net_sock_put(struct net_sock *s);

/* The network namespace cookie of socket fd (Linux 5.14), or 0 when the kernel has none. */
uint64_t net_cookie(int fd);

/*
 * A new socket in the supervisor's (the host's) network of s's domain, type and protocol,
 * non-blocking, close-on-exec, with the options of s that matter carried over. fd or -errno.
 */
int net_host_socket(const struct net_sock *s);

/*
 * Install fd as descriptor target of the task waiting in notification id, replacing what is
 * there (the program's socket), close-on-exec when cloexec. 0 or -errno (-ENOENT: the task
 * is gone; -EBADF/-EMFILE: its descriptor limit refuses target).
 */
int net_install(int listener, uint64_t id, int fd, int target, bool cloexec);

/*
 * connect(fd, addr) for a program whose socket is blocking or not (nonblock), without ever
 * blocking the supervisor: the file is made non-blocking for the call and then given back
 * the program's flag. flags: the file's status flags when the caller knows them (a socket it
 * has just made, with SOCK_NONBLOCK), else -1 to read them. Returns 0, -EINPROGRESS (the
 * connection goes on), or -errno.
 */
int net_connect(int fd, const struct sockaddr *addr, socklen_t len, bool nonblock, int flags);

/* bind(fd, addr): 0 or -errno. */
int net_bind(int fd, const struct sockaddr *addr, socklen_t len);

/* One message the supervisor sends for the program: its own copies of everything. */
struct net_msg {
	struct sockaddr_storage addr;
	socklen_t addrlen; /* 0: no address */
	uint8_t *data;
	size_t len;
	uint8_t *control;
	size_t controllen;
	int flags;
	bool cut; /* the payload was longer than NET_MAX_PAYLOAD */
	int *fds; /* SCM_RIGHTS: the supervisor's duplicates of the descriptors passed */
	size_t nfds, fds_cap;
};

void net_msg_free(struct net_msg *m);

/*
 * Copy a sendto() payload (buf, len) from task pid. 0, -EFAULT, or -EMSGSIZE when a datagram
 * (not stream) is longer than NET_MAX_PAYLOAD.
 */
int net_copy_buf(pid_t pid, unsigned long buf, size_t len, bool stream, struct net_msg *m);

/*
 * Copy a sendmsg() message's payload and control data from task pid, given the msghdr
 * already copied (msg_name is not read: the caller copied the address). 0, -EFAULT,
 * -EMSGSIZE (more than UIO_MAXIOV pieces, or a datagram over NET_MAX_PAYLOAD), -ENOBUFS
 * (control data over NET_MAX_CONTROL), -EINVAL (malformed control data), -EBADF (SCM_RIGHTS
 * names a descriptor the program does not have) or -EPERM (SCM_CREDENTIALS, which would be
 * checked against the supervisor's). Descriptors passed with SCM_RIGHTS are replaced by the
 * supervisor's duplicates of the same files, so that the receiver gets what the program sent.
 */
int net_copy_msg(pid_t pid, const struct msghdr *mh, bool stream, struct net_msg *m);

/* Send m on fd without blocking (MSG_DONTWAIT). The byte count, or -errno (-EAGAIN). */
ssize_t net_send(int fd, const struct net_msg *m);

/* What a waiting call does when its socket is ready. */
enum net_wait_kind {
	NET_WAIT_CONNECT, /* a blocking connect: answer 0 or its error; then send msgs (TFO) */
	NET_WAIT_SEND,	  /* a send that would block a blocking socket: retry it, answer bytes */
	NET_WAIT_SENDMMSG /* the same for sendmmsg: answer how many messages went (their
			     msg_len is not written in this rare case) */
};

struct net_waits;

/* Something the event loop watches on the epoll descriptor: called with the epoll events. */
struct net_watch {
	void (*ready)(struct net_watch *w, uint32_t events);
};

/* Waits on the listener fd (borrowed). NULL + errno. */
struct net_waits *net_waits_new(int listener);

void net_waits_free(struct net_waits *nw);

/* The descriptor the event loop polls for input. */
int net_waits_fd(const struct net_waits *nw);

/* Watch fd for events (EPOLLIN...) and call w->ready. 0 or -errno. */
int net_watch_add(struct net_waits *nw, int fd, uint32_t events, struct net_watch *w);

void net_watch_del(struct net_waits *nw, int fd);

/*
 * Answer notification id when fd is ready: kind says how. Takes fd (closed when done) and
 * msgs (nmsgs of them, freed when done; may be NULL). 0, or -EAGAIN when NET_MAX_WAITS
 * already wait (nothing taken then).
 */
int net_wait(struct net_waits *nw, uint64_t id, int fd, enum net_wait_kind kind,
	     struct net_msg *msgs, size_t nmsgs);

/* Serve what is ready (readable: the epoll fd has input) and drop waits whose task is gone. */
void net_waits_process(struct net_waits *nw, bool readable);

/* How many calls wait. */
unsigned net_waits_count(const struct net_waits *nw);

/*
 * Whether an abstract Unix socket named name (len bytes, NUL bytes allowed) is bound in the
 * network namespace of process pid (0: the supervisor's own, the host's), from
 * /proc/PID/net/unix. 1, 0, or -errno.
 */
int net_abstract_bound(pid_t pid, const char *name, size_t len);

#endif
