/* SPDX-License-Identifier: MIT */
/*
 * The tracee: everything that runs in the child between clone and execve. It enters new
 * user, mount, pid, network, ipc and uts namespaces, builds the root from the mount plan,
 * and starts the command under the seccomp filter, handing the listener to the supervisor.
 *
 * Process layout inside the pid namespace:
 *   pid 1  init: forwards signals to the command's process group, reaps orphans; when the
 *          command ends, kills and reaps every other process, then reports the command's
 *          status over the control socket, and exits once the supervisor closes it or dies
 *          (the namespaces' teardown follows; a run does not wait for it)
 *   pid 3  the command: loopback, the resolver's and sock_diag's sockets, setsid,
 *          capabilities dropped, no_new_privs, Landlock (landlock.h: pid 1 writes its rules
 *          meanwhile), filter, execve
 *          (pid 2 went to the thread that mounts half of the overlays)
 */
#ifndef AIRLOCK_TRACEE_SANDBOX_H
#define AIRLOCK_TRACEE_SANDBOX_H

#include "tracee/filter.h"
#include "tracee/plan.h"

#include <stdbool.h>
#include <stdnoreturn.h>
#include <sys/types.h>

enum net_mode {
	NET_MEDIATED, /* own network namespace, loopback only; the supervisor decides the rest */
	NET_NONE,     /* own network namespace, loopback only; nothing leaves */
	NET_HOST,     /* the host's network (trusted runs); connections still logged */
};

/* Per-process resource limits set before execve (RLIM_INFINITY: leave as it is). */
struct sandbox_rlimits {
	unsigned long long cpu_s; /* RLIMIT_CPU: backstop for --cpu */
	unsigned long long as;	  /* RLIMIT_AS: backstop for --memory */
	unsigned long long nproc; /* RLIMIT_NPROC: backstop for --pids (ignored for uid 0) */
	unsigned long long fsize; /* RLIMIT_FSIZE: --fsize */
};

struct sandbox_spec {
	char *const *argv;    /* the command; argv[0] is looked up in PATH inside */
	char *const *envp;    /* its environment (already scrubbed) */
	const char *cwd;      /* working directory inside (same path as on the host) */
	const char *root_dir; /* empty directory on the host where the new root is assembled */
	const struct plan *plan;
	enum net_mode net;
	const char *resolv_conf; /* a file bound read-only over /etc/resolv.conf, or NULL */
	int control_fd;		 /* the tracee's end of the control socket (SOCK_SEQPACKET) */
	int supervisor_fd;	 /* the supervisor's end, closed in the child at once */
	int stdin_fd;		 /* a pipe that replaces stdin, else -1 (see run.c: relays) */
	int stdout_fd;		 /* a pipe for stdout (capture or relay), else -1 */
	int stderr_fd;		 /* a pipe for stderr (capture or relay), else -1 */
	int ctty_fd;		 /* 0-2: after setsid, make this (the relay's pty) the controlling
				    terminal, so Ctrl-C and window sizes reach the command; -1: none */
	struct sandbox_rlimits limits;
	unsigned long long shm_size; /* bytes for /dev/shm (tmpfs pages are memory), 0: default */
	uid_t uid;		     /* the caller's ids, mapped to themselves */
	gid_t gid;
	bool live; /* airlock start: no command; the launcher waits for TRACEE_MSG_SPAWN */
};

/* Messages the tracee sends on the control socket. */
/*
 * The listener cannot travel by SCM_RIGHTS: once the filter is installed, sendmsg() itself
 * notifies, and the supervisor is not listening yet. So the command announces itself before
 * the filter (the kernel attaches its pid, translated into the supervisor's pid namespace,
 * as SCM_CREDENTIALS), then writes the listener's descriptor number with write(), and waits
 * while the supervisor takes the descriptor with pidfd_getfd() (Linux 5.6).
 */
enum tracee_msg_type {
	TRACEE_MSG_HELLO = 1,	 /* the command, before its filter: "take my pid" */
	TRACEE_MSG_LISTENER = 2, /* the listener's fd number in the command, and filter_info */
	TRACEE_MSG_EXIT = 3,	 /* from pid 1: the command ended, status as waitpid() gave it,
				    and no other process of the sandbox is left */
	/* 4 was a go-ahead to pid 1, which now starts at once (check_supervisor() in sandbox.c) */
	TRACEE_MSG_TAKEN = 5,	 /* from the supervisor: the listener is taken, go on */
	TRACEE_MSG_DNS = 6,	 /* from the command before its filter: the resolver's UDP
				    socket, bound inside on 127.0.0.53:53, as SCM_RIGHTS */
	TRACEE_MSG_SOCKDIAG = 7, /* from the command before its filter: a NETLINK_SOCK_DIAG
				    socket in the sandbox's network namespace, as SCM_RIGHTS,
				    to count socket memory */
	/* A live session (airlock start): the launcher runs each step (tracee/launcher.c). */
	TRACEE_MSG_SPAWN = 8,	     /* to the launcher: run step N; the message goes on with
					struct spawn_req's strings, and carries stdin, stdout and
					stderr as SCM_RIGHTS */
	TRACEE_MSG_STEP_HELLO = 9,   /* from the step, before its exec: its pid, as credentials */
	TRACEE_MSG_STEP_EXIT = 10,   /* from the launcher: step N ended, status as waitpid() gave */
	TRACEE_MSG_STEP_FAILED = 11, /* from the launcher: step N could not start (status: errno) */
	TRACEE_MSG_SIGNAL = 12,	     /* to the launcher: signal step N's process group (status:
					the signal); N = 0: every step's */
	TRACEE_MSG_FILTER = 13, /* from the supervisor to pid 1: the compiled filter (status: its
				   length in instructions, which follow in the same message) */
};

struct tracee_msg {
	int type;
	int status;    /* TRACEE_MSG_EXIT, _STEP_EXIT; the signal of TRACEE_MSG_SIGNAL */
	int listener;  /* TRACEE_MSG_LISTENER: descriptor number in the command */
	unsigned step; /* the live session's step the message is about */
	struct filter_info filter;
};

/*
 * TRACEE_MSG_SPAWN's body, after the struct tracee_msg: NUL-terminated strings, nargs of them
 * the command's argv, then the rest its environment, all after two leading ones: the working
 * directory and, when the caller did not name it, one to fall back to ("" otherwise).
 */
struct spawn_req {
	struct tracee_msg msg; /* type TRACEE_MSG_SPAWN, step, status = nargs */
	char strings[];
};
#define SPAWN_MAX_BYTES (192 * 1024) /* a socketpair's default send buffer holds it */

/* Clone flags the sandbox is created with (the caller clones; see sandbox_clone()). */
#define SANDBOX_CLONE_FLAGS                                                                        \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)

/*
 * Start the sandbox: clone a child in new namespaces that runs sandbox_main(). Returns the
 * child's pid in the caller's namespace, or -errno.
 */
pid_t sandbox_clone(const struct sandbox_spec *spec);

/* The child's entry point; never returns. Setup errors exit 125 with a message. */
noreturn void sandbox_main(const struct sandbox_spec *spec);

/*
 * launcher_main(), in tracee/launcher.c: the launcher of a live session (airlock start), a
 * process of the sandbox, under its filter and without capabilities, that starts each step
 * the supervisor asks for (airlock exec) as its own child and reports how it ended. Steps inherit
 * the filter and its one listener, so an exec pays no namespace, overlay or filter set-up.
 *
 * What it trusts: only the control socket, which nothing else in the sandbox holds (the
 * steps close it before they exec; pidfd_getfd and ptrace are refused by the filter, and the
 * launcher is not dumpable, so /proc/PID/mem and /proc/PID/fd of it are closed to its
 * neighbours). A step that kills the launcher ends the session's sandbox (pid 1 leaves when
 * its child does), which the supervisor then records: it is a denial of service on the
 * session itself, never a way out.
 */
noreturn void launcher_main(int control);

/* Shared by sandbox.c and launcher.c; each is documented where it is defined. */
char *sandbox_find_command(const char *name, char *const *envp, int *status);
void sandbox_close_fds(int keep);
void sandbox_send_msg(int fd, const struct tracee_msg *msg);

#endif
