/* SPDX-License-Identifier: MIT */
/* The sandbox's DNS resolver, served by the supervisor; see resolver.h. */
#include "supervisor/supervise/resolver.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/utf8.h"
#include "supervisor/supervise/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MAX_MESSAGE	    65535
#define UPSTREAM_TIMEOUT_MS 5000
/* Queries read per wake-up: a flood from the program must not starve its notifications. */
#define QUERIES_PER_WAKE 32

struct name_entry {
	int family;
	uint8_t addr[16];
	char *names[RESOLVER_NAMES_PER_ADDR]; /* newest first; [0] NULL: a free entry */
};

/* A query waiting for a person's answer (resolver_ask_fn returned 0). */
struct resolver_held {
	struct dns_question q;
	uint8_t *msg;
	size_t n;
	char *rule; /* the rule that said ask */
	struct sockaddr_storage client;
	socklen_t client_len;
	struct resolver_held *next;
};

struct inflight {
	struct net_watch watch; /* first: the epoll data points here */
	struct resolver *r;
	int fd; /* connected to the upstream, in the host's network */
	struct sockaddr_storage client;
	socklen_t client_len;
	uint16_t client_id;
	struct dns_question q; /* as forwarded: q.id is the upstream id */
	long long deadline_ms;
	struct inflight *next;
};

struct resolver {
	struct net_watch watch; /* the sandbox's socket */
	struct resolver_config cfg;
	struct net_waits *nw;
	struct inflight *inflight;
	unsigned ninflight;
	struct name_entry names[RESOLVER_NAMES];
	unsigned next_name;
	struct resolver_held *held;
	unsigned nheld;
	uint8_t buf[MAX_MESSAGE];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *rcode_name(int rcode)
{
	static const char *const names[] = {"NOERROR",	"FORMERR", "SERVFAIL",
					    "NXDOMAIN", "NOTIMP",  "REFUSED"};

	return rcode >= 0 && (size_t)rcode < ARRAY_SIZE(names) ? names[rcode] : "error";
}

/* Record a "dns" event; a failed record breaks the log (every later query is refused). */
static void record(struct resolver *r, cJSON *ev)
{
	if (*r->cfg.log_broken) {
		cJSON_Delete(ev);
		return;
	}
	if (events_append(r->cfg.log, ev) < 0) {
		*r->cfg.log_broken = true;
		warn("the event log cannot be written: every further call is denied");
	}
}

static cJSON *query_event(const struct dns_question *q, const char *op)
{
	cJSON *ev = cJSON_CreateObject();
	cleanup_free char *name = utf8_sanitize(q->name);
	char tb[8];

	cJSON_AddStringToObject(ev, "class", "dns");
	cJSON_AddStringToObject(ev, "op", op);
	cJSON_AddStringToObject(ev, "target", name);
	cJSON_AddStringToObject(ev, "type", dns_type_name(q->qtype, tb));
	return ev;
}

static void reply(struct resolver *r, const uint8_t *msg, size_t len,
		  const struct sockaddr_storage *to, socklen_t tolen)
{
	/* The program's socket may be gone or full: a lost answer is a lost datagram. */
	(void)sendto(r->cfg.fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)to,
		     tolen);
}

static void reply_error(struct resolver *r, const uint8_t *query, size_t n,
			const struct dns_question *q, bool have_q, int rcode,
			const struct sockaddr_storage *to, socklen_t tolen)
{
	uint8_t out[DNS_HEADER + DNS_MAX_NAME + 4];
	size_t len = dns_error_reply(query, n, q, have_q, rcode, out, sizeof(out));

	if (len)
		reply(r, out, len, to, tolen);
}

static void entry_clear(struct name_entry *e)
{
	for (size_t i = 0; i < RESOLVER_NAMES_PER_ADDR; i++) {
		free(e->names[i]);
		e->names[i] = NULL;
	}
}

static void remember(void *ctx, int family, const uint8_t *addr)
{
	struct inflight *f = ctx;
	struct resolver *r = f->r;
	struct name_entry *e = NULL;
	char *name;
	size_t i, at;

	for (i = 0; i < RESOLVER_NAMES && !e && r->names[i].names[0]; i++) {
		struct name_entry *x = &r->names[i];

		if (x->family == family && memcmp(x->addr, addr, family == AF_INET ? 4 : 16) == 0)
			e = x;
	}
	if (!e) {
		e = &r->names[r->next_name];
		r->next_name = (r->next_name + 1) % RESOLVER_NAMES;
		entry_clear(e);
		e->family = family;
		memset(e->addr, 0, sizeof(e->addr));
		memcpy(e->addr, addr, family == AF_INET ? 4 : 16);
	}
	/* The same address under several names (CDNs, shared front ends): keep them all, so that
	   a connection to it is decided by every name it may stand for, not by the last one. */
	for (at = 0; at < RESOLVER_NAMES_PER_ADDR - 1 && e->names[at]; at++)
		if (strcmp(e->names[at], f->q.name) == 0)
			break;
	name = e->names[at] && strcmp(e->names[at], f->q.name) == 0 ? e->names[at]
								    : xstrdup(f->q.name);
	if (name != e->names[at])
		free(e->names[at]);
	memmove(&e->names[1], &e->names[0], at * sizeof(e->names[0]));
	e->names[0] = name;
}

static void inflight_free(struct resolver *r, struct inflight *f)
{
	struct inflight **pp;

	for (pp = &r->inflight; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			r->ninflight--;
			break;
		}
	net_watch_del(r->nw, f->fd);
	close(f->fd);
	free(f);
}

/* Collects the addresses of an answer for its record. */
struct answer_addrs {
	struct inflight *f;
	cJSON *list;
};

static void collect(void *ctx, int family, const uint8_t *addr)
{
	struct answer_addrs *a = ctx;
	char text[INET6_ADDRSTRLEN];

	remember(a->f, family, addr);
	if (inet_ntop(family, addr, text, sizeof(text)) && cJSON_GetArraySize(a->list) < 64)
		cJSON_AddItemToArray(a->list, cJSON_CreateString(text));
}

static void upstream_ready(struct net_watch *w, uint32_t events)
{
	struct inflight *f = (struct inflight *)w;
	struct resolver *r = f->r;
	struct answer_addrs a = {f, cJSON_CreateArray()};
	ssize_t n;
	int rcode;
	cJSON *ev;

	(void)events;
	n = recv(f->fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		cJSON_Delete(a.list);
		return;
	}
	rcode = n > 0 ? dns_check_answer(r->buf, (size_t)n, &f->q, collect, &a) : -EBADMSG;
	if (rcode == -EBADMSG && n > 0) {
		/* Not an answer to our query (a stray or spoofed datagram): wait for the real
		   one until the deadline. */
		cJSON_Delete(a.list);
		return;
	}
	ev = query_event(&f->q, "answer");
	if (rcode >= 0) {
		cJSON_AddStringToObject(ev, "result", rcode_name(rcode));
		cJSON_AddItemToObject(ev, "addresses", a.list);
		record(r, ev);
		/* The program gets its own id back. */
		r->buf[0] = (uint8_t)(f->client_id >> 8);
		r->buf[1] = (uint8_t)f->client_id;
		if (!*r->cfg.log_broken)
			reply(r, r->buf, (size_t)n, &f->client, f->client_len);
	} else {
		cJSON_Delete(a.list);
		cJSON_AddStringToObject(ev, "result", "upstream failed");
		record(r, ev);
	}
	inflight_free(r, f);
}

/* Forward the query in msg[0..n) (changed: it gets the upstream id) for q upstream. 0, or an
   rcode to answer with. */
static int forward(struct resolver *r, uint8_t *msg, size_t n, const struct dns_question *q,
		   const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct inflight *f;
	uint16_t id;

	if (r->cfg.upstream_len == 0)
		return DNS_RCODE_SERVFAIL;
	if (r->ninflight >= RESOLVER_MAX_INFLIGHT)
		return DNS_RCODE_SERVFAIL;
	f = xcalloc(1, sizeof(*f));
	f->watch.ready = upstream_ready;
	f->r = r;
	f->fd = socket(r->cfg.upstream.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0 ||
	    connect(f->fd, (const struct sockaddr *)&r->cfg.upstream, r->cfg.upstream_len) < 0) {
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return DNS_RCODE_SERVFAIL;
	}
	/* A fresh socket (a random source port) and a random id for each query. */
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)(now_ms() ^ (long long)n);
	f->client = *from;
	f->client_len = fromlen;
	f->client_id = q->id;
	f->q = *q;
	f->q.id = id;
	f->deadline_ms = now_ms() + UPSTREAM_TIMEOUT_MS;
	msg[0] = (uint8_t)(id >> 8);
	msg[1] = (uint8_t)id;
	if (send(f->fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n ||
	    net_watch_add(r->nw, f->fd, EPOLLIN, &f->watch) < 0) {
		close(f->fd);
		free(f);
		return DNS_RCODE_SERVFAIL;
	}
	f->next = r->inflight;
	r->inflight = f;
	r->ninflight++;
	return 0;
}

/* Answer the query msg[0..n) for q NXDOMAIN here, recorded as denied by by. */
static void refuse(struct resolver *r, const uint8_t *msg, size_t n, const struct dns_question *q,
		   cJSON *ev, const char *by, const struct sockaddr_storage *from,
		   socklen_t fromlen)
{
	cJSON_AddStringToObject(ev, "decision", "deny");
	cJSON_AddStringToObject(ev, "by", by);
	cJSON_AddStringToObject(ev, "result", "NXDOMAIN");
	record(r, ev);
	reply_error(r, msg, n, q, true, DNS_RCODE_NXDOMAIN, from, fromlen);
}

/* Send the query msg[0..n) for q upstream, recorded (before it leaves) as allowed by by. */
static void pass(struct resolver *r, uint8_t *msg, size_t n, const struct dns_question *q,
		 cJSON *ev, const char *by, const struct sockaddr_storage *from, socklen_t fromlen)
{
	int rcode;

	cJSON_AddStringToObject(ev, "decision", "allow");
	cJSON_AddStringToObject(ev, "by", by);
	cJSON_AddStringToObject(ev, "result", r->cfg.upstream_len ? "forwarded" : "SERVFAIL");
	record(r, ev);
	if (*r->cfg.log_broken) {
		reply_error(r, msg, n, q, true, DNS_RCODE_REFUSED, from, fromlen);
		return;
	}
	rcode = forward(r, msg, n, q, from, fromlen);
	if (rcode)
		reply_error(r, msg, n, q, true, rcode, from, fromlen);
}

static void serve_query(struct resolver *r, size_t n, const struct sockaddr_storage *from,
			socklen_t fromlen)
{
	struct dns_question q;
	const struct rule *by = NULL;
	cleanup_free char *origin = NULL;
	enum rules_name_reach reach = NAME_ALLOWED;
	struct resolver_held *h;
	const char *who = NULL;
	int rc = dns_parse_query(r->buf, n, &q);
	cJSON *ev;

	if (rc == -EBADMSG)
		return;
	if (rc < 0) {
		reply_error(r, r->buf, n, &q, false,
			    rc == -EOPNOTSUPP ? DNS_RCODE_NOTIMP : DNS_RCODE_FORMERR, from,
			    fromlen);
		return;
	}
	ev = query_event(&q, "query");
	if (*r->cfg.log_broken) {
		cJSON_Delete(ev);
		reply_error(r, r->buf, n, &q, true, DNS_RCODE_REFUSED, from, fromlen);
		return;
	}
	if (r->cfg.rules)
		reach = rules_name_reach(r->cfg.rules, q.name, &by);
	if (r->cfg.none || reach == NAME_DENIED) {
		origin = r->cfg.none ? xstrdup("--net none")
			 : by	     ? rule_origin(by)
				     : xstrdup("default");
		refuse(r, r->buf, n, &q, ev, origin, from, fromlen);
		return;
	}
	if (reach == NAME_ALLOWED) {
		/* Some connection to the name could be allowed: it is looked up, and the
		   connection is decided when it comes. */
		pass(r, r->buf, n, &q, ev, "rules", from, fromlen);
		return;
	}
	/* Only an ask could open a connection to the name: the query itself is that decision,
	   since the name leaves the machine with it. */
	origin = by ? rule_origin(by) : xstrdup("default");
	cJSON_AddStringToObject(ev, "rule", origin);
	if (!r->cfg.ask) {
		refuse(r, r->buf, n, &q, ev, "default", from, fromlen);
		return;
	}
	if (r->nheld >= RESOLVER_MAX_INFLIGHT) {
		/* A flood of names to ask about: the person sees a bounded queue. */
		cJSON_AddStringToObject(ev, "note", "too many lookups wait for an answer");
		refuse(r, r->buf, n, &q, ev, "airlock", from, fromlen);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->q = q;
	h->msg = xmalloc(n);
	memcpy(h->msg, r->buf, n);
	h->n = n;
	h->rule = xstrdup(origin);
	h->client = *from;
	h->client_len = fromlen;
	rc = r->cfg.ask(r->cfg.ask_ctx, q.name, h, &who);
	if (rc == 0) {
		/* A person will answer: the query waits (its event is recorded then). */
		cJSON_Delete(ev);
		h->next = r->held;
		r->held = h;
		r->nheld++;
		return;
	}
	free(h->rule);
	free(h->msg);
	free(h);
	if (rc > 0)
		pass(r, r->buf, n, &q, ev, who, from, fromlen);
	else
		refuse(r, r->buf, n, &q, ev, who ? who : "default", from, fromlen);
}

/* Take held off the list of lookups waiting for an answer; the caller records and frees it. */
static void unhold(struct resolver *r, struct resolver_held *held)
{
	struct resolver_held **pp;

	for (pp = &r->held; *pp; pp = &(*pp)->next)
		if (*pp == held) {
			*pp = held->next;
			r->nheld--;
			break;
		}
}

static void held_free(struct resolver_held *held)
{
	free(held->rule);
	free(held->msg);
	free(held);
}

void resolver_decide(struct resolver *r, struct resolver_held *held, bool allow, const char *by)
{
	cleanup_free char *key = xasprintf("dns\n%s", held->q.name);
	cJSON *ev;

	unhold(r, held);
	ev = query_event(&held->q, "query");
	cJSON_AddStringToObject(ev, "rule", held->rule);
	cJSON_AddBoolToObject(ev, "asked", true);
	/* As the ask filed it (notify.c): --replay of this session answers it again. */
	cJSON_AddStringToObject(ev, "ask_key", key);
	if (*r->cfg.log_broken) {
		cJSON_Delete(ev);
		reply_error(r, held->msg, held->n, &held->q, true, DNS_RCODE_REFUSED, &held->client,
			    held->client_len);
	} else if (allow) {
		pass(r, held->msg, held->n, &held->q, ev, by, &held->client, held->client_len);
	} else {
		refuse(r, held->msg, held->n, &held->q, ev, by, &held->client, held->client_len);
	}
	held_free(held);
}

void resolver_drop(struct resolver *r, struct resolver_held *held)
{
	cJSON *ev;

	unhold(r, held);
	ev = query_event(&held->q, "query");
	cJSON_AddStringToObject(ev, "rule", held->rule);
	cJSON_AddStringToObject(ev, "decision", "none");
	cJSON_AddStringToObject(ev, "by", "nobody");
	cJSON_AddStringToObject(ev, "result", "gone");
	record(r, ev);
	held_free(held);
}

static void sandbox_ready(struct net_watch *w, uint32_t events)
{
	struct resolver *r = (struct resolver *)w;

	(void)events;
	for (int i = 0; i < QUERIES_PER_WAKE; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(r->cfg.fd, r->buf, sizeof(r->buf), MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &fromlen);

		if (n < 0)
			return;
		/* A query larger than our buffer is not a query any resolver sends. */
		if ((size_t)n > sizeof(r->buf))
			continue;
		serve_query(r, (size_t)n, &from, fromlen);
	}
}

struct resolver *resolver_new(const struct resolver_config *cfg, struct net_waits *nw)
{
	struct resolver *r = xcalloc(1, sizeof(*r));

	r->cfg = *cfg;
	r->nw = nw;
	r->watch.ready = sandbox_ready;
	if (net_watch_add(nw, cfg->fd, EPOLLIN, &r->watch) < 0) {
		error_errno("cannot serve the sandbox's DNS");
		close(cfg->fd);
		free(r);
		return NULL;
	}
	return r;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	while (r->inflight)
		inflight_free(r, r->inflight);
	while (r->held) {
		struct resolver_held *h = r->held;

		r->held = h->next;
		free(h->rule);
		free(h->msg);
		free(h);
	}
	net_watch_del(r->nw, r->cfg.fd);
	close(r->cfg.fd);
	/* Entries fill in order and are never emptied (resolver_names_of()): stop at the first
	   free one. The table is 4096 entries, mostly pages never touched; walking them all
	   took half a millisecond of every run's end. */
	for (unsigned i = 0; i < RESOLVER_NAMES && r->names[i].names[0]; i++)
		entry_clear(&r->names[i]);
	free(r);
}

void resolver_expire(struct resolver *r)
{
	long long now = now_ms();
	struct inflight *f, *next;

	for (f = r->inflight; f; f = next) {
		next = f->next;
		if (f->deadline_ms <= now) {
			cJSON *ev = query_event(&f->q, "answer");

			/* No answer: the program's resolver times out and tries again. */
			cJSON_AddStringToObject(ev, "result", "timeout");
			record(r, ev);
			inflight_free(r, f);
		}
	}
}

unsigned resolver_inflight(const struct resolver *r)
{
	return r->ninflight;
}

size_t resolver_names_of(const struct resolver *r, const struct sockaddr *sa,
			 const char *out[RESOLVER_NAMES_PER_ADDR])
{
	uint8_t addr[16];
	int family = sa->sa_family;
	size_t k = 0;

	if (family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			family = AF_INET;
			memcpy(addr, a->s6_addr + 12, 4);
		} else {
			memcpy(addr, a->s6_addr, 16);
		}
	} else {
		return 0;
	}
	for (unsigned i = 0; i < RESOLVER_NAMES; i++) {
		const struct name_entry *e = &r->names[i];

		if (!e->names[0])
			break; /* entries fill in order and are never emptied: the rest are free */
		if (e->family == family && memcmp(e->addr, addr, family == AF_INET ? 4 : 16) == 0) {
			while (k < RESOLVER_NAMES_PER_ADDR && e->names[k]) {
				out[k] = e->names[k];
				k++;
			}
			break;
		}
	}
	return k;
}
