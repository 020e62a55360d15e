/* SPDX-License-Identifier: MIT */
/* Receives, decides and answers seccomp notifications; see notify.h for the protocol. */
#include "supervisor/supervise/notify.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/testenv.h"
#include "common/utf8.h"
#include "supervisor/supervise/execverify.h"
#include "supervisor/supervise/freeze.h"
#include "supervisor/supervise/procmem.h"
#include "supervisor/record/report.h"
#include "supervisor/supervise/sbpath.h"
#include "supervisor/supervise/substitute.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/audit.h>
#include <linux/falloc.h>
#include <linux/openat2.h>
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

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

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

/* Where a syscall keeps what we record; -1 = absent. dirfd -1 with a path = AT_FDCWD. */
struct sys_desc {
	int nr;
	const char *name;
	enum sys_class cls;
	signed char dirfd, path, dirfd2, path2;
	signed char str;   /* symlink: the link's content, a string, not resolved */
	signed char fd;	   /* the object is this descriptor */
	signed char flags; /* open flags */
};

static const struct sys_desc sys_table[] = {
	{SYS_open, "open", CLASS_WRITE, -1, 0, -1, -1, -1, -1, 1},
	{SYS_openat, "openat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, 2},
	{SYS_creat, "creat", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_unlink, "unlink", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_unlinkat, "unlinkat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{SYS_rename, "rename", CLASS_WRITE, -1, 0, -1, 1, -1, -1, -1},
	{SYS_renameat, "renameat", CLASS_WRITE, 0, 1, 2, 3, -1, -1, -1},
	{SYS_renameat2, "renameat2", CLASS_WRITE, 0, 1, 2, 3, -1, -1, -1},
	{SYS_mkdir, "mkdir", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_mkdirat, "mkdirat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{SYS_rmdir, "rmdir", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_link, "link", CLASS_WRITE, -1, 0, -1, 1, -1, -1, -1},
	{SYS_linkat, "linkat", CLASS_WRITE, 0, 1, 2, 3, -1, -1, -1},
	{SYS_symlink, "symlink", CLASS_WRITE, -1, 1, -1, -1, 0, -1, -1},
	{SYS_symlinkat, "symlinkat", CLASS_WRITE, 1, 2, -1, -1, 0, -1, -1},
	{SYS_chmod, "chmod", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_fchmodat, "fchmodat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{452, "fchmodat2", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{SYS_chown, "chown", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_lchown, "lchown", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_fchownat, "fchownat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{SYS_truncate, "truncate", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_utime, "utime", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_utimes, "utimes", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_utimensat, "utimensat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{SYS_futimesat, "futimesat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{SYS_mknod, "mknod", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_mknodat, "mknodat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{SYS_setxattr, "setxattr", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_lsetxattr, "lsetxattr", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_fsetxattr, "fsetxattr", CLASS_WRITE, -1, -1, -1, -1, -1, 0, -1},
	{SYS_removexattr, "removexattr", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_lremovexattr, "lremovexattr", CLASS_WRITE, -1, 0, -1, -1, -1, -1, -1},
	{SYS_fremovexattr, "fremovexattr", CLASS_WRITE, -1, -1, -1, -1, -1, 0, -1},
	{SYS_fchmod, "fchmod", CLASS_WRITE, -1, -1, -1, -1, -1, 0, -1},
	{SYS_fchown, "fchown", CLASS_WRITE, -1, -1, -1, -1, -1, 0, -1},
	{SYS_fallocate, "fallocate", CLASS_WRITE, -1, -1, -1, -1, -1, 0, -1},
	{SYS_setuid, "setuid", CLASS_IDS, -1, -1, -1, -1, -1, -1, -1},
	{SYS_setgid, "setgid", CLASS_IDS, -1, -1, -1, -1, -1, -1, -1},
	{SYS_setreuid, "setreuid", CLASS_IDS, -1, -1, -1, -1, -1, -1, -1},
	{SYS_setregid, "setregid", CLASS_IDS, -1, -1, -1, -1, -1, -1, -1},
	{SYS_setresuid, "setresuid", CLASS_IDS, -1, -1, -1, -1, -1, -1, -1},
	{SYS_setresgid, "setresgid", CLASS_IDS, -1, -1, -1, -1, -1, -1, -1},
	{463, "setxattrat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{466, "removexattrat", CLASS_WRITE, 0, 1, -1, -1, -1, -1, -1},
	{SYS_execve, "execve", CLASS_EXEC, -1, 0, -1, -1, -1, -1, -1},
	{SYS_execveat, "execveat", CLASS_EXEC, 0, 1, -1, -1, -1, -1, -1},
	{SYS_connect, "connect", CLASS_CONNECT, -1, -1, -1, -1, -1, 0, -1},
	{SYS_bind, "bind", CLASS_BIND, -1, -1, -1, -1, -1, 0, -1},
	{SYS_sendto, "sendto", CLASS_SEND, -1, -1, -1, -1, -1, 0, -1},
	{SYS_sendmsg, "sendmsg", CLASS_SEND, -1, -1, -1, -1, -1, 0, -1},
	{SYS_sendmmsg, "sendmmsg", CLASS_SEND, -1, -1, -1, -1, -1, 0, -1},
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

static struct verdict allow_by(const char *by)
{
	struct verdict v = {.cont = true, .decision = "allow"};

	snprintf(v.by, sizeof(v.by), "%s", by);
	return v;
}

static struct verdict deny_by(int err, const char *by)
{
	struct verdict v = {.cont = false, .err = err, .decision = "deny"};

	snprintf(v.by, sizeof(v.by), "%s", by);
	return v;
}

static struct verdict deny(int err)
{
	return deny_by(err, "default");
}

#define ALLOW allow_by("default")

/* The verdict a rule gives (allow or deny with err); by names the rule. */
static struct verdict rule_verdict(const struct rule *r, int err)
{
	cleanup_free char *origin = r ? rule_origin(r) : NULL;

	if (r && r->action == RULE_DENY)
		return deny_by(err, origin);
	return allow_by(origin ? origin : "default");
}

int notifier_init(struct notifier *n, int fd, struct event_log *log, enum net_mode net,
		  const struct ruleset *rules, struct asker *asker)
{
	memset(n, 0, sizeof(*n));
	n->rules = rules;
	n->asker = asker;
	n->procs = procs_new();
	n->fd = fd;
	n->log = log;
	n->net = net;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &n->sizes) < 0)
		return error_errno("cannot read seccomp notification sizes (Linux >= 5.0 needed)");
	/* The kernel may be newer than our headers: allocate what it says, at least ours. */
	if (n->sizes.seccomp_notif < sizeof(struct seccomp_notif))
		n->sizes.seccomp_notif = sizeof(struct seccomp_notif);
	if (n->sizes.seccomp_notif_resp < sizeof(struct seccomp_notif_resp))
		n->sizes.seccomp_notif_resp = sizeof(struct seccomp_notif_resp);
	n->req = xcalloc(1, n->sizes.seccomp_notif);
	n->resp = xcalloc(1, n->sizes.seccomp_notif_resp);
	/* Linux 6.6: wake the supervisor on the same CPU; measured 21 us -> 14 us per call. */
	if (!test_feature_off("sync_wakeup") &&
	    ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0) == 0)
		n->sync_wakeup = true;
	return 0;
}

void notifier_free(struct notifier *n)
{
	procs_free(n->procs);
	n->procs = NULL;
	if (n->fd >= 0)
		close(n->fd);
	resolver_free(n->dns);
	net_waits_free(n->waits);
	n->dns = NULL;
	n->waits = NULL;
	free(n->req);
	free(n->resp);
	n->fd = -1;
	n->req = NULL;
	n->resp = NULL;
}

/*
 * The arguments that are user or group IDs (bit i: argument i) of the calls that take them.
 * The sandbox's user namespace maps only the caller's own IDs, and the kernel answers EINVAL
 * for an ID outside the map where the host answers EPERM: Python's subprocess(user=...) and
 * chown() to another user raise OSError(EINVAL), which programs do not expect. The supervisor
 * gives the host's answer. It decides on the registers alone, which the program cannot change
 * once the call is made, so letting the kernel run a call with mapped IDs is safe.
 */
static const struct {
	int nr;
	unsigned char uids, gids;
} id_args[] = {
	{SYS_setuid, 1 << 0, 0},	{SYS_setgid, 0, 1 << 0},      {SYS_setreuid, 3, 0},
	{SYS_setregid, 0, 3},		{SYS_setresuid, 7, 0},	      {SYS_setresgid, 0, 7},
	{SYS_chown, 1 << 1, 1 << 2},	{SYS_lchown, 1 << 1, 1 << 2}, {SYS_fchown, 1 << 1, 1 << 2},
	{SYS_fchownat, 1 << 2, 1 << 3},
};

/* One ID argument: -1 ("leave it", or EINVAL for setuid, the kernel's to say) or mapped. */
static bool id_mapped(__u64 arg, unsigned own)
{
	unsigned v = (unsigned)arg; /* uid_t and gid_t: the kernel reads the low 32 bits */

	return v == (unsigned)-1 || v == own;
}

/* False when the call names a user or group ID outside the sandbox's map. */
static bool ids_mapped(const struct notifier *n)
{
	const struct seccomp_data *d = &n->req->data;
	size_t i;
	int a;

	for (i = 0; i < ARRAY_SIZE(id_args); i++) {
		if (id_args[i].nr != d->nr)
			continue;
		for (a = 0; a < 6; a++) {
			if ((id_args[i].uids & (1 << a)) && !id_mapped(d->args[a], n->uid))
				return false;
			if ((id_args[i].gids & (1 << a)) && !id_mapped(d->args[a], n->gid))
				return false;
		}
	}
	return true;
}

static const struct sys_desc *find_desc(int nr)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sys_table); i++)
		if (sys_table[i].nr == nr)
			return &sys_table[i];
	return NULL;
}

static bool id_valid(const struct notifier *n)
{
	__u64 id = n->req->id;

	return ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* A JSON string from untrusted bytes (invalid UTF-8 escaped). */
static cJSON *json_text(const char *s)
{
	cleanup_free char *clean = utf8_sanitize(s);

	return cJSON_CreateString(clean);
}

/*
 * The calling process's argv as airlock observed its exec (procs.h), as a JSON array: never
 * /proc/PID/cmdline, which the program rewrites at will.
 */
static cJSON *process_argv(struct notifier *n, pid_t pid, long long *exec_seq)
{
	return procs_argv(n->procs, n->init_pid, pid, exec_seq);
}

/* An event's "argv", and "exec_seq": the exec event that started the program (procs.h). */
static void add_process(struct notifier *n, cJSON *ev, pid_t pid)
{
	long long seq;

	cJSON_AddItemToObject(ev, "argv", process_argv(n, pid, &seq));
	if (seq >= 0)
		cJSON_AddNumberToObject(ev, "exec_seq", (double)seq);
}

/* Where dirfd points for pid (or its cwd for AT_FDCWD), as the sandbox sees it. */
static char *dir_of(pid_t pid, int dirfd)
{
	char link[64], target[MAX_PATH_BYTES];
	ssize_t n;

	if (dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, dirfd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return NULL;
	target[n] = '\0';
	return xstrdup(target);
}

/*
 * The absolute, lexically normalised path a call names. For the record and for attribution
 * only: the kernel resolves the real path itself, inside the overlay.
 */
static char *resolve_for_record(pid_t pid, int dirfd, const char *raw)
{
	cleanup_free char *base = NULL;
	cleanup_free char *joined = NULL;

	if (raw[0] == '/')
		return path_normalize(raw);
	base = dir_of(pid, dirfd);
	if (!base)
		base = xstrdup(dirfd == AT_FDCWD ? "?cwd" : "?fd");
	joined = path_join(base, raw);
	return path_normalize(joined);
}

/* Copy the path argument at index idx (with its dirfd) of pid's call d and resolve it. */
static int copy_path_of(pid_t pid, const struct seccomp_data *d, int dirfd_idx, int path_idx,
			char **out)
{
	char raw[MAX_PATH_BYTES];
	/* A dirfd is an int: the kernel reads the low 32 bits only. */
	int dirfd = dirfd_idx >= 0 ? (int)(unsigned)d->args[dirfd_idx] : AT_FDCWD;
	int rc;

	*out = NULL;
	if (d->args[path_idx] == 0) {
		/* utimensat(fd, NULL, ...) acts on the descriptor itself. */
		if (dirfd_idx < 0 || dirfd == AT_FDCWD)
			return -EFAULT;
		*out = dir_of(pid, dirfd);
		return *out ? 0 : -EBADF;
	}
	rc = mem_read_string(pid, d->args[path_idx], raw, sizeof(raw));
	if (rc < 0)
		return rc;
	*out = resolve_for_record(pid, dirfd, raw);
	return 0;
}

/* Copy the path argument of the call being handled. 0 or -errno. */
static int copy_path(const struct notifier *n, int dirfd_idx, int path_idx, char **out)
{
	return copy_path_of((pid_t)n->req->pid, &n->req->data, dirfd_idx, path_idx, out);
}

static void add_open_flags(cJSON *ev, unsigned flags)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{O_WRONLY, "O_WRONLY"},
		{O_RDWR, "O_RDWR"},
		{O_CREAT, "O_CREAT"},
		{O_TRUNC, "O_TRUNC"},
		{O_APPEND, "O_APPEND"},
		{O_EXCL, "O_EXCL"},
		{O_TMPFILE & ~O_DIRECTORY, "O_TMPFILE"},
	};
	struct buf b = BUF_INIT;
	size_t i;

	buf_init(&b);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if ((flags & names[i].bit) == names[i].bit) {
			if (b.len)
				buf_addc(&b, '|');
			buf_adds(&b, names[i].name);
		}
	}
	if (b.len == 0)
		buf_adds(&b, "O_RDONLY");
	cJSON_AddStringToObject(ev, "flags", b.data);
	buf_release(&b);
}

static const char *errno_name(int err)
{
	switch (err) {
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case EFAULT:
		return "EFAULT";
	case ENAMETOOLONG:
		return "ENAMETOOLONG";
	case EBADF:
		return "EBADF";
	case EINVAL:
		return "EINVAL";
	case E2BIG:
		return "E2BIG";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case EIO:
		return "EIO";
	case ENOENT:
		return "ENOENT";
	default:
		return "error";
	}
}

/* Record ev with v's decision. Returns v, or a denial when the record failed. */
static struct verdict record_event(struct notifier *n, cJSON *ev, struct verdict v)
{
	if (ev) {
		cJSON_AddStringToObject(ev, "decision", v.decision);
		cJSON_AddStringToObject(ev, "by", v.by);
		cJSON_AddStringToObject(ev, "result",
					v.result ? v.result
					: v.cont ? "continued"
						 : errno_name(v.err));
		if (n->log_broken) {
			cJSON_Delete(ev);
		} else if (events_append(n->log, ev) < 0) {
			n->log_broken = true;
			warn("the event log cannot be written: every further call is denied");
		}
		if (n->log_broken)
			v = deny(EPERM);
	}
	return v;
}

/* Answer notification id with v (recorded already, or not to be recorded). */
static int respond_id(struct notifier *n, __u64 id, struct verdict v)
{
	struct seccomp_notif_resp *resp = n->resp;

	memset(resp, 0, n->sizes.seccomp_notif_resp);
	resp->id = id;
	if (v.cont)
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else if (v.err)
		resp->error = -v.err;
	else
		resp->val = v.val;
	if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0) {
		/* ENOENT: the task died or the call was interrupted; nothing waits. */
		if (errno == ENOENT)
			return 0;
		return -errno;
	}
	return 0;
}

/*
 * Record the event, then answer notification id. A failed record denies the call: nothing
 * unrecorded runs.
 */
static int answer_id(struct notifier *n, __u64 id, cJSON *ev, struct verdict v)
{
	const cJSON *cls = cJSON_GetObjectItemCaseSensitive(ev, "class");

	/* An exec let through: its argv is the process's once it takes effect (procs.h).
	   Noted before the record, which takes ev, under the seq the record gives it. */
	if (v.cont && !n->log_broken && cJSON_IsString(cls) &&
	    strcmp(cls->valuestring, "exec") == 0)
		procs_exec(n->procs, n->init_pid,
			   (pid_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ev, "pid")),
			   cJSON_GetObjectItemCaseSensitive(ev, "command"), (long long)n->log->seq);
	return respond_id(n, id, record_event(n, ev, v));
}

/* Answer the notification being handled. */
static int answer(struct notifier *n, cJSON *ev, struct verdict v)
{
	return answer_id(n, n->req->id, ev, v);
}

static cJSON *new_event(struct notifier *n, const char *cls, const char *op)
{
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddNumberToObject(ev, "pid", n->req->pid);
	add_process(n, ev, (pid_t)n->req->pid);
	cJSON_AddStringToObject(ev, "class", cls);
	cJSON_AddStringToObject(ev, "op", op);
	return ev;
}

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

static void net_call_free(struct net_call *c);
static int net_resume(struct notifier *n, __u64 id, struct net_call *c, cJSON *ev, const char *by);

static void pending_free(struct pending_call *pc)
{
	cJSON_Delete(pc->ev);
	free(pc->rule);
	free(pc->dns);
	free(pc->dns_name);
	net_call_free(pc->net);
	free(pc);
}

static void pending_unlink(struct notifier *n, struct pending_call *pc)
{
	struct pending_call **pp;

	for (pp = &n->pending; *pp; pp = &(*pp)->next)
		if (*pp == pc) {
			*pp = pc->next;
			n->npending--;
			return;
		}
}

static int copy_argv_of(pid_t pid, unsigned long addr, cJSON *arr, bool *truncated);

/* Whether a fresh copy of the exec's path and argv is what the event recorded. */
static bool same_as_recorded(const cJSON *ev, const char *target, const cJSON *argv)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "target");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(ev, "command");
	cleanup_free char *clean = utf8_sanitize(target);

	return cJSON_IsString(t) && strcmp(t->valuestring, clean) == 0 && c &&
	       cJSON_Compare(c, argv, true);
}

/* Record that pid, allowed to exec the event's target, ran something else and was killed. */
static void record_wrong_exec(struct notifier *n, pid_t pid, const struct sys_desc *sd,
			      const char *what, cJSON *ran)
{
	cJSON *bad = cJSON_CreateObject();

	cJSON_AddNumberToObject(bad, "pid", pid);
	cJSON_AddStringToObject(bad, "class", "exec");
	cJSON_AddStringToObject(bad, "op", sd->name);
	cJSON_AddItemToObject(bad, "target", json_text(what[0] ? what : "?"));
	cJSON_AddItemToObject(bad, "command", ran ? ran : cJSON_CreateArray());
	cJSON_AddStringToObject(bad, "note",
				"the program that ran is not the one that was checked (its "
				"memory changed under the check): the process was killed");
	cJSON_AddStringToObject(bad, "decision", "deny");
	cJSON_AddStringToObject(bad, "by", "airlock");
	cJSON_AddStringToObject(bad, "result", "killed");
	if (n->log_broken)
		cJSON_Delete(bad);
	else if (events_append(n->log, bad) < 0)
		n->log_broken = true;
}

/*
 * Let an exec go on (v allows it, or denies it after all). When the decision depended on the
 * arguments (the exec rules hold more than "allow"), the sandbox is frozen first, the path and
 * argv read again and compared with what was decided on, what they name identified
 * (execverify.h), and only then is the call continued; once the exec is done, the new program
 * (held by the freeze before its first instruction) must be what was identified, or it is
 * killed, and the sandbox continues (freeze.h). Anything that goes wrong refuses.
 */
static int continue_exec(struct notifier *n, __u64 id, pid_t pid, const struct seccomp_data *d,
			 const struct sys_desc *sd, cJSON *ev, struct verdict v)
{
	cleanup_free char *target = NULL, *cwd = NULL;
	char old_exe[MAX_PATH_BYTES], raw[MAX_PATH_BYTES], what[MAX_PATH_BYTES];
	struct exec_expect x;
	struct freeze fz;
	bool truncated = false;
	cJSON *argv;
	int rc, fd = -1;

	if (!v.cont || !n->rules || n->exec_rules_allow_all || !sd)
		return answer_id(n, id, ev, v);
	rc = freeze_sandbox(&fz, n->init_pid);
	if (rc < 0) {
		cJSON_AddStringToObject(ev, "note",
					"the sandbox could not be held still while "
					"the arguments were checked: refused");
		return answer_id(n, id, ev, deny_by(EACCES, v.by));
	}
	argv = cJSON_CreateArray();
	rc = copy_path_of(pid, d, sd->dirfd, sd->path, &target);
	if (rc == 0)
		rc = copy_argv_of(pid, d->args[sd->path + 1], argv, &truncated);
	if (rc < 0 || !same_as_recorded(ev, target, argv)) {
		cJSON_Delete(argv);
		thaw_sandbox(&fz);
		cJSON_AddStringToObject(
			ev, "note",
			"the path or arguments changed while they were decided: refused");
		return answer_id(n, id, ev, deny_by(EACCES, "airlock"));
	}
	/* fexecve(): execveat(fd, "", AT_EMPTY_PATH) runs the descriptor's file. */
	if (sd->nr == SYS_execveat && mem_read_string(pid, d->args[1], raw, sizeof(raw)) == 0 &&
	    raw[0] == '\0')
		fd = (int)(unsigned)d->args[0];
	cwd = dir_of(pid, AT_FDCWD);
	rc = exec_expect(&x, pid, target, fd, cwd, argv);
	if (rc < 0) {
		cJSON_Delete(argv);
		thaw_sandbox(&fz);
		cJSON_AddStringToObject(ev, "note",
					"what the path names could not be identified to be "
					"checked after the exec: refused");
		return answer_id(n, id, ev, deny_by(EACCES, "airlock"));
	}
	proc_exe(pid, old_exe, sizeof(old_exe));
	rc = answer_id(n, id, ev, v);
	if (!n->log_broken) {
		cJSON *ran = NULL;

		freeze_wait_exec(pid, old_exe);
		if (exec_verify(&x, pid, what, sizeof(what), &ran) < 0)
			record_wrong_exec(n, pid, sd, what, ran);
	}
	cJSON_Delete(argv);
	thaw_sandbox(&fz);
	return rc;
}

/* The answer to an ask arrived: act on it for the call that waits. */
static int resume(struct notifier *n, struct pending_call *pc, const struct ask_answer *ans)
{
	struct verdict v;
	cJSON *ev = pc->ev;
	int rc;

	pc->ev = NULL;
	if (pc->dns) {
		for (size_t i = 0; i < pc->ndns; i++)
			resolver_decide(n->dns, pc->dns[i], ans->allow, ans->by);
		pending_free(pc);
		return 0;
	}
	cJSON_AddStringToObject(ev, "rule", pc->rule);
	cJSON_AddBoolToObject(ev, "asked", true);
	if (!ans->allow) {
		v = deny_by(pc->deny_err, ans->by);
	} else if (pc->cls == CLASS_EXEC) {
		rc = continue_exec(n, pc->id, pc->pid, &pc->data, pc->sd, ev, allow_by(ans->by));
		pending_free(pc);
		return rc;
	} else if (pc->net) {
		rc = net_resume(n, pc->id, pc->net, ev, ans->by);
		pending_free(pc);
		return rc;
	} else
		v = deny_by(EACCES, ans->by);
	rc = answer_id(n, pc->id, ev, v);
	pending_free(pc);
	return rc;
}

static void ask_done(void *ctx, void *cookie, const struct ask_answer *ans)
{
	struct notifier *n = ctx;
	struct pending_call *pc = cookie;
	int rc;

	pending_unlink(n, pc);
	rc = resume(n, pc, ans);
	if (rc < 0)
		n->listener_failed = rc;
}

/*
 * Ask about the call being handled. The question goes out and the notification waits in
 * n->pending; the loop goes on receiving others (design.md, protocol step 6).
 */
static int ask_start(struct notifier *n, const struct sys_desc *sd, cJSON *ev, enum sys_class cls,
		     const struct rule *r, struct ask_question *q, int deny_err,
		     struct net_call *net)
{
	struct pending_call *pc = xcalloc(1, sizeof(*pc));
	struct ask_answer now;
	int rc;

	pc->net = net;
	pc->id = n->req->id;
	pc->pid = (pid_t)n->req->pid;
	pc->cls = cls;
	pc->ev = ev;
	pc->rule = rule_origin(r);
	pc->deny_err = deny_err;
	pc->sd = sd;
	pc->data = n->req->data;
	q->pid = pc->pid;
	q->rule = pc->rule;
	q->argv = cJSON_GetObjectItemCaseSensitive(ev, "argv");
	/* The question, as answers are filed: --replay of this session answers it again. */
	cJSON_AddItemToObject(ev, "ask_key", json_text(q->key));
	if (!n->asker) {
		now = (struct ask_answer){.allow = false, .by = "default"};
		return resume(n, pc, &now);
	}
	rc = asker_ask(n->asker, q, pc, &now);
	if (rc == 1)
		return resume(n, pc, &now);
	if (rc < 0) {
		now = (struct ask_answer){.allow = false, .by = "default"};
		return resume(n, pc, &now);
	}
	pc->next = n->pending;
	n->pending = pc;
	n->npending++;
	return 0;
}

int notifier_asks(struct notifier *n, bool readable)
{
	struct pending_call *pc, *next;

	if (!n->asker)
		return 0;
	n->listener_failed = 0;
	/* A process that died (or a call that a signal interrupted) waits for nothing. */
	for (pc = n->pending; pc; pc = next) {
		__u64 id = pc->id;

		next = pc->next;
		if (pc->dns || ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0)
			continue;
		asker_cancel(n->asker, pc);
		pending_unlink(n, pc);
		cJSON_AddStringToObject(pc->ev, "rule", pc->rule);
		cJSON_AddStringToObject(pc->ev, "decision", "none");
		cJSON_AddStringToObject(pc->ev, "by", "nobody");
		cJSON_AddStringToObject(pc->ev, "result", "gone");
		if (!n->log_broken && events_append(n->log, pc->ev) < 0)
			n->log_broken = true;
		pc->ev = NULL;
		pending_free(pc);
	}
	asker_process(n->asker, readable, ask_done, n);
	return n->listener_failed;
}

void notifier_drop_lookups(struct notifier *n)
{
	struct pending_call *pc, *next;

	for (pc = n->pending; pc; pc = next) {
		next = pc->next;
		if (!pc->dns)
			continue;
		if (n->asker)
			asker_cancel(n->asker, pc);
		pending_unlink(n, pc);
		for (size_t i = 0; i < pc->ndns; i++)
			resolver_drop(n->dns, pc->dns[i]);
		pending_free(pc);
	}
}

static int rank(const struct rule *r)
{
	if (!r)
		return 0;
	return r->action == RULE_DENY ? 2 : r->action == RULE_ASK ? 1 : 0;
}

/*
 * A write's verdict from the write rules. The overlay bounds where a write lands whatever the
 * memory says by the time the kernel reads it, so CONTINUE is safe: a deny rule refuses the
 * call now (EACCES); ask and allow let it land and tell the review how to start the change
 * (held for an explicit decision, or approved). Both paths of a rename or link need write
 * authority (sandlock #194), and each path counts as named and as the kernel will resolve it
 * in the sandbox (a symlink into a denied directory): the strictest rule of them decides.
 * Paths the record could not resolve to an absolute path (an anonymous descriptor) match no
 * rule.
 */
static struct verdict decide_write(const struct notifier *n, const char *const paths[4])
{
	const struct rule *r = NULL, *ri;
	struct verdict v;
	int i;

	if (!n->rules)
		return ALLOW;
	for (i = 0; i < 4; i++) {
		if (!paths[i] || paths[i][0] != '/')
			continue;
		ri = rules_match_write(n->rules, paths[i]);
		if (!r || rank(ri) > rank(r))
			r = ri;
	}
	v = rule_verdict(r, EACCES);
	if (r && r->action == RULE_ASK)
		v.decision = "ask";
	return v;
}

/*
 * fallocate() takes blocks without writing them; with FALLOC_FL_KEEP_SIZE it does so past the
 * end of the file, where RLIMIT_FSIZE does not look. Each call is held to the room left above
 * the store's reserve. The decision rests on the call's registers alone, which the program
 * cannot change once the call is made, so letting the kernel run it is safe. A hole punched
 * frees blocks and is not held.
 */
static struct verdict decide_space(const struct notifier *n)
{
	const struct seccomp_data *d = &n->req->data;
	unsigned mode = (unsigned)d->args[1];
	unsigned long long room;

	if (mode & FALLOC_FL_PUNCH_HOLE)
		return ALLOW;
	if (!n->space)
		return ALLOW;
	if (monitor_disk_room(n->space, &room) < 0)
		return deny_by(EIO, "airlock");
	if (d->args[3] > room)
		return deny_by(ENOSPC, "disk reserve");
	return ALLOW;
}

/* Whether the call acts on what a final symlink in path idx points to (open follows it unless
   O_NOFOLLOW or O_CREAT|O_EXCL; the l* and *at calls as their flags say). */
static bool follows_final(const struct sys_desc *sd, const struct seccomp_data *d, int idx)
{
	unsigned flags;

	switch (sd->nr) {
	case SYS_open:
	case SYS_openat:
		flags = (unsigned)d->args[sd->flags];
		return !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
	case SYS_creat:
	case SYS_truncate:
	case SYS_chmod:
	case SYS_fchmodat:
	case SYS_chown:
	case SYS_utime:
	case SYS_utimes:
	case SYS_futimesat:
	case SYS_setxattr:
	case SYS_removexattr:
		return true;
	case 452: /* fchmodat2 */
	case SYS_utimensat:
		return !((unsigned)d->args[3] & AT_SYMLINK_NOFOLLOW);
	case SYS_fchownat:
		return !((unsigned)d->args[4] & AT_SYMLINK_NOFOLLOW);
	case 463: /* setxattrat */
	case 466: /* removexattrat */
		return !((unsigned)d->args[2] & AT_SYMLINK_NOFOLLOW);
	case SYS_linkat:
		return idx == 0 && ((unsigned)d->args[4] & AT_SYMLINK_FOLLOW);
	default:
		return false;
	}
}

/*
 * path (absolute, as named) as the kernel will find it in pid's view: every symlink resolved,
 * the last one too when the call follows it, else only the parent directory's. NULL when the
 * same as named, or when it cannot be resolved (then the kernel's lookup fails as well, or
 * the named path decides alone).
 */
static char *resolve_write(pid_t pid, const char *path, bool follow)
{
	char *real;

	if (!path || path[0] != '/')
		return NULL;
	real = sb_resolve_name(pid, path, follow);
	if (real && strcmp(real, path) == 0) {
		free(real);
		return NULL;
	}
	return real;
}

/*
 * Whether a hard link's source (absolute, as named) is a file that came from the host.
 * overlayfs links the copied-up file, but without its inode index (which needs trusted
 * xattrs, out of reach in a user namespace) the new name reports another inode number than
 * the old one, so a tool that checks its link gets a different file: git's local clone dies
 * with "hardlink different from source". Such a link is refused with EXDEV, as a link across
 * filesystems is, and git, cp and package managers copy instead. The overlay's lower layer
 * is the host itself at the same path, so "came from the host" is: the path the sandbox
 * resolves it to exists on the host as a non-directory.
 */
static bool links_host_file(pid_t pid, const char *src, bool follow)
{
	cleanup_free char *real = NULL;
	struct stat st;

	if (!src || src[0] != '/')
		return false;
	real = sb_canonical(pid, src, follow);
	return real && lstat(real, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int handle_write(struct notifier *n, const struct sys_desc *sd)
{
	const struct seccomp_data *d = &n->req->data;
	pid_t pid = (pid_t)n->req->pid;
	cleanup_free char *target = NULL, *target2 = NULL, *real = NULL, *real2 = NULL;
	char link[MAX_PATH_BYTES];
	bool host_link = false;
	struct verdict v;
	cJSON *ev;
	int rc = 0;

	link[0] = '\0';
	if (sd->fd >= 0) {
		target = dir_of(pid, (int)(unsigned)d->args[sd->fd]);
		if (!target)
			rc = -EBADF;
	} else {
		rc = copy_path(n, sd->dirfd, sd->path, &target);
	}
	if (rc == 0 && sd->path2 >= 0)
		rc = copy_path(n, sd->dirfd2, sd->path2, &target2);
	if (rc == 0 && sd->str >= 0)
		rc = mem_read_string(pid, d->args[sd->str], link, sizeof(link));
	/* A descriptor's path is already the file's own; a named path may pass through links. */
	if (rc == 0 && n->rules && sd->fd < 0) {
		real = resolve_write(pid, target, follows_final(sd, d, 0));
		real2 = resolve_write(pid, target2, false);
	}
	if (rc == 0 && (sd->nr == SYS_link || sd->nr == SYS_linkat))
		host_link = links_host_file(pid, target, follows_final(sd, d, 0));
	if (!id_valid(n))
		return 0;
	ev = new_event(n, "write", sd->name);
	cJSON_AddItemToObject(ev, "target", json_text(target ? target : "?"));
	if (real)
		cJSON_AddItemToObject(ev, "resolved", json_text(real));
	if (target2)
		cJSON_AddItemToObject(ev, "target2", json_text(target2));
	if (real2)
		cJSON_AddItemToObject(ev, "resolved2", json_text(real2));
	if (sd->str >= 0 && rc == 0)
		cJSON_AddItemToObject(ev, "link", json_text(link));
	if (sd->flags >= 0)
		add_open_flags(ev, (unsigned)d->args[sd->flags]);
	if (rc < 0)
		return answer(n, ev, deny(-rc));
	if (!ids_mapped(n))
		return answer(n, ev, deny_by(EPERM, "airlock: an ID outside the sandbox's map"));
	if (sd->nr == SYS_fallocate) {
		v = decide_space(n);
		if (!v.cont)
			return answer(n, ev, v);
	}
	v = decide_write(n, (const char *const[4]){target, target2, real, real2});
	if (v.cont && host_link)
		v = deny_by(EXDEV, "airlock: a hard link to a file from the host");
	return answer(n, ev, v);
}

/* Copy pid's argv at addr (bounded) into a JSON array. 0 or -errno; *truncated when cut. */
static int copy_argv_of(pid_t pid, unsigned long addr, cJSON *arr, bool *truncated)
{
	size_t total = 0, i;
	char arg[MAX_ARG_BYTES];

	*truncated = false;
	if (addr == 0)
		return 0; /* Linux treats a NULL argv as empty */
	for (i = 0; i < MAX_ARGS; i++) {
		unsigned long p;
		int rc;

		if (mem_read(pid, addr + i * sizeof(p), &p, sizeof(p)) < 0)
			return -EFAULT;
		if (p == 0)
			return 0;
		rc = mem_read_string(pid, p, arg, sizeof(arg));
		if (rc == -EFAULT)
			return rc;
		if (rc == -ENAMETOOLONG)
			*truncated = true;
		total += strlen(arg);
		if (total > MAX_ARGV_TOTAL) {
			*truncated = true;
			return 0;
		}
		cJSON_AddItemToArray(arr, json_text(arg));
	}
	*truncated = true;
	return 0;
}

static int copy_argv(const struct notifier *n, unsigned long addr, cJSON *arr, bool *truncated)
{
	return copy_argv_of((pid_t)n->req->pid, addr, arr, truncated);
}

/*
 * A deferred exec: recorded with its cwd and environment, and run as the stub instead (see
 * substitute.h). Where the substitution cannot be guaranteed, the exec is refused (EACCES):
 * a deferred command never runs inside the sandbox, let alone outside it.
 */
static int defer_exec(struct notifier *n, const struct sys_desc *sd, cJSON *ev,
		      const struct rule *r)
{
	const struct seccomp_data *d = &n->req->data;
	pid_t pid = (pid_t)n->req->pid;
	cleanup_free char *origin = rule_origin(r);
	cleanup_free char *cwd = dir_of(pid, AT_FDCWD);
	cJSON *env = cJSON_CreateArray();
	struct substitution sub;
	struct freeze fz;
	struct verdict v = {.cont = true, .decision = "defer", .result = "deferred"};
	bool truncated = false;
	int rc, rc2;

	snprintf(v.by, sizeof(v.by), "%s", origin);
	rc = copy_argv(n, d->args[2], env, &truncated);
	if (sd->nr != SYS_execve || rc < 0 || truncated || !cwd) {
		cJSON_Delete(env);
		cJSON_AddStringToObject(ev, "note", "cannot be deferred safely: refused");
		return answer(n, ev, deny_by(EACCES, origin));
	}
	/* Nobody else runs while the path is rewritten and the kernel reads it (freeze.h). */
	if (freeze_sandbox(&fz, n->init_pid) < 0) {
		cJSON_Delete(env);
		cJSON_AddStringToObject(ev, "note", "the sandbox could not be held still: refused");
		return answer(n, ev, deny_by(EACCES, origin));
	}
	rc = substitute_begin(&sub, pid, d->args[0]);
	if (rc < 0) {
		thaw_sandbox(&fz);
		cJSON_Delete(env);
		cJSON_AddStringToObject(ev, "note",
					rc == -EBUSY ? "other threads share the process's memory: "
						       "cannot be deferred safely, refused"
						     : "cannot be deferred safely: refused");
		return answer(n, ev, deny_by(EACCES, origin));
	}
	if (!id_valid(n)) {
		substitute_abort(&sub);
		thaw_sandbox(&fz);
		cJSON_Delete(env);
		cJSON_Delete(ev);
		return 0;
	}
	cJSON_AddNumberToObject(ev, "deferred", (double)++n->ndeferred);
	cJSON_AddItemToObject(ev, "cwd", json_text(cwd));
	cJSON_AddItemToObject(ev, "env", env);
	rc = answer(n, ev, v);
	if (n->log_broken) {
		/* answer() refused the call: the exec fails and the program keeps its memory. */
		substitute_abort(&sub);
		thaw_sandbox(&fz);
		return rc;
	}
	rc2 = substitute_end(&sub);
	thaw_sandbox(&fz);
	if (rc2 < 0) {
		cJSON *bad = new_event(n, "exec", "execve");

		cJSON_AddStringToObject(bad, "note",
					"the deferred exec did not run the stub: the "
					"process was killed");
		cJSON_AddStringToObject(bad, "decision", "deny");
		cJSON_AddStringToObject(bad, "by", "airlock");
		cJSON_AddStringToObject(bad, "result", "killed");
		if (events_append(n->log, bad) < 0)
			n->log_broken = true;
	}
	return rc;
}

/* How strict an exec rule is: deny, then defer (never runs now), ask, allow. */
static int exec_rank(const struct rule *r)
{
	if (!r)
		return 0;
	switch (r->action) {
	case RULE_DENY:
		return 3;
	case RULE_DEFER:
		return 2;
	case RULE_ASK:
		return 1;
	default:
		return 0;
	}
}

/*
 * An exec's verdict from the exec rules: allow (CONTINUE: the new program runs inside the same
 * sandbox), deny (EACCES: the program sees PermissionError), ask, defer. The rules see the
 * path as named and as the kernel will resolve it (/bin/id is /usr/bin/id where /bin is a
 * link): the stricter verdict of the two decides, so a rule on either name holds. A command
 * whose argv was cut by the copy bounds, under rules that look at arguments, is refused.
 */
static int decide_exec(struct notifier *n, const struct sys_desc *sd, cJSON *ev, const char *target,
		       cJSON *argv, bool truncated)
{
	cleanup_free char **vec = json_strings(argv);
	cleanup_free char *origin = NULL;
	cleanup_free char *key = NULL, *suggest = NULL;
	cleanup_free char *real = NULL;
	const struct rule *r = NULL, *r2;
	struct ask_question q = {0};
	enum rule_action act;

	if (n->rules) {
		real = sb_realpath((pid_t)n->req->pid, target);
		if (!real)
			return answer(n, ev, deny(EACCES));
		r = rules_match_exec(n->rules, target, vec);
		r2 = strcmp(real, target) ? rules_match_exec(n->rules, real, vec) : NULL;
		if (exec_rank(r2) > exec_rank(r))
			r = r2;
		if (strcmp(real, target))
			cJSON_AddItemToObject(ev, "resolved", json_text(real));
	}
	act = r ? r->action : RULE_ALLOW;
	if (truncated && act == RULE_ALLOW && n->rules && !n->exec_rules_allow_all)
		act = RULE_DENY;
	switch (act) {
	case RULE_DENY:
		origin = r ? rule_origin(r) : xstrdup("default");
		return answer(n, ev, deny_by(EACCES, origin));
	case RULE_ASK:
		/* Keyed by the program that will run: PATH tries name one program many ways. */
		key = xasprintf("exec\n%s", real ? real : target);
		for (size_t i = 1; vec[0] && vec[i]; i++) {
			char *k = xasprintf("%s\n%s", key, vec[i]);

			free(key);
			key = k;
		}
		suggest = rules_suggest_exec(target, vec);
		q = (struct ask_question){.cls = "exec",
					  .target = target,
					  .key = key,
					  .suggest = suggest,
					  .command = argv};
		return ask_start(n, sd, ev, CLASS_EXEC, r, &q, EACCES, NULL);
	case RULE_DEFER:
		return defer_exec(n, sd, ev, r);
	default:
		return continue_exec(n, n->req->id, (pid_t)n->req->pid, &n->req->data, sd, ev,
				     rule_verdict(r, EACCES));
	}
}

static int handle_exec(struct notifier *n, const struct sys_desc *sd)
{
	const struct seccomp_data *d = &n->req->data;
	cleanup_free char *target = NULL;
	cJSON *argv = cJSON_CreateArray();
	bool truncated = false;
	cJSON *ev;
	int rc;

	rc = copy_path(n, sd->dirfd, sd->path, &target);
	if (rc == 0)
		rc = copy_argv(n, d->args[sd->path + 1], argv, &truncated);
	if (!id_valid(n)) {
		cJSON_Delete(argv);
		return 0;
	}
	/* execvp() and subprocess try each PATH directory: a miss is answered as the kernel
	   would, and not recorded as a command. execveat (fexecve of a memfd, a path from a
	   descriptor) is never a PATH search. */
	if (rc == 0 && sd->nr == SYS_execve && target[0] == '/' &&
	    sb_exists((pid_t)n->req->pid, target) == 0) {
		cJSON_Delete(argv);
		return answer(n, NULL, deny(ENOENT));
	}
	ev = new_event(n, "exec", sd->name);
	cJSON_AddItemToObject(ev, "target", json_text(target ? target : "?"));
	cJSON_AddItemToObject(ev, "command", argv);
	if (truncated)
		cJSON_AddBoolToObject(ev, "truncated", true);
	if (rc < 0)
		return answer(n, ev, deny(-rc));
	return decide_exec(n, sd, ev, target, argv, truncated);
}

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

static void net_call_free(struct net_call *c)
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

		if ((it->kind == PLAN_OVERLAY || it->kind == PLAN_SCRATCH) && !it->hidden &&
		    path_is_under(path, it->path) &&
		    (!best || strlen(it->path) > strlen(best->path)))
			best = it;
	}
	if (!best)
		return true; /* no overlay holds it: the sandbox's own tmpfs */
	upper = path_join(best->upper, path + strlen(best->path));
	return lstat(upper, &st) == 0;
}

/* An O_PATH descriptor of the host's socket at path, never through a symlink, or -errno. */
static int open_host_socket(const char *path)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	struct stat st;

	if (fd < 0)
		return -errno;
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
	cleanup_fd int rfd = -1;

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
		char root[64];
		struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		cleanup_free char *dir = NULL;
		char *slash;
		int k;

		abs = resolve_for_record(c->pid, AT_FDCWD, raw);
		dir = xstrdup(abs);
		slash = strrchr(dir, '/');
		if (!slash || !slash[1])
			return -EINVAL;
		*slash = '\0';
		snprintf(root, sizeof(root), "/proc/%d/root", (int)c->pid);
		rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rfd < 0)
			return -errno;
		*pathfd = (int)syscall(SYS_openat2, rfd, dir[0] ? dir : "/", &how, sizeof(how));
		if (*pathfd < 0)
			return -errno;
		memset(ss, 0, sizeof(*ss));
		sun->sun_family = AF_UNIX;
		k = snprintf(sun->sun_path, sizeof(sun->sun_path), "/proc/self/fd/%d/%s", *pathfd,
			     slash + 1);
		if (k < 0 || (size_t)k >= sizeof(sun->sun_path))
			return -ENAMETOOLONG;
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)k + 1);
		return 0;
	} else {
		char root[64];
		struct open_how how = {.flags = O_PATH | O_CLOEXEC,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};

		abs = resolve_for_record(c->pid, AT_FDCWD, raw);
		snprintf(root, sizeof(root), "/proc/%d/root", (int)c->pid);
		rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rfd < 0)
			return -errno;
		*pathfd = (int)syscall(SYS_openat2, rfd, abs, &how, sizeof(how));
		if (*pathfd < 0)
			*pathfd = -errno;
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

/*
 * Perform the call for the program, on a socket the supervisor controls, with its own copies,
 * and answer notification id (or leave it to a wait). The decision is recorded already. A
 * destination outside reached from a socket of the sandbox gets a host socket first,
 * installed in place of the program's (so replies reach it).
 */
static int net_act(struct notifier *n, __u64 id, struct net_call *c)
{
	cleanup_fd int host = -1, pathfd = -1;
	struct sockaddr_storage to;
	socklen_t tolen;
	struct net_msg *msgs = NULL;
	size_t nmsgs = 0;
	bool is_send = c->sd->cls == CLASS_SEND;
	int fd, rc;

	rc = need_sock(n, c);
	if (rc == 0)
		rc = own_address(c, &to, &tolen, &pathfd);
	if (rc == 0 && is_send)
		rc = copy_payloads(c, &to, tolen, &msgs, &nmsgs);
	if (rc < 0)
		return respond_id(n, id, result(0, -rc));
	/* The task waits in its call: its memory was still its own while we copied. */
	{
		__u64 vid = id;

		if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &vid) < 0)
			goto gone;
	}
	fd = c->sock.fd;
	if ((c->kind == DEST_OUTSIDE || c->kind == DEST_HOST_UNIX) && c->sock.inside) {
		host = net_host_socket(&c->sock);
		if (host < 0) {
			record_failure(n, c, "cannot create the host socket", -host);
			rc = host;
			goto fail;
		}
		rc = net_install(n->fd, id, host, c->fd, c->sock.cloexec);
		if (rc == -ENOENT)
			goto gone;
		if (rc < 0) {
			/* Nothing was connected or sent: the program's socket is as it was. */
			record_failure(n, c, "cannot install the host socket", -rc);
			goto fail;
		}
		n->host_sockets = true;
		fd = host;
	}
	if (c->sd->cls == CLASS_BIND) {
		rc = net_bind(fd, (const struct sockaddr *)&to, tolen);
		goto done;
	}
	if (c->sd->cls == CLASS_CONNECT || c->fastopen) {
		rc = net_connect(fd, (const struct sockaddr *)&to, tolen, c->sock.nonblock);
		if (rc == -EINPROGRESS && !c->sock.nonblock) {
			/* A blocking connect: the program waits, the supervisor does not. */
			int own = host >= 0 ? steal_fd(&host) : steal_fd(&c->sock.fd);

			rc = net_wait(n->waits, id, own, NET_WAIT_CONNECT, msgs,
				      c->fastopen ? nmsgs : 0);
			if (rc == 0)
				return 0;
			close(own);
			goto fail;
		}
		if (rc < 0 || !c->fastopen)
			goto done;
	}
	{
		long long sent = 0;
		size_t i;

		for (i = 0; i < nmsgs; i++) {
			ssize_t k = net_send(fd, &msgs[i]);

			if (k < 0) {
				rc = (int)k;
				break;
			}
			msgs[i].len = (size_t)k;
			sent = c->sd->nr == SYS_sendmmsg ? (long long)i + 1 : k;
		}
		/* A blocking socket that is full: wait, unless the messages name a Unix socket
		   through pathfd, which is closed when this returns (answered EAGAIN). */
		if (i == 0 && rc == -EAGAIN && !c->sock.nonblock && pathfd < 0) {
			int own = host >= 0 ? steal_fd(&host) : steal_fd(&c->sock.fd);

			rc = net_wait(n->waits, id, own,
				      c->sd->nr == SYS_sendmmsg ? NET_WAIT_SENDMMSG : NET_WAIT_SEND,
				      msgs, nmsgs);
			if (rc == 0)
				return 0;
			close(own);
			goto fail;
		}
		if (c->sd->nr == SYS_sendmmsg && sent > 0)
			write_mmsg_lens(c, msgs, sent);
		for (size_t k = 0; k < nmsgs; k++)
			net_msg_free(&msgs[k]);
		free(msgs);
		if (i > 0 || nmsgs == 0)
			return respond_id(n, id, result(sent, 0));
		return respond_id(n, id, result(0, -rc));
	}
done:
	for (size_t k = 0; k < nmsgs; k++)
		net_msg_free(&msgs[k]);
	free(msgs);
	return respond_id(n, id, result(0, rc < 0 ? -rc : 0));
fail:
	for (size_t k = 0; k < nmsgs; k++)
		net_msg_free(&msgs[k]);
	free(msgs);
	return respond_id(n, id, result(0, -rc));
gone:
	for (size_t k = 0; k < nmsgs; k++)
		net_msg_free(&msgs[k]);
	free(msgs);
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

static int net_resume(struct notifier *n, __u64 id, struct net_call *c, cJSON *ev, const char *by)
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

static int handle_net(struct notifier *n, const struct sys_desc *sd)
{
	const struct seccomp_data *d = &n->req->data;
	struct net_call *c = xcalloc(1, sizeof(*c));
	cJSON *ev = NULL;
	int rc = 0;

	c->sd = sd;
	c->pid = (pid_t)n->req->pid;
	c->fd = (int)(unsigned)d->args[0];
	c->sock.fd = -1;
	switch (sd->nr) {
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
int notifier_handle(struct notifier *n)
{
	const struct sys_desc *sd;

	memset(n->req, 0, n->sizes.seccomp_notif);
	if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_RECV, n->req) < 0) {
		/* ENOENT: the task died between the wake-up and RECV. EINTR: a signal. */
		if (errno == ENOENT || errno == EINTR)
			return 0;
		return -errno;
	}
	n->handled++;
	sd = find_desc((int)n->req->data.nr);
	if (!sd || n->req->data.arch != AUDIT_ARCH_X86_64) {
		/* The filter notifies nothing else; an unknown call is refused, not run. */
		return answer(n, NULL, deny(EPERM));
	}
	switch (sd->cls) {
	case CLASS_WRITE:
		return handle_write(n, sd);
	case CLASS_EXEC:
		return handle_exec(n, sd);
	case CLASS_CONNECT:
	case CLASS_BIND:
	case CLASS_SEND:
		return handle_net(n, sd);
	case CLASS_IDS:
		/* Not a change the review shows: answered, not recorded. */
		return answer(n, NULL, ids_mapped(n) ? ALLOW : deny(EPERM));
	}
	return answer(n, NULL, deny(EPERM));
}
