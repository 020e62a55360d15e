/* SPDX-License-Identifier: MIT */
/*
 * Who did it (design.md, "Changes and commit"): the command line of each process of the
 * sandbox as airlock observed it, from the execs it let through, never from
 * /proc/PID/cmdline, the process's environment or anything else the program can rewrite (a
 * program that overwrites its argv to read "git status" is still shown as itself).
 *
 * A process is known by its thread group id and its start time (against pid reuse). Its
 * command line is the argv of the last exec airlock saw take effect in it: an exec let
 * through is pending until the process's executable or its stack (/proc/PID/exe, the start
 * of the stack in /proc/PID/stat: the kernel's, which the program cannot set without
 * CAP_SYS_RESOURCE) is seen to change; an exec that failed never takes effect. A process
 * that has not exec'd runs its parent's program: it gets the command line its parent had
 * when it was forked (each process keeps its last few, each with the moment it was seen
 * to take effect), so a child forked before its parent exec'd `git status` is not shown as
 * `git status`. A process whose origin is unknown (its parent died before it was first
 * seen, or never exec'd under the filter) has an empty command line, never a guessed one.
 */
#ifndef AIRLOCK_SUPERVISOR_PROCS_H
#define AIRLOCK_SUPERVISOR_PROCS_H

#include <cjson/cJSON.h>
#include <linux/types.h>
#include <sys/types.h>

struct procs;

/* An empty table. Never NULL (aborts when out of memory). */
struct procs *procs_new(void);

void procs_free(struct procs *p);

/*
 * The thread tid is about to exec argv (borrowed, copied), recorded as event seq: called
 * before the exec is let through. The exec counts once it is seen to have taken effect (above).
 * init is the sandbox's pid 1 (ours): no process above it is looked at.
 */
void procs_exec(struct procs *p, pid_t init, pid_t tid, const cJSON *argv, long long seq);

/*
 * The command line of the program the thread tid runs, as observed (its first 4 KiB): a
 * new JSON array the caller owns (empty when unknown), and in *seq the event of the exec
 * that started that program (-1 when unknown). init as for procs_exec().
 */
cJSON *procs_argv(struct procs *p, pid_t init, pid_t tid, long long *seq);

/*
 * A live session's steps (airlock exec): the process tid starts step `step`; every process it
 * forks from then on belongs to the step too. init as for procs_exec().
 */
void procs_set_step(struct procs *p, pid_t init, pid_t tid, unsigned step);

/*
 * As procs_argv(), the exec event only (-1 when unknown), without copying the command line;
 * and in *step the live session's step of tid's process (0: none), from the same lookup.
 */
long long procs_seq(struct procs *p, pid_t init, pid_t tid, unsigned *step);

/*
 * The notification being handled, id (0 once it is answered): the calls below rely on it.
 * Every lookup of a thread the table knows checks that it is still the same task (its
 * number may have been reused) with a read tied to the task, once per call: a later lookup
 * of the same thread in the call keeps the task that read showed (the caller's, even if it
 * dies and its number is taken meanwhile).
 */
void procs_call(struct procs *p, __u64 id);

/*
 * The link name ("cwd", "fd/3") of thread tid (the caller of the notification being
 * handled), read through the descriptor of its /proc directory that the table keeps: 0 and
 * the target in out[sz], or -1 when the table has none or its task is gone or the link
 * cannot be read (then ask /proc/TID/NAME). A
 * read that works shows the task the table knows alive while the call waits; a caller that
 * then finds the notification still valid (SECCOMP_IOCTL_NOTIF_ID_VALID: the caller never
 * stopped waiting, so no other task can have had its number meanwhile) has proved that tid
 * is that task, and the next lookup of tid in this call skips its own liveness read.
 */
int procs_readlink(struct procs *p, pid_t tid, const char *name, char *out, size_t sz);

#endif
