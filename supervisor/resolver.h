/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's DNS resolver, served by the supervisor. pid 1 of the sandbox binds a UDP
 * socket on the sandbox's loopback (RESOLVER_ADDR:53) and hands it over; /etc/resolv.conf
 * inside names it. Each query is recorded (class "dns") and decided by the connect rules on
 * its name: a name no connection could be allowed to (rules_name_denied()) is answered
 * NXDOMAIN; the others are forwarded to the upstream resolver (the host's first nameserver,
 * or --dns-upstream) from the host's network, and the answer is relayed. The addresses in
 * A and AAAA answers are remembered with the name that was asked for, so that a later
 * connection to one of them is decided and shown by that name.
 *
 * DNS over TCP is not served: an answer too large for UDP reaches the program truncated.
 */
#ifndef AIRLOCK_SUPERVISOR_RESOLVER_H
#define AIRLOCK_SUPERVISOR_RESOLVER_H

#include "rules/rules.h"
#include "supervisor/events.h"
#include "supervisor/net.h"

#include <stdbool.h>
#include <sys/socket.h>

/* Where the sandbox's resolver listens, inside the sandbox. */
#define RESOLVER_ADDR "127.0.0.53"
#define RESOLVER_PORT 53

/* Upstream queries in flight at once; more are answered SERVFAIL. */
#define RESOLVER_MAX_INFLIGHT 256
/* Addresses remembered with their names; the oldest go first. */
#define RESOLVER_NAMES 4096

struct resolver_config {
	int fd;				  /* the UDP socket pid 1 bound (taken) */
	struct sockaddr_storage upstream; /* where allowed queries go */
	socklen_t upstream_len;		  /* 0: nowhere (every query SERVFAIL) */
	bool none;			  /* --net none: every query NXDOMAIN */
	const struct ruleset *rules;	  /* borrowed; NULL: nothing is denied */
	struct event_log *log;		  /* borrowed */
	bool *log_broken;		  /* set when the log fails; then every query is refused */
};

struct resolver;

/* Start serving cfg->fd, watched through nw (borrowed). NULL after printing why. */
struct resolver *resolver_new(const struct resolver_config *cfg, struct net_waits *nw);

void resolver_free(struct resolver *r);

/*
 * The name that address sa (AF_INET or AF_INET6; an IPv4-mapped address counts as IPv4) was
 * last looked up under, or NULL. Borrowed: valid until the next call into the resolver.
 */
const char *resolver_name_of(const struct resolver *r, const struct sockaddr *sa);

/* Drop upstream queries that waited too long (call about once a second). */
void resolver_expire(struct resolver *r);

/* How many upstream queries are in flight. */
unsigned resolver_inflight(const struct resolver *r);

#endif
