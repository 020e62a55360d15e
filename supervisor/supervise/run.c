/* SPDX-License-Identifier: MIT */
/* `airlock run`: create a session, start the sandbox, serve its notifications, record. */
#include "supervisor/supervise/run_int.h"
#include "common/testenv.h"

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
	test_mark("supervisor: options");
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

	test_mark("supervisor: rules and environment");
	if (store_create(&s) < 0)
		return EXIT_AIRLOCK_FAILED;
	test_mark("supervisor: session directory");
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
		test_mark("supervisor: plan");
	}
	rs.session_dir = s.dir;
	rs.rules = &pol.rs;
	if (o.net != NET_HOST) {
		resolv_conf = session_path(&s, "resolv.conf");
		if (setup_dns(&o, &rs.net, resolv_conf) < 0)
			return EXIT_AIRLOCK_FAILED;
	}
	rs.net.plan = &plan; /* also where the read-only views are (notify_write.c) */
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
	test_mark("supervisor: clone");
	rs.pid = sandbox_clone(&spec);
	test_mark("supervisor: cloned");
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
	test_mark("supervisor: command ended");
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
	test_mark("supervisor: record sealed");
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
	test_mark("supervisor: end");
	return status;
}
