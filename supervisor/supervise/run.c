/* SPDX-License-Identifier: MIT */
/* `airlock run`: create a session, start the sandbox, serve its notifications, record. */
#include "supervisor/cli/cli.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/supervise/ask.h"
#include "supervisor/record/audit.h"
#include "supervisor/changeset/changes.h"
#include "supervisor/supervise/dns.h"
#include "supervisor/cli/doctor.h"
#include "supervisor/record/events.h"
#include "supervisor/supervise/monitor.h"
#include "supervisor/supervise/notify.h"
#include "supervisor/supervise/policy.h"
#include "supervisor/supervise/ptyrelay.h"
#include "supervisor/supervise/redact.h"
#include "supervisor/record/report.h"
#include "supervisor/review/review.h"
#include "supervisor/record/session.h"
#include "supervisor/record/store.h"
#include "tracee/env.h"
#include "tracee/plan.h"
#include "tracee/sandbox.h"

#include <errno.h>
#include <linux/filter.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct strlist {
	const char **v;
	size_t n, cap;
};

static void strlist_add(struct strlist *l, const char *s)
{
	GROW(l->v, l->cap, l->n + 1);
	l->v[l->n++] = s;
}

/* Limits; 0 means none. */
struct run_limits {
	unsigned long long timeout_ms, cpu_ms, memory, pids, fsize, output;
};

struct run_opts {
	struct strlist env, hide, readonly, scratch, rules;
	bool keep_env, json, capture, ask_given, log_syslog;
	enum review_when review;
	enum ask_mode ask;
	int ask_fd;
	const char *replay; /* --replay ID */
	unsigned long long ask_timeout_ms;
	enum net_mode net;
	struct sockaddr_storage dns_upstream; /* --dns-upstream; family 0: the host's resolver */
	socklen_t dns_upstream_len;
	struct run_limits lim;
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
	OPT_LOG_SYSLOG,
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
	{"log-syslog", no_argument, NULL, OPT_LOG_SYSLOG},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static const char run_usage[] =
	"usage: airlock run [options] [--] command [arg...]\n"
	"\n"
	"  -r, --rules FILE       add a rules file (repeatable; later files win; see\n"
	"                         airlock-rules(5)); the built-in defaults and\n"
	"                         ~/.config/airlock/rules come first\n"
	"      --ask MODE         who answers what the rules leave to 'ask':\n"
	"                         tty (default on a terminal): a prompt on the terminal\n"
	"                         deny (default otherwise) | allow: nobody, always that answer\n"
	"                         fd:N: a controller, JSON lines on descriptor N\n"
	"      --ask-timeout DUR  how long an ask waits before it is denied (default 60s)\n"
	"      --replay ID        answers given in session ID answer the same asks again\n"
	"      --json             print one JSON result on stdout; output is captured into it\n"
	"      --capture          capture output into the session (and redact secrets)\n"
	"      --net MODE         mediated (default): the sandbox has its own loopback; each\n"
	"                         destination outside is decided by the connect rules and asks,\n"
	"                         and an allowed one is connected by airlock (denied: EACCES);\n"
	"                         the host's loopback and own addresses need a rule naming\n"
	"                         them (localhost:5432, 127.0.0.1:8080), never a looked-up name;\n"
	"                         a name only an ask could open is asked before it is looked up\n"
	"                         none: nothing leaves, every name is NXDOMAIN\n"
	"                         host: the host's network, no decisions, connections recorded\n"
	"      --dns-upstream ADDR[:PORT]  where the sandbox's DNS forwards allowed names\n"
	"                         (default: the first nameserver of /etc/resolv.conf)\n"
	"      --timeout DUR      wall-clock limit (30s, 5m, 1h); exit status 124\n"
	"      --cpu DUR          CPU time of the whole sandbox; exit status 137\n"
	"      --memory SIZE      resident memory of the whole sandbox (default: half the RAM)\n"
	"      --pids N           processes and threads in the sandbox (default: 4096)\n"
	"      --fsize SIZE       largest file a process may write (default: 8G)\n"
	"      --output-limit SIZE  captured stdout and stderr, each (default: 16M)\n"
	"                         (a limit of 'none' or 0 turns it off)\n"
	"      --env NAME[=VAL]   pass a variable, or set one (repeatable)\n"
	"      --keep-env         pass the whole environment\n"
	"      --hide PATH        make PATH absent inside (repeatable)\n"
	"      --readonly PATH    make PATH read-only inside (repeatable)\n"
	"      --scratch DIR      writable inside, thrown away, never reviewed (repeatable)\n"
	"      --review WHEN      auto (default: when stdin and stdout are terminals, without\n"
	"                         --json) | always | never: the review opens when the program\n"
	"                         ends (see 'airlock review --help')\n"
	"      --log-syslog       also send each event to syslog (ident airlock, facility\n"
	"                         user): journald or rsyslog collect it\n";

/* Parse a size limit; "none" and 0 mean no limit. */
static int parse_limit_size(const char *opt, const char *v, unsigned long long *out)
{
	if (strcmp(v, "none") == 0) {
		*out = 0;
		return 0;
	}
	if (parse_size(v, out) < 0) {
		fprintf(stderr, "airlock: %s %s: expected a size such as 512M or 2G, or none\n",
			opt, v);
		return -1;
	}
	return 0;
}

static int parse_limit_duration(const char *opt, const char *v, unsigned long long *out)
{
	if (strcmp(v, "none") == 0) {
		*out = 0;
		return 0;
	}
	if (parse_duration_ms(v, out) < 0) {
		fprintf(stderr,
			"airlock: %s %s: expected a duration such as 30s, 5m or 1h, or none\n", opt,
			v);
		return -1;
	}
	return 0;
}

static void default_limits(struct run_limits *l)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	memset(l, 0, sizeof(*l));
	/* The host survives by default: half the RAM, 4096 tasks, 8 GiB files, 16 MiB output. */
	if (pages > 0 && page > 0)
		l->memory = (unsigned long long)pages * (unsigned long long)page / 2;
	l->pids = 4096;
	l->fsize = 8ULL << 30;
	l->output = 16ULL << 20;
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
	o->ask_timeout_ms = 60000;
	o->ask_fd = -1;
	default_limits(&o->lim);
	optind = 1;
	opterr = 0; /* our own messages, with a suggestion for a near miss */
	while ((c = getopt_long(argc, argv, "+:r:h", run_options, NULL)) != -1) {
		switch (c) {
		case 'r':
			strlist_add(&o->rules, optarg);
			break;
		case OPT_ASK:
			if (ask_parse_mode(optarg, &o->ask, &o->ask_fd) < 0)
				return bad_value("--ask", optarg,
						 "expected tty, deny, allow or fd:N");
			o->ask_given = true;
			break;
		case OPT_REVIEW:
			if (review_parse_when(optarg, &o->review) < 0)
				return bad_value("--review", optarg,
						 "expected auto, always or never");
			break;
		case OPT_NET:
			if (strcmp(optarg, "mediated") == 0)
				o->net = NET_MEDIATED;
			else if (strcmp(optarg, "none") == 0)
				o->net = NET_NONE;
			else if (strcmp(optarg, "host") == 0)
				o->net = NET_HOST;
			else
				return bad_value("--net", optarg,
						 "expected mediated, none or host");
			break;
		case OPT_TIMEOUT:
			if (parse_limit_duration("--timeout", optarg, &o->lim.timeout_ms) < 0)
				return EXIT_AIRLOCK_FAILED;
			break;
		case OPT_CPU:
			if (parse_limit_duration("--cpu", optarg, &o->lim.cpu_ms) < 0)
				return EXIT_AIRLOCK_FAILED;
			break;
		case OPT_MEMORY:
			if (parse_limit_size("--memory", optarg, &o->lim.memory) < 0)
				return EXIT_AIRLOCK_FAILED;
			break;
		case OPT_FSIZE:
			if (parse_limit_size("--fsize", optarg, &o->lim.fsize) < 0)
				return EXIT_AIRLOCK_FAILED;
			break;
		case OPT_OUTPUT_LIMIT:
			if (parse_limit_size("--output-limit", optarg, &o->lim.output) < 0)
				return EXIT_AIRLOCK_FAILED;
			break;
		case OPT_PIDS: {
			char *end;

			errno = 0;
			o->lim.pids = strcmp(optarg, "none") == 0 ? 0 : strtoull(optarg, &end, 10);
			if (strcmp(optarg, "none") != 0 &&
			    (errno || end == optarg || *end || optarg[0] == '-'))
				return bad_value("--pids", optarg, "expected a number, or none");
			/* RLIMIT_NPROC is the limit plus 64: a huge value wrapped around to a tiny
			   one. Linux has at most 4194304 pids (PID_MAX_LIMIT). */
			if (o->lim.pids > 4194304)
				return bad_value(
					"--pids", optarg,
					"expected at most 4194304 (Linux's most pids), or none");
			break;
		}
		case OPT_JSON:
			o->json = true;
			o->capture = true;
			break;
		case OPT_CAPTURE:
			o->capture = true;
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
		case OPT_ASK_TIMEOUT:
			if (parse_limit_duration("--ask-timeout", optarg, &o->ask_timeout_ms) < 0)
				return EXIT_AIRLOCK_FAILED;
			break;
		case OPT_DNS_UPSTREAM:
			if (dns_parse_server(optarg, &o->dns_upstream, &o->dns_upstream_len) < 0)
				return bad_value(
					"--dns-upstream", optarg,
					"expected ADDR or ADDR:PORT ([ADDR]:PORT for IPv6)");
			break;
		case OPT_REPLAY:
			o->replay = optarg;
			break;
		case OPT_LOG_SYSLOG:
			o->log_syslog = true;
			break;
		case 'h':
		case OPT_HELP:
			fputs(run_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "airlock: run: option '%s' needs a value\n%.*s\n",
				argv[optind - 1], (int)strcspn(run_usage, "\n"), run_usage);
			return EXIT_AIRLOCK_FAILED;
		default:
			/* Exit 125, not 2: run's own statuses are the command's (design.md). */
			option_error("run", argv[optind - 1], run_options, run_usage + 7);
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

/* One captured stream: kept up to the output limit, the rest drained and counted. */
struct capture {
	int fd;	  /* read end of the pipe, -1 when closed or not capturing */
	int sink; /* relay: write what arrives here instead of keeping it, else -1 */
	struct buf data;
	unsigned long long limit; /* 0: no limit */
	unsigned long long dropped;
};

/* Copy everything to fd (a regular file the caller gave airlock as stdout or stderr). */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the caller's file is full or gone: the output is lost, as it
				   would be */
		p += w;
		n -= (size_t)w;
	}
}

static void capture_read(struct capture *c)
{
	char chunk[65536];
	int rounds;

	/* A bounded number of reads per wake-up: busy writers must not starve notifications. */
	for (rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(c->fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(c->fd);
			c->fd = -1;
			return;
		}
		if (c->sink >= 0) {
			write_all(c->sink, chunk, (size_t)n);
			continue;
		}
		{
			size_t keep = (size_t)n;

			/* Keep draining past the limit, so the program is never blocked on us. */
			if (c->limit && c->data.len + keep > c->limit)
				keep = c->data.len >= c->limit ? 0
							       : (size_t)(c->limit - c->data.len);
			buf_add(&c->data, chunk, keep);
			c->dropped += (unsigned long long)n - keep;
		}
	}
}

/*
 * Whether descriptor fd of ours may be handed to the sandbox as it is. The program can
 * reopen its stdio through /proc/self/fd/N with any access the file's permissions allow:
 * a regular file, a directory or a named FIFO handed over as is would let it write to the
 * host outside every overlay. Terminals, sockets and anonymous pipes give it nothing new.
 */
static bool stdio_safe(int fd)
{
	char link[64], target[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return true; /* closed: nothing to reopen */
	if (S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode))
		return true;
	if (!S_ISFIFO(st.st_mode))
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strncmp(target, "pipe:", 5) == 0;
}

/* stdin relayed from the caller's file into a pipe, so the sandbox never holds the file. */
struct feeder {
	int src;  /* our stdin */
	int pipe; /* write end, nonblocking; -1 when done */
	char buf[65536];
	size_t off, len;
};

/* One step: read when nothing is held (our stdin polled readable), else write what is. */
static void feeder_write(struct feeder *f)
{
	ssize_t n;

	if (f->off == f->len) {
		n = read(f->src, f->buf, sizeof(f->buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) { /* end of file, or a directory: the command sees end of file */
			close(f->pipe);
			f->pipe = -1;
			return;
		}
		f->off = 0;
		f->len = (size_t)n;
	}
	n = write(f->pipe, f->buf + f->off, f->len - f->off);
	if (n > 0)
		f->off += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		close(f->pipe); /* the command closed its stdin */
		f->pipe = -1;
	}
}

/* Everything the run loop tracks. */
struct run_state {
	pid_t pid;   /* pid 1 of the sandbox, in our namespace */
	int control; /* our end of the control socket */
	int pidfd;   /* the command (pid 2), once it said hello */
	int sigfd;
	int timerfd;
	struct notifier notifier;
	bool have_listener;
	bool listener_gone;
	bool control_gone;
	bool got_exit;	 /* the command's status arrived from pid 1 */
	int exit_status; /* waitpid() status of the command */
	bool reaped;
	int init_status;   /* waitpid() status of pid 1 */
	const char *limit; /* the limit that ended the run, or NULL */
	struct filter_info filter;
	const struct run_limits *lim;
	struct monitor mon;    /* whole-sandbox memory, CPU and task limits */
	int tickfd;	       /* periodic timer for the monitor, or -1 */
	struct capture out[2]; /* captured or relayed stdout and stderr */
	struct feeder in;      /* relayed stdin */
	const char *session_dir;
	unsigned long long disk_reserve;
	bool fsize_is_disk; /* RLIMIT_FSIZE is the room above the reserve, below --fsize */
	const struct ruleset *rules;
	struct asker *asker;
	struct relay relay;	 /* the sandbox's pty, when asks go to the person's terminal */
	struct notifier_net net; /* the mediated network: the resolver's socket arrives first */
};

/*
 * The sandbox is built once the command has its filter: from now on its /proc can be read.
 * A check every 10 ms bounds how far a hog or a fork bomb gets before it is stopped; the
 * rlimits set in the tracee hold each process meanwhile.
 */
static void start_monitor(struct run_state *rs)
{
	struct itimerspec its = {.it_interval = {0, 10000000}, .it_value = {0, 10000000}};

	rs->mon.mem_max = rs->lim->memory;
	rs->mon.cpu_max_ms = rs->lim->cpu_ms;
	rs->mon.tasks_max = rs->lim->pids;
	rs->mon.disk_reserve = rs->disk_reserve;
	rs->mon.storefd = open(rs->session_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!rs->mon.mem_max && !rs->mon.cpu_max_ms && !rs->mon.tasks_max && !rs->disk_reserve)
		return;
	if (monitor_open(&rs->mon, rs->pid) < 0) {
		warn("cannot watch the sandbox's processes: only per-process limits hold");
		return;
	}
	rs->tickfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (rs->tickfd < 0 || timerfd_settime(rs->tickfd, 0, &its, NULL) < 0)
		warn("cannot start the limit timer: only per-process limits hold");
}

/* Take the listener out of the command with pidfd_getfd (see tracee/sandbox.h for why). */
static int take_listener(struct run_state *rs, const struct tracee_msg *msg, struct event_log *log,
			 enum net_mode net)
{
	struct tracee_msg taken = {.type = TRACEE_MSG_TAKEN};
	int fd, rc;

	if (rs->pidfd < 0 || msg->listener < 0)
		return error("the sandbox sent its listener before announcing itself");
	fd = (int)syscall(SYS_pidfd_getfd, rs->pidfd, msg->listener, 0);
	if (fd < 0)
		return error_errno("cannot take the seccomp listener from the sandbox "
				   "(pidfd_getfd needs Linux >= 5.6)");
	rc = notifier_init(&rs->notifier, fd, log, net, rs->rules, rs->asker);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	rs->notifier.exec_rules_allow_all = rules_exec_allows_all(rs->rules);
	rs->notifier.init_pid = rs->pid; /* to hold the sandbox still around execs */
	rs->notifier.space = &rs->mon;	 /* fallocate() is held to the disk's reserve */
	rs->notifier.uid = getuid();	 /* mapped to itself: tracee/sandbox.c */
	rs->notifier.gid = getgid();
	rs->have_listener = true;
	rc = notifier_net_start(&rs->notifier, &rs->net);
	rs->net.dns_fd = -1; /* the notifier's now */
	if (rc < 0)
		return rc;
	rs->filter = msg->filter;
	if (send(rs->control, &taken, sizeof(taken), MSG_NOSIGNAL) != (ssize_t)sizeof(taken))
		return error_errno("cannot answer the sandbox");
	start_monitor(rs);
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
			return error_errno(
				"cannot open a pidfd for the sandbox (needs Linux >= 5.3)");
		return 0;
	}
	return error("the sandbox's hello carried no credentials");
}

/* The first descriptor a control message carried (the others are closed), or -1. */
static int take_rights(struct msghdr *mh)
{
	struct cmsghdr *c;
	int got = -1;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (got < 0)
				got = fd;
			else
				close(fd);
		}
	}
	return got;
}

static void close_rights(struct msghdr *mh)
{
	int fd = take_rights(mh);

	if (fd >= 0)
		close(fd);
}

static int recv_control(struct run_state *rs, struct event_log *log, enum net_mode net)
{
	struct tracee_msg msg;
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = &msg, .iov_len = sizeof(msg)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
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
	case TRACEE_MSG_DNS:
		if (rs->net.dns_fd < 0 && !rs->have_listener)
			rs->net.dns_fd = take_rights(&mh);
		else
			close_rights(&mh);
		return 0;
	case TRACEE_MSG_SOCKDIAG:
		if (rs->mon.diagfd < 0 && !rs->have_listener)
			rs->mon.diagfd = take_rights(&mh);
		else
			close_rights(&mh);
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
		/* With a pty of its own, the kernel tells the program of a new size itself. */
		if (si.ssi_signo == SIGWINCH && rs->relay.master >= 0) {
			relay_winch(&rs->relay);
			continue;
		}
		/* pid 1 passes it on to the command's process group. */
		kill(rs->pid, (int)si.ssi_signo);
	}
}

static void stop_for_limit(struct run_state *rs, const char *limit)
{
	if (rs->limit)
		return;
	rs->limit = limit;
	kill(rs->pid, SIGKILL);
}

static int serve(struct run_state *rs, struct event_log *log, enum net_mode net)
{
	while (!rs->reaped || rs->out[0].fd >= 0 || rs->out[1].fd >= 0) {
		struct pollfd pf[14];
		nfds_t n = 0;
		int i_ctl = -1, i_sig, i_lis = -1, i_tim = -1, i_tick = -1, i_out[2] = {-1, -1};
		int i_in = -1, i_ask = -1, i_pm = -1, i_pi = -1, i_net = -1;
		int wait_ms = rs->reaped ? 1000 : -1;
		bool asking = rs->asker && asker_prompt_active(rs->asker);
		int k;

		if (!rs->control_gone) {
			i_ctl = (int)n;
			pf[n++] = (struct pollfd){.fd = rs->control, .events = POLLIN};
		}
		i_sig = (int)n;
		pf[n++] = (struct pollfd){.fd = rs->sigfd, .events = POLLIN};
		if (rs->have_listener && !rs->listener_gone && !rs->reaped) {
			i_lis = (int)n;
			pf[n++] = (struct pollfd){.fd = rs->notifier.fd, .events = POLLIN};
		}
		if (rs->timerfd >= 0 && !rs->reaped) {
			i_tim = (int)n;
			pf[n++] = (struct pollfd){.fd = rs->timerfd, .events = POLLIN};
		}
		if (rs->tickfd >= 0 && !rs->reaped) {
			i_tick = (int)n;
			pf[n++] = (struct pollfd){.fd = rs->tickfd, .events = POLLIN};
		}
		for (k = 0; k < 2; k++) {
			if (rs->out[k].fd >= 0) {
				i_out[k] = (int)n;
				pf[n++] = (struct pollfd){.fd = rs->out[k].fd, .events = POLLIN};
			}
		}
		if (rs->in.pipe >= 0 && !rs->reaped) {
			/* Wait for our stdin to be readable while nothing is held, for the pipe to
			   take more otherwise: a read of a FIFO with no writer data must never
			   block the loop, or no notification is answered meanwhile. */
			i_in = (int)n;
			if (rs->in.off == rs->in.len)
				pf[n++] = (struct pollfd){.fd = rs->in.src, .events = POLLIN};
			else
				pf[n++] = (struct pollfd){.fd = rs->in.pipe, .events = POLLOUT};
		}
		if (relay_poll_master(&rs->relay) >= 0) {
			i_pm = (int)n;
			pf[n++] = (struct pollfd){.fd = rs->relay.master, .events = POLLIN};
		}
		if (relay_poll_in(&rs->relay, asking) >= 0 && !rs->reaped) {
			i_pi = (int)n;
			pf[n++] = (struct pollfd){.fd = rs->relay.in, .events = POLLIN};
		}
		if (rs->have_listener && !rs->reaped && asker_poll_fd(rs->asker) >= 0) {
			i_ask = (int)n;
			pf[n++] = (struct pollfd){.fd = asker_poll_fd(rs->asker), .events = POLLIN};
		}
		if (rs->have_listener && !rs->reaped && notifier_net_fd(&rs->notifier) >= 0) {
			int t = notifier_net_timeout_ms(&rs->notifier);

			i_net = (int)n;
			pf[n++] = (struct pollfd){.fd = notifier_net_fd(&rs->notifier),
						  .events = POLLIN};
			if (t >= 0 && (wait_ms < 0 || t < wait_ms))
				wait_ms = t;
		}
		if (rs->have_listener && !rs->reaped && rs->notifier.npending) {
			/* Wake up for the next ask to time out, and once a second to notice a
			   caller that died while it waited. */
			int t = asker_timeout_ms(rs->asker);

			t = t >= 0 && t < 1000 ? t : 1000;
			if (wait_ms < 0 || t < wait_ms)
				wait_ms = t;
		}
		/*
		 * After pid 1 is reaped every process of the sandbox is gone (its exit waits for
		 * them), so the pipes reach end of file; the timeout only guards against surprises.
		 */
		k = poll(pf, n, wait_ms);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return error_errno("poll failed");
		}
		if (k == 0 && rs->reaped)
			break;
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
		if (rs->have_listener && !rs->reaped &&
		    (rs->notifier.npending || (i_ask >= 0 && pf[i_ask].revents))) {
			int rc = notifier_asks(&rs->notifier, i_ask >= 0 && pf[i_ask].revents);

			if (rc < 0 && rc != -ENOENT) {
				errno = -rc;
				error_errno("the seccomp listener failed; stopping the sandbox");
				kill(rs->pid, SIGKILL);
				rs->listener_gone = true;
			}
		}
		if (rs->have_listener && !rs->reaped && i_net >= 0)
			notifier_net_process(&rs->notifier, pf[i_net].revents & POLLIN);
		if (rs->relay.master >= 0 && !asker_prompt_active(rs->asker))
			relay_flush(
				&rs->relay); /* the question is answered: what was held goes out */
		if (i_pm >= 0 && pf[i_pm].revents)
			relay_from_master(&rs->relay, asker_prompt_active(rs->asker));
		if (i_pi >= 0 && pf[i_pi].revents)
			relay_from_in(&rs->relay);
		for (k = 0; k < 2; k++)
			if (i_out[k] >= 0 && pf[i_out[k]].revents)
				capture_read(&rs->out[k]);
		if (i_in >= 0 && pf[i_in].revents)
			feeder_write(&rs->in);
		if (pf[i_sig].revents & POLLIN)
			handle_signal(rs);
		if (i_tim >= 0 && (pf[i_tim].revents & POLLIN)) {
			stop_for_limit(rs, "timeout");
			close(rs->timerfd);
			rs->timerfd = -1;
		}
		if (i_tick >= 0 && (pf[i_tick].revents & POLLIN)) {
			uint64_t ticks;
			const char *hit;

			(void)!read(rs->tickfd, &ticks, sizeof(ticks));
			hit = monitor_check(&rs->mon);
			if (hit)
				stop_for_limit(rs, hit);
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

static bool died_of(int st, int sig)
{
	return (WIFSIGNALED(st) && WTERMSIG(st) == sig) ||
	       (WIFEXITED(st) && WEXITSTATUS(st) == 128 + sig);
}

/* The exit status of `airlock run`, per design.md: the command's own, 128+N, 124, 137. */
static int final_status(struct run_state *rs, int *signal_out)
{
	int st;

	*signal_out = 0;
	if (rs->got_exit) {
		st = rs->exit_status;
	} else {
		/* pid 1 ended without reporting: its own status (125 for a setup failure). */
		st = rs->init_status;
	}
	if (rs->limit && strcmp(rs->limit, "timeout") == 0)
		return 124;
	if (rs->limit)
		return 137;
	/*
	 * The rlimits: the command died of its CPU or file size limit, itself or as the shell
	 * running it reports (128+N). A program that ignores SIGXFSZ, as Python does, sees
	 * EFBIG instead and decides for itself.
	 */
	if (rs->got_exit && rs->lim->cpu_ms && died_of(st, SIGXCPU)) {
		rs->limit = "cpu";
		return 137;
	}
	if (rs->got_exit && (rs->lim->fsize || rs->fsize_is_disk) && died_of(st, SIGXFSZ)) {
		rs->limit = rs->fsize_is_disk ? "disk" : "fsize";
		return 137;
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
	static const int sigs[] = {SIGCHLD, SIGINT,  SIGTERM, SIGHUP,
				   SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
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

/*
 * Add path to the hidden list, and the path it resolves to when a component is a symlink
 * (~/.config -> dotfiles/config): hiding only the name would leave the content reachable
 * by its real path. An absent path is resolved through its parent.
 */
static void add_hidden(struct strlist *out, char *path)
{
	cleanup_free char *real = realpath(path, NULL);

	if (!real) {
		cleanup_free char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');

		if (slash && slash != dir) {
			cleanup_free char *rdir = NULL;

			*slash = '\0';
			rdir = realpath(dir, NULL);
			if (rdir)
				real = path_join(rdir, slash + 1);
		}
	}
	strlist_add(out, path);
	if (real && strcmp(real, path) != 0)
		strlist_add(out, steal_pointer(&real));
}

/*
 * The command line's --hide, --readonly and --scratch as rules text: they join the rules'
 * path directives, where the last directive naming a path wins, and are kept with them in
 * the session. NULL after printing why.
 */
static char *flag_directives(const struct run_opts *o, const char *cwd)
{
	const struct {
		const char *word;
		const struct strlist *l;
	} kinds[] = {{"hide", &o->hide}, {"readonly", &o->readonly}, {"scratch", &o->scratch}};
	struct buf b = BUF_INIT;
	size_t i, k;

	buf_init(&b);
	for (k = 0; k < ARRAY_SIZE(kinds); k++)
		for (i = 0; i < kinds[k].l->n; i++) {
			cleanup_free char *abs = expand_path(kinds[k].l->v[i], cwd);
			cleanup_free char *q = rules_quote(abs);

			if (!q || strpbrk(abs, "*\\")) {
				error("--%s %s: a path with a control character, '*' or '\\' "
				      "cannot be used",
				      kinds[k].word, kinds[k].l->v[i]);
				buf_release(&b);
				return NULL;
			}
			buf_addf(&b, "%s %s\n", kinds[k].word, q);
		}
	return buf_detach(&b);
}

/* The paths the rules say to hide, make read-only or throw away (kind), into out. */
static void rule_paths(const struct ruleset *rs, enum rule_action kind, struct strlist *out)
{
	const struct rule **v = NULL;
	size_t n = rules_paths(rs, kind, &v), i;

	for (i = 0; i < n; i++) {
		if (kind == RULE_HIDE)
			add_hidden(out, xstrdup(v[i]->path));
		else
			strlist_add(out, xstrdup(v[i]->path));
	}
	free(v);
}

/*
 * --replay ID: the decisions a person or an approver gave in session ID answer the same
 * questions in this run (filed under the key each ask recorded, "ask_key"); anything new is
 * asked as usual. Rules and defaults are not replayed: this run's rules decide those. Returns
 * the number of answers loaded, or -1 after printing why.
 */
static int load_replay(struct asker *a, const char *id, cJSON **out)
{
	struct session old = {0};
	cleanup_free char *path = NULL;
	cleanup_file FILE *f = NULL;
	cleanup_free char *line = NULL;
	size_t cap = 0;
	int count = 0;
	cJSON *r;

	if (store_find(id, &old) < 0)
		return -1;
	path = session_path(&old, "events.jsonl");
	f = fopen(path, "re");
	if (!f) {
		error_errno("--replay %s: cannot read %s", id, path);
		store_close(&old);
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		cJSON *ev = cJSON_Parse(line);
		const char *key = ev ? meta_str(ev, "ask_key") : NULL;
		const char *dec = ev ? meta_str(ev, "decision") : NULL;
		const char *by = ev ? meta_str(ev, "by") : NULL;

		/* Only what someone decided: not a timeout, not an ask nobody could answer. */
		if (key && dec && by &&
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "asked")) &&
		    (!strcmp(dec, "allow") || !strcmp(dec, "deny")) &&
		    (!strcmp(by, "person") || !strcmp(by, "approver") || !strcmp(by, "replay"))) {
			asker_preload(a, key, strcmp(dec, "allow") == 0, "replay");
			count++;
		}
		cJSON_Delete(ev);
	}
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "session", old.id);
	cJSON_AddNumberToObject(r, "answers", count);
	*out = r;
	store_close(&old);
	return count;
}

/*
 * Who answers asks: --ask, else the person on the terminal when airlock runs on one (and
 * prints no JSON result for a program to read), else nobody (deny).
 */
static struct asker *make_asker(const struct run_opts *o, const char *home, enum ask_mode *used)
{
	enum ask_mode mode = o->ask;
	cleanup_free char *user_rules = NULL;
	struct asker *a;

	if (!o->ask_given)
		mode = !o->json && isatty(STDIN_FILENO) && isatty(STDERR_FILENO) ? ASK_MODE_TTY
										 : ASK_MODE_DENY;
	*used = mode;
	a = asker_new(mode, o->ask_fd, o->ask_timeout_ms);
	if (a && mode == ASK_MODE_TTY) {
		user_rules = policy_user_file(home);
		asker_set_rules_file(a, user_rules);
	}
	return a;
}

static void free_strlist_owned(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free((char *)l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* "104857600" -> "100 MiB", for messages. */
static void human_size(unsigned long long v, char *out, size_t sz)
{
	if (v >= (1ULL << 30) && v % (1ULL << 30) == 0)
		snprintf(out, sz, "%llu GiB", v >> 30);
	else if (v >= (1ULL << 20))
		snprintf(out, sz, "%.1f MiB", (double)v / (1 << 20));
	else
		snprintf(out, sz, "%llu bytes", v);
}

static void report_limit(const char *limit, const struct run_limits *l)
{
	char v[64] = "";

	if (strcmp(limit, "memory") == 0)
		human_size(l->memory, v, sizeof(v));
	else if (strcmp(limit, "fsize") == 0)
		human_size(l->fsize, v, sizeof(v));
	else if (strcmp(limit, "pids") == 0)
		snprintf(v, sizeof(v), "%llu tasks", l->pids);
	else if (strcmp(limit, "cpu") == 0)
		snprintf(v, sizeof(v), "%.1f s of CPU", (double)l->cpu_ms / 1000);
	else if (strcmp(limit, "timeout") == 0)
		snprintf(v, sizeof(v), "%.1f s", (double)l->timeout_ms / 1000);
	if (strcmp(limit, "disk") == 0) {
		fprintf(stderr, "airlock: the disk holding the session store ran low on free space "
				"(AIRLOCK_DISK_RESERVE) and the sandbox was stopped\n");
		return;
	}
	fprintf(stderr, "airlock: the sandbox reached its %s limit (--%s, %s) and was stopped\n",
		limit, limit, v);
}

/* Limits as the record keeps them: value and what enforced it. */
static cJSON *limits_json(const struct run_limits *l, bool root)
{
	cJSON *o = cJSON_CreateObject();
	struct {
		const char *name;
		unsigned long long v;
		const char *how;
	} rows[] = {
		{"timeout_ms", l->timeout_ms, "supervisor timer"},
		{"cpu_ms", l->cpu_ms, "supervisor, sum over the sandbox every 10 ms; RLIMIT_CPU"},
		{"memory", l->memory,
		 "supervisor, resident memory and socket buffers summed every 10 ms"},
		{"pids", l->pids,
		 root ? "supervisor, tasks counted every 10 ms (RLIMIT_NPROC does not bind uid 0)"
		      : "supervisor, tasks counted every 10 ms; RLIMIT_NPROC"},
		{"fsize", l->fsize, "RLIMIT_FSIZE"},
		{"output", l->output, "supervisor, captured output cut"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		cJSON *r = cJSON_CreateObject();

		if (rows[i].v)
			cJSON_AddNumberToObject(r, "value", (double)rows[i].v);
		else
			cJSON_AddNullToObject(r, "value");
		cJSON_AddStringToObject(r, "enforced_by", rows[i].v ? rows[i].how : "none");
		cJSON_AddItemToObject(o, rows[i].name, r);
	}
	return o;
}

/*
 * Values of removed variables become literals to redact. Values with a '/' are paths or path
 * lists (OLDPWD, VIRTUAL_ENV): redacting them would blank ordinary output, so they are kept
 * unless the name itself says secret.
 */
static void add_env_literals(struct redactor *r, char *const *removed)
{
	for (; removed && *removed; removed++) {
		const char *v = getenv(*removed);
		cleanup_free char *kind = NULL;

		if (!v || strlen(v) < 8)
			continue;
		if (strchr(v, '/') && !env_looks_secret(*removed))
			continue;
		kind = xasprintf("env:%s", *removed);
		redactor_add_literal(r, kind, v);
	}
}

/* JSON text from captured bytes: NUL and invalid UTF-8 written as \xNN escapes. */
static cJSON *json_bytes(const char *data, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i = 0;
	cJSON *j;

	buf_init(&b);
	while (i < len) {
		const char *nul = memchr(data + i, '\0', len - i);
		size_t seg = nul ? (size_t)(nul - (data + i)) : len - i;
		cleanup_free char *part = xstrndup(data + i, seg);
		cleanup_free char *clean = utf8_sanitize(part);

		buf_adds(&b, clean);
		i += seg;
		if (nul) {
			buf_adds(&b, "\\x00");
			i++;
		}
	}
	j = cJSON_CreateString(b.data);
	buf_release(&b);
	return j;
}

struct output {
	char *text[2]; /* redacted stdout, stderr */
	size_t len[2];
	bool truncated;
	struct redactor *red;
};

/* The rules' own redactions (redact KIND ERE), beside the built-in patterns. */
static void add_rule_patterns(struct redactor *red, const struct ruleset *rules)
{
	const struct rule **v = NULL;
	size_t n = rules_redactions(rules, &v), i;

	for (i = 0; i < n; i++)
		if (redactor_add_pattern(red, v[i]->kind, v[i]->expr) < 0)
			warn("cannot use the redaction '%s' (%s): not applied", v[i]->text,
			     v[i]->kind);
	free(v);
}

/* Redact what was captured, keep it in the session, free the raw bytes. */
static void finish_output(struct run_state *rs, const struct session *s, char *const *removed,
			  const struct ruleset *rules, struct output *out)
{
	static const char *const names[2] = {"stdout", "stderr"};
	int k;

	memset(out, 0, sizeof(*out));
	out->red = redactor_new();
	add_env_literals(out->red, removed);
	add_rule_patterns(out->red, rules);
	for (k = 0; k < 2; k++) {
		struct capture *c = &rs->out[k];
		cleanup_free char *path = session_path(s, names[k]);

		if (!c->data.data)
			buf_init(&c->data);
		if (c->dropped) {
			out->truncated = true;
			buf_addf(&c->data,
				 "\n[airlock: output cut at %llu bytes; %llu more dropped]\n",
				 c->limit, c->dropped);
		}
		out->text[k] = redactor_apply(out->red, c->data.data, c->data.len, &out->len[k]);
		buf_release(&c->data);
		if (write_file_atomic(path, out->text[k], out->len[k], 0600, false) < 0)
			warn("cannot keep the captured %s in the session", names[k]);
	}
}

static cJSON *redactions_json(const struct redactor *r)
{
	cJSON *o = cJSON_CreateObject();
	size_t i, n = redactor_nkinds(r);

	for (i = 0; i < n; i++) {
		size_t count;
		const char *kind = redactor_kind(r, i, &count);

		cJSON_AddNumberToObject(o, kind, (double)count);
	}
	return o;
}

/*
 * The network the program was refused, in the run's last lines: a tool that retries refused
 * connections (npm did for 3.5 minutes) should not end with only a count of changes.
 */
static void say_denied_net(const struct event_log *log)
{
	unsigned i;

	fprintf(stderr, "airlock: %lu network attempt%s denied (", log->denied_net,
		log->denied_net == 1 ? " was" : "s were");
	for (i = 0; i < log->ndenied_first; i++) {
		char *shown = term_sanitize(log->denied_first[i]);

		fprintf(stderr, "%s%s", i ? ", " : "", shown);
		free(shown);
	}
	if (log->denied_net > log->ndenied_first)
		fputs(", ...", stderr);
	fputs("); 'airlock log' shows them, and 'allow connect HOST:PORT' in a rules file "
	      "allows one (airlock-rules(5))\n",
	      stderr);
}

static void print_result(const struct session *s, struct session_record *rec,
			 const struct output *out, int status, int sig, const char *limit,
			 unsigned long denied_net)
{
	cJSON *res = cJSON_CreateObject();
	struct change_set rescan = {0};
	const cJSON *meta = rec->meta;
	cleanup_free char *text = NULL;

	cJSON_AddStringToObject(res, "session", s->id);
	cJSON_AddNumberToObject(res, "exit_code", status);
	if (sig)
		cJSON_AddNumberToObject(res, "signal", sig);
	else
		cJSON_AddNullToObject(res, "signal");
	if (limit)
		cJSON_AddStringToObject(res, "limit", limit);
	else
		cJSON_AddNullToObject(res, "limit");
	cJSON_AddNumberToObject(res, "duration_ms", meta_num(meta, "duration_ms", 0));
	cJSON_AddItemToObject(res, "stdout", json_bytes(out->text[0], out->len[0]));
	cJSON_AddItemToObject(res, "stderr", json_bytes(out->text[1], out->len[1]));
	cJSON_AddBoolToObject(res, "truncated", out->truncated);
	cJSON_AddItemToObject(res, "redactions", redactions_json(out->red));
	cJSON_AddNumberToObject(res, "network_denied", (double)denied_net);
	/* The end of the run scanned the change set already; scan again only if that failed. */
	if (rec->nchanges >= 0)
		report_add(res, s, meta, &rec->changes, true);
	else
		report_add(res, s, meta, &rescan, false);
	change_set_free(&rescan);
	text = cJSON_Print(res);
	cJSON_Delete(res);
	if (text)
		puts(text);
	fflush(stdout);
}

static void open_capture(struct capture *c, int *write_end, unsigned long long limit)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		die_errno("cannot create a pipe for the output");
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
		die_errno("cannot set up the output pipe");
	c->fd = p[0];
	c->limit = limit;
	buf_init(&c->data);
	*write_end = p[1];
}

/*
 * How much free space the store's filesystem keeps: a program that writes without end (files
 * under --fsize each, or notified calls filling the event log) is stopped before the disk is
 * full. 2% of the filesystem, between 256 MiB and 2 GiB; AIRLOCK_DISK_RESERVE (bytes, 0 for
 * none) overrides it.
 */
static unsigned long long disk_reserve(const char *dir)
{
	const char *env = getenv("AIRLOCK_DISK_RESERVE");
	unsigned long long v;
	struct statvfs sv;

	if (env && parse_size(env, &v) == 0)
		return v;
	if (statvfs(dir, &sv) < 0)
		return 0;
	v = (unsigned long long)sv.f_blocks * sv.f_frsize / 50;
	if (v < (256ULL << 20))
		v = 256ULL << 20;
	if (v > (2ULL << 30))
		v = 2ULL << 30;
	return v;
}

/*
 * The sandbox's resolver: where it forwards (--dns-upstream, else the host's first nameserver)
 * and the resolv.conf the sandbox gets (written to path) that names it. 0 or -1 after saying
 * why.
 */
static int setup_dns(const struct run_opts *o, struct notifier_net *net, const char *path)
{
	static const char text[] = "# airlock: the sandbox's resolver, served by the supervisor\n"
				   "nameserver " RESOLVER_ADDR "\n";

	if (o->dns_upstream_len) {
		net->upstream = o->dns_upstream;
		net->upstream_len = o->dns_upstream_len;
	} else if (o->net == NET_MEDIATED) {
		cleanup_free char *host = read_file("/etc/resolv.conf", 65536, NULL);

		if (!host || dns_first_nameserver(host, &net->upstream, &net->upstream_len) < 0)
			warn("the host's /etc/resolv.conf names no nameserver: names do not resolve "
			     "in the sandbox (--dns-upstream ADDR:PORT names one)");
	}
	if (write_file_atomic(path, text, sizeof(text) - 1, 0644, false) < 0)
		return error_errno("cannot write %s", path);
	return 0;
}

/*
 * The store's filesystem must keep its reserve: the upper directories live there, and so does
 * the record, which must always be written. A program that writes faster than the monitor
 * samples (200 MiB in 74 ms was seen) would pass it between two checks, so growth is bounded
 * before it happens: no file may grow past the room that was free above the reserve when the
 * run started (RLIMIT_FSIZE, which the kernel applies to write, truncate, fallocate without
 * FALLOC_FL_KEEP_SIZE, copy_file_range, splice and sendfile alike), plus a little so that a
 * file stopped at the bound leaves the filesystem measurably below the reserve and the run is
 * named as stopped by it. Many files growing together are caught by the monitor within 10 ms,
 * and fallocate() is decided against the room left (supervisor/supervise/notify.c). 0 when there is
 * no reserve; -1 after saying why when the filesystem is already below it.
 */
#define DISK_OVERSHOOT (1ULL << 20)
static int disk_room(const char *dir, unsigned long long reserve, unsigned long long *room)
{
	struct statvfs sv;
	unsigned long long avail;

	*room = 0;
	if (!reserve || statvfs(dir, &sv) < 0)
		return 0;
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	if (avail <= reserve) {
		char a[32], r[32];

		human_size(avail, a, sizeof(a));
		human_size(reserve, r, sizeof(r));
		return error(
			"the filesystem of the session store %s has %s free, not more than its "
			"reserve of %s (AIRLOCK_DISK_RESERVE); free some space first",
			dir, a, r);
	}
	*room = avail - reserve + DISK_OVERSHOOT;
	return 0;
}

static struct sandbox_rlimits rlimits_for(const struct run_limits *l, unsigned long long room)
{
	struct sandbox_rlimits r = {RLIM_INFINITY, RLIM_INFINITY, RLIM_INFINITY, RLIM_INFINITY};

	/* Backstops between two checks of the monitor, a little above the whole-sandbox
	   limits so that the monitor, which sees the whole sandbox, names the limit first. */
	if (l->cpu_ms)
		r.cpu_s = (l->cpu_ms + 999) / 1000 + 1;
	if (l->pids)
		r.nproc = l->pids + 64;
	if (l->fsize)
		r.fsize = l->fsize;
	if (room && room < r.fsize)
		r.fsize = room;
	return r;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {0};
	struct run_state rs = {.pid = -1,
			       .control = -1,
			       .pidfd = -1,
			       .sigfd = -1,
			       .timerfd = -1,
			       .tickfd = -1,
			       .mon = {.procfd = -1, .storefd = -1, .diagfd = -1},
			       .out = {{.fd = -1, .sink = -1}, {.fd = -1, .sink = -1}},
			       .in = {.src = -1, .pipe = -1},
			       .relay = {.master = -1, .slave = -1, .in = -1, .out = -1},
			       .net = {.dns_fd = -1}};
	struct strlist hide = {0}, ro = {0}, scratch = {0};
	struct session s = {0};
	struct plan plan = {0};
	struct event_log log = {.fd = -1};
	struct env_result env = {0};
	struct sandbox_spec spec;
	struct session_record rec;
	struct output out = {0};
	struct sock_fprog filter = {0};
	struct tracee_msg ready = {.type = TRACEE_MSG_READY};
	cleanup_free char *cwd = NULL, *store = NULL, *root_dir = NULL, *events_path = NULL;
	cleanup_free char *flags = NULL, *resolv_conf = NULL;
	struct policy pol = {0};
	struct rules_env renv;
	struct asker *asker = NULL;
	enum ask_mode ask_mode;
	cJSON *replayed = NULL;
	bool use_slave[3] = {false, false, false};
	cJSON *sources;
	sigset_t mask;
	int sv[2], wr[2] = {-1, -1}, rd_in = -1, status, sig, rc, k;
	unsigned long long disk_room_left;

	rc = parse_run_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rs.lim = &o.lim;
	err_set_die_status(EXIT_AIRLOCK_FAILED);
	if (doctor_preflight() < 0)
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
	renv = (struct rules_env){.home = home_dir(), .cwd = cwd};
	if (policy_load(&pol, (const char *const *)o.rules.v, o.rules.n, &renv, store) < 0)
		return EXIT_AIRLOCK_FAILED;
	flags = flag_directives(&o, cwd);
	if (!flags || (flags[0] && policy_add_text(&pol, "<command line>", flags, &renv) < 0))
		return EXIT_AIRLOCK_FAILED;
	if (policy_add_path_dirs(&pol, getenv("PATH"), &renv) < 0)
		return EXIT_AIRLOCK_FAILED;
	rule_paths(&pol.rs, RULE_HIDE, &hide);
	/* The program must not see or touch its own session, nor any other. */
	add_hidden(&hide, xstrdup(store));
	rule_paths(&pol.rs, RULE_READONLY, &ro);
	{
		/* The program must not rewrite the rules its next run, or the person's, obeys. */
		char *conf[2];
		size_t nconf = policy_config_dirs(renv.home, conf), i;

		for (i = 0; i < nconf; i++)
			strlist_add(&ro, conf[i]);
	}
	rule_paths(&pol.rs, RULE_SCRATCH, &scratch);
	asker = make_asker(&o, renv.home, &ask_mode);
	if (!asker)
		return EXIT_AIRLOCK_FAILED;
	if (o.replay && load_replay(asker, o.replay, &replayed) < 0)
		return EXIT_AIRLOCK_FAILED;
	/* A person answers on this terminal: the program gets a pty of its own (ptyrelay.h). */
	if (ask_mode == ASK_MODE_TTY && !o.capture && relay_open(&rs.relay, use_slave) < 0)
		return EXIT_AIRLOCK_FAILED;
	if (env_build(environ, o.env.v, o.env.n, o.keep_env, cwd, &env) < 0)
		return EXIT_AIRLOCK_FAILED;

	if (store_create(&s) < 0)
		return EXIT_AIRLOCK_FAILED;
	/* Tells a program (and an airlock started inside) which session it runs in. */
	env_set(&env, "AIRLOCK_SESSION", s.id);
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
	rs.session_dir = s.dir;
	rs.rules = &pol.rs;
	if (o.net != NET_HOST) {
		resolv_conf = session_path(&s, "resolv.conf");
		if (setup_dns(&o, &rs.net, resolv_conf) < 0)
			return EXIT_AIRLOCK_FAILED;
		rs.net.plan = &plan;
	}
	rs.asker = asker;
	rs.disk_reserve = disk_reserve(s.dir);
	if (disk_room(s.dir, rs.disk_reserve, &disk_room_left) < 0)
		return EXIT_AIRLOCK_FAILED;
	rs.fsize_is_disk = disk_room_left && (!o.lim.fsize || disk_room_left < o.lim.fsize);
	root_dir = session_path(&s, "root");
	if (mkdir(root_dir, 0700) < 0)
		die_errno("cannot create %s", root_dir);
	session_record_init(&rec, &s, o.command, cwd, &plan, hide.v, hide.n, ro.v, ro.n,
			    o.net == NET_NONE	? "none"
			    : o.net == NET_HOST ? "host"
						: "mediated",
			    o.lim.timeout_ms);
	cJSON_AddItemToObject(rec.meta, "limits", limits_json(&o.lim, getuid() == 0));
	cJSON_AddBoolToObject(rec.meta, "captured", o.capture);
	sources = policy_keep(&pol, &s);
	if (!sources)
		return EXIT_AIRLOCK_FAILED;
	cJSON_ReplaceItemInObjectCaseSensitive(rec.meta, "rules", sources);
	if (replayed)
		cJSON_AddItemToObject(rec.meta, "replay", replayed);
	if (session_record_start(&rec) < 0)
		return EXIT_AIRLOCK_FAILED;
	events_path = session_path(&s, "events.jsonl");
	if (events_open(&log, events_path) < 0)
		return EXIT_AIRLOCK_FAILED;
	if (o.log_syslog)
		events_forward_syslog(&log, s.id); /* a warning when unreachable; the run goes on */

	if (filter_compile(&filter) < 0)
		return EXIT_AIRLOCK_FAILED;
	rs.sigfd = setup_signals(&mask);
	if (rs.sigfd < 0)
		return EXIT_AIRLOCK_FAILED;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die_errno("cannot create the control socket");
	rs.control = sv[0];
	if (setsockopt(rs.control, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0)
		die_errno("cannot set up the control socket");
	for (k = 0; k < 2; k++) {
		if (o.capture) {
			open_capture(&rs.out[k], &wr[k], o.lim.output);
		} else if (!stdio_safe(k + 1)) {
			open_capture(&rs.out[k], &wr[k], 0);
			rs.out[k].sink = k + 1;
		}
	}
	if (!stdio_safe(STDIN_FILENO)) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0 || fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
			die_errno("cannot create a pipe for the input");
		rs.in.src = STDIN_FILENO;
		rs.in.pipe = p[1];
		rd_in = p[0];
	}
	spec = (struct sandbox_spec){
		.argv = o.command,
		.envp = env.envp,
		.cwd = cwd,
		.root_dir = root_dir,
		.plan = &plan,
		.filter = &filter,
		.net = o.net,
		.resolv_conf = resolv_conf,
		.control_fd = sv[1],
		.supervisor_fd = sv[0],
		.stdin_fd = use_slave[0] ? rs.relay.slave : rd_in,
		.stdout_fd = use_slave[1] ? rs.relay.slave : wr[0],
		.stderr_fd = use_slave[2] ? rs.relay.slave : wr[1],
		.ctty_fd = use_slave[0]	  ? 0
			   : use_slave[1] ? 1
			   : use_slave[2] ? 2
					  : -1,
		.limits = rlimits_for(&o.lim, disk_room_left),
		.shm_size = o.lim.memory,
		.uid = getuid(),
		.gid = getgid(),
	};
	fflush(NULL);
	rs.pid = sandbox_clone(&spec);
	if (rs.pid < 0) {
		error("cannot create the sandbox's namespaces: %s", strerror(-rs.pid));
		doctor_explain(store);
		return EXIT_AIRLOCK_FAILED;
	}
	close(sv[1]);
	for (k = 0; k < 2; k++)
		if (wr[k] >= 0)
			close(wr[k]);
	if (rd_in >= 0)
		close(rd_in);
	if (send(rs.control, &ready, sizeof(ready), MSG_NOSIGNAL) != (ssize_t)sizeof(ready))
		die_errno("cannot start the sandbox");
	relay_start(&rs.relay);
	rs.timerfd = start_timer(o.lim.timeout_ms);

	rc = serve(&rs, &log, o.net);
	if (rs.have_listener)
		notifier_drop_lookups(&rs.notifier);
	if (rc < 0 || !rs.reaped) {
		kill(rs.pid, SIGKILL);
		while (!rs.reaped && waitpid(rs.pid, &rs.init_status, 0) < 0 && errno == EINTR)
			;
		rs.reaped = true;
	}
	relay_close(&rs.relay);
	/* A program that met the disk's bound (EFBIG) and exited before the next check. */
	if (!rs.limit && monitor_disk_low(&rs.mon))
		rs.limit = "disk";
	status = final_status(&rs, &sig);
	if (!rs.have_listener && !rs.got_exit && status == EXIT_AIRLOCK_FAILED && !o.json)
		error("the sandbox could not start (see the message above)");
	if (!rs.have_listener && !rs.got_exit && status == EXIT_AIRLOCK_FAILED)
		doctor_explain(store); /* what in this system stopped it, and the fix */
	if (rs.limit)
		report_limit(rs.limit, &o.lim);

	if (o.capture) {
		finish_output(&rs, &s, env.removed, &pol.rs, &out);
		cJSON_AddItemToObject(rec.meta, "redactions", redactions_json(out.red));
		cJSON_AddBoolToObject(rec.meta, "truncated", out.truncated);
	}
	/* Last: it seals meta.json, the output's record included. */
	session_record_finish(&rec, &log, status, sig, rs.limit, rs.notifier.handled,
			      rs.filter.wait_killable, rs.notifier.sync_wakeup);
	if (o.json)
		print_result(&s, &rec, &out, status, sig, rs.limit, log.denied_net);
	else if (rec.nchanges == 0 && status != EXIT_AIRLOCK_FAILED)
		fprintf(stderr, "airlock: session %s: no changes\n", s.id);
	else if (rec.nchanges > 0 && status != EXIT_AIRLOCK_FAILED && isatty(STDIN_FILENO))
		fprintf(stderr,
			"airlock: session %s: %ld change%s held in the sandbox; 'airlock review %s' "
			"decides them, 'airlock commit %s' applies the approved ones\n",
			s.id, rec.nchanges, rec.nchanges == 1 ? "" : "s", s.id, s.id);
	else if (rec.nchanges > 0 && status != EXIT_AIRLOCK_FAILED)
		fprintf(stderr,
			"airlock: session %s: %ld change%s held in the sandbox; 'airlock show %s' "
			"lists them, 'airlock commit %s' applies the approved ones\n",
			s.id, rec.nchanges, rec.nchanges == 1 ? "" : "s", s.id, s.id);

	if (!o.json && log.denied_net > 0)
		say_denied_net(&log);
	if (status != EXIT_AIRLOCK_FAILED)
		review_after_run(&s, o.review, o.json);
	if (rs.have_listener)
		notifier_free(&rs.notifier);
	if (rs.pidfd >= 0)
		close(rs.pidfd);
	monitor_close(&rs.mon);
	if (rs.in.pipe >= 0)
		close(rs.in.pipe);
	for (k = 0; k < 2; k++) {
		free(out.text[k]);
		if (rs.out[k].fd >= 0)
			close(rs.out[k].fd);
		buf_release(&rs.out[k].data);
	}
	if (out.red)
		redactor_free(out.red);
	free(filter.filter);
	asker_free(asker);
	policy_free(&pol);
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
	free(o.rules.v);
	store_close(&s);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	return status;
}
