/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the notifier share (notify.c: receiving, recording and answering, asks;
 * notify_write.c, notify_exec.c, notify_net.c: one class of calls each). Not for use outside
 * them: notify.h is the notifier's interface.
 */
#ifndef AIRLOCK_SUPERVISOR_NOTIFY_INT_H
#define AIRLOCK_SUPERVISOR_NOTIFY_INT_H

#include "supervisor/supervise/notify.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/openat2.h"
#include "common/path.h"
#include "common/testenv.h"
#include "common/utf8.h"
#include "supervisor/supervise/dirmove.h"
#include "supervisor/supervise/execverify.h"
#include "supervisor/supervise/freeze.h"
#include "supervisor/supervise/procmem.h"
#include "supervisor/record/report.h"
#include "supervisor/supervise/sbpath.h"
#include "supervisor/supervise/substitute.h"
#include "tracee/syscalls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/audit.h>
#include <linux/falloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATH_BYTES 4096  /* PATH_MAX: the kernel refuses longer paths itself */
#define MAX_ARGS       4096  /* argv entries copied for the record */
#define MAX_ARG_BYTES  4096  /* bytes kept of each argument */
#define MAX_ARGV_TOTAL 65536 /* bytes kept of the whole argv */

enum sys_class {
	CLASS_WRITE,
	CLASS_EXEC,
	CLASS_CONNECT,
	CLASS_SEND,
	CLASS_BIND,
	CLASS_IDS /* changes of the caller's user or group IDs */
};

/* A notified call, from the one table of them (tracee/syscalls.h). */
struct sys_desc {
	int nr;
	const char *name;
	enum sys_class cls;
	struct syscall_args arg; /* where it keeps what we record */
};

/* The answer to one notification. */
struct verdict {
	bool cont;	      /* CONTINUE: let the kernel run the call */
	int err;	      /* otherwise fail it with this errno */
	const char *decision; /* "allow", "deny", "ask" (a write held for the review), "defer" */
	char by[192];	      /* who decided: a rule "file:line", "person", "approver", ... */
	const char *result;   /* what happened, when not "continued" or the errno's name */
	long long val;	      /* neither: the call's return value (a mediated call's result) */
};

#define ALLOW allow_by("default")

/*
 * A notification waiting for an answer to an ask. It holds its own copy of everything the
 * answer needs: the request buffer is reused for the next notification meanwhile.
 */
struct pending_call {
	__u64 id;
	pid_t pid;
	enum sys_class cls;
	cJSON *ev;  /* the event, completed and recorded when the answer comes */
	char *rule; /* the rule that said ask */
	int deny_err;
	const struct sys_desc *sd;
	struct seccomp_data data;   /* the call, to read its arguments again (freeze.h) */
	struct net_call *net;	    /* a network call: what to do when it is allowed */
	struct resolver_held **dns; /* DNS queries for one name (no notification waits): the */
	size_t ndns;		    /*   resolver's; one ask answers them all (A and AAAA) */
	char *dns_name;
	struct pending_call *next;
};

/* Shared by the parts; each is documented where it is defined. */
struct verdict allow_by(const char *by);
struct verdict deny_by(int err, const char *by);
struct verdict deny(int err);
struct verdict rule_verdict(const struct rule *r, int err);
bool ids_mapped(const struct notifier *n);
bool id_valid(const struct notifier *n);
void add_process(struct notifier *n, cJSON *ev, pid_t pid);
char *dir_of(pid_t pid, int dirfd);
char *resolve_for_record(pid_t pid, int dirfd, const char *raw);
int copy_path_of(pid_t pid, const struct seccomp_data *d, int dirfd_idx, int path_idx, char **out);
int copy_path(const struct notifier *n, int dirfd_idx, int path_idx, char **out);
/* copy_path_of(), keeping the path as the program passed it in raw ("" for none) and, when
   named is not NULL, made absolute but not normalised in *named (caller frees). With procs,
   pid is the caller of the notification being handled (procs_readlink()). */
int copy_path_raw(struct procs *procs, pid_t pid, const struct seccomp_data *d, int dirfd_idx,
		  int path_idx, char raw[MAX_PATH_BYTES], char **named, char **out);
void add_open_flags(cJSON *ev, unsigned flags);
const char *errno_name(int err);
struct verdict record_event(struct notifier *n, cJSON *ev, struct verdict v);
int respond_id(struct notifier *n, __u64 id, struct verdict v);
int answer_id(struct notifier *n, __u64 id, cJSON *ev, struct verdict v);
int answer(struct notifier *n, cJSON *ev, struct verdict v);
cJSON *new_event(struct notifier *n, const char *cls, const char *op);

/*
 * A member of an event under a constant name (a string literal, not copied): cJSON copies
 * a name given to cJSON_Add*ToObject(), an allocation and a free for each of an event's ten
 * or so members, on every notified call.
 */
static inline void add_str(cJSON *ev, const char *const_name, const char *value)
{
	cJSON_AddItemToObjectCS(ev, const_name, cJSON_CreateString(value));
}

static inline void add_num(cJSON *ev, const char *const_name, double value)
{
	cJSON_AddItemToObjectCS(ev, const_name, cJSON_CreateNumber(value));
}
void pending_free(struct pending_call *pc);
int ask_start(struct notifier *n, const struct sys_desc *sd, cJSON *ev, enum sys_class cls,
	      const struct rule *r, struct ask_question *q, int deny_err, struct net_call *net);
int continue_exec(struct notifier *n, __u64 id, pid_t pid, const struct seccomp_data *d,
		  const struct sys_desc *sd, cJSON *ev, struct verdict v);
int handle_exec(struct notifier *n, const struct sys_desc *sd);
void net_call_free(struct net_call *c);
int net_resume(struct notifier *n, __u64 id, struct net_call *c, cJSON *ev, const char *by);
int handle_net(struct notifier *n, const struct sys_desc *sd);
int handle_write(struct notifier *n, const struct sys_desc *sd);

#endif
