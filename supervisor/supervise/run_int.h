/* SPDX-License-Identifier: MIT */
/*
 * What the parts of `airlock run` share (run.c: the sandbox's start, the loop and the end;
 * run_opts.c: the options and what they turn into; run_output.c: the program's output, the
 * result and the closing lines). Not for use outside them.
 */
#ifndef AIRLOCK_SUPERVISOR_RUN_INT_H
#define AIRLOCK_SUPERVISOR_RUN_INT_H

#include "supervisor/cli/cli.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/strvec.h"
#include "common/utf8.h"
#include "supervisor/supervise/ask.h"
#include "supervisor/record/seal.h"
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

#include <ctype.h>
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

/* Limits; 0 means none. */
struct run_limits {
	unsigned long long timeout_ms, cpu_ms, memory, pids, fsize, output;
};

struct run_opts {
	struct strvec env, hide, readonly, scratch, rules; /* the options, copied */
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
	/* airlock start */
	bool live;
	const char *name;	    /* --name */
	const char *resume;	    /* a stopped live session to start again (exec) */
	unsigned long long idle_ms; /* --idle: stop after this long without a step */
};

/* One captured stream: kept up to the output limit, the rest drained and counted. */
struct capture {
	int fd;	  /* read end of the pipe, -1 when closed or not capturing */
	int sink; /* relay: write what arrives here instead of keeping it, else -1 */
	struct buf data;
	unsigned long long limit; /* 0: no limit */
	unsigned long long dropped;
};

/* stdin relayed from the caller's file into a pipe, so the sandbox never holds the file. */
struct feeder {
	int src;  /* our stdin */
	int pipe; /* write end, nonblocking; -1 when done */
	char buf[65536];
	size_t off, len;
};

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
	bool gone;	   /* no process of the sandbox is left: pid 1 reaped, or its word
			      with the command's status (tracee/sandbox.c: end_sandbox) */
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
	struct live *live;	 /* airlock start: the control channel and steps (run_live.c) */
	struct event_log *log;
	enum net_mode net_mode;
};

/*
 * The loop's table of watches: each round, every part adds the descriptors it waits on with
 * the handler to call, in the order they are to be served (notifications first: a task
 * blocked on one holds up the whole program).
 */
typedef void (*watch_fn)(struct run_state *rs, short revents, void *arg);
#define MAX_WATCHES 96
struct watches {
	struct pollfd pf[MAX_WATCHES];
	watch_fn fn[MAX_WATCHES];
	void *arg[MAX_WATCHES];
	bool each_round[MAX_WATCHES]; /* called every round, not only when fd is ready */
	nfds_t n;
	int wait_ms; /* -1: no timeout */
};
void watch(struct watches *w, int fd, short events, watch_fn fn, void *arg);
void watch_each_round(struct watches *w, int fd, short events, watch_fn fn, void *arg);
void watch_timeout(struct watches *w, int ms);

struct output {
	char *text[2]; /* redacted stdout, stderr */
	size_t len[2];
	bool truncated;
	struct redactor *red;
};

/* Shared by the parts; each is documented where it is defined. */
int parse_run_opts(int argc, char **argv, struct run_opts *o);
/*
 * The real paths of one batch of paths (the hidden ones), each prefix resolved once: the
 * defaults share /home/USER and ~/.config. Only for one batch: the host may change after.
 * realpaths_get() is realpath(3) (NULL and errno when it cannot be resolved).
 */
struct realpath_entry {
	char *path, *real; /* real: NULL when path cannot be resolved, for err */
	int err;
};
struct realpaths {
	struct realpath_entry *v;
	size_t n, cap;
};
char *realpaths_get(struct realpaths *c, const char *path);
void realpaths_free(struct realpaths *c);
void add_hidden(struct strvec *out, char *path, struct realpaths *c);
char *flag_directives(const struct run_opts *o, const char *cwd);
void rule_paths(const struct ruleset *rs, enum rule_action kind, struct strvec *out,
		struct realpaths *c);
int load_replay(struct asker *a, const char *id, cJSON **out);
struct asker *make_asker(const struct run_opts *o, const char *home, enum ask_mode *used);
void run_opts_free(struct run_opts *o);
void capture_read(struct capture *c);
bool stdio_safe(int fd);
void feeder_write(struct feeder *f);
void human_size(unsigned long long v, char *out, size_t sz);
void report_limit(const char *limit, const struct run_limits *l);
cJSON *limits_json(const struct run_limits *l, bool root);
void finish_output(struct run_state *rs, const struct session *s, char *const *removed,
		   const struct ruleset *rules, struct output *out);
cJSON *redactions_json(const struct redactor *r);
void say_denied_net(const struct event_log *log);
void print_result(const struct session *s, struct session_record *rec, const struct output *out,
		  int status, int sig, const char *limit, unsigned long denied_net);
void open_capture(struct capture *c, int *write_end, unsigned long long limit);
int take_rights(struct msghdr *mh);
void add_env_literals(struct redactor *r, char *const *removed);
int run_live(int argc, char **argv, int ready_fd, const char *resume);
int run_exit_status(int wait_status, const char *limit, int *signal_out);
void monitor_pace(struct run_state *rs, bool busy);

/* A live session (run_live.c). */
struct session;
struct live *live_new(const struct run_opts *o, const struct session *s, const char *cwd,
		      int ready_fd, int log_fd, unsigned steps_before);
int live_listen(struct live *l, const struct session *s);
void live_watches(struct run_state *rs, struct watches *w);
void live_ready(struct run_state *rs);
void live_control(struct run_state *rs, const struct tracee_msg *msg, struct msghdr *mh);
void live_signal(struct run_state *rs, int sig);
void live_sandbox_ended(struct run_state *rs);
void live_finish(struct run_state *rs, const struct session *s, long nchanges);
void live_free(struct live *l);
cJSON *live_meta(const struct live *l);
void live_set_restarts(struct live *l, unsigned n);

#endif
