/* SPDX-License-Identifier: MIT */
/* `airlock run`: create a session, start the sandbox, serve its notifications, record. */
#include "supervisor/cli.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "supervisor/changes.h"
#include "supervisor/events.h"
#include "supervisor/notify.h"
#include "supervisor/session.h"
#include "supervisor/store.h"
#include "tracee/env.h"
#include "tracee/plan.h"
#include "tracee/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Secrets hidden by default (design.md, "Threat model"); --hide and rules extend the list. */
static const char *const default_hidden[] = {
	"~/.ssh",	"~/.gnupg",	    "~/.aws", "~/.azure",	  "~/.config/gcloud",
	"~/.kube",	"~/.docker",	    "~/.netrc", "~/.password-store", "~/.config/gh",
};

struct strlist {
	const char **v;
	size_t n, cap;
};

static void strlist_add(struct strlist *l, const char *s)
{
	GROW(l->v, l->cap, l->n + 1);
	l->v[l->n++] = s;
}

struct run_opts {
	struct strlist env, hide, readonly, scratch;
	bool keep_env;
	enum net_mode net;
	unsigned long long timeout_ms;
	char **command;
};

enum {
	OPT_ASK = 256,
	OPT_REVIEW,
	OPT_JSON,
	OPT_NET,
	OPT_TIMEOUT,
	OPT_CPU,
	OPT_MEMORY,
	OPT_PIDS,
	OPT_FSIZE,
	OPT_OUTPUT_LIMIT,
	OPT_ENV,
	OPT_KEEP_ENV,
	OPT_CAPTURE,
	OPT_HIDE,
	OPT_READONLY,
	OPT_SCRATCH,
	OPT_ASK_TIMEOUT,
	OPT_DNS_UPSTREAM,
	OPT_REPLAY,
	OPT_HELP,
};

static const struct option run_options[] = {
	{"rules", required_argument, NULL, 'r'},
	{"ask", required_argument, NULL, OPT_ASK},
	{"review", required_argument, NULL, OPT_REVIEW},
	{"json", no_argument, NULL, OPT_JSON},
	{"net", required_argument, NULL, OPT_NET},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"cpu", required_argument, NULL, OPT_CPU},
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"pids", required_argument, NULL, OPT_PIDS},
	{"fsize", required_argument, NULL, OPT_FSIZE},
	{"output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT},
	{"env", required_argument, NULL, OPT_ENV},
	{"keep-env", no_argument, NULL, OPT_KEEP_ENV},
	{"capture", no_argument, NULL, OPT_CAPTURE},
	{"hide", required_argument, NULL, OPT_HIDE},
	{"readonly", required_argument, NULL, OPT_READONLY},
	{"scratch", required_argument, NULL, OPT_SCRATCH},
	{"ask-timeout", required_argument, NULL, OPT_ASK_TIMEOUT},
	{"dns-upstream", required_argument, NULL, OPT_DNS_UPSTREAM},
	{"replay", required_argument, NULL, OPT_REPLAY},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static const char run_usage[] =
	"usage: airlock run [options] [--] command [arg...]\n"
	"\n"
	"  -r, --rules FILE       add a rules file (not supported yet)\n"
	"      --ask MODE         how asks are answered; only 'deny' is supported yet\n"
	"      --review WHEN      auto (default) | never; the review is not available yet\n"
	"      --net MODE         mediated (default) | none: the sandbox has its own loopback;\n"
	"                         every destination outside it is refused (EACCES)\n"
	"      --timeout DUR      wall-clock limit (30s, 5m, 1h); exit status 124\n"
	"      --env NAME[=VAL]   pass a variable, or set one (repeatable)\n"
	"      --keep-env         pass the whole environment\n"
	"      --hide PATH        make PATH absent inside (repeatable)\n"
	"      --readonly PATH    make PATH read-only inside (repeatable)\n"
	"      --scratch DIR      writable inside, thrown away, never reviewed (repeatable)\n"
	"      --json, --capture, --cpu, --memory, --pids, --fsize, --output-limit,\n"
	"      --ask-timeout, --dns-upstream, --replay: not supported yet\n";

static int not_yet(const char *opt)
{
	fprintf(stderr, "airlock: %s is not supported yet\n", opt);
	return EXIT_AIRLOCK_FAILED;
}

static int bad_value(const char *opt, const char *value, const char *want)
{
	fprintf(stderr, "airlock: %s %s: %s\n", opt, value, want);
	return EXIT_AIRLOCK_FAILED;
}

/* Parse run's options; returns -1 to go on, or the exit status to stop with. */
static int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
	int c;

	o->net = NET_MEDIATED;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+r:", run_options, NULL)) != -1) {
		switch (c) {
		case 'r':
			return not_yet("--rules");
		case OPT_ASK:
			if (strcmp(optarg, "deny") != 0)
				return not_yet("--ask other than 'deny'");
			break;
		case OPT_REVIEW:
			if (strcmp(optarg, "never") && strcmp(optarg, "auto")) {
				if (!strcmp(optarg, "always"))
					return not_yet("--review always");
				return bad_value("--review", optarg, "expected auto, always or never");
			}
			break;
		case OPT_NET:
			if (strcmp(optarg, "mediated") == 0)
				o->net = NET_MEDIATED;
			else if (strcmp(optarg, "none") == 0)
				o->net = NET_NONE;
			else if (strcmp(optarg, "host") == 0)
				return not_yet("--net host");
			else
				return bad_value("--net", optarg, "expected mediated, none or host");
			break;
		case OPT_TIMEOUT:
			if (parse_duration_ms(optarg, &o->timeout_ms) < 0 || o->timeout_ms == 0)
				return bad_value("--timeout", optarg,
						 "expected a duration such as 30s, 5m or 1h");
			break;
		case OPT_ENV:
			strlist_add(&o->env, optarg);
			break;
		case OPT_KEEP_ENV:
			o->keep_env = true;
			break;
		case OPT_HIDE:
			strlist_add(&o->hide, optarg);
			break;
		case OPT_READONLY:
			strlist_add(&o->readonly, optarg);
			break;
		case OPT_SCRATCH:
			strlist_add(&o->scratch, optarg);
			break;
		case OPT_JSON:
			return not_yet("--json");
		case OPT_CAPTURE:
			return not_yet("--capture");
		case OPT_CPU:
			return not_yet("--cpu");
		case OPT_MEMORY:
			return not_yet("--memory");
		case OPT_PIDS:
			return not_yet("--pids");
		case OPT_FSIZE:
			return not_yet("--fsize");
		case OPT_OUTPUT_LIMIT:
			return not_yet("--output-limit");
		case OPT_ASK_TIMEOUT:
			return not_yet("--ask-timeout");
		case OPT_DNS_UPSTREAM:
			return not_yet("--dns-upstream");
		case OPT_REPLAY:
			return not_yet("--replay");
		case OPT_HELP:
			fputs(run_usage, stdout);
			return 0;
		default:
			fputs(run_usage, stderr);
			return EXIT_AIRLOCK_FAILED;
		}
	}
	if (optind >= argc) {
		fputs("airlock: run: no command given\n", stderr);
		fputs(run_usage, stderr);
		return EXIT_AIRLOCK_FAILED;
	}
	o->command = argv + optind;
	return -1;
}

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : "/";
}

/* "~/x", "$HOME/x", "./x" or "x" -> absolute, normalised. Caller frees. */
static char *expand_path(const char *p, const char *cwd)
{
	cleanup_free char *joined = NULL;

	if (strcmp(p, "~") == 0 || strncmp(p, "~/", 2) == 0)
		joined = path_join(home_dir(), p[1] ? p + 2 : "");
	else if (strcmp(p, "$HOME") == 0 || strncmp(p, "$HOME/", 6) == 0)
		joined = path_join(home_dir(), p[5] ? p + 6 : "");
	else
		joined = path_join(cwd, p);
	return path_normalize(joined);
}

/*
 * Refuse early, with the fix, when the kernel cannot run the sandbox: overlayfs in a user
 * namespace arrived in Linux 5.11, and distributions can switch user namespaces off.
 */
static int check_kernel(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	cleanup_free char *v = NULL;

	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	    (major < 5 || (major == 5 && minor < 11)))
		return error("Linux %u.%u is too old: airlock needs Linux >= 5.11 (unprivileged "
			     "overlayfs)",
			     major, minor);
	v = read_file("/proc/sys/kernel/unprivileged_userns_clone", 64, NULL);
	if (v && v[0] == '0' && geteuid() != 0)
		return error("unprivileged user namespaces are disabled; enable them with "
			     "'sysctl kernel.unprivileged_userns_clone=1'");
	free(v);
	v = read_file("/proc/sys/user/max_user_namespaces", 64, NULL);
	if (v && v[0] == '0' && v[1] == '\n')
		return error("user namespaces are disabled; enable them with "
			     "'sysctl user.max_user_namespaces=15000'");
	return 0;
}

static const char *clone_hint(int err)
{
	if (err == EPERM || err == EACCES)
		return " (unprivileged user namespaces are restricted: on Ubuntu 23.10 and later "
		       "run 'sysctl kernel.apparmor_restrict_unprivileged_userns=0' or install an "
		       "AppArmor profile for airlock; elsewhere check "
		       "kernel.unprivileged_userns_clone)";
	if (err == ENOSPC)
		return " (user.max_user_namespaces is exhausted or 0)";
	if (err == EINVAL)
		return " (the kernel lacks user, pid or network namespaces)";
	return "";
}

/* Everything the run loop tracks. */
struct run_state {
	pid_t pid;          /* pid 1 of the sandbox, in our namespace */
	int control;        /* our end of the control socket */
	int pidfd;          /* the command (pid 2), once it said hello */
	int sigfd;
	int timerfd;
	struct notifier notifier;
	bool have_listener;
	bool listener_gone;
	bool control_gone;
	bool got_exit;      /* the command's status arrived from pid 1 */
	int exit_status;    /* waitpid() status of the command */
	bool reaped;
	int init_status;    /* waitpid() status of pid 1 */
	const char *limit;  /* the limit that ended the run, or NULL */
	struct filter_info filter;
};

/* Take the listener out of the command with pidfd_getfd (see tracee/sandbox.h for why). */
static int take_listener(struct run_state *rs, const struct tracee_msg *msg,
			 struct event_log *log, enum net_mode net)
{
	struct tracee_msg taken = {.type = TRACEE_MSG_TAKEN};
	int fd, rc;

	if (rs->pidfd < 0 || msg->listener < 0)
		return error("the sandbox sent its listener before announcing itself");
	fd = (int)syscall(SYS_pidfd_getfd, rs->pidfd, msg->listener, 0);
	if (fd < 0)
		return error_errno("cannot take the seccomp listener from the sandbox "
				   "(pidfd_getfd needs Linux >= 5.6)");
	rc = notifier_init(&rs->notifier, fd, log, net);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	rs->have_listener = true;
	rs->filter = msg->filter;
	if (send(rs->control, &taken, sizeof(taken), MSG_NOSIGNAL) != (ssize_t)sizeof(taken))
		return error_errno("cannot answer the sandbox");
	return 0;
}

/* The command's pid, from the credentials the kernel attached to its hello. */
static int note_hello(struct run_state *rs, struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		struct ucred cred;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_CREDENTIALS ||
		    c->cmsg_len != CMSG_LEN(sizeof(cred)))
			continue;
		memcpy(&cred, CMSG_DATA(c), sizeof(cred));
		rs->pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
		if (rs->pidfd < 0)
			return error_errno("cannot open a pidfd for the sandbox (needs Linux >= 5.3)");
		return 0;
	}
	return error("the sandbox's hello carried no credentials");
}

static int recv_control(struct run_state *rs, struct event_log *log, enum net_mode net)
{
	struct tracee_msg msg;
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = &msg, .iov_len = sizeof(msg)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	ssize_t n;

	n = recvmsg(rs->control, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0) {
		rs->control_gone = true;
		return 0;
	}
	if (n != (ssize_t)sizeof(msg))
		return 0;
	switch (msg.type) {
	case TRACEE_MSG_HELLO:
		if (rs->pidfd < 0)
			return note_hello(rs, &mh);
		return 0;
	case TRACEE_MSG_LISTENER:
		if (!rs->have_listener)
			return take_listener(rs, &msg, log, net);
		return 0;
	case TRACEE_MSG_EXIT:
		rs->got_exit = true;
		rs->exit_status = msg.status;
		return 0;
	default:
		return 0;
	}
}

static void handle_signal(struct run_state *rs)
{
	struct signalfd_siginfo si;
	int status;

	while (read(rs->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			if (!rs->reaped && waitpid(rs->pid, &status, WNOHANG) == rs->pid) {
				rs->reaped = true;
				rs->init_status = status;
			}
			continue;
		}
		/* pid 1 passes it on to the command's process group. */
		kill(rs->pid, (int)si.ssi_signo);
	}
}

static int serve(struct run_state *rs, struct event_log *log, enum net_mode net)
{
	while (!rs->reaped) {
		struct pollfd pf[4];
		nfds_t n = 0;
		int i_ctl = -1, i_sig, i_lis = -1, i_tim = -1;

		if (!rs->control_gone) {
			i_ctl = (int)n;
			pf[n++] = (struct pollfd){.fd = rs->control, .events = POLLIN};
		}
		i_sig = (int)n;
		pf[n++] = (struct pollfd){.fd = rs->sigfd, .events = POLLIN};
		if (rs->have_listener && !rs->listener_gone) {
			i_lis = (int)n;
			pf[n++] = (struct pollfd){.fd = rs->notifier.fd, .events = POLLIN};
		}
		if (rs->timerfd >= 0) {
			i_tim = (int)n;
			pf[n++] = (struct pollfd){.fd = rs->timerfd, .events = POLLIN};
		}
		if (poll(pf, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return error_errno("poll failed");
		}
		/* Notifications first: a task blocked on one holds up the whole program. */
		if (i_lis >= 0 && (pf[i_lis].revents & POLLIN)) {
			int rc = notifier_handle(&rs->notifier);

			if (rc < 0 && rc != -ENOENT) {
				errno = -rc;
				error_errno("the seccomp listener failed; stopping the sandbox");
				kill(rs->pid, SIGKILL);
				rs->listener_gone = true;
			}
		} else if (i_lis >= 0 && (pf[i_lis].revents & (POLLHUP | POLLERR))) {
			rs->listener_gone = true; /* every filtered task has exited */
		}
		if (i_ctl >= 0 && (pf[i_ctl].revents & (POLLIN | POLLHUP))) {
			int rc = recv_control(rs, log, net);

			if (rc < 0)
				return rc;
		}
		if (pf[i_sig].revents & POLLIN)
			handle_signal(rs);
		if (i_tim >= 0 && (pf[i_tim].revents & POLLIN)) {
			rs->limit = "timeout";
			kill(rs->pid, SIGKILL);
			close(rs->timerfd);
			rs->timerfd = -1;
		}
	}
	/* pid 1 sends the command's status before it exits: it is already queued. */
	while (!rs->control_gone && !rs->got_exit)
		if (recv_control(rs, log, net) < 0 || !rs->got_exit)
			break;
	return 0;
}

static int start_timer(unsigned long long ms)
{
	struct itimerspec its = {0};
	int fd;

	if (ms == 0)
		return -1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		die_errno("cannot create a timer");
	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		die_errno("cannot arm the timer");
	return fd;
}

/* The exit status of `airlock run`, per design.md: the command's own, 128+N, 124, 137. */
static int final_status(const struct run_state *rs, int *signal_out)
{
	int st;

	*signal_out = 0;
	if (rs->limit && strcmp(rs->limit, "timeout") == 0)
		return 124;
	if (rs->limit)
		return 137;
	if (rs->got_exit) {
		st = rs->exit_status;
	} else {
		/* pid 1 ended without reporting: its own status (125 for a setup failure). */
		st = rs->init_status;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		*signal_out = WTERMSIG(st);
		return 128 + WTERMSIG(st);
	}
	return EXIT_AIRLOCK_FAILED;
}

static int setup_signals(sigset_t *mask)
{
	static const int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				   SIGUSR1, SIGUSR2, SIGWINCH};
	size_t i;
	int fd;

	sigemptyset(mask);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(mask, sigs[i]);
	if (sigprocmask(SIG_BLOCK, mask, NULL) < 0)
		return error_errno("cannot block signals");
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return error_errno("cannot create a signalfd");
	return fd;
}

static void build_hide_list(const struct run_opts *o, const char *cwd, const char *store,
			    struct strlist *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(default_hidden); i++)
		strlist_add(out, expand_path(default_hidden[i], cwd));
	for (i = 0; i < o->hide.n; i++)
		strlist_add(out, expand_path(o->hide.v[i], cwd));
	/* The program must not see or touch its own session, nor any other. */
	strlist_add(out, xstrdup(store));
}

static void free_strlist_owned(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free((char *)l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {0};
	struct run_state rs = {.pid = -1, .control = -1, .pidfd = -1, .sigfd = -1, .timerfd = -1};
	struct strlist hide = {0}, ro = {0}, scratch = {0};
	struct session s = {0};
	struct plan plan = {0};
	struct event_log log = {.fd = -1};
	struct env_result env = {0};
	struct sandbox_spec spec;
	struct session_record rec;
	struct tracee_msg ready = {.type = TRACEE_MSG_READY};
	cleanup_free char *cwd = NULL, *store = NULL, *root_dir = NULL, *events_path = NULL;
	sigset_t mask;
	int sv[2], status, sig, rc;
	size_t i;

	rc = parse_run_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	err_set_die_status(EXIT_AIRLOCK_FAILED);
	if (check_kernel() < 0)
		return EXIT_AIRLOCK_FAILED;
	cwd = getcwd(NULL, 0);
	if (!cwd)
		die_errno("cannot read the working directory");
	store = store_root();
	if (!store)
		return EXIT_AIRLOCK_FAILED;
	if (strpbrk(store, ",:"))
		die("the session store path %s has a ',' or ':', which overlayfs options cannot "
		    "carry; set AIRLOCK_STATE_DIR to another directory",
		    store);
	build_hide_list(&o, cwd, store, &hide);
	for (i = 0; i < o.readonly.n; i++)
		strlist_add(&ro, expand_path(o.readonly.v[i], cwd));
	for (i = 0; i < o.scratch.n; i++)
		strlist_add(&scratch, expand_path(o.scratch.v[i], cwd));
	if (env_build(environ, o.env.v, o.env.n, o.keep_env, cwd, &env) < 0)
		return EXIT_AIRLOCK_FAILED;

	if (store_create(&s) < 0)
		return EXIT_AIRLOCK_FAILED;
	{
		struct plan_opts po = {
			.session_dir = s.dir,
			.hide = hide.v,
			.nhide = hide.n,
			.readonly = ro.v,
			.nreadonly = ro.n,
			.scratch = scratch.v,
			.nscratch = scratch.n,
		};

		if (plan_build(&plan, &po) < 0)
			die("cannot prepare the sandbox's filesystem view");
	}
	root_dir = session_path(&s, "root");
	if (mkdir(root_dir, 0700) < 0)
		die_errno("cannot create %s", root_dir);
	session_record_init(&rec, &s, o.command, cwd, &plan, hide.v, hide.n, ro.v, ro.n,
			    o.net == NET_NONE ? "none" : "mediated", o.timeout_ms);
	if (session_record_start(&rec) < 0)
		return EXIT_AIRLOCK_FAILED;
	events_path = session_path(&s, "events.jsonl");
	if (events_open(&log, events_path) < 0)
		return EXIT_AIRLOCK_FAILED;

	rs.sigfd = setup_signals(&mask);
	if (rs.sigfd < 0)
		return EXIT_AIRLOCK_FAILED;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die_errno("cannot create the control socket");
	rs.control = sv[0];
	if (setsockopt(rs.control, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0)
		die_errno("cannot set up the control socket");
	spec = (struct sandbox_spec){
		.argv = o.command,
		.envp = env.envp,
		.cwd = cwd,
		.root_dir = root_dir,
		.plan = &plan,
		.net = o.net,
		.control_fd = sv[1],
		.supervisor_fd = sv[0],
		.uid = getuid(),
		.gid = getgid(),
	};
	fflush(NULL);
	rs.pid = sandbox_clone(&spec);
	if (rs.pid < 0) {
		errno = -rs.pid;
		die("cannot create the sandbox's namespaces: %s%s", strerror(errno),
		    clone_hint(errno));
	}
	close(sv[1]);
	if (send(rs.control, &ready, sizeof(ready), MSG_NOSIGNAL) != (ssize_t)sizeof(ready))
		die_errno("cannot start the sandbox");
	rs.timerfd = start_timer(o.timeout_ms);

	rc = serve(&rs, &log, o.net);
	if (rc < 0) {
		kill(rs.pid, SIGKILL);
		while (!rs.reaped && waitpid(rs.pid, &rs.init_status, 0) < 0 && errno == EINTR)
			;
	}
	status = final_status(&rs, &sig);
	if (!rs.have_listener && !rs.got_exit && status == EXIT_AIRLOCK_FAILED)
		error("the sandbox could not start (see the message above)");
	if (rs.limit && strcmp(rs.limit, "timeout") == 0)
		error("the command ran out of time (--timeout) and was killed");

	session_record_finish(&rec, status, sig, rs.limit, rs.notifier.handled,
			      rs.filter.wait_killable, rs.notifier.sync_wakeup);
	if (rec.nchanges >= 0 && status != EXIT_AIRLOCK_FAILED)
		fprintf(stderr,
			"airlock: session %s: %ld change%s held in the sandbox; see 'airlock show "
			"%s'\n",
			s.id, rec.nchanges, rec.nchanges == 1 ? "" : "s", s.id);

	if (rs.have_listener)
		notifier_free(&rs.notifier);
	if (rs.pidfd >= 0)
		close(rs.pidfd);
	events_close(&log);
	session_record_free(&rec);
	plan_free(&plan);
	env_result_free(&env);
	free_strlist_owned(&hide);
	free_strlist_owned(&ro);
	free_strlist_owned(&scratch);
	free(o.env.v);
	free(o.hide.v);
	free(o.readonly.v);
	free(o.scratch.v);
	store_close(&s);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	return status;
}
