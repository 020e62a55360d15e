/* SPDX-License-Identifier: MIT */
/* Receives, records and answers seccomp notifications, and holds the asks; see notify.h. */
#include "supervisor/supervise/notify_int.h"

/* The notified calls (tracee/syscalls.h), each at its index in sys_table. */
enum {
#define X(name, ...) SC_##name,
	AIRLOCK_SYSCALLS(X)
#undef X
};

SYSCALL_TABLE_BEGIN
static const struct sys_desc sys_table[] = {
#define X(name, cls, when, ...)                                                                    \
	[SC_##name] = {SYS_##name, #name, CLASS_##cls, SYSCALL_ARGS(__VA_ARGS__)},
	AIRLOCK_SYSCALLS(X)
#undef X
};
SYSCALL_TABLE_END

/* by into v->by, cut to fit (without printf: this runs for every notified call). */
static void set_by(struct verdict *v, const char *by)
{
	size_t n = strnlen(by, sizeof(v->by) - 1);

	memcpy(v->by, by, n);
	v->by[n] = '\0';
}

struct verdict allow_by(const char *by)
{
	struct verdict v = {.cont = true, .decision = "allow"};

	set_by(&v, by);
	return v;
}

struct verdict deny_by(int err, const char *by)
{
	struct verdict v = {.cont = false, .err = err, .decision = "deny"};

	set_by(&v, by);
	return v;
}

struct verdict deny(int err)
{
	return deny_by(err, "default");
}

/* The verdict a rule gives (allow or deny with err); by names the rule. */
struct verdict rule_verdict(const struct rule *r, int err)
{
	struct verdict v;

	if (!r)
		return allow_by("default");
	v = r->action == RULE_DENY ? deny_by(err, "") : allow_by("");
	rule_origin_to(r, v.by, sizeof(v.by));
	return v;
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
	sb_share_root(0);
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
bool ids_mapped(const struct notifier *n)
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

/* The row of call nr; NULL for a call the filter does not notify. */
static const struct sys_desc *find_desc(int nr)
{
	switch (nr) {
#define X(name, ...)                                                                               \
	case SYS_##name:                                                                           \
		return &sys_table[SC_##name];
		AIRLOCK_SYSCALLS(X)
#undef X
	}
	return NULL;
}

bool id_valid(const struct notifier *n)
{
	__u64 id = n->req->id;

	return ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/*
 * Who made the call: "exec_seq", the exec event that started the program the process runs
 * (procs.h), whose "command" is its command line as airlock observed it, never
 * /proc/PID/cmdline, which the program rewrites at will. The command line is recorded once,
 * in that event, and not again in each event of the process: a long one (xargs over
 * thousands of files) would otherwise fill the log. When no exec is known (the first
 * exec, a process whose parent was not seen), "argv" is an empty command line instead. In a
 * live session, "step" is the step (airlock exec) the process belongs to.
 */
void add_process(struct notifier *n, cJSON *ev, pid_t pid)
{
	unsigned step;
	long long seq = procs_seq(n->procs, n->init_pid, pid, &step);

	if (seq >= 0)
		add_num(ev, "exec_seq", (double)seq);
	else
		cJSON_AddItemToObjectCS(ev, "argv", cJSON_CreateArray());
	if (step) /* only a live session's processes have one */
		add_num(ev, "step", step);
}

/*
 * Where dirfd points for pid (or its cwd for AT_FDCWD), as the sandbox sees it. With procs,
 * pid is the caller of the notification being handled: read through the table's descriptor
 * of its /proc directory when it has one (procs_readlink()).
 */
static char *dir_of_caller(struct procs *procs, pid_t pid, int dirfd)
{
	char name[32], link[64], target[MAX_PATH_BYTES];
	ssize_t n;

	if (dirfd == AT_FDCWD)
		snprintf(name, sizeof(name), "cwd");
	else
		snprintf(name, sizeof(name), "fd/%d", dirfd);
	if (procs && procs_readlink(procs, pid, name, target, sizeof(target)) == 0)
		return xstrdup(target);
	snprintf(link, sizeof(link), "/proc/%d/%s", (int)pid, name);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return NULL;
	target[n] = '\0';
	return xstrdup(target);
}

char *dir_of(pid_t pid, int dirfd)
{
	return dir_of_caller(NULL, pid, dirfd);
}

/* The absolute path a call names, as named: its ".." are the kernel's to resolve. */
static char *join_named(struct procs *procs, pid_t pid, int dirfd, const char *raw)
{
	cleanup_free char *base = NULL;

	if (raw[0] == '/')
		return xstrdup(raw);
	base = dir_of_caller(procs, pid, dirfd);
	if (!base)
		base = xstrdup(dirfd == AT_FDCWD ? "?cwd" : "?fd");
	return path_join(base, raw);
}

/*
 * The absolute, lexically normalised path a call names. For the record and for attribution
 * only: the kernel resolves the real path itself, inside the overlay.
 */
char *resolve_for_record(pid_t pid, int dirfd, const char *raw)
{
	cleanup_free char *joined = join_named(NULL, pid, dirfd, raw);

	return path_normalize(joined);
}

/* Copy the path argument at index idx (with its dirfd) of pid's call d and resolve it. */
int copy_path_of(pid_t pid, const struct seccomp_data *d, int dirfd_idx, int path_idx, char **out)
{
	char raw[MAX_PATH_BYTES];

	return copy_path_raw(NULL, pid, d, dirfd_idx, path_idx, raw, NULL, out);
}

int copy_path_raw(struct procs *procs, pid_t pid, const struct seccomp_data *d, int dirfd_idx,
		  int path_idx, char raw[MAX_PATH_BYTES], char **named, char **out)
{
	/* A dirfd is an int: the kernel reads the low 32 bits only. */
	int dirfd = dirfd_idx >= 0 ? (int)(unsigned)d->args[dirfd_idx] : AT_FDCWD;
	char *joined;
	int rc;

	*out = NULL;
	if (named)
		*named = NULL;
	raw[0] = '\0';
	if (d->args[path_idx] == 0) {
		/* utimensat(fd, NULL, ...) acts on the descriptor itself. */
		if (dirfd_idx < 0 || dirfd == AT_FDCWD)
			return -EFAULT;
		*out = dir_of_caller(procs, pid, dirfd);
		if (named && *out)
			*named = xstrdup(*out);
		return *out ? 0 : -EBADF;
	}
	rc = mem_read_string(pid, d->args[path_idx], raw, MAX_PATH_BYTES);
	if (rc < 0)
		return rc;
	joined = join_named(procs, pid, dirfd, raw);
	*out = path_normalize(joined);
	if (named)
		*named = joined;
	else
		free(joined);
	return 0;
}

/* Copy the path argument of the call being handled. 0 or -errno. */
int copy_path(const struct notifier *n, int dirfd_idx, int path_idx, char **out)
{
	return copy_path_of((pid_t)n->req->pid, &n->req->data, dirfd_idx, path_idx, out);
}

void add_open_flags(cJSON *ev, unsigned flags)
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
	char text[96] = ""; /* every name above, with separators, fits */
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if ((flags & names[i].bit) == names[i].bit) {
			if (text[0])
				strcat(text, "|");
			strcat(text, names[i].name);
		}
	}
	add_str(ev, "flags", text[0] ? text : "O_RDONLY");
}

const char *errno_name(int err)
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
	case EXDEV:
		return "EXDEV";
	case ENOTEMPTY:
		return "ENOTEMPTY";
	case EEXIST:
		return "EEXIST";
	case ENOTDIR:
		return "ENOTDIR";
	case EISDIR:
		return "EISDIR";
	case EBUSY:
		return "EBUSY";
	case ENOSPC:
		return "ENOSPC";
	case EROFS:
		return "EROFS";
	default:
		return "error";
	}
}

/* Record ev with v's decision. Returns v, or a denial when the record failed. */
struct verdict record_event(struct notifier *n, cJSON *ev, struct verdict v)
{
	if (ev) {
		add_str(ev, "decision", v.decision);
		add_str(ev, "by", v.by);
		add_str(ev, "result",
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
int respond_id(struct notifier *n, __u64 id, struct verdict v)
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
int answer_id(struct notifier *n, __u64 id, cJSON *ev, struct verdict v)
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
int answer(struct notifier *n, cJSON *ev, struct verdict v)
{
	return answer_id(n, n->req->id, ev, v);
}

cJSON *new_event(struct notifier *n, const char *cls, const char *op)
{
	cJSON *ev = cJSON_CreateObject();

	add_num(ev, "pid", n->req->pid);
	add_process(n, ev, (pid_t)n->req->pid);
	add_str(ev, "class", cls);
	add_str(ev, "op", op);
	return ev;
}

void pending_free(struct pending_call *pc)
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

static void cjson_deletep(cJSON **p)
{
	cJSON_Delete(*p);
}

/*
 * Ask about the call being handled. The question goes out and the notification waits in
 * n->pending; the loop goes on receiving others (design.md, protocol step 6).
 */
int ask_start(struct notifier *n, const struct sys_desc *sd, cJSON *ev, enum sys_class cls,
	      const struct rule *r, struct ask_question *q, int deny_err, struct net_call *net)
{
	struct pending_call *pc = xcalloc(1, sizeof(*pc));
	cJSON *argv __attribute__((cleanup(cjson_deletep))) = NULL;
	struct ask_answer now;
	long long seq;
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
	/* The person (or the controller) is shown the command line, not the exec it came from. */
	argv = procs_argv(n->procs, n->init_pid, pc->pid, &seq);
	q->argv = argv;
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

/* The call just received: its class's handler, or a denial. */
static int dispatch(struct notifier *n)
{
	const struct sys_desc *sd;

	/* Every process that notifies is under the filter, in init's root for good. */
	if (!n->root_shared && n->init_pid > 0) {
		sb_share_root(n->init_pid);
		n->root_shared = true;
	}
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

int notifier_handle(struct notifier *n)
{
	int rc;

	memset(n->req, 0, n->sizes.seccomp_notif);
	if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_RECV, n->req) < 0) {
		/* ENOENT: the task died between the wake-up and RECV. EINTR: a signal. */
		if (errno == ENOENT || errno == EINTR)
			return 0;
		return -errno;
	}
	n->handled++;
	procs_call(n->procs, n->req->id);
	rc = dispatch(n);
	procs_call(n->procs, 0);
	return rc;
}
