/* SPDX-License-Identifier: MIT */
/*
 * The per-notification protocol (design.md, "non-negotiable"):
 *   1. RECV into a zeroed buffer sized by SECCOMP_GET_NOTIF_SIZES; ENOENT means the task died.
 *   2. Copy every pointer argument into bounded buffers, then check NOTIF_ID_VALID.
 *   3. Decide on the copy only.
 *   4. Act: CONTINUE only where a kernel boundary bounds the outcome whatever the memory holds
 *      (writes land in the overlay; the network namespace has loopback only; host Unix
 *      sockets are not reachable through overlayfs; abstract sockets are per namespace).
 *      A connection or datagram allowed outside is made by the supervisor (net.h), and once
 *      the program holds such a socket, whose calls no namespace bounds, every connect,
 *      bind and send that names an address is performed by the supervisor too.
 *   5. Every error path answers with a denial, never CONTINUE.
 * Each notification is written to the event log before it is answered.
 */
#ifndef AIRLOCK_SUPERVISOR_NOTIFY_H
#define AIRLOCK_SUPERVISOR_NOTIFY_H

#include "common/seccomp_compat.h"
#include "rules/rules.h"
#include "supervisor/supervise/ask.h"
#include "supervisor/record/events.h"
#include "supervisor/supervise/monitor.h"
#include "supervisor/supervise/net.h"
#include "supervisor/supervise/procs.h"
#include "supervisor/supervise/resolver.h"
#include "tracee/plan.h"
#include "tracee/sandbox.h"

#include <stdbool.h>

struct pending_call;

struct notifier {
	struct procs *procs;	      /* who did it: command lines from the execs seen (procs.h) */
	const struct ruleset *rules;  /* decides exec, write and connect; NULL: allow all */
	struct asker *asker;	      /* answers "ask"; NULL: deny */
	struct pending_call *pending; /* notifications waiting for an answer */
	unsigned npending;
	unsigned ndeferred;	   /* deferred commands so far */
	bool exec_rules_allow_all; /* no exec rule but "allow": an exec never depends on memory */
	int listener_failed;	   /* -errno when answering a pending call failed */
	pid_t init_pid;		   /* the sandbox's pid 1, ours (freeze.h) */
	uid_t uid;		   /* the only user ID the sandbox maps (to itself) */
	gid_t gid;		   /* the only group ID it maps */
	int fd;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	struct seccomp_notif_sizes sizes;
	struct event_log *log;
	enum net_mode net;
	unsigned long long handled;
	bool sync_wakeup;	     /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP is on (Linux 6.6) */
	bool log_broken;	     /* the event log failed: every later call is denied */
	bool freeze_cancels;	     /* a freeze aborted a received call (no WAIT_KILLABLE_RECV) */
	bool root_shared;	     /* path lookups use init's root (sb_share_root()) */
	const struct monitor *space; /* the store's free space, for fallocate(); may be NULL */
	/* The mediated network (notifier_net_start()). */
	struct net_waits *waits; /* calls waiting for a socket; also watches the resolver */
	struct resolver *dns;	 /* the sandbox's DNS, or NULL */
	const struct plan *plan; /* the overlays: which Unix sockets the program made */
	bool plan_views;	 /* the plan has a read-only view (PLAN_LOWER) */
	uint64_t sandbox_cookie; /* the sandbox's network namespace (SO_NETNS_COOKIE), 0: unknown */
	bool host_sockets;	 /* a socket of the host's network was installed in the program */
	long long next_expire_ms; /* when waits and DNS queries are next checked */
};

/* What the mediated network starts with. */
struct notifier_net {
	int dns_fd; /* the UDP socket the sandbox bound for the resolver (taken), or -1 */
	struct sockaddr_storage upstream; /* where the resolver forwards */
	socklen_t upstream_len;		  /* 0: nowhere */
	const struct plan *plan;	  /* borrowed */
};

/*
 * Prepare to serve the listener fd (the notifier takes ownership), deciding by rules (borrowed,
 * may be NULL) and asking asker (borrowed, may be NULL). 0 or -errno.
 */
int notifier_init(struct notifier *n, int fd, struct event_log *log, enum net_mode net,
		  const struct ruleset *rules, struct asker *asker);

/*
 * Serve the asks: read answers (readable: the asker's descriptor has input), expire asks past
 * their time, drop asks whose caller died, and answer the notifications that waited. 0 or
 * -errno when the listener failed.
 */
int notifier_asks(struct notifier *n, bool readable);

/*
 * The sandbox ended: DNS queries still waiting for an answer are recorded as gone (nobody
 * decided them) and dropped. Call before the record is sealed.
 */
void notifier_drop_lookups(struct notifier *n);

/*
 * Receive and answer one notification. Returns 0 (also when the task died meanwhile), or
 * -errno when the listener itself failed.
 */
int notifier_handle(struct notifier *n);

/*
 * Start the mediated network once the notifier is set up: the resolver, the waits. 0 or
 * -errno after printing why.
 */
int notifier_net_start(struct notifier *n, const struct notifier_net *cfg);

/* The descriptor to poll for the network's events (POLLIN), or -1. */
int notifier_net_fd(const struct notifier *n);

/* Milliseconds until the network wants notifier_net_process() called anyway; -1: never. */
int notifier_net_timeout_ms(const struct notifier *n);

/* Serve the network's events (readable: its descriptor has input) and expire what waited. */
void notifier_net_process(struct notifier *n, bool readable);

void notifier_free(struct notifier *n);

#endif
