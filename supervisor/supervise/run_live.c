/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's side of a live session (airlock start): the control socket in the session
 * directory, each `airlock exec` as a step that the sandbox's launcher (tracee/launcher.c)
 * starts, and the stop. The wire format is in live.h.
 */
#include "supervisor/supervise/run_int.h"

#include "supervisor/supervise/live.h"
#include "supervisor/supervise/procs.h"
#include "common/json.h"
#include "common/scm.h"
#include "common/testenv.h"

#include <linux/openat2.h>
#include <sys/un.h>

#define MAX_CLIENTS	   64
#define DEFAULT_GRACE_S	   5
#define MAX_GRACE_S	   600
#define CLIENT_STRINGS_MAX (LIVE_MAX_BODY)

struct live_client {
	int fd;	       /* the connection; -1 once it hung up or was answered */
	unsigned step; /* its step, 0 before one started */
	bool running;  /* the step started and has not ended */
	bool stop;     /* a stop request: answered once the record is sealed */
	bool refused;  /* told why it may not: closed once its request is read (closing with
			  it unread would reset the connection before the client read why) */

	char *hand_back; /* exec --hand-back: the path in the sandbox's view, or NULL */
};

struct live {
	int listen_fd;
	int ready_fd; /* to `airlock start`, until the sandbox is up */
	int log_fd;   /* supervisor.log: our stderr once `start` returned */
	int idle_fd;  /* --idle, armed while no step runs */
	int grace_fd; /* a stop's grace for the running steps */
	int dir_fd;   /* the session directory, to notice it deleted (watch_fd's check) */
	int watch_fd; /* a timer: every few seconds, whether the session directory still exists */
	struct live_client *c;
	size_t n, cap;
	unsigned steps;	  /* steps started so far */
	unsigned running; /* steps running now */
	bool stopping;
	const char *ended_by; /* "stop", "idle", "signal", or NULL */
	unsigned resumed;     /* times the session was started again after a stop */
	const struct run_opts *o;
	const struct session *s;
	const char *cwd; /* where the session started: a step's fallback */
	char *socket_path;
};

struct live *live_new(const struct run_opts *o, const struct session *s, const char *cwd,
		      int ready_fd, int log_fd, unsigned steps_before)
{
	struct live *l = xcalloc(1, sizeof(*l));

	l->steps = steps_before; /* a session started again numbers on */
	l->listen_fd = l->idle_fd = l->grace_fd = l->watch_fd = -1;
	l->dir_fd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	l->ready_fd = ready_fd;
	l->log_fd = log_fd;
	l->o = o;
	l->s = s;
	l->cwd = cwd;
	return l;
}

void live_free(struct live *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		if (l->c[i].fd >= 0)
			close(l->c[i].fd);
		free(l->c[i].hand_back);
	}
	free(l->c);
	if (l->listen_fd >= 0)
		close(l->listen_fd);
	if (l->ready_fd >= 0)
		close(l->ready_fd);
	if (l->idle_fd >= 0)
		close(l->idle_fd);
	if (l->grace_fd >= 0)
		close(l->grace_fd);
	if (l->watch_fd >= 0)
		close(l->watch_fd);
	if (l->dir_fd >= 0)
		close(l->dir_fd);
	if (l->socket_path)
		unlink(l->socket_path);
	free(l->socket_path);
	free(l);
}

cJSON *live_meta(const struct live *l)
{
	cJSON *m = cJSON_CreateObject();

	if (l && l->o->name)
		cJSON_AddStringToObject(m, "name", l->o->name);
	else
		cJSON_AddNullToObject(m, "name");
	cJSON_AddNumberToObject(m, "steps", l ? l->steps : 0);
	if (l && l->o->idle_ms)
		cJSON_AddNumberToObject(m, "idle_ms", (double)l->o->idle_ms);
	if (l && l->resumed)
		cJSON_AddNumberToObject(m, "restarts", l->resumed);
	if (l && l->ended_by)
		cJSON_AddStringToObject(m, "ended_by", l->ended_by);
	return m;
}

/*
 * The socket, bound through /proc/self/fd/N of the session directory: its path may be longer
 * than sun_path holds. The directory is the user's alone; the socket too (umask).
 */
int live_listen(struct live *l, const struct session *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cleanup_fd int dir = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	mode_t old;
	int rc;

	if (dir < 0)
		return error_errno("cannot open %s", s->dir);
	l->socket_path = session_path(s, LIVE_SOCKET);
	unlink(l->socket_path); /* one a supervisor that died left behind */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir, LIVE_SOCKET);
	l->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->listen_fd < 0)
		return error_errno("cannot create the session's control socket");
	old = umask(0077);
	rc = bind(l->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(l->listen_fd, 16) < 0)
		return error_errno("cannot listen on %s", l->socket_path);
	return 0;
}

static void send_bytes(int fd, int type, unsigned step, int arg, int arg2, const void *data,
		       size_t len)
{
	struct live_msg m = {.magic = LIVE_MAGIC,
			     .type = (uint32_t)type,
			     .arg = arg,
			     .arg2 = arg2,
			     .step = step};
	struct iovec iov[2] = {{.iov_base = &m, .iov_len = sizeof(m)},
			       {.iov_base = (void *)(data ? data : ""), .iov_len = len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

	if (fd >= 0)
		(void)sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void send_answer(int fd, int type, unsigned step, int arg, int arg2, const char *text)
{
	send_bytes(fd, type, step, arg, arg2, text, text ? strlen(text) + 1 : 0);
}

static struct live_client *client_by_fd(struct live *l, int fd)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->c[i].fd == fd)
			return &l->c[i];
	return NULL;
}

static struct live_client *client_by_step(struct live *l, unsigned step)
{
	for (size_t i = 0; step && i < l->n; i++)
		if (l->c[i].step == step)
			return &l->c[i];
	return NULL;
}

/* Drop the clients that are done: answered or gone, and no step of theirs runs. */
static void prune_clients(struct live *l)
{
	size_t i = 0;

	while (i < l->n) {
		struct live_client *c = &l->c[i];

		if (c->fd < 0 && !c->running && !c->stop) {
			free(c->hand_back);
			l->c[i] = l->c[--l->n];
		} else
			i++;
	}
}

static void hang_up(struct live_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void arm(int *fd, unsigned long long ms)
{
	struct itimerspec its = {0};

	if (*fd < 0)
		*fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (*fd < 0)
		return;
	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L + (ms ? 0 : 1);
	timerfd_settime(*fd, 0, &its, NULL);
}

static void disarm(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void tell_launcher(struct run_state *rs, unsigned step, int sig)
{
	struct tracee_msg m = {.type = TRACEE_MSG_SIGNAL, .status = sig, .step = step};

	(void)send(rs->control, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * Stop: the running steps get SIGTERM and grace_s to end, then pid 1 is killed, which ends
 * every process of the sandbox; the loop then ends and the record is sealed.
 */
static void begin_stop(struct run_state *rs, const char *by, unsigned grace_s)
{
	struct live *l = rs->live;

	if (!l->ended_by)
		l->ended_by = by;
	if (l->stopping && l->running)
		return;
	l->stopping = true;
	disarm(&l->idle_fd);
	if (l->listen_fd >= 0) {
		close(l->listen_fd);
		l->listen_fd = -1;
	}
	if (l->running == 0 || grace_s == 0) {
		kill(rs->pid, SIGKILL);
		return;
	}
	tell_launcher(rs, 0, SIGTERM);
	arm(&l->grace_fd, (unsigned long long)grace_s * 1000);
}

static void record_step(struct run_state *rs, cJSON *ev)
{
	int rc = events_append(rs->log, ev);

	if (rc < 0) {
		error_rc(rc, "cannot record a step in the event log; stopping the session");
		kill(rs->pid, SIGKILL);
	}
}

static void step_started_event(struct run_state *rs, unsigned step, char **argv, size_t nargs,
			       const char *cwd)
{
	cJSON *ev = cJSON_CreateObject(), *a = cJSON_CreateArray();

	for (size_t i = 0; i < nargs; i++)
		cJSON_AddItemToArray(a, json_text(argv[i]));
	cJSON_AddStringToObject(ev, "class", "step");
	cJSON_AddStringToObject(ev, "op", "start");
	cJSON_AddNumberToObject(ev, "step", step);
	cJSON_AddItemToObject(ev, "command", a);
	cJSON_AddItemToObject(ev, "cwd", json_text(cwd));
	cJSON_AddStringToObject(ev, "decision", "start");
	cJSON_AddStringToObject(ev, "by", "exec");
	record_step(rs, ev);
}

static void step_ended_event(struct run_state *rs, unsigned step, int code, int sig,
			     const char *why, cJSON *hand_back)
{
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "class", "step");
	cJSON_AddStringToObject(ev, "op", "end");
	cJSON_AddNumberToObject(ev, "step", step);
	cJSON_AddNumberToObject(ev, "exit_code", code);
	if (sig)
		cJSON_AddNumberToObject(ev, "signal", sig);
	if (why)
		cJSON_AddStringToObject(ev, "target", why);
	if (hand_back)
		cJSON_AddItemToObject(ev, "hand_back", hand_back);
	cJSON_AddStringToObject(ev, "decision", "end");
	cJSON_AddStringToObject(ev, "by", "exec");
	record_step(rs, ev);
}

static void step_over(struct run_state *rs, struct live_client *c)
{
	struct live *l = rs->live;

	c->running = false;
	l->running--;
	if (l->running == 0)
		monitor_pace(rs, false);
	if (l->stopping && l->running == 0)
		kill(rs->pid, SIGKILL);
	else if (!l->stopping && l->running == 0 && l->o->idle_ms)
		arm(&l->idle_fd, l->o->idle_ms);
}

/* The strings of an exec request: cwd, extra more (the hand-back path), argv (nargs),
   environment. NULL when malformed. */
static char **split_body(char *p, size_t len, size_t extra, size_t nargs, size_t *count)
{
	size_t n = 0;
	char **v = nul_strings(p, len, &n);

	if (!v)
		return NULL;
	if (n < 1 + extra + nargs || nargs == 0 || v[0][0] != '/' || v[1 + extra][0] == '\0' ||
	    (extra && (v[1][0] != '/' || strlen(v[1]) >= PATH_MAX))) {
		free(v);
		return NULL;
	}
	*count = n;
	return v;
}

/* The launcher's request: the strings after a tracee_msg, in one buffer. */
static int build_spawn(struct buf *b, unsigned step, const char *cwd, const char *fallback,
		       char **argv, size_t nargs, char *const *envp)
{
	struct tracee_msg m = {.type = TRACEE_MSG_SPAWN, .status = (int)nargs, .step = step};

	buf_init(b);
	buf_add(b, &m, sizeof(m));
	buf_add(b, cwd, strlen(cwd) + 1);
	buf_add(b, fallback, strlen(fallback) + 1);
	for (size_t i = 0; i < nargs; i++)
		buf_add(b, argv[i], strlen(argv[i]) + 1);
	for (; envp && *envp; envp++)
		buf_add(b, *envp, strlen(*envp) + 1);
	return b->len - sizeof(m) > SPAWN_MAX_BYTES ? -E2BIG : 0;
}

static int send_spawn(struct run_state *rs, const struct buf *b, const int fds[3])
{
	union scm_buf cbuf;
	struct iovec iov = {.iov_base = b->data, .iov_len = b->len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	scm_put_fds(&mh, &cbuf, fds, 3);
	return sendmsg(rs->control, &mh, MSG_NOSIGNAL) == (ssize_t)b->len ? 0 : -errno;
}

/* An exec request: check it, give it a step, hand it to the launcher. */
static void start_exec(struct run_state *rs, struct live_client *c, const struct live_msg *m,
		       char *body, size_t len, const int fds[3])
{
	struct live *l = rs->live;
	cleanup_free char **v = NULL;
	struct env_result env = {0};
	struct buf req;
	size_t count = 0, nargs = m->arg > 0 ? (size_t)m->arg : 0;
	size_t extra = (m->arg2 & LIVE_HAND_BACK) ? 1 : 0;
	const char *fallback;
	char **args;
	int rc;

	if (c->step) {
		send_answer(c->fd, LIVE_ERROR, 0, EXIT_AIRLOCK_FAILED, 0,
			    "one exec per connection");
		return;
	}
	if (l->stopping) {
		send_answer(c->fd, LIVE_ERROR, 0, EXIT_AIRLOCK_FAILED, 0,
			    "the session is stopping");
		return;
	}
	v = split_body(body, len, extra, nargs, &count);
	if (!v) {
		send_answer(c->fd, LIVE_ERROR, 0, EXIT_AIRLOCK_FAILED, 0, "malformed exec request");
		return;
	}
	args = v + 1 + extra;
	if (env_build(args + nargs, (const char *const *)l->o->env.v, l->o->env.n, l->o->keep_env,
		      v[0], &env) < 0) {
		send_answer(c->fd, LIVE_ERROR, 0, EXIT_AIRLOCK_FAILED, 0,
			    "cannot build the step's environment");
		return;
	}
	env_set(&env, "AIRLOCK_SESSION", l->s->id);
	fallback = (m->arg2 & LIVE_CWD_GIVEN) ? "" : l->cwd;
	rc = build_spawn(&req, l->steps + 1, v[0], fallback, args, nargs, env.envp);
	if (rc == 0) {
		step_started_event(rs, l->steps + 1, args, nargs, v[0]);
		test_mark("live: step recorded");
		rc = send_spawn(rs, &req, fds);
		test_mark("live: spawn sent");
	}
	buf_release(&req);
	env_result_free(&env);
	if (rc < 0) {
		send_answer(c->fd, LIVE_ERROR, 0, EXIT_AIRLOCK_FAILED, 0,
			    rc == -E2BIG ? "the command line and environment are too large for a "
					   "live session (at most 192 KiB)"
					 : "cannot reach the session's launcher");
		return;
	}
	c->step = ++l->steps;
	c->running = true;
	c->hand_back = extra ? xstrdup(v[1]) : NULL;
	if (l->running++ == 0)
		monitor_pace(rs, true);
	disarm(&l->idle_fd);
	send_answer(c->fd, LIVE_STEP, c->step, 0, 0, NULL);
}

static void on_client(struct run_state *rs, short revents, void *arg)
{
	struct live *l = rs->live;
	struct live_client *c = client_by_fd(l, (int)(intptr_t)arg);
	static char buf[sizeof(struct live_msg) + LIVE_MAX_BODY];
	union scm_buf cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.b,
			    .msg_controllen = sizeof(cbuf.b)};
	struct live_msg m;
	int fds[3] = {-1, -1, -1};
	bool have_fds;
	ssize_t n;

	if (!c || !revents)
		return;
	n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	have_fds = n > 0 && scm_take_exactly(&mh, fds, 3) == 0;
	test_mark("live: request read");
	if (c->refused) {
		/* Read, never acted on: the answer saying why was sent at accept. */
		for (int i = 0; have_fds && i < 3; i++)
			close(fds[i]);
		hang_up(c);
		prune_clients(l);
		return;
	}
	if (n <= 0) {
		/* The caller went away: its step is hung up, as a closed terminal would. */
		if (c->running)
			tell_launcher(rs, c->step, SIGHUP);
		hang_up(c);
		c->stop = false;
		return;
	}
	memcpy(&m, buf, n >= (ssize_t)sizeof(m) ? sizeof(m) : 0);
	if (n < (ssize_t)sizeof(m) || m.magic != LIVE_MAGIC || (mh.msg_flags & MSG_TRUNC)) {
		send_answer(c->fd, LIVE_ERROR, 0, EXIT_AIRLOCK_FAILED, 0, "malformed request");
		hang_up(c);
	} else if (m.type == LIVE_EXEC && have_fds) {
		start_exec(rs, c, &m, buf + sizeof(m), (size_t)n - sizeof(m), fds);
	} else if (m.type == LIVE_SIGNAL && c->running && m.arg > 0 && m.arg < NSIG) {
		tell_launcher(rs, c->step, m.arg);
	} else if (m.type == LIVE_ATTEND) {
		if (!rs->asker || asker_mode(rs->asker) != ASK_MODE_ATTEND) {
			send_answer(c->fd, LIVE_ERROR, 0, EXIT_REFUSED, 0,
				    "the session was not started with --ask attend: nothing waits "
				    "for an answer here");
			hang_up(c);
		} else {
			send_answer(c->fd, LIVE_STEP, 0, 0, 0, NULL);
			asker_attach(rs->asker, c->fd); /* the asker's from now on */
			c->fd = -1;
		}
	} else if (m.type == LIVE_STOP) {
		c->stop = true;
		begin_stop(rs, "stop",
			   m.arg < 0		 ? DEFAULT_GRACE_S
			   : m.arg > MAX_GRACE_S ? MAX_GRACE_S
						 : (unsigned)m.arg);
	} else if (m.type == LIVE_EXEC) {
		send_answer(c->fd, LIVE_ERROR, 0, EXIT_AIRLOCK_FAILED, 0,
			    "an exec request carries stdin, stdout and stderr");
		hang_up(c);
	}
	for (int i = 0; have_fds && i < 3; i++)
		close(fds[i]);
	prune_clients(l);
}

/* Only the session's user: the directory is theirs, and so must the peer be. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == getuid();
}

static void on_accept(struct run_state *rs, short revents, void *arg)
{
	struct live *l = rs->live;
	int fd;

	(void)arg;
	if (!(revents & POLLIN))
		return;
	while ((fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (l->n >= MAX_CLIENTS) {
			send_answer(fd, LIVE_ERROR, 0, EXIT_AIRLOCK_FAILED, 0,
				    "too many execs at once in this session (64)");
			close(fd);
			continue;
		}
		GROW(l->c, l->cap, l->n + 1);
		l->c[l->n++] = (struct live_client){.fd = fd, .refused = !peer_allowed(fd)};
		if (l->c[l->n - 1].refused)
			send_answer(fd, LIVE_ERROR, 0, EXIT_REFUSED, 0,
				    "the session belongs to another user");
	}
}

static void on_idle(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	if (revents & POLLIN)
		begin_stop(rs, "idle", 0);
}

static void on_grace(struct run_state *rs, short revents, void *arg)
{
	(void)arg;
	if (revents & POLLIN) {
		disarm(&rs->live->grace_fd);
		kill(rs->pid, SIGKILL);
	}
}

/*
 * A session whose directory or event log was deleted (rm -rf of the store, a test's scratch
 * area) has no record left to keep: its supervisor stops rather than serve a sandbox nobody
 * can review.
 */
static void on_watch(struct run_state *rs, short revents, void *arg)
{
	struct live *l = rs->live;
	uint64_t ticks;
	struct stat st;

	(void)arg;
	if (!(revents & POLLIN))
		return;
	(void)!read(l->watch_fd, &ticks, sizeof(ticks));
	/* The directory, or the event log in it (an unprivileged rm -rf removes the log but
	   not the overlay's work directories, which the kernel keeps unreadable). */
	if ((l->dir_fd >= 0 && fstat(l->dir_fd, &st) == 0 && st.st_nlink == 0) ||
	    (rs->log && rs->log->fd >= 0 && fstat(rs->log->fd, &st) == 0 && st.st_nlink == 0))
		begin_stop(rs, "session directory deleted", 0);
}

void live_watches(struct run_state *rs, struct watches *w)
{
	struct live *l = rs->live;

	if (rs->gone)
		return;
	watch(w, l->idle_fd, POLLIN, on_idle, NULL);
	watch(w, l->grace_fd, POLLIN, on_grace, NULL);
	watch(w, l->watch_fd, POLLIN, on_watch, NULL);
	if (rs->have_listener)
		watch(w, l->listen_fd, POLLIN, on_accept, NULL);
	for (size_t i = 0; i < l->n; i++)
		if (l->c[i].fd >= 0)
			watch(w, l->c[i].fd, POLLIN, on_client, (void *)(intptr_t)l->c[i].fd);
}

void live_ready(struct run_state *rs)
{
	struct live *l = rs->live;

	if (l->ready_fd >= 0) {
		dprintf(l->ready_fd, "%s\n", l->s->id);
		close(l->ready_fd);
		l->ready_fd = -1;
	}
	/* `airlock start` has returned: our messages go to the session's log from now on. */
	if (l->log_fd >= 0)
		dup2(l->log_fd, STDERR_FILENO);
	if (l->o->idle_ms)
		arm(&l->idle_fd, l->o->idle_ms);
	monitor_pace(rs, false);
	l->watch_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->watch_fd >= 0)
		timerfd_settime(l->watch_fd, 0,
				&(struct itimerspec){.it_interval = {2, 0}, .it_value = {2, 0}},
				NULL);
}

/*
 * The final content of path in the sandbox's view (exec --hand-back), at most
 * LIVE_HAND_BACK_MAX bytes into out. Looked up from pid's root without following any
 * symlink, opened for reading only once it is known to be a regular file (a FIFO or a
 * device the program put there is never opened). 0 or -errno.
 */
static int hand_back_read(pid_t pid, const char *path, struct buf *out)
{
	char root[64], self[64];
	cleanup_fd int rfd = -1, pfd = -1, fd = -1;
	struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS};
	char chunk[8192];
	struct stat st;
	ssize_t n;

	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	pfd = (int)syscall(SYS_openat2, rfd, path, &how, sizeof(how));
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > LIVE_HAND_BACK_MAX)
		return -EFBIG;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (out->len + (size_t)n > LIVE_HAND_BACK_MAX)
			return -EFBIG; /* it grew since the fstat */
		buf_add(out, chunk, (size_t)n);
	}
	return 0;
}

/* A step with --hand-back ended: its file to the caller, before the exit. The event's field. */
static cJSON *hand_back(struct run_state *rs, struct live_client *c)
{
	cJSON *ev = cJSON_CreateObject();
	struct buf b;
	int rc;

	buf_init(&b);
	rc = hand_back_read(rs->pid, c->hand_back, &b);
	cJSON_AddItemToObject(ev, "path", json_text(c->hand_back));
	if (rc == 0) {
		cJSON_AddNumberToObject(ev, "bytes", (double)b.len);
		send_bytes(c->fd, LIVE_HANDED, c->step, 0, 0, b.data, b.len);
	} else {
		cJSON_AddStringToObject(ev, "error", strerror(-rc));
		send_bytes(c->fd, LIVE_HANDED, c->step, rc, 0, NULL, 0);
	}
	buf_release(&b);
	return ev;
}

void live_control(struct run_state *rs, const struct tracee_msg *msg, struct msghdr *mh)
{
	struct live *l = rs->live;
	struct live_client *c = client_by_step(l, msg->step);
	int code, sig = 0;

	if (!c || !c->running)
		return; /* not a step that runs: nothing to learn from it */
	test_mark("live: launcher's %s", msg->type == TRACEE_MSG_STEP_HELLO ? "hello" : "report");
	if (msg->type == TRACEE_MSG_STEP_HELLO) {
		pid_t pid = scm_sender_pid(mh);

		if (pid > 0 && rs->have_listener)
			procs_set_step(rs->notifier.procs, rs->pid, pid, msg->step);
		return;
	}
	if (msg->type == TRACEE_MSG_STEP_FAILED) {
		step_ended_event(rs, c->step, EXIT_AIRLOCK_FAILED, 0, "could not start", NULL);
		send_answer(c->fd, LIVE_ERROR, c->step, EXIT_AIRLOCK_FAILED, 0,
			    "the session's launcher could not start the command");
	} else {
		cJSON *handed = c->hand_back ? hand_back(rs, c) : NULL;

		code = run_exit_status(msg->status, NULL, &sig);
		step_ended_event(rs, c->step, code, sig, NULL, handed);
		test_mark("live: exit sent");
		send_answer(c->fd, LIVE_EXIT, c->step, code, sig, NULL);
	}
	hang_up(c);
	step_over(rs, c);
	prune_clients(l);
}

void live_signal(struct run_state *rs, int sig)
{
	if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT)
		begin_stop(rs, "signal", DEFAULT_GRACE_S);
}

/* The sandbox is gone: the steps that still ran learn it, and why. */
void live_sandbox_ended(struct run_state *rs)
{
	struct live *l = rs->live;
	char why[128];
	int code;

	if (rs->limit)
		snprintf(why, sizeof(why), "the session's %s limit ended it", rs->limit);
	else if (l->stopping)
		snprintf(why, sizeof(why), "the session was stopped (%s)",
			 l->ended_by ? l->ended_by : "stop");
	else
		snprintf(why, sizeof(why), "the session's sandbox ended");
	code = rs->limit && strcmp(rs->limit, "timeout") == 0 ? 124 : 128 + SIGKILL;
	for (size_t i = 0; i < l->n; i++) {
		struct live_client *c = &l->c[i];

		if (!c->running)
			continue;
		step_ended_event(rs, c->step, code, SIGKILL, why, NULL);
		send_answer(c->fd, LIVE_ERROR, c->step, code, 0, why);
		hang_up(c);
		c->running = false;
	}
	l->running = 0;
	if (!l->ended_by)
		l->ended_by = rs->limit ? "limit" : "sandbox";
}

void live_finish(struct run_state *rs, const struct session *s, long nchanges)
{
	struct live *l = rs->live;

	(void)s;
	for (size_t i = 0; i < l->n; i++) {
		struct live_client *c = &l->c[i];

		if (c->stop)
			send_answer(c->fd, LIVE_STOPPED, 0, (int)(nchanges > 0 ? nchanges : 0), 0,
				    NULL);
		hang_up(c);
		c->stop = false;
	}
	prune_clients(l);
}

void live_set_restarts(struct live *l, unsigned n)
{
	l->resumed = n;
}
