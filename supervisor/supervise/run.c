/* SPDX-License-Identifier: MIT */
/* `airlock run`: create a session, start the sandbox, serve its notifications, record. */
#include "supervisor/supervise/run_int.h"
#include "common/json.h"
#include "common/testenv.h"

#include "common/scm.h"
#include "common/sha256.h"

/* A timer's setting for a tick every ms milliseconds, the first one ms from now. */
static struct itimerspec every_ms(long ms)
{
	struct timespec t = {ms / 1000, ms % 1000 * 1000000L};

	return (struct itimerspec){.it_interval = t, .it_value = t};
}

/*
 * The sandbox is built once the command has its filter: from now on its /proc can be read.
 * A check every 10 ms, or less often far from every limit (monitor.h), bounds how far a hog
 * or a fork bomb gets before it is stopped; the rlimits set in the tracee hold each process
 * meanwhile.
 */
static void start_monitor(struct run_state *rs)
{
	struct itimerspec its = every_ms(MONITOR_MS);

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
	rs->mon.next_ms = rs->mon.armed_ms = MONITOR_MS;
}

/*
 * A live session between steps: what runs is what the steps left in the background, held by
 * its rlimits; a check every 100 ms keeps the idle session from costing a core's worth of
 * /proc reads. A running step, like a run, gets the pace the last check asked for
 * (monitor.h). The timer is set again only when its period changes.
 */
void monitor_pace(struct run_state *rs, bool busy)
{
	long ms = busy ? rs->mon.next_ms : 100;
	struct itimerspec its = every_ms(ms);

	rs->mon.idle = !busy;
	if (rs->tickfd >= 0 && ms != rs->mon.armed_ms &&
	    timerfd_settime(rs->tickfd, 0, &its, NULL) == 0)
		rs->mon.armed_ms = ms;
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
	if (rs->live)
		live_ready(rs);
	return 0;
}

/* The command's pid, from the credentials the kernel attached to its hello. */
static int note_hello(struct run_state *rs, struct msghdr *mh)
{
	pid_t pid = scm_sender_pid(mh);

	if (pid <= 0)
		return error_code(-EPROTO, "the sandbox's hello carried no credentials");
	rs->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (rs->pidfd < 0)
		return error_errno("cannot open a pidfd for the sandbox (needs Linux >= 5.3)");
	return 0;
}

/* The first descriptor a control message carried (the others are closed), or -1. */
int take_rights(struct msghdr *mh)
{
	int fd = -1;

	return scm_take_fds(mh, &fd, 1) ? fd : -1;
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
		if (rs->net.dns_fd < 0 && !rs->have_listener) {
			rs->net.dns_fd = take_rights(&mh);
			/* the monitor counts what is queued in it without a UDP dump */
			if (rs->net.dns_fd >= 0 && rs->mon.resolverfd < 0)
				rs->mon.resolverfd = fcntl(rs->net.dns_fd, F_DUPFD_CLOEXEC, 0);
		} else {
			close_rights(&mh);
		}
		return 0;
	case TRACEE_MSG_SOCKDIAG:
		if (rs->mon.diagfd < 0 && !rs->have_listener)
			rs->mon.diagfd = take_rights(&mh);
		else
			close_rights(&mh);
		return 0;
	case TRACEE_MSG_EXIT:
		/* Only pid 1 may say the sandbox is empty (the launcher holds this socket too). */
		if (scm_sender_pid(&mh) != rs->pid || rs->got_exit)
			return 0;
		rs->got_exit = true;
		rs->exit_status = msg.status;
		rs->gone = true;
		test_mark("supervisor: exit status");
		return 0;
	case TRACEE_MSG_STEP_HELLO:
	case TRACEE_MSG_STEP_EXIT:
	case TRACEE_MSG_STEP_FAILED:
		if (rs->live)
			live_control(rs, &msg, &mh);
		close_rights(&mh);
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
				rs->reaped = rs->gone = true;
				rs->init_status = status;
			}
			continue;
		}
		/* With a pty of its own, the kernel tells the program of a new size itself. */
		if (si.ssi_signo == SIGWINCH && rs->relay.master >= 0) {
			relay_winch(&rs->relay);
			continue;
		}
		/* A live session's supervisor runs in the background: a signal asks it to stop. */
		if (rs->live) {
			live_signal(rs, (int)si.ssi_signo);
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

void watch(struct watches *w, int fd, short events, watch_fn fn, void *arg)
{
	if (fd < 0 || w->n == MAX_WATCHES)
		return;
	w->pf[w->n] = (struct pollfd){.fd = fd, .events = events};
	w->fn[w->n] = fn;
	w->arg[w->n] = arg;
	w->each_round[w->n] = false;
	w->n++;
}

/* As watch(), and fn is called every round (it has timeouts of its own). */
void watch_each_round(struct watches *w, int fd, short events, watch_fn fn, void *arg)
{
	nfds_t n = w->n;

	watch(w, fd, events, fn, arg);
	if (w->n > n)
		w->each_round[n] = true;
}

/* Wake up within ms at the latest (ms < 0: no bound from this part). */
void watch_timeout(struct watches *w, int ms)
{
	if (ms >= 0 && (w->wait_ms < 0 || ms < w->wait_ms))
		w->wait_ms = ms;
}

static void listener_failed(struct run_state *rs, int rc)
{
	if (rc >= 0 || rc == -ENOENT)
		return;
	error_rc(rc, "the seccomp listener failed; stopping the sandbox");
	kill(rs->pid, SIGKILL);
	rs->listener_gone = true;
}

static void on_listener(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	if (revents & POLLIN)
		listener_failed(rs, notifier_handle(&rs->notifier));
	else if (revents & (POLLHUP | POLLERR))
		rs->listener_gone = true; /* every filtered task has exited */
}

static void on_control(struct run_state *rs, short revents, void *arg)
{
	int *failed = arg;

	if (revents & (POLLIN | POLLHUP)) {
		int rc = recv_control(rs, rs->log, rs->net_mode);

		if (rc < 0 && *failed == 0)
			*failed = rc;
	}
}

/* The asks: answers that arrived, and asks past their time. */
static void serve_asks(struct run_state *rs, bool readable)
{
	if (rs->have_listener && !rs->gone && (rs->notifier.npending || readable))
		listener_failed(rs, notifier_asks(&rs->notifier, readable));
}

static void on_ask(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	serve_asks(rs, revents != 0);
}

static void on_net(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	notifier_net_process(&rs->notifier, revents & POLLIN);
}

static void on_master(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	if (revents)
		relay_from_master(&rs->relay, asker_prompt_active(rs->asker));
}

static void on_relay_in(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	if (revents)
		relay_from_in(&rs->relay);
}

static void on_output(struct run_state *rs, short revents, void *arg)
{
	(void)rs;
	if (revents)
		capture_read(arg);
}

static void on_input(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	if (revents)
		feeder_write(&rs->in);
}

static void on_signal(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	if (revents & POLLIN)
		handle_signal(rs);
}

static void on_timeout(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	if (!(revents & POLLIN))
		return;
	stop_for_limit(rs, "timeout");
	close(rs->timerfd);
	rs->timerfd = -1;
}

static void on_tick(struct run_state *rs, short revents, void *arg)
{
	uint64_t ticks;
	const char *hit;

	(void)arg;
	if (!(revents & POLLIN))
		return;
	(void)!read(rs->tickfd, &ticks, sizeof(ticks));
	hit = monitor_check(&rs->mon);
	if (hit)
		stop_for_limit(rs, hit);
	else
		monitor_pace(rs, !rs->mon.idle);
}

/* What the loop waits on this round, in the order it is served. */
static void plan_round(struct run_state *rs, struct watches *w, int *control_failed)
{
	bool live = rs->have_listener && !rs->gone;
	bool asking = rs->asker && asker_prompt_active(rs->asker);
	int k;

	w->n = 0;
	w->wait_ms = rs->gone ? 1000 : -1;
	/* A step says hello before its exec: in a live session the hello is read first, so
	   that the exec's event already names its step. */
	if (!rs->control_gone && rs->live)
		watch(w, rs->control, POLLIN, on_control, control_failed);
	if (live && !rs->listener_gone)
		watch(w, rs->notifier.fd, POLLIN, on_listener, NULL);
	if (!rs->control_gone && !rs->live)
		watch(w, rs->control, POLLIN, on_control, control_failed);
	if (live)
		watch_each_round(w, asker_poll_fd(rs->asker), POLLIN, on_ask, NULL);
	if (live && notifier_net_fd(&rs->notifier) >= 0) {
		watch_each_round(w, notifier_net_fd(&rs->notifier), POLLIN, on_net, NULL);
		watch_timeout(w, notifier_net_timeout_ms(&rs->notifier));
	}
	if (live && rs->notifier.npending) {
		/* Wake up for the next ask to time out, and once a second to notice a caller
		   that died while it waited. */
		int t = asker_timeout_ms(rs->asker);

		watch_timeout(w, t >= 0 && t < 1000 ? t : 1000);
	}
	if (relay_poll_master(&rs->relay) >= 0)
		watch(w, rs->relay.master, POLLIN, on_master, NULL);
	if (relay_poll_in(&rs->relay, asking) >= 0 && !rs->gone)
		watch(w, rs->relay.in, POLLIN, on_relay_in, NULL);
	for (k = 0; k < 2; k++)
		watch(w, rs->out[k].fd, POLLIN, on_output, &rs->out[k]);
	if (rs->in.pipe >= 0 && !rs->gone) {
		/* Wait for our stdin to be readable while nothing is held, for the pipe to take
		   more otherwise: a read of a FIFO with no writer data must never block the loop,
		   or no notification is answered meanwhile. */
		if (rs->in.off == rs->in.len)
			watch(w, rs->in.src, POLLIN, on_input, NULL);
		else
			watch(w, rs->in.pipe, POLLOUT, on_input, NULL);
	}
	watch(w, rs->sigfd, POLLIN, on_signal, NULL);
	if (!rs->gone) {
		watch(w, rs->timerfd, POLLIN, on_timeout, NULL);
		watch(w, rs->tickfd, POLLIN, on_tick, NULL);
	}
	if (rs->live)
		live_watches(rs, w);
}

static int serve(struct run_state *rs)
{
	struct watches w;

	while (!rs->gone || rs->out[0].fd >= 0 || rs->out[1].fd >= 0) {
		int control_failed = 0, k;
		bool asks_served = false;
		nfds_t i;

		plan_round(rs, &w, &control_failed);
		/*
		 * Once the sandbox is gone (pid 1 reaped, whose exit waits for every process, or
		 * its word that it reaped them all) nothing holds the pipes, so they reach end of
		 * file; the timeout only guards against surprises.
		 */
		k = poll(w.pf, w.n, w.wait_ms);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return error_errno("poll failed");
		}
		if (k == 0 && rs->gone)
			break;
		for (i = 0; i < w.n; i++) {
			if (w.pf[i].revents || w.each_round[i])
				w.fn[i](rs, w.pf[i].revents, w.arg[i]);
			if (w.fn[i] == on_ask)
				asks_served = true;
			if (control_failed < 0)
				return control_failed;
		}
		/* Asks wait without a descriptor of their own too (--ask deny): they expire. */
		if (!asks_served)
			serve_asks(rs, false);
		if (rs->relay.master >= 0 && !asker_prompt_active(rs->asker))
			relay_flush(&rs->relay); /* the question is answered: what was held goes */
	}
	/* pid 1 sends the command's status before it exits: it is already queued. */
	while (!rs->control_gone && !rs->got_exit)
		if (recv_control(rs, rs->log, rs->net_mode) < 0 || !rs->got_exit)
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
	return run_exit_status(st, NULL, signal_out);
}

/* A waitpid() status as `airlock run` and `exec` give it: the code, 128+N, 124 or 137. */
int run_exit_status(int st, const char *limit, int *signal_out)
{
	*signal_out = 0;
	if (limit)
		return strcmp(limit, "timeout") == 0 ? 124 : 137;
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

/* Everything one run holds, from its options to its record; run and start share it. */
struct run_ctx {
	struct run_opts o;
	struct run_state rs;
	struct strvec hide, ro, scratch; /* the paths to hide, make read-only, throw away */
	struct session s;
	struct plan plan;
	struct event_log log;
	struct env_result env;
	struct session_record rec;
	struct output out;
	struct sock_fprog filter;
	struct policy pol;
	struct rules_env renv;
	struct asker *asker;
	enum ask_mode ask_mode;
	cJSON *replayed;
	bool use_slave[3];
	sigset_t mask;
	char *cwd, *store, *root_dir, *flags, *resolv_conf;
	unsigned long long disk_room_left;
	int wr[2], rd_in;
	int null_fd, log_fd; /* a live session's sandbox: stdio to /dev/null and its log */
	cJSON *resumed;	     /* the meta.json of a stopped live session started again */
	int status, sig;
};

static void ctx_init(struct run_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->rs = (struct run_state){.pid = -1,
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
	c->rs.mon.resolverfd = -1;
	c->log.fd = -1;
	c->wr[0] = c->wr[1] = c->rd_in = -1;
	c->null_fd = c->log_fd = -1;
}

/* The rules, from the files, the command line and PATH, and what they hide or protect. */
static int load_rules(struct run_ctx *c)
{
	struct realpaths resolved = {0};
	char *conf[2];
	size_t nconf, i;

	c->renv = (struct rules_env){.home = home_dir(), .cwd = c->cwd};
	if (policy_load(&c->pol, (const char *const *)c->o.rules.v, c->o.rules.n, &c->renv,
			c->store) < 0)
		return -1;
	c->flags = flag_directives(&c->o, c->cwd);
	if (!c->flags ||
	    (c->flags[0] && policy_add_text(&c->pol, "<command line>", c->flags, &c->renv) < 0))
		return -1;
	if (policy_add_path_dirs(&c->pol, getenv("PATH"), &c->renv) < 0)
		return -1;
	rule_paths(&c->pol.rs, RULE_HIDE, &c->hide, &resolved);
	/* The program must not see or touch its own session, nor any other. */
	add_hidden(&c->hide, xstrdup(c->store), &resolved);
	realpaths_free(&resolved);
	rule_paths(&c->pol.rs, RULE_READONLY, &c->ro, NULL);
	/* The program must not rewrite the rules its next run, or the person's, obeys. */
	nconf = policy_config_dirs(c->renv.home, conf);
	for (i = 0; i < nconf; i++)
		strvec_push(&c->ro, conf[i]);
	rule_paths(&c->pol.rs, RULE_SCRATCH, &c->scratch, NULL);
	return 0;
}

/* Who answers the asks; a pty of the program's own when a person answers on this terminal. */
static int prepare_asks(struct run_ctx *c)
{
	c->asker = make_asker(&c->o, c->renv.home, &c->ask_mode);
	if (!c->asker)
		return -1;
	if (c->o.replay && load_replay(c->asker, c->o.replay, &c->replayed) < 0)
		return -1;
	if (c->ask_mode == ASK_MODE_TTY && !c->o.capture &&
	    relay_open(&c->rs.relay, c->use_slave) < 0)
		return -1;
	return 0;
}

static struct plan_opts view_opts(const struct run_ctx *c)
{
	return (struct plan_opts){
		.session_dir = c->s.dir,
		.hide = (const char *const *)c->hide.v,
		.nhide = c->hide.n,
		.readonly = (const char *const *)c->ro.v,
		.nreadonly = c->ro.n,
		.scratch = (const char *const *)c->scratch.v,
		.nscratch = c->scratch.n,
		.collect_empty = true,
	};
}

/*
 * The directories a stopped live session's record names as collected (tracee/plan.h): each
 * has an upper directory inside the collector's, "upper/N/K". Started again, the session
 * collects the same ones whatever the host's directories hold by then, or its layers would
 * land elsewhere (same_view() checks they did not).
 */
static void collected_paths(const cJSON *meta, struct strvec *out)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(meta, "mounts"))
	{
		const char *upper = meta_str(m, "upper"), *path = meta_str(m, "path");
		unsigned n, k;
		int end = -1;

		if (upper && path && sscanf(upper, "upper/%u/%u%n", &n, &k, &end) == 2 && end > 0 &&
		    upper[end] == '\0')
			strvec_add(out, path);
	}
}

/* The rest of a session's set-up, once its directory and its view exist. */
static int setup_session(struct run_ctx *c)
{
	c->rs.session_dir = c->s.dir;
	c->rs.rules = &c->pol.rs;
	if (c->o.net != NET_HOST) {
		c->resolv_conf = session_path(&c->s, "resolv.conf");
		if (setup_dns(&c->o, &c->rs.net, c->resolv_conf) < 0)
			return -1;
	}
	c->rs.net.plan = &c->plan; /* also where the read-only views are (notify_write.c) */
	c->rs.asker = c->asker;
	c->rs.disk_reserve = disk_reserve(c->s.dir);
	if (disk_room(c->s.dir, c->rs.disk_reserve, &c->disk_room_left) < 0)
		return -1;
	c->rs.fsize_is_disk =
		c->disk_room_left && (!c->o.lim.fsize || c->disk_room_left < c->o.lim.fsize);
	c->root_dir = session_path(&c->s, "root");
	if (mkdir(c->root_dir, 0700) < 0 && !(c->resumed && errno == EEXIST))
		die_errno("cannot create %s", c->root_dir);
	return 0;
}

/* The session: its directory, the filesystem view, the resolver and the disk's room. */
static int create_session(struct run_ctx *c)
{
	struct plan_opts po;

	if (store_create(&c->s) < 0)
		return -1;
	test_mark("supervisor: session directory");
	/* Tells a program (and an airlock started inside) which session it runs in. */
	env_set(&c->env, "AIRLOCK_SESSION", c->s.id);
	po = view_opts(c);
	if (plan_build(&c->plan, &po) < 0)
		die("cannot prepare the sandbox's filesystem view");
	test_mark("supervisor: plan");
	return setup_session(c);
}

/* The view built again must put every layer where the session's record says it is. */
static int same_view(const struct run_ctx *c)
{
	const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(c->resumed, "mounts");
	const cJSON *hidden = cJSON_GetObjectItemCaseSensitive(c->resumed, "hidden");
	int k = 0;

	for (size_t i = 0; i < c->plan.n; i++) {
		const struct plan_item *it = &c->plan.items[i];
		const cJSON *m;

		if (it->kind != PLAN_OVERLAY && it->kind != PLAN_SCRATCH)
			continue;
		m = cJSON_GetArrayItem(mounts, k++);
		if (!m || !meta_str(m, "path") || !meta_str(m, "upper") ||
		    strcmp(meta_str(m, "path"), it->path) != 0 ||
		    strcmp(meta_str(m, "upper"), path_rel(it->upper, c->s.dir)) != 0)
			return -1;
	}
	if (k != cJSON_GetArraySize(mounts) || cJSON_GetArraySize(hidden) != (int)c->hide.n)
		return -1;
	for (size_t i = 0; i < c->hide.n; i++) {
		const cJSON *h = cJSON_GetArrayItem(hidden, (int)i);

		if (!cJSON_IsString(h) || strcmp(h->valuestring, c->hide.v[i]) != 0)
			return -1;
	}
	return 0;
}

/* Work directories start empty: overlayfs refuses one a volatile mount left behind. */
static void clean_work_dirs(const struct run_ctx *c)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(c->resumed, "mounts"))
	{
		const char *work = meta_str(m, "work");
		cleanup_free char *norm = work ? path_normalize(work) : NULL;
		cleanup_free char *path = NULL;

		if (!norm || norm[0] == '/' || strncmp(norm, "..", 2) == 0)
			continue;
		path = path_join(c->s.dir, norm);
		rm_rf(path);
	}
}

/*
 * A stopped live session, started again for an exec: the same directory, its upper layers
 * under a view built as before (refused when the host's mounts or the hidden paths are not
 * what the session recorded: its layers would land elsewhere), and its record reopened.
 */
static int resume_session(struct run_ctx *c)
{
	cleanup_strvec struct strvec collected = STRVEC_INIT;
	struct plan_opts po;
	const char *state;

	if (store_open(c->o.resume, true, &c->s) < 0)
		return -1;
	c->resumed = store_read_meta(&c->s);
	if (!c->resumed)
		return -1;
	state = meta_str(c->resumed, "state");
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(c->resumed, "live")) || !state ||
	    strcmp(state, "finished") != 0)
		return error("session %s cannot be started again: it is %s, not a stopped live "
			     "session",
			     c->s.id, state ? state : "unknown");
	env_set(&c->env, "AIRLOCK_SESSION", c->s.id);
	clean_work_dirs(c);
	po = view_opts(c);
	collected_paths(c->resumed, &collected);
	po.collect_empty = false;
	po.collect_listed = true;
	po.collected = (const char *const *)collected.v;
	po.ncollected = collected.n;
	if (plan_build(&c->plan, &po) < 0)
		die("cannot prepare the sandbox's filesystem view");
	if (same_view(c) < 0)
		return error("session %s cannot be started again: the host's mounts or the hidden "
			     "paths changed since it started; review and commit it, or start a new "
			     "one",
			     c->s.id);
	return setup_session(c);
}

static void set_meta(cJSON *meta, const char *key, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(meta, key))
		cJSON_ReplaceItemInObjectCaseSensitive(meta, key, v);
	else
		cJSON_AddItemToObject(meta, key, v);
}

/* The record of a session started again: running once more, its log's chain continued. */
static int restart_record(struct run_ctx *c)
{
	cleanup_free char *events_path = session_path(&c->s, "events.jsonl");
	const cJSON *live = cJSON_GetObjectItemCaseSensitive(c->resumed, "live");
	unsigned restarts = (unsigned)meta_num(live, "restarts", 0) + 1;

	memset(&c->rec, 0, sizeof(c->rec));
	c->rec.s = &c->s;
	c->rec.nchanges = -1;
	clock_gettime(CLOCK_MONOTONIC, &c->rec.started);
	c->rec.meta = c->resumed;
	c->resumed = NULL;
	live_set_restarts(c->rs.live, restarts);
	set_meta(c->rec.meta, "state", cJSON_CreateString("running"));
	set_meta(c->rec.meta, "supervisor_pid", cJSON_CreateNumber(getpid()));
	set_meta(c->rec.meta, "live", live_meta(c->rs.live));
	if (session_record_start(&c->rec) < 0 ||
	    seal_open_log(&c->log, events_path, c->rec.meta) < 0)
		return -1;
	if (events_append(&c->log, seal_session_event("restart",
						      "a stopped live session, "
						      "started again for an exec",
						      "airlock")) < 0)
		return error("cannot record the restart in %s", events_path);
	c->rs.log = &c->log;
	c->rs.net_mode = c->o.net;
	return 0;
}

/* meta.json as the run starts, and the event log. */
static int start_record(struct run_ctx *c)
{
	static char *const no_command[] = {NULL};
	cJSON *sources;

	if (c->resumed)
		return restart_record(c);
	session_record_init(&c->rec, &c->s, c->o.live ? no_command : c->o.command, c->cwd, &c->plan,
			    (const char *const *)c->hide.v, c->hide.n, (const char *const *)c->ro.v,
			    c->ro.n,
			    c->o.net == NET_NONE   ? "none"
			    : c->o.net == NET_HOST ? "host"
						   : "mediated",
			    c->o.lim.timeout_ms);
	cJSON_AddItemToObject(c->rec.meta, "limits", limits_json(&c->o.lim, getuid() == 0));
	cJSON_AddBoolToObject(c->rec.meta, "captured", c->o.capture);
	if (c->o.live)
		cJSON_AddItemToObject(c->rec.meta, "live", live_meta(c->rs.live));
	sources = policy_keep(&c->pol, &c->s);
	if (!sources)
		return -1;
	cJSON_ReplaceItemInObjectCaseSensitive(c->rec.meta, "rules", sources);
	if (c->replayed) {
		cJSON_AddItemToObject(c->rec.meta, "replay", c->replayed);
		c->replayed = NULL;
	}
	if (session_record_start(&c->rec) < 0)
		return -1;
	{
		cleanup_free char *events_path = session_path(&c->s, "events.jsonl");

		if (events_open(&c->log, events_path) < 0)
			return -1;
	}
	if (c->o.log_syslog)
		events_forward_syslog(&c->log, c->s.id); /* a warning when unreachable */
	c->rs.log = &c->log;
	c->rs.net_mode = c->o.net;
	return 0;
}

/* Where the command's output and input go: captured, relayed through pipes, or its own. */
static void prepare_stdio(struct run_ctx *c)
{
	int k;

	if (c->o.live) {
		/* The live sandbox's own stdio holds nothing of the caller's: `airlock start`
		   must not keep the terminal or a pipe it was started from. Each step gets the
		   stdio of its `airlock exec`. */
		c->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (c->null_fd < 0)
			die_errno("cannot open /dev/null");
		return;
	}
	for (k = 0; k < 2; k++) {
		if (c->o.capture) {
			open_capture(&c->rs.out[k], &c->wr[k], c->o.lim.output);
		} else if (!stdio_safe(k + 1)) {
			open_capture(&c->rs.out[k], &c->wr[k], 0);
			c->rs.out[k].sink = k + 1;
		}
	}
	if (!stdio_safe(STDIN_FILENO)) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0 || fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
			die_errno("cannot create a pipe for the input");
		c->rs.in.src = STDIN_FILENO;
		c->rs.in.pipe = p[1];
		c->rd_in = p[0];
	}
}

/*
 * The command's filter, compiled while pid 1 builds the sandbox and sent to it in one message
 * (TRACEE_MSG_FILTER) before it forks the command. 0, or -1 after saying why. A pid 1 that
 * already ended (a set-up failure) is no error here: the loop relays what it said, and the
 * record ends with its status.
 */
static int send_filter(struct run_ctx *c)
{
	struct tracee_msg msg = {.type = TRACEE_MSG_FILTER};
	size_t len;
	cleanup_free char *buf = NULL;

	if (filter_compile(&c->filter) < 0)
		return -1;
	msg.status = c->filter.len;
	len = c->filter.len * sizeof(*c->filter.filter);
	buf = xmalloc(sizeof(msg) + len);
	memcpy(buf, &msg, sizeof(msg));
	memcpy(buf + sizeof(msg), c->filter.filter, len);
	if (send(c->rs.control, buf, sizeof(msg) + len, MSG_NOSIGNAL) !=
		    (ssize_t)(sizeof(msg) + len) &&
	    errno != EPIPE && errno != ECONNRESET)
		return error_errno("cannot send the seccomp filter to the sandbox");
	return 0;
}

/* What the sandbox is made of; sv: the control socket's ends (the tracee's is sv[1]). */
static struct sandbox_spec spec_for(const struct run_ctx *c, const int sv[2])
{
	struct sandbox_spec spec = {
		.argv = c->o.command,
		.envp = c->env.envp,
		.cwd = c->cwd,
		.root_dir = c->root_dir,
		.plan = &c->plan,
		.net = c->o.net,
		.resolv_conf = c->resolv_conf,
		.control_fd = sv[1],
		.supervisor_fd = sv[0],
		.stdin_fd = c->use_slave[0] ? c->rs.relay.slave : c->rd_in,
		.stdout_fd = c->use_slave[1] ? c->rs.relay.slave : c->wr[0],
		.stderr_fd = c->use_slave[2] ? c->rs.relay.slave : c->wr[1],
		.ctty_fd = c->use_slave[0]   ? 0
			   : c->use_slave[1] ? 1
			   : c->use_slave[2] ? 2
					     : -1,
		.limits = rlimits_for(&c->o.lim, c->disk_room_left),
		.shm_size = c->o.lim.memory,
		.uid = getuid(),
		.gid = getgid(),
		.live = c->o.live,
	};

	if (c->o.live) {
		spec.stdin_fd = spec.stdout_fd = c->null_fd;
		spec.stderr_fd = c->log_fd >= 0 ? c->log_fd : c->null_fd;
	}
	return spec;
}

static void reap_init(struct run_state *rs);

/*
 * Clone the sandbox and let its pid 1 build it; meanwhile, start the record and compile the
 * filter, which pid 1 waits for only before it forks the command (the record exists before
 * the command can make a call: its listener is taken in the loop). 0, or -1 after saying why.
 */
static int launch(struct run_ctx *c)
{
	struct sandbox_spec spec;
	int sv[2], k;

	c->rs.sigfd = setup_signals(&c->mask);
	if (c->rs.sigfd < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die_errno("cannot create the control socket");
	c->rs.control = sv[0];
	if (setsockopt(c->rs.control, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0)
		die_errno("cannot set up the control socket");
	prepare_stdio(c);
	spec = spec_for(c, sv);
	fflush(NULL);
	test_mark("supervisor: clone");
	c->rs.pid = sandbox_clone(&spec);
	test_mark("supervisor: cloned");
	if (c->rs.pid < 0) {
		error("cannot create the sandbox's namespaces: %s", strerror(-c->rs.pid));
		doctor_explain(c->store);
		return -1;
	}
	close(sv[1]);
	for (k = 0; k < 2; k++)
		if (c->wr[k] >= 0)
			close(c->wr[k]);
	if (c->rd_in >= 0)
		close(c->rd_in);
	if (start_record(c) < 0 || send_filter(c) < 0) {
		kill(c->rs.pid, SIGKILL);
		reap_init(&c->rs);
		return -1;
	}
	test_mark("supervisor: record started, filter sent");
	/* libcrypto is loaded now, while pid 1 mounts the sandbox, not at the event that needs
	   it first (the answer to a call would wait for it). */
	sha256_init();
	relay_start(&c->rs.relay);
	c->rs.timerfd = start_timer(c->o.lim.timeout_ms);
	return 0;
}

/* Everything up to the loop: options, rules, the session, its record and the sandbox. */
static int prepare(struct run_ctx *c)
{
	c->rs.lim = &c->o.lim;
	test_mark("supervisor: options");
	err_set_die_status(EXIT_AIRLOCK_FAILED);
	if (doctor_preflight() < 0)
		return -1;
	c->cwd = getcwd(NULL, 0);
	if (!c->cwd)
		die_errno("cannot read the working directory");
	c->store = store_root();
	if (!c->store)
		return -1;
	if (strpbrk(c->store, ",:"))
		die("the session store path %s has a ',' or ':', which overlayfs options cannot "
		    "carry; set AIRLOCK_STATE_DIR to another directory",
		    c->store);
	if (load_rules(c) < 0 || prepare_asks(c) < 0)
		return -1;
	if (env_build(environ, (const char *const *)c->o.env.v, c->o.env.n, c->o.keep_env, c->cwd,
		      &c->env) < 0)
		return -1;
	test_mark("supervisor: rules and environment");
	return c->o.resume ? resume_session(c) : create_session(c);
}

/*
 * pid 1 waits, once it has reported, for the control socket's end (or for our exit): its
 * exit, the namespaces' teardown, then runs after our last work rather than beside it.
 */
static void release_sandbox(struct run_state *rs)
{
	if (rs->control >= 0)
		close(rs->control);
	rs->control = -1;
	rs->control_gone = true;
}

static void reap_init(struct run_state *rs)
{
	release_sandbox(rs);
	while (!rs->reaped && waitpid(rs->pid, &rs->init_status, 0) < 0 && errno == EINTR)
		;
	rs->reaped = rs->gone = true;
}

/* After the loop: the sandbox is gone; its status, output and record. */
static void conclude(struct run_ctx *c, int rc)
{
	struct run_state *rs = &c->rs;

	if (rs->have_listener)
		notifier_drop_lookups(&rs->notifier);
	if (rc < 0 || !rs->gone)
		kill(rs->pid, SIGKILL);
	/*
	 * A run goes on while pid 1 waits to unmount the sandbox (no process is left to write in
	 * the upper layers this reads). A live session waits for its exit: a stopped session may
	 * be started again over the same layers, which must be free by then.
	 */
	if (rc < 0 || !rs->gone || c->o.live)
		reap_init(rs);
	/* pid 1 makes the writable layers as it mounts them: a sandbox that failed first leaves
	   some unmade, and the session's record reads every one. */
	if (!rs->have_listener)
		plan_make_layers(&c->plan);
	relay_close(&rs->relay);
	if (rs->live)
		live_sandbox_ended(rs); /* the steps still waiting learn how the session ended */
	/* A program that met the disk's bound (EFBIG) and exited before the next check. */
	if (!rs->limit && monitor_disk_low(&rs->mon))
		rs->limit = "disk";
	c->status = final_status(rs, &c->sig);
	if (c->o.live && c->status != EXIT_AIRLOCK_FAILED && rs->have_listener && !rs->limit)
		c->status = c->sig = 0; /* a live session ends when it is stopped: no status */
	if (!rs->have_listener && !rs->got_exit && c->status == EXIT_AIRLOCK_FAILED && !c->o.json)
		error("the sandbox could not start (see the message above)");
	if (!rs->have_listener && !rs->got_exit && c->status == EXIT_AIRLOCK_FAILED)
		doctor_explain(c->store); /* what in this system stopped it, and the fix */
	if (rs->limit)
		report_limit(rs->limit, &c->o.lim);
	if (c->o.capture) {
		finish_output(rs, &c->s, c->env.removed, &c->pol.rs, &c->out);
		cJSON_AddItemToObject(c->rec.meta, "redactions", redactions_json(c->out.red));
		cJSON_AddBoolToObject(c->rec.meta, "truncated", c->out.truncated);
	}
	if (rs->live)
		cJSON_ReplaceItemInObjectCaseSensitive(c->rec.meta, "live", live_meta(rs->live));
	/* Last: it seals meta.json, the output's record included (after we return, when no
	   review follows: the status is not held back by hashing the held files). A live
	   session's stop waits for its seal instead. */
	c->rec.seal_after_return = !c->o.live && c->status != EXIT_AIRLOCK_FAILED &&
				   !review_may_open(c->o.review, c->o.json);
	session_record_finish(&c->rec, &c->log, c->status, c->sig, rs->limit, rs->notifier.handled,
			      rs->filter.wait_killable, rs->notifier.sync_wakeup);
}

/* The run's last lines: the result, or what is held and what to do next. */
static void tell_result(struct run_ctx *c)
{
	const char *id = c->s.id;
	long n = c->rec.nchanges;

	if (c->o.json)
		print_result(&c->s, &c->rec, &c->out, c->status, c->sig, c->rs.limit,
			     c->log.denied_net);
	else if (n == 0 && c->status != EXIT_AIRLOCK_FAILED)
		fprintf(stderr, "airlock: session %s: no changes\n", id);
	else if (n > 0 && c->status != EXIT_AIRLOCK_FAILED && isatty(STDIN_FILENO))
		fprintf(stderr,
			"airlock: session %s: %ld change%s held in the sandbox; 'airlock review %s' "
			"decides them, 'airlock commit %s' applies the approved ones\n",
			id, n, n == 1 ? "" : "s", id, id);
	else if (n > 0 && c->status != EXIT_AIRLOCK_FAILED)
		fprintf(stderr,
			"airlock: session %s: %ld change%s held in the sandbox; 'airlock show %s' "
			"lists them, 'airlock commit %s' applies the approved ones\n",
			id, n, n == 1 ? "" : "s", id, id);
	if (!c->o.json && c->log.denied_net > 0)
		say_denied_net(&c->log);
}

static void ctx_free(struct run_ctx *c)
{
	struct run_state *rs = &c->rs;
	int k;

	if (rs->have_listener)
		notifier_free(&rs->notifier);
	if (rs->pidfd >= 0)
		close(rs->pidfd);
	monitor_close(&rs->mon);
	if (rs->in.pipe >= 0)
		close(rs->in.pipe);
	for (k = 0; k < 2; k++) {
		free(c->out.text[k]);
		if (rs->out[k].fd >= 0)
			close(rs->out[k].fd);
		buf_release(&rs->out[k].data);
	}
	if (c->out.red)
		redactor_free(c->out.red);
	live_free(rs->live);
	free(c->filter.filter);
	asker_free(c->asker);
	policy_free(&c->pol);
	events_close(&c->log);
	session_record_free(&c->rec);
	plan_free(&c->plan);
	env_result_free(&c->env);
	strvec_clear(&c->hide);
	strvec_clear(&c->ro);
	strvec_clear(&c->scratch);
	run_opts_free(&c->o);
	free(c->cwd);
	free(c->store);
	free(c->root_dir);
	free(c->flags);
	free(c->resolv_conf);
	if (c->null_fd >= 0)
		close(c->null_fd);
	if (c->log_fd >= 0)
		close(c->log_fd);
	cJSON_Delete(c->resumed);
	store_close(&c->s);
	sigprocmask(SIG_UNBLOCK, &c->mask, NULL);
}

int cmd_run(int argc, char **argv)
{
	struct run_ctx c;
	int rc, status;

	ctx_init(&c);
	rc = parse_run_opts(argc, argv, &c.o);
	if (rc >= 0)
		return rc;
	if (prepare(&c) < 0 || launch(&c) < 0)
		return EXIT_AIRLOCK_FAILED;
	rc = serve(&c.rs);
	test_mark("supervisor: command ended");
	conclude(&c, rc);
	test_mark("supervisor: record sealed");
	tell_result(&c);
	if (review_may_open(c.o.review, c.o.json))
		release_sandbox(&c.rs); /* its teardown need not wait for the review's end */
	if (c.status != EXIT_AIRLOCK_FAILED)
		review_after_run(&c.s, c.o.review, c.o.json);
	status = c.status;
	ctx_free(&c);
	test_mark("supervisor: end");
	return status;
}

/* What `airlock start` was given, to start the session again the same way (exec). */
static int save_start_args(const struct session *s, int argc, char **argv)
{
	cleanup_free char *path = session_path(s, "start.json");
	cJSON *a = cJSON_CreateArray();
	char *text;
	int rc;

	for (int i = 1; i < argc; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
	text = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	rc = write_file_atomic(path, text, strlen(text), 0600, false);
	free(text);
	if (rc < 0)
		return error_errno("cannot write %s", path);
	return 0;
}

/*
 * The background half of `airlock start`: the same session and sandbox as a run, whose
 * launcher waits for steps; ready_fd learns the session's ID once the sandbox is up (see
 * cmd_start in supervisor/cli/live.c), and the loop serves until the session is stopped.
 */
int run_live(int argc, char **argv, int ready_fd, const char *resume)
{
	struct run_ctx c;
	int rc;

	ctx_init(&c);
	c.o.live = true;
	c.o.resume = resume;
	rc = parse_run_opts(argc, argv, &c.o);
	if (rc >= 0)
		return rc;
	if (prepare(&c) < 0)
		return EXIT_AIRLOCK_FAILED;
	{
		cleanup_free char *path = session_path(&c.s, "supervisor.log");

		/* The sandbox's own messages, and the supervisor's once `start` has returned. */
		c.log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (c.log_fd < 0)
			die_errno("cannot create %s", path);
	}
	if (c.o.name && !c.resumed && store_set_name(&c.s, c.o.name) < 0)
		return EXIT_AIRLOCK_FAILED;
	c.rs.live = live_new(
		&c.o, &c.s, c.cwd, ready_fd, c.log_fd,
		c.resumed ? (unsigned)meta_num(cJSON_GetObjectItemCaseSensitive(c.resumed, "live"),
					       "steps", 0)
			  : 0);
	if (!c.resumed && save_start_args(&c.s, argc, argv) < 0)
		return EXIT_AIRLOCK_FAILED;
	if (live_listen(c.rs.live, &c.s) < 0 || launch(&c) < 0)
		return EXIT_AIRLOCK_FAILED;
	rc = serve(&c.rs);
	conclude(&c, rc);
	live_finish(&c.rs, &c.s, c.rec.nchanges);
	ctx_free(&c);
	return 0;
}
