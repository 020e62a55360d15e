/* SPDX-License-Identifier: MIT */
/* The launcher of a live session: it starts each step and reports its end; see sandbox.h. */
#include "tracee/sandbox.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/scm.h"
#include "common/testenv.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct step {
	pid_t pid; /* in the sandbox's pid namespace; also its process group (setsid) */
	unsigned n;
};

struct launcher {
	int control;
	int sigfd;
	struct step *steps;
	size_t nsteps, csteps;
};

/* In the step's child: its stdio, its directory, and the exec. Never returns. */
static noreturn void start_step(struct launcher *l, const struct tracee_msg *req, char **strings,
				size_t count, const int fds[3])
{
	struct tracee_msg hello = {.type = TRACEE_MSG_STEP_HELLO, .step = req->step};
	size_t nargs = (size_t)req->status;
	char **argv = xcalloc(nargs + 1, sizeof(*argv)), **envp = strings + 2 + nargs;
	const char *cwd = strings[0], *fallback = strings[1];
	cleanup_free char *exe = NULL;
	sigset_t none;
	int status, i;

	(void)count;
	test_mark("step: forked");
	/* The supervisor learns this pid from the credentials the kernel attaches: every event
	   of this process and its children is then this step's. First thing, so that the
	   supervisor has taken it in by the time the exec's notification comes. */
	sandbox_send_msg(l->control, &hello);
	memcpy(argv, strings + 2, nargs * sizeof(*argv)); /* NULL-terminated by the calloc */
	/* Every disposition is the default already: run_command() reset them all before it
	   became the launcher, which changes none (SIGCHLD is only blocked). */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own process group, for the signals `airlock exec` passes on, and no terminal to
	   push keystrokes into (TIOCSTI). */
	if (setsid() < 0)
		_exit(EXIT_AIRLOCK_FAILED);
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(EXIT_AIRLOCK_FAILED);
	sandbox_close_fds(2);
	/* The launcher is not dumpable (launcher_main): this child, which holds nothing of it
	   any more, is again, or the supervisor could not read its exec's path and arguments
	   (the memory's owner is the namespace airlock started in, where an unprivileged
	   supervisor has no CAP_SYS_PTRACE). */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		_exit(EXIT_AIRLOCK_FAILED);
	if (chdir(cwd) < 0) {
		if (!fallback[0] || chdir(fallback) < 0)
			die_errno("cannot enter the working directory %s inside the sandbox", cwd);
		fprintf(stderr, "airlock: %s is not in the session's view; running in %s\n", cwd,
			fallback);
	}
	exe = sandbox_find_command(argv[0], envp, &status);
	if (!exe) {
		err_set_die_status(status);
		die("%s: %s", argv[0],
		    status == EXIT_NOT_FOUND ? "command not found" : "permission denied");
	}
	test_mark("step: execve");
	execve(exe, argv, envp);
	status = errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	fprintf(stderr, "airlock: cannot run %s: %s\n", exe, strerror(errno));
	_exit(status);
}

static void report(struct launcher *l, int type, unsigned step, int status)
{
	struct tracee_msg m = {.type = type, .status = status, .step = step};

	sandbox_send_msg(l->control, &m);
}

static void spawn(struct launcher *l, char *buf, size_t len, struct msghdr *mh)
{
	const struct tracee_msg *req = (const struct tracee_msg *)buf;
	cleanup_free char **strings = NULL;
	size_t count = 0;
	int fds[3];
	pid_t pid;

	if (scm_take_exactly(mh, fds, 3) < 0) {
		report(l, TRACEE_MSG_STEP_FAILED, req->step, EINVAL);
		return;
	}
	strings = nul_strings(buf + sizeof(*req), len - sizeof(*req), &count);
	if (!strings || req->status < 1 || (size_t)req->status + 2 > count) {
		report(l, TRACEE_MSG_STEP_FAILED, req->step, EINVAL);
	} else {
		pid = fork();
		if (pid == 0)
			start_step(l, req, strings, count, fds);
		if (pid < 0) {
			report(l, TRACEE_MSG_STEP_FAILED, req->step, errno);
		} else {
			GROW(l->steps, l->csteps, l->nsteps + 1);
			l->steps[l->nsteps++] = (struct step){.pid = pid, .n = req->step};
		}
	}
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

static void signal_steps(struct launcher *l, unsigned step, int sig)
{
	for (size_t i = 0; i < l->nsteps; i++)
		if (step == 0 || l->steps[i].n == step)
			if (kill(-l->steps[i].pid, sig) < 0)
				kill(l->steps[i].pid, sig);
}

static void reap(struct launcher *l)
{
	struct signalfd_siginfo si;
	pid_t pid;
	int status;

	while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < l->nsteps; i++) {
			if (l->steps[i].pid != pid)
				continue;
			report(l, TRACEE_MSG_STEP_EXIT, l->steps[i].n, status);
			l->steps[i] = l->steps[--l->nsteps];
			break;
		}
	}
}

/* One message from the supervisor; false when it hung up. */
static bool receive(struct launcher *l, char *buf, size_t size)
{
	union scm_buf cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.b,
			    .msg_controllen = sizeof(cbuf.b)};
	const struct tracee_msg *m = (const struct tracee_msg *)buf;
	ssize_t n = recvmsg(l->control, &mh, MSG_CMSG_CLOEXEC);
	int fds[3];

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	if ((size_t)n < sizeof(*m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (scm_take_exactly(&mh, fds, 3) == 0)
			for (int i = 0; i < 3; i++)
				close(fds[i]);
		return true;
	}
	if (m->type == TRACEE_MSG_SPAWN)
		spawn(l, buf, (size_t)n, &mh);
	else if (m->type == TRACEE_MSG_SIGNAL && m->status > 0 && m->status < NSIG)
		signal_steps(l, m->step, m->status);
	return true;
}

noreturn void launcher_main(int control)
{
	struct launcher l = {.control = control, .sigfd = -1};
	size_t size = sizeof(struct tracee_msg) + SPAWN_MAX_BYTES;
	char *buf = xmalloc(size);
	sigset_t mask;

	/* Its neighbours run as the same user: not dumpable closes /proc/PID/mem and
	   /proc/PID/fd of it to them (they have no CAP_SYS_PTRACE), the supervisor keeps it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die_errno("cannot make the launcher undumpable");
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		die_errno("cannot block SIGCHLD in the launcher");
	l.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (l.sigfd < 0)
		die_errno("cannot create the launcher's signalfd");
	for (;;) {
		struct pollfd pf[2] = {{.fd = control, .events = POLLIN},
				       {.fd = l.sigfd, .events = POLLIN}};

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("the launcher cannot wait");
		}
		if (pf[1].revents & POLLIN)
			reap(&l);
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
			if (!receive(&l, buf, size))
				_exit(0); /* the supervisor is gone: pid 1 then ends the rest */
	}
}
