/* SPDX-License-Identifier: MIT */
/* The mechanics of the mediated network: host sockets, installs, sends, waits; see net.h. */
#include "supervisor/supervise/net.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/seccomp_compat.h"
#include "common/testenv.h"
#include "supervisor/supervise/procmem.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif

#define UIO_MAX 1024 /* UIO_MAXIOV: the kernel takes no more pieces in one call */

static int pidfd_of(pid_t tid)
{
	int fd = test_feature_off("pidfd_thread") ? (errno = EINVAL, -1)
						  : (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	char path[64], line[128];
	cleanup_file FILE *f = NULL;
	long tgid = -1;

	/* PIDFD_THREAD (Linux 6.9) names the thread itself, whose descriptor table it is; before
	   it, a pidfd names a process, and threads share their leader's table. */
	if (fd >= 0 || errno != EINVAL)
		return fd >= 0 ? fd : -errno;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %ld", &tgid) == 1)
			break;
	if (tgid <= 0)
		return -ESRCH;
	fd = (int)syscall(SYS_pidfd_open, (pid_t)tgid, 0);
	return fd >= 0 ? fd : -errno;
}

uint64_t net_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len) < 0)
		return 0;
	return c;
}

/*
 * Whether descriptor fd of task tid has FD_CLOEXEC, from /proc/TID/fdinfo/FD ("flags:", its
 * second line). Read with plain open and read: stdio's buffer set-up cost a third of it, on
 * every connect.
 */
static bool fd_cloexec(pid_t tid, int fd)
{
	char path[80], text[256];
	cleanup_fd int f = -1;
	unsigned long flags;
	const char *line;
	ssize_t k;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)tid, fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return false;
	k = read(f, text, sizeof(text) - 1);
	if (k <= 0)
		return false;
	text[k] = '\0';
	for (line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (sscanf(line, "flags: %lo", &flags) == 1)
			return (flags & O_CLOEXEC) != 0;
	return false;
}

static int sockopt_int(int fd, int level, int name, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, level, name, v, &len) < 0 ? -errno : 0;
}

int net_sock_get(pid_t tid, int fd, uint64_t sandbox_cookie, struct net_sock *s)
{
	cleanup_fd int pidfd = -1;
	int flags, rc;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (fd < 0)
		return -EBADF;
	pidfd = pidfd_of(tid);
	if (pidfd < 0)
		return pidfd;
	s->fd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (s->fd < 0)
		return -errno;
	rc = sockopt_int(s->fd, SOL_SOCKET, SO_DOMAIN, &s->domain);
	if (rc == 0)
		rc = sockopt_int(s->fd, SOL_SOCKET, SO_TYPE, &s->type);
	if (rc == 0)
		rc = sockopt_int(s->fd, SOL_SOCKET, SO_PROTOCOL, &s->protocol);
	if (rc < 0) {
		net_sock_put(s);
		return rc == -ENOTSOCK ? -ENOTSOCK : rc;
	}
	flags = fcntl(s->fd, F_GETFL);
	s->nonblock = flags >= 0 && (flags & O_NONBLOCK);
	s->cloexec = fd_cloexec(tid, fd);
	/* Unknown (no cookie): never taken for the sandbox's, so never trusted to stay inside. */
	s->inside = sandbox_cookie != 0 && net_cookie(s->fd) == sandbox_cookie;
	return 0;
}

void net_sock_put(struct net_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/*
 * Options carried from the program's socket to the host socket: those a program sets before
 * connecting and expects to hold. Not carried: SO_RCVBUF/SO_SNDBUF (setting them turns the
 * kernel's buffer autotuning off, and the sandbox's defaults are not the host's),
 * SO_BINDTODEVICE and SO_MARK (devices and marks of another namespace), and a local address
 * bound before connect (the host socket gets its own).
 */
static const struct {
	int level, name;
} carried[] = {
	{SOL_SOCKET, SO_REUSEADDR},
	{SOL_SOCKET, SO_REUSEPORT},
	{SOL_SOCKET, SO_KEEPALIVE},
	{SOL_SOCKET, SO_BROADCAST},
	{SOL_SOCKET, SO_OOBINLINE},
	{SOL_SOCKET, SO_LINGER},
	{SOL_SOCKET, SO_PRIORITY},
	{SOL_SOCKET, SO_RCVLOWAT},
	{SOL_SOCKET, SO_RCVTIMEO},
	{SOL_SOCKET, SO_SNDTIMEO},
	{SOL_SOCKET, SO_TIMESTAMP},
	{SOL_SOCKET, SO_TIMESTAMPNS},
	{SOL_SOCKET, SO_PASSCRED},
	{IPPROTO_TCP, TCP_NODELAY},
	{IPPROTO_TCP, TCP_CORK},
	{IPPROTO_TCP, TCP_KEEPIDLE},
	{IPPROTO_TCP, TCP_KEEPINTVL},
	{IPPROTO_TCP, TCP_KEEPCNT},
	{IPPROTO_TCP, TCP_SYNCNT},
	{IPPROTO_TCP, TCP_USER_TIMEOUT},
	{IPPROTO_TCP, TCP_MAXSEG},
	{IPPROTO_TCP, TCP_WINDOW_CLAMP},
	{IPPROTO_TCP, TCP_NOTSENT_LOWAT},
	{IPPROTO_TCP, TCP_FASTOPEN_CONNECT},
	{IPPROTO_TCP, TCP_CONGESTION},
	{IPPROTO_IP, IP_TOS},
	{IPPROTO_IP, IP_TTL},
	{IPPROTO_IP, IP_RECVERR},
	{IPPROTO_IP, IP_PKTINFO},
	{IPPROTO_IP, IP_RECVTOS},
	{IPPROTO_IP, IP_RECVTTL},
	{IPPROTO_IP, IP_MTU_DISCOVER},
	{IPPROTO_IPV6, IPV6_V6ONLY},
	{IPPROTO_IPV6, IPV6_TCLASS},
	{IPPROTO_IPV6, IPV6_UNICAST_HOPS},
	{IPPROTO_IPV6, IPV6_RECVERR},
	{IPPROTO_IPV6, IPV6_RECVPKTINFO},
	{IPPROTO_IPV6, IPV6_MTU_DISCOVER},
	{IPPROTO_UDP, UDP_SEGMENT},
};

/* What a fresh host socket of one kind holds for each carried option: learnt once per kind,
   so that each connection reads only the options its kind has and sets only those that
   differ. */
struct option_defaults {
	int domain, type, protocol;
	bool has[ARRAY_SIZE(carried)];
	unsigned char value[ARRAY_SIZE(carried)][64];
	socklen_t len[ARRAY_SIZE(carried)];
};

static struct option_defaults kinds[8];
static size_t nkinds;

static const struct option_defaults *defaults_for(int fresh, int domain, int type, int protocol)
{
	struct option_defaults *d;

	for (size_t i = 0; i < nkinds; i++)
		if (kinds[i].domain == domain && kinds[i].type == type &&
		    kinds[i].protocol == protocol)
			return &kinds[i];
	if (nkinds == ARRAY_SIZE(kinds))
		return NULL;
	d = &kinds[nkinds++];
	d->domain = domain;
	d->type = type;
	d->protocol = protocol;
	for (size_t i = 0; i < ARRAY_SIZE(carried); i++) {
		d->len[i] = sizeof(d->value[i]);
		d->has[i] = getsockopt(fresh, carried[i].level, carried[i].name, d->value[i],
				       &d->len[i]) == 0;
	}
	return d;
}

/* Copy the carried options that differ; an option the host refuses is left as it is. */
static void carry_options(const struct net_sock *s, int to)
{
	const struct option_defaults *d = defaults_for(to, s->domain, s->type, s->protocol);

	for (size_t i = 0; i < ARRAY_SIZE(carried); i++) {
		unsigned char want[64], have[64];
		socklen_t wl = sizeof(want), hl = sizeof(have);

		if (d && !d->has[i])
			continue; /* not an option of this kind of socket */
		if (getsockopt(s->fd, carried[i].level, carried[i].name, want, &wl) < 0)
			continue;
		if (d && d->len[i] == wl && memcmp(d->value[i], want, wl) == 0)
			continue;
		if (!d && getsockopt(to, carried[i].level, carried[i].name, have, &hl) == 0 &&
		    hl == wl && memcmp(want, have, wl) == 0)
			continue;
		/* Best effort: TCP_CONGESTION may name an algorithm the host lacks. IPV6_V6ONLY,
		   which decides what the socket reaches, is checked by the caller. */
		(void)setsockopt(to, carried[i].level, carried[i].name, want, wl);
	}
}

int net_host_socket(const struct net_sock *s)
{
	int fd = socket(s->domain, s->type | SOCK_NONBLOCK | SOCK_CLOEXEC, s->protocol);
	int v6only;

	if (fd < 0)
		return -errno;
	carry_options(s, fd);
	if (s->domain == AF_INET6 && sockopt_int(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only) == 0) {
		int now = -1;

		if (sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, &now) < 0 || now != v6only) {
			close(fd);
			return -EINVAL;
		}
	}
	return fd;
}

int net_install(int listener, uint64_t id, int fd, int target, bool cloexec)
{
	struct seccomp_notif_addfd a = {
		.id = id,
		.flags = SECCOMP_ADDFD_FLAG_SETFD,
		.srcfd = (__u32)fd,
		.newfd = (__u32)target,
		.newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	int rc = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);

	if (rc < 0)
		return -errno;
	return rc == target ? 0 : -EBADF;
}

int net_connect(int fd, const struct sockaddr *addr, socklen_t len, bool nonblock, int flags)
{
	int want, rc;

	if (flags < 0)
		flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -errno;
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	rc = connect(fd, addr, len) < 0 ? -errno : 0;
	/* The file is shared with the program: it gets back its own blocking mode (a
	   non-blocking one has it already). */
	want = nonblock ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
	if (want != (flags | O_NONBLOCK) && fcntl(fd, F_SETFL, want) < 0 && rc == 0)
		rc = -errno;
	/* A non-blocking unix connect with a full backlog says EAGAIN, not EINPROGRESS. */
	return rc;
}

int net_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return bind(fd, addr, len) < 0 ? -errno : 0;
}

void net_msg_free(struct net_msg *m)
{
	for (size_t i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	free(m->fds);
	free(m->data);
	free(m->control);
	m->fds = NULL;
	m->nfds = m->fds_cap = 0;
	m->data = NULL;
	m->control = NULL;
}

int net_copy_buf(pid_t pid, unsigned long buf, size_t len, bool stream, struct net_msg *m)
{
	if (len > NET_MAX_PAYLOAD) {
		if (!stream)
			return -EMSGSIZE;
		len = NET_MAX_PAYLOAD;
		m->cut = true;
	}
	m->data = xcalloc(1, len ? len : 1);
	m->len = len;
	return mem_read(pid, buf, m->data, len);
}

/*
 * Make the control data the program wrote (in m) mean the same when the supervisor sends it:
 * descriptors passed with SCM_RIGHTS are numbers in the program's table, so each is replaced
 * by the supervisor's duplicate of the same open file (closed by net_msg_free()). Credentials
 * (SCM_CREDENTIALS) would be checked against the supervisor's: refused. 0, -EINVAL
 * (malformed), -EBADF (a descriptor the program does not have) or -EPERM.
 */
static int translate_control(pid_t pid, struct net_msg *m)
{
	struct msghdr mh = {.msg_control = m->control, .msg_controllen = m->controllen};
	cleanup_fd int pidfd = -1;
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t n;

		if (cm->cmsg_len < CMSG_LEN(0) ||
		    cm->cmsg_len > m->controllen - (size_t)((uint8_t *)cm - m->control))
			return -EINVAL;
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS || cm->cmsg_type == SCM_PIDFD)
			return -EPERM;
		if (cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (pidfd < 0 && (pidfd = pidfd_of(pid)) < 0)
			return pidfd;
		for (size_t i = 0; i < n; i++) {
			int theirs, ours;

			memcpy(&theirs, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			ours = theirs < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, theirs, 0);
			if (ours < 0)
				return -EBADF;
			GROW(m->fds, m->fds_cap, m->nfds + 1);
			m->fds[m->nfds++] = ours;
			memcpy(CMSG_DATA(cm) + i * sizeof(int), &ours, sizeof(int));
		}
	}
	return 0;
}

int net_copy_msg(pid_t pid, const struct msghdr *mh, bool stream, struct net_msg *m)
{
	cleanup_free struct iovec *iov = NULL;
	size_t n = mh->msg_iovlen, total = 0, off = 0, i;
	int rc;

	if (n > UIO_MAX)
		return -EMSGSIZE;
	if (n) {
		iov = xcalloc(n, sizeof(*iov));
		rc = mem_read(pid, (unsigned long)mh->msg_iov, iov, n * sizeof(*iov));
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < n && total <= NET_MAX_PAYLOAD; i++)
		total +=
			iov[i].iov_len < NET_MAX_PAYLOAD + 1 ? iov[i].iov_len : NET_MAX_PAYLOAD + 1;
	if (total > NET_MAX_PAYLOAD) {
		if (!stream)
			return -EMSGSIZE;
		total = NET_MAX_PAYLOAD;
		m->cut = true;
	}
	m->data = xcalloc(1, total ? total : 1);
	m->len = total;
	for (i = 0; i < n && off < total; i++) {
		size_t take = iov[i].iov_len < total - off ? iov[i].iov_len : total - off;

		rc = mem_read(pid, (unsigned long)iov[i].iov_base, m->data + off, take);
		if (rc < 0)
			return rc;
		off += take;
	}
	if (mh->msg_controllen) {
		if (mh->msg_controllen > NET_MAX_CONTROL)
			return -ENOBUFS;
		m->control = xcalloc(1, mh->msg_controllen);
		m->controllen = mh->msg_controllen;
		rc = mem_read(pid, (unsigned long)mh->msg_control, m->control, m->controllen);
		if (rc < 0)
			return rc;
		rc = translate_control(pid, m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

ssize_t net_send(int fd, const struct net_msg *m)
{
	struct iovec iov = {.iov_base = m->data, .iov_len = m->len};
	struct msghdr mh = {
		.msg_name = m->addrlen ? (void *)&m->addr : NULL,
		.msg_namelen = m->addrlen,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = m->control,
		.msg_controllen = m->controllen,
	};
	ssize_t n;

	/* MSG_NOSIGNAL: a closed peer is the program's EPIPE, never the supervisor's SIGPIPE. */
	n = sendmsg(fd, &mh, m->flags | MSG_DONTWAIT | MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

/* ---- waits ---- */

struct net_waiter {
	struct net_watch watch; /* first: the epoll data points here */
	struct net_waits *nw;
	uint64_t id;
	int fd;
	enum net_wait_kind kind;
	struct net_msg *msgs;
	size_t nmsgs;
	struct net_waiter *next;
};

struct net_waits {
	int epfd;
	int listener;
	struct net_waiter *list;
	unsigned n;
};

struct net_waits *net_waits_new(int listener)
{
	struct net_waits *nw = xcalloc(1, sizeof(*nw));

	nw->listener = listener;
	nw->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (nw->epfd < 0) {
		free(nw);
		return NULL;
	}
	return nw;
}

static void waiter_free(struct net_waiter *w)
{
	for (size_t i = 0; i < w->nmsgs; i++)
		net_msg_free(&w->msgs[i]);
	free(w->msgs);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

static void waiter_unlink(struct net_waits *nw, struct net_waiter *w)
{
	struct net_waiter **pp;

	for (pp = &nw->list; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			nw->n--;
			break;
		}
	epoll_ctl(nw->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

void net_waits_free(struct net_waits *nw)
{
	if (!nw)
		return;
	while (nw->list) {
		struct net_waiter *w = nw->list;

		waiter_unlink(nw, w);
		waiter_free(w);
	}
	close(nw->epfd);
	free(nw);
}

int net_waits_fd(const struct net_waits *nw)
{
	return nw->epfd;
}

unsigned net_waits_count(const struct net_waits *nw)
{
	return nw->n;
}

int net_watch_add(struct net_waits *nw, int fd, uint32_t events, struct net_watch *w)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(nw->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void net_watch_del(struct net_waits *nw, int fd)
{
	epoll_ctl(nw->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void respond(struct net_waits *nw, uint64_t id, long long val, int err)
{
	struct seccomp_notif_resp resp = {.id = id, .val = err ? 0 : val, .error = err ? -err : 0};

	/* ENOENT: the task died or its call was interrupted meanwhile; nothing waits. */
	(void)ioctl(nw->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* Send the waiter's messages: the count of messages (sendmmsg), of bytes, or -errno. */
static long long send_all(struct net_waiter *w, bool mmsg)
{
	long long sent = 0;

	for (size_t i = 0; i < w->nmsgs; i++) {
		ssize_t n = net_send(w->fd, &w->msgs[i]);

		if (n < 0)
			return i == 0 ? n : (long long)i;
		sent = mmsg ? (long long)i + 1 : n;
	}
	return sent;
}

/*
 * The answer to a waiter whose socket is ready: *val and *err. Returns false while a send
 * still finds the socket full (wait on).
 */
static bool waiter_result(struct net_waiter *w, long long *val, int *err)
{
	*val = 0;
	*err = 0;
	if (w->kind == NET_WAIT_CONNECT) {
		socklen_t len = sizeof(*err);

		if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, err, &len) < 0)
			*err = errno;
		if (*err == 0 && w->nmsgs) {
			/* TCP Fast Open on a blocking socket: connected; now the data. */
			*val = send_all(w, false);
			if (*val < 0) {
				*err = (int)-*val;
				*val = 0;
			}
		}
		return true;
	}
	*val = send_all(w, w->kind == NET_WAIT_SENDMMSG);
	if (*val == -EAGAIN)
		return false;
	if (*val < 0) {
		*err = (int)-*val;
		*val = 0;
	}
	return true;
}

static void waiter_ready(struct net_watch *watch, uint32_t events)
{
	struct net_waiter *w = (struct net_waiter *)watch;
	struct net_waits *nw = w->nw;
	long long val;
	int err;

	(void)events;
	if (!waiter_result(w, &val, &err))
		return; /* still full: wait on */
	waiter_unlink(nw, w);
	respond(nw, w->id, val, err);
	waiter_free(w);
}

/*
 * Whether a connect that said EINPROGRESS has finished already. On loopback and on a nearby
 * host the handshake is often done by the time connect() returns: answering at once spares
 * the epoll registration, a wake-up of the loop and the deregistration (bench/README.md,
 * "Connection set-up").
 */
static bool connect_done(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	return poll(&p, 1, 0) == 1;
}

int net_wait(struct net_waits *nw, uint64_t id, int fd, enum net_wait_kind kind,
	     struct net_msg *msgs, size_t nmsgs)
{
	struct net_waiter *w;
	long long val;
	int rc, err;

	if (nw->n >= NET_MAX_WAITS)
		return -EAGAIN;
	w = xcalloc(1, sizeof(*w));
	w->watch.ready = waiter_ready;
	w->nw = nw;
	w->id = id;
	w->fd = fd;
	w->kind = kind;
	w->msgs = msgs;
	w->nmsgs = nmsgs;
	if (kind == NET_WAIT_CONNECT && connect_done(fd) && waiter_result(w, &val, &err)) {
		respond(nw, id, val, err);
		waiter_free(w);
		return 0;
	}
	rc = net_watch_add(nw, fd, EPOLLOUT, &w->watch);
	if (rc < 0) {
		free(w);
		return rc;
	}
	w->next = nw->list;
	nw->list = w;
	nw->n++;
	return 0;
}

void net_waits_process(struct net_waits *nw, bool readable)
{
	struct net_waiter *w, *next;

	if (readable) {
		struct epoll_event evs[64];
		int k = epoll_wait(nw->epfd, evs, 64, 0);

		for (int i = 0; i < k; i++) {
			struct net_watch *watch = evs[i].data.ptr;

			watch->ready(watch, evs[i].events);
		}
	}
	/* A task that died (or whose call a signal interrupted) waits for nothing. */
	for (w = nw->list; w; w = next) {
		__u64 id = w->id;

		next = w->next;
		if (ioctl(nw->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0)
			continue;
		waiter_unlink(nw, w);
		waiter_free(w);
	}
}

int net_abstract_bound(pid_t pid, const char *name, size_t len)
{
	char path[64];
	cleanup_file FILE *f = NULL;
	cleanup_free char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/net/unix", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/net/unix");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "Num RefCount Protocol Flags Type St Inode Path": abstract paths start with '@',
	   and NUL bytes in the name are shown as '@' too. */
	while ((n = getline(&line, &cap, f)) > 0) {
		char *at = strstr(line, " @");
		size_t i;

		if (!at)
			continue;
		at += 2;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (strlen(at) != len)
			continue;
		for (i = 0; i < len; i++)
			if (at[i] != (name[i] == '\0' ? '@' : name[i]))
				break;
		if (i == len)
			return 1;
	}
	return 0;
}
