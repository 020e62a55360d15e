/* SPDX-License-Identifier: MIT */
/* The notifier's network calls and the sandbox's DNS asks (design.md "Network"; net.h). */
#include "supervisor/supervise/notify_int.h"

/* ---- the network (design.md "Network"; the mechanics are in net.h) ---- */

/* Messages of one sendmmsg the supervisor sends itself; sendmmsg returns how many went, and
   the program sends the rest in its next call. */
#define NET_MAX_MMSG 64

/* Where a call's address leads. */
enum dest_kind {
	DEST_NONE,	/* no address: a connected socket */
	DEST_INSIDE,	/* the sandbox's own network or filesystem (or nowhere: AF_UNSPEC) */
	DEST_OUTSIDE,	/* the host's network: decided */
	DEST_HOST_UNIX, /* a Unix socket of the host, pathname or abstract: decided */
};

/* A network call, copied once: everything deciding and acting on it needs. */
struct net_call {
	const struct sys_desc *sd;
	pid_t pid;
	int fd;		      /* the program's descriptor */
	int flags;	      /* send flags */
	struct net_sock sock; /* our duplicate of the program's socket; fd -1 until needed */
	bool have_sock;
	struct sockaddr_storage addr; /* the destination: the (first) message's */
	socklen_t addrlen;
	enum dest_kind kind;
	const struct rule *loop_rule; /* a host-local destination sent to the host by this rule */
	bool host_local;	      /* the host's loopback or one of its own addresses */
	char target[300];	      /* as recorded: "1.2.3.4:443", "[::1]:80", "unix:/x" */
	char *name;		      /* the name it is decided and shown by, or NULL */
	char *names[RESOLVER_NAMES_PER_ADDR]; /* every name the address was looked up under */
	size_t nnames;
	const struct rule *rule; /* DEST_OUTSIDE, DEST_HOST_UNIX: the rule that decides, or NULL */
	enum rule_action action; /*   and its verdict (RULE_DENY when no rule matched) */
	const char *why;	 /*   a note on the verdict, or NULL */
	char *host_path;	 /* DEST_HOST_UNIX pathname: the host's socket, resolved */
	bool fastopen;		 /* a stream send with MSG_FASTOPEN: a connect */
	struct msghdr *hdrs;	 /* sendmsg/sendmmsg: the headers copied */
	size_t nhdrs;
	unsigned long mmsg_addr;   /* sendmmsg: where its array is (for msg_len) */
	unsigned long buf, buflen; /* sendto: the payload */
};

void net_call_free(struct net_call *c)
{
	if (!c)
		return;
	net_sock_put(&c->sock);
	free(c->name);
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->host_path);
	free(c->hdrs);
	free(c);
}

/* Every name the program looked up through the sandbox's DNS that gave the address. */
static void names_of(const struct notifier *n, struct net_call *c)
{
	const char *names[RESOLVER_NAMES_PER_ADDR];

	c->nnames =
		n->dns ? resolver_names_of(n->dns, (const struct sockaddr *)&c->addr, names) : 0;
	for (size_t i = 0; i < c->nnames; i++)
		c->names[i] = xstrdup(names[i]);
}

/* An IPv4 address (host order) of ss, true when it has one (IPv4-mapped IPv6 included). */
static bool v4_of(const struct sockaddr_storage *ss, uint32_t *a)
{
	if (ss->ss_family == AF_INET) {
		*a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(a, a6->s6_addr + 12, 4);
			*a = ntohl(*a);
			return true;
		}
	}
	return false;
}

/* Whether the kernel lets a socket of family bind addresses that are not the host's
   (net.ipv4.ip_nonlocal_bind, net.ipv6.ip_nonlocal_bind); unknown counts as yes. */
static bool nonlocal_bind(int family)
{
	const char *path = family == AF_INET ? "/proc/sys/net/ipv4/ip_nonlocal_bind"
					     : "/proc/sys/net/ipv6/ip_nonlocal_bind";
	char v = '1';
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &v, 1) != 1)
			v = '1';
		close(fd);
	}
	return v != '0';
}

/* Whether ss is an address of one of the host's interfaces, as getifaddrs() lists them. */
static bool listed_own_address(const struct sockaddr_storage *ss)
{
	struct ifaddrs *ifs, *i;
	bool own = false;
	uint32_t v4;
	bool is_v4 = v4_of(ss, &v4);

	if (getifaddrs(&ifs) < 0)
		return true;
	for (i = ifs; i && !own; i = i->ifa_next) {
		const struct sockaddr *a = i->ifa_addr;

		if (!a)
			continue;
		if (is_v4 && a->sa_family == AF_INET)
			own = ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) == v4;
		else if (!is_v4 && a->sa_family == AF_INET6 && ss->ss_family == AF_INET6)
			own = IN6_ARE_ADDR_EQUAL(&((const struct sockaddr_in6 *)a)->sin6_addr,
						 &((const struct sockaddr_in6 *)ss)->sin6_addr);
	}
	freeifaddrs(ifs);
	return own;
}

/*
 * Whether ss is one of the host's own addresses: a connection there from the host's network
 * reaches the host's own services, as the loopback does. The kernel answers exactly, and in
 * a few microseconds: a socket binds only to an address that is local (an interface's, a
 * `local` route's, or a broadcast address, which reaches the host too). Where the sysctl
 * lets any address be bound, the interfaces' addresses are compared instead (getifaddrs(),
 * about 90 us). Multicast is not the host's. Fails closed: an address the kernel cannot
 * place counts as the host's.
 */
static bool host_own_address(const struct sockaddr_storage *ss)
{
	struct sockaddr_storage a;
	socklen_t len;
	uint32_t v4;
	int fd, rc, err;

	memset(&a, 0, sizeof(a));
	if (v4_of(ss, &v4)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a;

		if ((v4 >> 28) == 14)
			return false; /* 224.0.0.0/4 */
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(v4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;

		*s6 = *(const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_MULTICAST(&s6->sin6_addr))
			return false;
		s6->sin6_port = 0;
		s6->sin6_flowinfo = 0;
		len = sizeof(*s6);
	}
	if (nonlocal_bind(a.ss_family))
		return listed_own_address(&a);
	fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	rc = bind(fd, (const struct sockaddr *)&a, len);
	err = errno;
	close(fd);
	return rc == 0 || err != EADDRNOTAVAIL;
}

/*
 * Whether ss is in a private, shared (carrier-grade NAT), link-local or unique-local range:
 * 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16 (the cloud metadata service's
 * 169.254.169.254 among them), fc00::/7, fe80::/10. A name's address is what its DNS says,
 * so a public name can point into the local network ("DNS rebinding").
 */
static bool private_address(const struct sockaddr_storage *ss)
{
	uint32_t a;

	if (v4_of(ss, &a))
		return (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) ||
		       (a >> 16) == (192u << 8 | 168) || (a >> 22) == (100u << 2 | 1) ||
		       (a >> 16) == (169u << 8 | 254);
	if (ss->ss_family == AF_INET6) {
		const uint8_t *b = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;

		return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
	}
	return false;
}

static bool is_loopback(const struct sockaddr_storage *ss, bool *unspecified)
{
	*unspecified = false;
	if (ss->ss_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);

		*unspecified = a == 0;
		return (a >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			/* ::ffff:a.b.c.d is the IPv4 address a.b.c.d. */
			*unspecified = (a->s6_addr[12] | a->s6_addr[13] | a->s6_addr[14] |
					a->s6_addr[15]) == 0;
			return a->s6_addr[12] == 127;
		}
		*unspecified = IN6_IS_ADDR_UNSPECIFIED(a);
		return IN6_IS_ADDR_LOOPBACK(a);
	}
	return false;
}

/* Format a socket address for the record. */
static void describe_addr(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t sz)
{
	char host[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, sz, "%s:%u", host, ntohs(sin->sin_port));
		return;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, sz, "[%s]:%u", host, ntohs(s6->sin6_port));
		return;
	}
	case AF_UNIX: {
		const struct sockaddr_un *sun = (const void *)ss;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path)
				      ? len - offsetof(struct sockaddr_un, sun_path)
				      : 0;
		char name[sizeof(sun->sun_path) + 1];

		if (plen > sizeof(sun->sun_path))
			plen = sizeof(sun->sun_path);
		if (plen > 0 && sun->sun_path[0] == '\0') {
			/* NUL bytes inside an abstract name are shown as '@', as /proc does. */
			for (size_t i = 1; i < plen; i++)
				name[i - 1] = sun->sun_path[i] ? sun->sun_path[i] : '@';
			name[plen - 1] = '\0';
			snprintf(out, sz, "unix:@%s", name);
		} else {
			memcpy(name, sun->sun_path, plen);
			name[plen] = '\0';
			snprintf(out, sz, "unix:%s", name);
		}
		return;
	}
	case AF_UNSPEC:
		snprintf(out, sz, "unspec");
		return;
	default:
		snprintf(out, sz, "family-%u", ss->ss_family);
		return;
	}
}

/* Copy a sockaddr of the given length. 0, or -EFAULT / -EINVAL. */
static int copy_addr(const struct notifier *n, unsigned long addr, unsigned long len,
		     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	/* The length is an int (socklen_t): the kernel refuses more than sockaddr_storage. */
	len = (unsigned)len;
	if (len > sizeof(*ss))
		return -EINVAL;
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	return mem_read((pid_t)n->req->pid, addr, ss, len);
}

/* The pathname of a Unix address, or NULL for an abstract or unnamed one. */
static char *unix_path(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_un *sun = (const void *)ss;
	size_t off = offsetof(struct sockaddr_un, sun_path), plen;

	if (len <= off || sun->sun_path[0] == '\0')
		return NULL;
	plen = len - off < sizeof(sun->sun_path) ? len - off : sizeof(sun->sun_path);
	return xstrndup(sun->sun_path, strnlen(sun->sun_path, plen));
}

/*
 * Whether the Unix socket at path (absolute, resolved in the sandbox's view) is one the
 * program made: it is in an upper directory of the session's overlays.
 */
static bool made_inside(const struct notifier *n, const char *path)
{
	const struct plan_item *best = NULL;
	cleanup_free char *upper = NULL;
	struct stat st;

	for (size_t i = 0; n->plan && i < n->plan->n; i++) {
		const struct plan_item *it = &n->plan->items[i];

		if ((it->kind == PLAN_OVERLAY || it->kind == PLAN_SCRATCH ||
		     it->kind == PLAN_LOWER) &&
		    !it->hidden && path_is_under(path, it->path) &&
		    (!best || strlen(it->path) > strlen(best->path)))
			best = it;
	}
	if (!best)
		return true; /* no overlay holds it: the sandbox's own tmpfs */
	if (best->kind == PLAN_LOWER)
		return false; /* a read-only view of the host's: nothing is made in it */
	upper = path_join(best->upper, path + strlen(best->path));
	return lstat(upper, &st) == 0;
}

/* An O_PATH descriptor of the host's socket at path, never through a symlink, or -errno. */
static int open_host_socket(const char *path)
{
	int fd = openat2_fd(AT_FDCWD, path, O_PATH, RESOLVE_NO_SYMLINKS);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		close(fd);
		return -ENOTSOCK;
	}
	return fd;
}

/* Where a Unix address leads, for a socket of the sandbox. */
static enum dest_kind classify_unix(struct notifier *n, struct net_call *c)
{
	const struct sockaddr_un *sun = (const void *)&c->addr;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	cleanup_free char *raw = NULL, *abs = NULL, *real = NULL;
	int fd;

	if (c->addrlen <= off)
		return DEST_INSIDE; /* unnamed: nothing to reach */
	if (sun->sun_path[0] == '\0') {
		size_t len = c->addrlen - off - 1;

		if (len > sizeof(sun->sun_path) - 1)
			len = sizeof(sun->sun_path) - 1;
		/* The sandbox's own abstract namespace first: a name bound there is its own. */
		if (net_abstract_bound(c->pid, sun->sun_path + 1, len) != 0)
			return DEST_INSIDE;
		return net_abstract_bound(0, sun->sun_path + 1, len) == 1 ? DEST_HOST_UNIX
									  : DEST_INSIDE;
	}
	raw = unix_path(&c->addr, c->addrlen);
	abs = resolve_for_record(c->pid, AT_FDCWD, raw);
	real = sb_realpath(c->pid, abs);
	if (!real || made_inside(n, real))
		return DEST_INSIDE;
	/* Through the overlay a host socket refuses connections; it is reached, if allowed, by
	   the supervisor on the host. */
	fd = open_host_socket(real);
	if (fd < 0)
		return DEST_INSIDE;
	close(fd);
	c->host_path = steal_pointer(&real);
	return DEST_HOST_UNIX;
}

/* Take the duplicate of the program's socket, when not yet done. 0 or -errno. */
static int need_sock(struct notifier *n, struct net_call *c)
{
	int rc;

	if (c->have_sock)
		return 0;
	rc = net_sock_get(c->pid, c->fd, n->sandbox_cookie, &c->sock);
	if (rc < 0)
		return rc;
	c->have_sock = true;
	return 0;
}

/*
 * Where the call's destination leads. Before the program holds any socket of the host's, every
 * socket it has is the sandbox's, and loopback and Unix addresses stay inside without looking
 * at the socket; after, the socket decides too: for a host socket, every address is the host's.
 */
static int classify(struct notifier *n, struct net_call *c)
{
	bool unspec = false, loop = false;
	int rc;

	if (c->addrlen == 0) {
		c->kind = DEST_NONE;
		return 0;
	}
	if (c->addr.ss_family != AF_INET && c->addr.ss_family != AF_INET6 &&
	    c->addr.ss_family != AF_UNIX) {
		c->kind = DEST_INSIDE; /* AF_UNSPEC dissolves an association; others: the
					  socket's own family refuses them */
		return 0;
	}
	if (c->addr.ss_family != AF_UNIX) {
		struct rules_target t;

		loop = is_loopback(&c->addr, &unspec);
		/* The host's loopback and its own addresses answer only to rules that name them:
		   never to a name the program looked up (its DNS answer may say 127.0.0.1), so
		   a connection there is decided as "localhost" or by the bare address. */
		c->host_local =
			loop || (!unspec && c->sd->cls != CLASS_BIND && host_own_address(&c->addr));
		if (c->host_local && n->rules &&
		    rules_target_from_sockaddr(&t, (const struct sockaddr *)&c->addr, c->addrlen,
					       loop ? "localhost" : NULL) == 0)
			c->loop_rule = rules_match_loopback(n->rules, &t);
		/* A deny of the host's loopback leaves the sandbox's own. */
		if (loop && c->loop_rule && c->loop_rule->action == RULE_DENY)
			c->loop_rule = NULL;
		if (!(loop || unspec) || c->loop_rule)
			names_of(n, c); /* recorded; the sandbox's own loopback needs none */
		if (!c->host_local && c->nnames)
			c->name = xstrdup(c->names[0]);
	}
	/* The socket matters once host sockets exist, and for destinations outside. */
	if (n->host_sockets || (c->addr.ss_family != AF_UNIX && c->sd->cls != CLASS_BIND &&
				(!(loop || unspec) || c->loop_rule))) {
		rc = need_sock(n, c);
		if (rc < 0)
			return rc;
	}
	if (c->have_sock && !c->sock.inside) {
		/* A socket of the host's (one the supervisor installed): nothing is inside. */
		if (c->sd->cls == CLASS_BIND || c->sock.domain == AF_UNIX)
			return -EACCES;
		c->kind = DEST_OUTSIDE;
	} else if (c->sd->cls == CLASS_BIND) {
		/* A bind happens in the sandbox's own network namespace or overlay. */
		c->kind = DEST_INSIDE;
		return 0;
	} else if (c->addr.ss_family == AF_UNIX) {
		c->kind = classify_unix(n, c);
		return 0;
	} else {
		/* The sandbox's loopback, unless a rule names the host's loopback explicitly. */
		c->kind = (loop || unspec) && !c->loop_rule ? DEST_INSIDE : DEST_OUTSIDE;
	}
	/* A stream socket ignores a send's address unless it is TCP Fast Open's connect. */
	if (c->sd->cls == CLASS_SEND && c->have_sock && c->sock.type == SOCK_STREAM) {
		c->fastopen = (c->flags & MSG_FASTOPEN) != 0;
		if (!c->fastopen)
			c->kind = DEST_INSIDE;
	}
	if (c->kind == DEST_OUTSIDE && (loop || unspec) && !c->name)
		c->name = xstrdup("localhost");
	return 0;
}

static const char *protocol_name(const struct net_sock *s)
{
	if (s->domain == AF_UNIX)
		return s->type == SOCK_STREAM  ? "unix-stream"
		       : s->type == SOCK_DGRAM ? "unix-dgram"
					       : "unix-seqpacket";
	if (s->type == SOCK_STREAM)
		return s->protocol == IPPROTO_MPTCP ? "mptcp" : "tcp";
	if (s->type == SOCK_DGRAM)
		return s->protocol == IPPROTO_ICMP || s->protocol == IPPROTO_ICMPV6 ? "icmp"
										    : "udp";
	return s->protocol == IPPROTO_SCTP ? "sctp" : "other";
}

/* Address, port, protocol and name of the destination, on the event (and the ask). */
static cJSON *destination_json(const struct net_call *c)
{
	cJSON *o = cJSON_CreateObject();
	char host[INET6_ADDRSTRLEN];

	if (c->addr.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&c->addr;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		cJSON_AddStringToObject(o, "address", host);
		cJSON_AddNumberToObject(o, "port", ntohs(sin->sin_port));
	} else if (c->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&c->addr;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		cJSON_AddStringToObject(o, "address", host);
		cJSON_AddNumberToObject(o, "port", ntohs(s6->sin6_port));
	}
	if (c->have_sock)
		cJSON_AddStringToObject(o, "protocol", protocol_name(&c->sock));
	/* Every name the address stands for, when it is not just the one shown. */
	if (c->nnames > 1 || (c->nnames == 1 && (!c->name || strcmp(c->name, c->names[0])))) {
		cJSON *a = cJSON_AddArrayToObject(o, "names");

		for (size_t i = 0; i < c->nnames; i++)
			cJSON_AddItemToArray(a, json_text(c->names[i]));
	}
	if (c->why)
		cJSON_AddStringToObject(o, "reason", c->why);
	return o;
}

static void add_destination(cJSON *ev, const struct net_call *c)
{
	cJSON *d = destination_json(c), *x;

	if (c->name)
		cJSON_AddItemToObject(ev, "name", json_text(c->name));
	while ((x = d->child)) {
		cJSON_DetachItemViaPointer(d, x);
		cJSON_AddItemToObject(ev, x->string, x);
	}
	cJSON_Delete(d);
}

/* A "net" event about what went wrong after a decision was recorded. */
static void record_failure(struct notifier *n, const struct net_call *c, const char *what, int err)
{
	cJSON *ev = cJSON_CreateObject();

	/* Not new_event(): after an ask, the request buffer holds another call. */
	cJSON_AddNumberToObject(ev, "pid", c->pid);
	add_process(n, ev, c->pid);
	cJSON_AddStringToObject(ev, "class", "net");
	cJSON_AddStringToObject(ev, "op", c->sd->name);

	cJSON_AddItemToObject(ev, "target", json_text(c->target));
	cJSON_AddStringToObject(ev, "note", what);
	cJSON_AddStringToObject(ev, "result", errno_name(err));
	if (!n->log_broken && events_append(n->log, ev) < 0)
		n->log_broken = true;
}

/* sockaddr_un "/proc/self/fd/N": connect or send to the socket file fd names. */
static socklen_t proc_fd_addr(int fd, struct sockaddr_storage *ss)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "/proc/self/fd/%d", fd);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sun->sun_path) + 1);
}

/*
 * The address the supervisor itself uses for c: its own copy, except for Unix pathnames,
 * which name the socket file through a descriptor (*pathfd, closed by the caller) found
 * where the program would find it: on the host for a host socket, else in the sandbox's
 * view (RESOLVE_IN_ROOT from its root). 0 or -errno.
 */
static int own_address(struct net_call *c, struct sockaddr_storage *ss, socklen_t *len, int *pathfd)
{
	cleanup_free char *raw = NULL, *abs = NULL;

	*pathfd = -1;
	*ss = c->addr;
	*len = c->addrlen;
	if (c->addr.ss_family != AF_UNIX || !(raw = unix_path(&c->addr, c->addrlen)))
		return 0;
	if (c->kind == DEST_HOST_UNIX) {
		*pathfd = open_host_socket(c->host_path);
	} else if (c->sd->cls == CLASS_BIND) {
		/* A bind creates the file: name it through its directory, found in the sandbox. */
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;
		cleanup_free char *dir = NULL;
		char *slash;
		int k;

		abs = resolve_for_record(c->pid, AT_FDCWD, raw);
		dir = xstrdup(abs);
		slash = strrchr(dir, '/');
		if (!slash || !slash[1])
			return -EINVAL;
		*slash = '\0';
		*pathfd = openat2_in_view(c->pid, dir[0] ? dir : "/", O_PATH | O_DIRECTORY);
		if (*pathfd < 0)
			return *pathfd;
		memset(ss, 0, sizeof(*ss));
		sun->sun_family = AF_UNIX;
		k = snprintf(sun->sun_path, sizeof(sun->sun_path), "/proc/self/fd/%d/%s", *pathfd,
			     slash + 1);
		if (k < 0 || (size_t)k >= sizeof(sun->sun_path))
			return -ENAMETOOLONG;
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)k + 1);
		return 0;
	} else {
		abs = resolve_for_record(c->pid, AT_FDCWD, raw);
		*pathfd = openat2_in_view(c->pid, abs, O_PATH);
	}
	if (*pathfd < 0)
		return *pathfd;
	*len = proc_fd_addr(*pathfd, ss);
	return 0;
}

/* Copy the payloads of c's messages (sends). *nout messages, or -errno. */
static int copy_payloads(struct net_call *c, const struct sockaddr_storage *to, socklen_t tolen,
			 struct net_msg **out, size_t *nout)
{
	bool stream = c->sock.type == SOCK_STREAM;
	struct net_msg *m;
	size_t count = c->sd->nr == SYS_sendto ? 1 : c->nhdrs, i;
	int rc = 0;

	m = xcalloc(count ? count : 1, sizeof(*m));
	for (i = 0; i < count && rc == 0; i++) {
		m[i].flags = c->flags & ~MSG_FASTOPEN;
		if (c->sd->nr == SYS_sendto)
			rc = net_copy_buf(c->pid, c->buf, c->buflen, stream, &m[i]);
		else
			rc = net_copy_msg(c->pid, &c->hdrs[i], stream, &m[i]);
		if (c->kind != DEST_NONE && !(stream && !c->fastopen)) {
			m[i].addr = *to;
			m[i].addrlen = tolen;
		}
		if (c->fastopen)
			m[i].addrlen = 0; /* sent once connected */
	}
	if (rc < 0) {
		for (size_t k = 0; k < i; k++)
			net_msg_free(&m[k]);
		free(m);
		return rc;
	}
	*out = m;
	*nout = count;
	return 0;
}

/* sendmmsg's msg_len for each message sent, as the kernel writes them. */
static void write_mmsg_lens(const struct net_call *c, const struct net_msg *m, long long count)
{
	for (long long i = 0; i < count; i++) {
		unsigned int len = (unsigned)m[i].len;

		(void)mem_write(c->pid,
				c->mmsg_addr + (unsigned long)i * sizeof(struct mmsghdr) +
					offsetof(struct mmsghdr, msg_len),
				&len, sizeof(len));
	}
}

static struct verdict result(long long val, int err)
{
	struct verdict v = {.decision = "allow", .err = err, .val = val};

	return v;
}

static void free_msgs(struct net_msg *msgs, size_t nmsgs)
{
	for (size_t k = 0; k < nmsgs; k++)
		net_msg_free(&msgs[k]);
	free(msgs);
}

/* Free the messages and answer the call with rc: 0, or -errno to fail it with. */
static int answer_rc(struct notifier *n, __u64 id, struct net_msg *msgs, size_t nmsgs, int rc)
{
	free_msgs(msgs, nmsgs);
	return respond_id(n, id, result(0, rc < 0 ? -rc : 0));
}

/*
 * A destination outside reached from a socket of the sandbox: create a host socket and
 * install it in place of the program's (so replies reach it). *fd is the socket to act on.
 * 0, or -errno to answer with; *gone when the call went away meanwhile (nothing to answer).
 */
static int use_host_socket(struct notifier *n, __u64 id, struct net_call *c, int *host, int *fd,
			   bool *gone)
{
	int rc;

	*fd = c->sock.fd;
	if (!((c->kind == DEST_OUTSIDE || c->kind == DEST_HOST_UNIX) && c->sock.inside))
		return 0;
	*host = net_host_socket(&c->sock);
	if (*host < 0) {
		record_failure(n, c, "cannot create the host socket", -*host);
		return *host;
	}
	rc = net_install(n->fd, id, *host, c->fd, c->sock.cloexec);
	if (rc == -ENOENT) {
		*gone = true;
		return rc;
	}
	if (rc < 0) {
		/* Nothing was connected or sent: the program's socket is as it was. */
		record_failure(n, c, "cannot install the host socket", -rc);
		return rc;
	}
	n->host_sockets = true;
	*fd = *host;
	return 0;
}

/*
 * Leave the call to wait until its socket is ready: the program waits, the supervisor does
 * not. Takes the socket (the host one, else the program's copy) and, on success, msgs.
 * 0, or -errno (the socket closed, msgs still the caller's).
 */
static int wait_ready(struct notifier *n, __u64 id, struct net_call *c, int *host,
		      enum net_wait_kind kind, struct net_msg *msgs, size_t nmsgs)
{
	int own = *host >= 0 ? steal_fd(host) : steal_fd(&c->sock.fd);
	int rc = net_wait(n->waits, id, own, kind, msgs, nmsgs);

	if (rc < 0)
		close(own);
	return rc;
}

/* Send c's messages on fd and answer: bytes (messages for sendmmsg) or the error. Takes msgs. */
static int act_send(struct notifier *n, __u64 id, struct net_call *c, int fd, int *host, int pathfd,
		    struct net_msg *msgs, size_t nmsgs)
{
	bool mmsg = c->sd->nr == SYS_sendmmsg;
	long long sent = 0;
	size_t i;
	int rc = 0;

	for (i = 0; i < nmsgs; i++) {
		ssize_t k = net_send(fd, &msgs[i]);

		if (k < 0) {
			rc = (int)k;
			break;
		}
		msgs[i].len = (size_t)k;
		sent = mmsg ? (long long)i + 1 : k;
	}
	/* A blocking socket that is full: wait, unless the messages name a Unix socket
	   through pathfd, which is closed when this returns (answered EAGAIN). */
	if (i == 0 && rc == -EAGAIN && !c->sock.nonblock && pathfd < 0) {
		rc = wait_ready(n, id, c, host, mmsg ? NET_WAIT_SENDMMSG : NET_WAIT_SEND, msgs,
				nmsgs);
		if (rc == 0)
			return 0;
		return answer_rc(n, id, msgs, nmsgs, rc);
	}
	if (mmsg && sent > 0)
		write_mmsg_lens(c, msgs, sent);
	free_msgs(msgs, nmsgs);
	if (i > 0 || nmsgs == 0)
		return respond_id(n, id, result(sent, 0));
	return respond_id(n, id, result(0, -rc));
}

/*
 * Perform the call for the program, on a socket the supervisor controls, with its own copies,
 * and answer notification id (or leave it to a wait). The decision is recorded already.
 */
static int net_act(struct notifier *n, __u64 id, struct net_call *c)
{
	cleanup_fd int host = -1, pathfd = -1;
	struct sockaddr_storage to;
	socklen_t tolen;
	struct net_msg *msgs = NULL;
	size_t nmsgs = 0;
	bool gone = false;
	__u64 vid = id;
	int fd, rc;

	rc = need_sock(n, c);
	if (rc == 0)
		rc = own_address(c, &to, &tolen, &pathfd);
	if (rc == 0 && c->sd->cls == CLASS_SEND)
		rc = copy_payloads(c, &to, tolen, &msgs, &nmsgs);
	if (rc < 0)
		return respond_id(n, id, result(0, -rc));
	/* The task waits in its call: its memory was still its own while we copied. */
	if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &vid) < 0)
		goto gone;
	rc = use_host_socket(n, id, c, &host, &fd, &gone);
	if (gone)
		goto gone;
	if (rc < 0)
		return answer_rc(n, id, msgs, nmsgs, rc);
	if (c->sd->cls == CLASS_BIND)
		return answer_rc(n, id, msgs, nmsgs,
				 net_bind(fd, (const struct sockaddr *)&to, tolen));
	if (c->sd->cls == CLASS_CONNECT || c->fastopen) {
		/* A host socket is ours, made O_NONBLOCK (net_host_socket()): no need to ask. */
		rc = net_connect(fd, (const struct sockaddr *)&to, tolen, c->sock.nonblock,
				 host >= 0 ? O_RDWR | O_NONBLOCK : -1);
		if (rc == -EINPROGRESS && !c->sock.nonblock) {
			rc = wait_ready(n, id, c, &host, NET_WAIT_CONNECT, msgs,
					c->fastopen ? nmsgs : 0);
			if (rc == 0)
				return 0;
			return answer_rc(n, id, msgs, nmsgs, rc);
		}
		if (rc < 0 || !c->fastopen)
			return answer_rc(n, id, msgs, nmsgs, rc);
	}
	return act_send(n, id, c, fd, &host, pathfd, msgs, nmsgs);
gone:
	free_msgs(msgs, nmsgs);
	return 0;
}

/* An allowed call, its event not yet recorded: record it, then act. */
static int net_allowed(struct notifier *n, __u64 id, struct net_call *c, cJSON *ev, const char *by)
{
	struct verdict v = allow_by(by);

	v.cont = false;
	v.result = "mediated";
	v = record_event(n, ev, v);
	if (v.err)
		return respond_id(n, id, v);
	return net_act(n, id, c);
}

int net_resume(struct notifier *n, __u64 id, struct net_call *c, cJSON *ev, const char *by)
{
	return net_allowed(n, id, c, ev, by);
}

/* Copy sendmsg's header, or sendmmsg's first headers while they name the same destination. */
static int copy_headers(struct notifier *n, struct net_call *c)
{
	const struct seccomp_data *d = &n->req->data;
	bool mmsg = c->sd->nr == SYS_sendmmsg;
	size_t count = mmsg ? (unsigned)d->args[2] : 1, stride = mmsg ? sizeof(struct mmsghdr) : 0;

	c->flags = (int)(mmsg ? d->args[3] : d->args[2]);
	c->mmsg_addr = d->args[1];
	if (count > NET_MAX_MMSG)
		count = NET_MAX_MMSG;
	c->hdrs = xcalloc(count ? count : 1, sizeof(*c->hdrs));
	for (size_t i = 0; i < count; i++) {
		struct msghdr *h = &c->hdrs[i];
		struct sockaddr_storage ss;
		socklen_t len = 0;
		int rc = mem_read(c->pid, d->args[1] + i * stride, h, sizeof(*h));

		if (rc < 0)
			return i == 0 ? rc : 0; /* the kernel sends those before a fault */
		if (h->msg_name && h->msg_namelen) {
			/* The kernel clamps a longer msg_namelen to sockaddr_storage. */
			len = h->msg_namelen > sizeof(ss) ? sizeof(ss) : h->msg_namelen;
			rc = copy_addr(n, (unsigned long)h->msg_name, len, &ss);
			if (rc < 0)
				return i == 0 ? rc : 0;
		}
		if (i == 0) {
			if (len)
				c->addr = ss;
			c->addrlen = len;
		} else if (len != c->addrlen || (len && memcmp(&ss, &c->addr, len) != 0)) {
			break; /* another destination: a later call */
		}
		c->nhdrs = i + 1;
	}
	return 0;
}

static int rank_action(enum rule_action a)
{
	return a == RULE_DENY ? 2 : a == RULE_ASK ? 1 : 0;
}

/*
 * The rules' verdict on c, a destination outside (c->rule, c->action, c->why; c->name is
 * the name it goes by). The host's loopback and own addresses: only a rule that names them.
 * Otherwise the address with each name it was looked up under: names that share an address
 * (CDNs, shared front ends) do not know which one the program meant, so the strictest verdict
 * among them decides (deny, then ask, then allow; the newest name among equals). An allow by
 * a name rule alone does not open a private or link-local address (a public name can point
 * there): that is asked, unless a rule allows the bare address.
 */
static void net_verdict(const struct notifier *n, struct net_call *c)
{
	struct rules_target t;
	bool unspec, loop = is_loopback(&c->addr, &unspec);
	size_t best = 0, i, count = c->nnames && !c->host_local ? c->nnames : 1;
	int rc;

	c->rule = NULL;
	c->action = RULE_DENY;
	if (c->kind == DEST_HOST_UNIX && c->host_path) {
		memset(&t, 0, sizeof(t));
		t.family = AF_UNIX;
		t.port = -1;
		t.unix_name = c->host_path;
		t.unix_len = strlen(c->host_path);
		rc = 0;
	} else {
		rc = rules_target_from_sockaddr(&t, (const struct sockaddr *)&c->addr, c->addrlen,
						NULL);
	}
	if (rc < 0)
		return;
	if (loop || unspec || c->host_local) {
		c->rule = c->loop_rule; /* only a rule that names it */
		c->action = c->rule ? c->rule->action : RULE_DENY;
		if (c->host_local && !loop && !c->rule)
			c->why = "one of the host's own addresses: reached only by a rule "
				 "naming it";
		return;
	}
	if (!n->rules)
		return; /* nothing allows it */
	for (i = 0; i < count; i++) {
		const struct rule *r;
		enum rule_action act;
		const char *why = NULL;

		t.name = c->nnames ? c->names[i] : NULL;
		r = rules_match_connect(n->rules, &t);
		act = r ? r->action : RULE_DENY;
		if (act == RULE_ALLOW && rule_by_name(r) && private_address(&c->addr)) {
			const struct rule *bare;

			t.name = NULL;
			bare = rules_match_connect(n->rules, &t);
			if (bare && bare->action == RULE_ALLOW) {
				r = bare;
			} else {
				act = RULE_ASK;
				why = "a private or link-local address: a name rule alone does "
				      "not open it";
			}
		}
		if (i == 0 || rank_action(act) > rank_action(c->action)) {
			c->rule = r;
			c->action = act;
			c->why = why;
			best = i;
		}
	}
	if (c->nnames && c->nnames > 1 && (!c->name || strcmp(c->name, c->names[best]))) {
		free(c->name);
		c->name = xstrdup(c->names[best]);
	}
}

/* The verdict on a destination outside the sandbox (net_verdict()), asked when it says so. */
static int decide_net(struct notifier *n, struct net_call *c, cJSON *ev)
{
	const struct rule *r = c->rule;
	cleanup_free char *origin = NULL, *key = NULL, *suggest = NULL, *shown = NULL;
	struct ask_question q;
	cJSON *extra;
	int rc;

	if (n->net == NET_NONE) {
		net_call_free(c);
		return answer(n, ev, deny_by(EACCES, "--net none"));
	}
	if (!n->sandbox_cookie) {
		net_call_free(c);
		cJSON_AddStringToObject(ev, "note",
					"allowed connections need Linux >= 5.14 "
					"(SO_NETNS_COOKIE)");
		return answer(n, ev, deny(EACCES));
	}
	origin = r ? rule_origin(r) : xstrdup("default");
	if (c->action == RULE_DENY) {
		net_call_free(c);
		return answer(n, ev, deny_by(EACCES, origin));
	}
	if (c->action == RULE_ASK) {
		if (c->name && (c->addr.ss_family == AF_INET || c->addr.ss_family == AF_INET6))
			shown = xasprintf("%s:%u", c->name,
					  ntohs(((const struct sockaddr_in *)&c->addr)->sin_port));
		else if (c->kind == DEST_HOST_UNIX && c->host_path)
			shown = xasprintf("unix:%s", c->host_path);
		else
			shown = xstrdup(c->target);
		/* A private address behind a name is asked by its address: an answer for the
		   name must not open another address the name may point to later. */
		if (c->why && r && r->action == RULE_ALLOW)
			key = xasprintf("connect\n%s\n%s", shown, c->target);
		else
			key = xasprintf("connect\n%s", shown);
		suggest = rules_suggest_connect(c->why && r && r->action == RULE_ALLOW ? c->target
										       : shown);
		extra = destination_json(c);
		q = (struct ask_question){.cls = "connect",
					  .target = c->target,
					  .name = c->name,
					  .key = key,
					  .suggest = suggest,
					  .extra = extra};
		rc = ask_start(n, NULL, ev, CLASS_CONNECT, r, &q, EACCES, c);
		cJSON_Delete(extra);
		return rc;
	}
	rc = net_allowed(n, n->req->id, c, ev, origin);
	net_call_free(c);
	return rc;
}

/* The call's arguments into c: the address (connect, bind, sendto), or the message headers
   (sendmsg, sendmmsg). 0 or -errno. */
static int copy_call(struct notifier *n, struct net_call *c)
{
	const struct seccomp_data *d = &n->req->data;
	int rc;

	switch (c->sd->nr) {
	case SYS_connect:
	case SYS_bind:
		rc = copy_addr(n, d->args[1], d->args[2], &c->addr);
		c->addrlen = (socklen_t)(unsigned)d->args[2];
		break;
	case SYS_sendto:
		c->flags = (int)d->args[3];
		c->buf = d->args[1];
		c->buflen = d->args[2];
		rc = copy_addr(n, d->args[4], d->args[5], &c->addr);
		c->addrlen = (socklen_t)(unsigned)d->args[5];
		break;
	default:
		rc = copy_headers(n, c);
		break;
	}
	return rc;
}

int handle_net(struct notifier *n, const struct sys_desc *sd)
{
	struct net_call *c = xcalloc(1, sizeof(*c));
	cJSON *ev = NULL;
	int rc = 0;

	c->sd = sd;
	c->pid = (pid_t)n->req->pid;
	c->fd = (int)(unsigned)n->req->data.args[0];
	c->sock.fd = -1;
	rc = copy_call(n, c);
	if (!id_valid(n)) {
		net_call_free(c);
		return 0;
	}
	if (rc == 0 && c->addrlen)
		describe_addr(&c->addr, c->addrlen, c->target, sizeof(c->target));
	if (rc < 0 || c->addrlen) {
		ev = new_event(n, sd->cls == CLASS_BIND ? "bind" : "connect", sd->name);
		cJSON_AddItemToObject(ev, "target", json_text(rc < 0 ? "?" : c->target));
	}
	if (rc < 0) {
		net_call_free(c);
		return answer(n, ev, deny(-rc));
	}
	if (n->net == NET_HOST) {
		/* No isolation: recorded, and the kernel does what the program asked. */
		net_call_free(c);
		return answer(n, ev, allow_by("--net host"));
	}
	rc = classify(n, c);
	if (rc < 0) {
		if (rc == -EACCES)
			cJSON_AddStringToObject(ev, "note",
						"a socket the supervisor connected through "
						"the host cannot be bound or "
						"re-addressed here");
		net_call_free(c);
		return answer(n, ev, deny(-rc));
	}
	if (c->kind == DEST_OUTSIDE || c->kind == DEST_HOST_UNIX)
		net_verdict(n, c);
	if (ev && (c->kind == DEST_OUTSIDE || c->kind == DEST_HOST_UNIX))
		add_destination(ev, c);
	if (c->kind == DEST_OUTSIDE || c->kind == DEST_HOST_UNIX)
		return decide_net(n, c, ev);
	if (!n->host_sockets) {
		/* Every socket the program has is the sandbox's: its namespace and the overlay
		   bound whatever the kernel reads from memory. */
		net_call_free(c);
		return answer(n, ev, ALLOW);
	}
	/* The program holds sockets of the host's, and could swap one in (dup2) before the
	   kernel runs the call: the supervisor performs it on the socket it checked. */
	rc = net_allowed(n, n->req->id, c, ev, "default");
	net_call_free(c);
	return rc;
}

/*
 * The sandbox's resolver asks about a name that only an ask could open (resolver_ask_fn):
 * nobody can answer under --ask deny (or without an asker), so the name never leaves; under
 * --ask allow it goes; otherwise the person (or the controller) is asked, "dns NAME", and
 * the query waits. A remembered answer (this session's, or --replay's) answers at once.
 */
static int dns_ask(void *ctx, const char *name, struct resolver_held *held, const char **by)
{
	struct notifier *n = ctx;
	cleanup_free char *key = NULL, *suggest = NULL;
	struct ask_question q;
	struct ask_answer now;
	struct pending_call *pc;
	int rc;

	if (!n->asker) {
		*by = "default";
		return -1;
	}
	/* The same name asked about already (A and AAAA come together): one answer for both. */
	for (pc = n->pending; pc; pc = pc->next)
		if (pc->dns && strcmp(pc->dns_name, name) == 0) {
			pc->dns = xrealloc(pc->dns, (pc->ndns + 1) * sizeof(*pc->dns));
			pc->dns[pc->ndns++] = held;
			return 0;
		}
	key = xasprintf("dns\n%s", name);
	suggest = rules_suggest_connect(name);
	q = (struct ask_question){.cls = "dns", .target = name, .key = key, .suggest = suggest};
	pc = xcalloc(1, sizeof(*pc));
	pc->dns = xcalloc(1, sizeof(*pc->dns));
	pc->dns[0] = held;
	pc->ndns = 1;
	pc->dns_name = xstrdup(name);
	pc->cls = CLASS_CONNECT;
	rc = asker_ask(n->asker, &q, pc, &now);
	if (rc == 0) {
		pc->next = n->pending;
		n->pending = pc;
		n->npending++;
		return 0;
	}
	pending_free(pc);
	if (rc < 0) {
		*by = "default";
		return -1;
	}
	*by = now.by;
	return now.allow ? 1 : -1;
}

int notifier_net_start(struct notifier *n, const struct notifier_net *cfg)
{
	n->plan = cfg->plan;
	for (size_t i = 0; n->plan && i < n->plan->n; i++)
		if (n->plan->items[i].kind == PLAN_LOWER)
			n->plan_views = true;
	n->waits = net_waits_new(n->fd);
	if (!n->waits) {
		if (cfg->dns_fd >= 0)
			close(cfg->dns_fd);
		return error_errno("cannot create an epoll descriptor");
	}
	if (cfg->dns_fd < 0)
		return 0;
	n->sandbox_cookie = net_cookie(cfg->dns_fd);
	{
		struct resolver_config rc = {
			.fd = cfg->dns_fd,
			.upstream = cfg->upstream,
			.upstream_len = cfg->upstream_len,
			.none = n->net == NET_NONE,
			.rules = n->rules,
			.log = n->log,
			.log_broken = &n->log_broken,
			.ask = dns_ask,
			.ask_ctx = n,
		};

		n->dns = resolver_new(&rc, n->waits);
	}
	return n->dns ? 0 : -EIO;
}

int notifier_net_fd(const struct notifier *n)
{
	return n->waits ? net_waits_fd(n->waits) : -1;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int notifier_net_timeout_ms(const struct notifier *n)
{
	long long left;

	if (!n->waits || (!net_waits_count(n->waits) && !(n->dns && resolver_inflight(n->dns))))
		return -1;
	left = n->next_expire_ms - mono_ms();
	return left < 0 ? 0 : left > 1000 ? 1000 : (int)left;
}

void notifier_net_process(struct notifier *n, bool readable)
{
	long long now = mono_ms();

	if (!n->waits)
		return;
	if (readable)
		net_waits_process(n->waits, true);
	/* Once a second: waits whose task died, DNS queries the upstream never answered. */
	if (now >= n->next_expire_ms) {
		net_waits_process(n->waits, false);
		if (n->dns)
			resolver_expire(n->dns);
		n->next_expire_ms = now + 1000;
	}
}
