/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's DNS resolver, served by the supervisor. The sandbox binds a UDP
 * socket on the sandbox's loopback (RESOLVER_ADDR:53) and hands it over; /etc/resolv.conf
 * inside names it. Each query is recorded (class "dns") and decided by the connect rules on
 * its name (rules_name_reach()), because a query that leaves the machine carries its name
 * out whether or not a connection follows:
 *   - a name no connection could be allowed to is answered NXDOMAIN here;
 *   - a name a rule allows some connection to is forwarded to the upstream resolver (the
 *     host's first nameserver, or --dns-upstream) from the host's network, and the answer
 *     relayed;
 *   - a name only an ask could open is handed to cfg->ask: where nobody can answer (--ask
 *     deny) it is answered NXDOMAIN here; where a person can, the query waits for the answer
 *     and is forwarded only when allowed.
 * The addresses in A and AAAA answers are remembered with every name they were given for,
 * so that a later connection to one of them is decided and shown by those names.
 *
 * DNS over TCP is not served: an answer too large for UDP reaches the program truncated.
 */
#ifndef AIRLOCK_SUPERVISOR_RESOLVER_H
#define AIRLOCK_SUPERVISOR_RESOLVER_H

#include "rules/rules.h"
#include "supervisor/record/events.h"
#include "supervisor/supervise/net.h"

#include <stdbool.h>
#include <sys/socket.h>

/* Where the sandbox's resolver listens, inside the sandbox. */
#define RESOLVER_ADDR "127.0.0.53"
#define RESOLVER_PORT 53

/* Upstream queries in flight at once; more are answered SERVFAIL. */
#define RESOLVER_MAX_INFLIGHT 256
/* Addresses remembered with their names; the oldest go first. */
#define RESOLVER_NAMES 4096

struct resolver;
struct resolver_held;

/*
 * Decide a query for name that only an ask could open. Returns 1 to forward it, -1 to answer
 * NXDOMAIN (both at once; *by says who decided, a static string), or 0 when the answer comes
 * later through resolver_decide(held, ...).
 */
typedef int (*resolver_ask_fn)(void *ctx, const char *name, struct resolver_held *held,
			       const char **by);

struct resolver_config {
	int fd;				  /* the UDP socket the sandbox bound (taken) */
	struct sockaddr_storage upstream; /* where allowed queries go */
	socklen_t upstream_len;		  /* 0: nowhere (every query SERVFAIL) */
	bool none;			  /* --net none: every query NXDOMAIN */
	const struct ruleset *rules;	  /* borrowed; NULL: nothing is denied */
	struct event_log *log;		  /* borrowed */
	bool *log_broken;		  /* set when the log fails; then every query is refused */
	resolver_ask_fn ask;		  /* NULL: such names are answered NXDOMAIN */
	void *ask_ctx;
};

/* Start serving cfg->fd, watched through nw (borrowed). NULL after printing why. */
struct resolver *resolver_new(const struct resolver_config *cfg, struct net_waits *nw);

void resolver_free(struct resolver *r);

/* Names remembered for one address: the newest first; older ones fall off. */
#define RESOLVER_NAMES_PER_ADDR 8

/*
 * The names that address sa (AF_INET or AF_INET6; an IPv4-mapped address counts as IPv4) was
 * looked up under, newest first, into out (at most RESOLVER_NAMES_PER_ADDR); returns how
 * many. Borrowed: valid until the next call into the resolver.
 */
size_t resolver_names_of(const struct resolver *r, const struct sockaddr *sa,
			 const char *out[RESOLVER_NAMES_PER_ADDR]);

/*
 * The answer to a held query (resolver_ask_fn returned 0): forward it (allow) or answer
 * NXDOMAIN, recorded with by (borrowed). held is freed.
 */
void resolver_decide(struct resolver *r, struct resolver_held *held, bool allow, const char *by);

/* A held query nobody answered (the sandbox ended): recorded as gone, and freed. */
void resolver_drop(struct resolver *r, struct resolver_held *held);

/* Drop upstream queries that waited too long (call about once a second). */
void resolver_expire(struct resolver *r);

/* How many upstream queries are in flight. */
unsigned resolver_inflight(const struct resolver *r);

#endif
