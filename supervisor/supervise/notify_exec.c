/* SPDX-License-Identifier: MIT */
/* The notifier's execs: argv copied, exec rules, deferred commands, the check after the exec. */
#include "supervisor/supervise/notify_int.h"

#include <sys/uio.h>

static int copy_argv_of(pid_t pid, unsigned long addr, cJSON *arr, bool *truncated);

/* Whether a fresh copy of the exec's path and argv is what the event recorded. */
static bool same_as_recorded(const cJSON *ev, const char *target, const cJSON *argv)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "target");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(ev, "command");
	cleanup_free char *clean = utf8_sanitize(target);

	return cJSON_IsString(t) && strcmp(t->valuestring, clean) == 0 && c &&
	       cJSON_Compare(c, argv, true);
}

/* Record ev (consumed) as a process airlock killed, and why; a broken log records nothing. */
static void record_killed(struct notifier *n, cJSON *ev, const char *note)
{
	cJSON_AddStringToObject(ev, "note", note);
	cJSON_AddStringToObject(ev, "decision", "deny");
	cJSON_AddStringToObject(ev, "by", "airlock");
	cJSON_AddStringToObject(ev, "result", "killed");
	if (n->log_broken)
		cJSON_Delete(ev);
	else if (events_append(n->log, ev) < 0)
		n->log_broken = true;
}

/* Record that pid, allowed to exec the event's target, ran something else and was killed. */
static void record_wrong_exec(struct notifier *n, pid_t pid, const struct sys_desc *sd,
			      const char *what, cJSON *ran)
{
	cJSON *bad = cJSON_CreateObject();

	cJSON_AddNumberToObject(bad, "pid", pid);
	cJSON_AddStringToObject(bad, "class", "exec");
	cJSON_AddStringToObject(bad, "op", sd->name);
	cJSON_AddItemToObject(bad, "target", json_text(what[0] ? what : "?"));
	cJSON_AddItemToObject(bad, "command", ran ? ran : cJSON_CreateArray());
	record_killed(n, bad,
		      "the program that ran is not the one that was checked (its memory changed "
		      "under the check): the process was killed");
}

/*
 * Let an exec go on (v allows it, or denies it after all). When the decision depended on the
 * arguments (the exec rules hold more than "allow"), the sandbox is frozen first, the path and
 * argv read again and compared with what was decided on, what they name identified
 * (execverify.h), and only then is the call continued; once the exec is done, the new program
 * (held by the freeze before its first instruction) must be what was identified, or it is
 * killed, and the sandbox continues (freeze.h). Anything that goes wrong refuses.
 */
int continue_exec(struct notifier *n, __u64 id, pid_t pid, const struct seccomp_data *d,
		  const struct sys_desc *sd, cJSON *ev, struct verdict v)
{
	cleanup_free char *target = NULL, *cwd = NULL;
	char old_exe[MAX_PATH_BYTES], raw[MAX_PATH_BYTES], what[MAX_PATH_BYTES];
	struct exec_expect x;
	struct freeze fz;
	bool truncated = false;
	cJSON *argv;
	int rc, fd = -1;

	if (!v.cont || !n->rules || n->exec_rules_allow_all || !sd)
		return answer_id(n, id, ev, v);
	rc = freeze_sandbox(&fz, n->init_pid);
	if (rc < 0) {
		cJSON_AddStringToObject(ev, "note",
					"the sandbox could not be held still while "
					"the arguments were checked: refused");
		return answer_id(n, id, ev, deny_by(EACCES, v.by));
	}
	argv = cJSON_CreateArray();
	rc = copy_path_of(pid, d, sd->arg.dirfd, sd->arg.path, &target);
	if (rc == 0)
		rc = copy_argv_of(pid, d->args[sd->arg.path + 1], argv, &truncated);
	if (rc < 0 || !same_as_recorded(ev, target, argv)) {
		cJSON_Delete(argv);
		thaw_sandbox(&fz);
		cJSON_AddStringToObject(
			ev, "note",
			"the path or arguments changed while they were decided: refused");
		return answer_id(n, id, ev, deny_by(EACCES, "airlock"));
	}
	/* fexecve(): execveat(fd, "", AT_EMPTY_PATH) runs the descriptor's file. */
	if (sd->nr == SYS_execveat && mem_read_string(pid, d->args[1], raw, sizeof(raw)) == 0 &&
	    raw[0] == '\0')
		fd = (int)(unsigned)d->args[0];
	cwd = dir_of(pid, AT_FDCWD);
	rc = exec_expect(&x, pid, target, fd, cwd, argv);
	if (rc < 0) {
		cJSON_Delete(argv);
		thaw_sandbox(&fz);
		cJSON_AddStringToObject(ev, "note",
					"what the path names could not be identified to be "
					"checked after the exec: refused");
		return answer_id(n, id, ev, deny_by(EACCES, "airlock"));
	}
	proc_exe(pid, old_exe, sizeof(old_exe));
	rc = answer_id(n, id, ev, v);
	if (!n->log_broken) {
		cJSON *ran = NULL;

		freeze_wait_exec(pid, old_exe);
		if (exec_verify(&x, pid, what, sizeof(what), &ran) < 0)
			record_wrong_exec(n, pid, sd, what, ran);
	}
	cJSON_Delete(argv);
	thaw_sandbox(&fz);
	return rc;
}

#define ARGV_BATCH 32  /* argv entries read per process_vm_readv */
#define ARG_PEEK   256 /* bytes of each string read at first; a longer one is read again */

/*
 * Up to n argv pointers from addr, in one read that stays in addr's page (a pointer that
 * crosses a page is read alone): the page of the first is readable, so all of it is, and
 * the read fails where reading them one by one would. The number read, or -EFAULT.
 */
static int read_ptrs(pid_t pid, unsigned long addr, unsigned long *ptrs, size_t n)
{
	size_t room = (mem_page_size() - addr % mem_page_size()) / sizeof(*ptrs);

	if (room == 0)
		room = 1;
	if (n > room)
		n = room;
	return mem_read(pid, addr, ptrs, n * sizeof(*ptrs)) < 0 ? -EFAULT : (int)n;
}

/*
 * The strings at ptrs[0..n) (none NULL) into out[n][ARG_PEEK], with one read of the first
 * ARG_PEEK bytes of each, never past its page (as mem_read_string() reads). ok[i] when
 * string i ended in what was read; the others are read again one by one.
 */
static void peek_strings(pid_t pid, const unsigned long *ptrs, size_t n, char (*out)[ARG_PEEK],
			 bool *ok)
{
	struct iovec local[ARGV_BATCH], remote[ARGV_BATCH];
	ssize_t got;
	size_t i;

	for (i = 0; i < n; i++) {
		size_t len = mem_page_size() - ptrs[i] % mem_page_size();

		if (len > ARG_PEEK)
			len = ARG_PEEK;
		local[i] = (struct iovec){.iov_base = out[i], .iov_len = len};
		remote[i] = (struct iovec){.iov_base = (void *)ptrs[i], .iov_len = len};
		ok[i] = false;
	}
	got = n ? process_vm_readv(pid, local, n, remote, n, 0) : 0;
	/* A short read stops at the first range it could not read: that one and the rest are
	   read again, and fail there as they would have. */
	for (i = 0; i < n && got >= (ssize_t)local[i].iov_len; i++) {
		got -= (ssize_t)local[i].iov_len;
		ok[i] = memchr(out[i], '\0', local[i].iov_len) != NULL;
	}
}

/*
 * Copy pid's argv at addr (bounded) into a JSON array. 0 or -errno; *truncated when cut.
 * Its pointers a page at a time and its strings ARGV_BATCH at a time: an exec of a compiler
 * carries dozens of arguments, and one read each was the most of the exec's reads.
 */
static int copy_argv_of(pid_t pid, unsigned long addr, cJSON *arr, bool *truncated)
{
	unsigned long ptrs[ARGV_BATCH];
	char peek[ARGV_BATCH][ARG_PEEK];
	char arg[MAX_ARG_BYTES];
	bool ok[ARGV_BATCH];
	size_t total = 0, i = 0;

	*truncated = false;
	if (addr == 0)
		return 0; /* Linux treats a NULL argv as empty */
	while (i < MAX_ARGS) {
		size_t want = MAX_ARGS - i < ARGV_BATCH ? MAX_ARGS - i : ARGV_BATCH, m, k;
		int n = read_ptrs(pid, addr + i * sizeof(ptrs[0]), ptrs, want);

		if (n < 0)
			return n;
		for (m = 0; m < (size_t)n && ptrs[m]; m++)
			;
		peek_strings(pid, ptrs, m, peek, ok);
		for (k = 0; k < m; k++) {
			const char *s = peek[k];

			if (!ok[k]) {
				int rc = mem_read_string(pid, ptrs[k], arg, sizeof(arg));

				if (rc == -EFAULT)
					return rc;
				if (rc == -ENAMETOOLONG)
					*truncated = true;
				s = arg;
			}
			total += strlen(s);
			if (total > MAX_ARGV_TOTAL) {
				*truncated = true;
				return 0;
			}
			cJSON_AddItemToArray(arr, json_text(s));
		}
		if (m < (size_t)n)
			return 0; /* the NULL that ends it */
		i += m;
	}
	*truncated = true;
	return 0;
}

static int copy_argv(const struct notifier *n, unsigned long addr, cJSON *arr, bool *truncated)
{
	return copy_argv_of((pid_t)n->req->pid, addr, arr, truncated);
}

/*
 * A deferred exec: recorded with its cwd and environment, and run as the stub instead (see
 * substitute.h). Where the substitution cannot be guaranteed, the exec is refused (EACCES):
 * a deferred command never runs inside the sandbox, let alone outside it.
 */
static int defer_exec(struct notifier *n, const struct sys_desc *sd, cJSON *ev,
		      const struct rule *r)
{
	const struct seccomp_data *d = &n->req->data;
	pid_t pid = (pid_t)n->req->pid;
	cleanup_free char *origin = rule_origin(r);
	cleanup_free char *cwd = dir_of(pid, AT_FDCWD);
	cJSON *env = cJSON_CreateArray();
	struct substitution sub;
	struct freeze fz;
	struct verdict v = {.cont = true, .decision = "defer", .result = "deferred"};
	bool truncated = false;
	int rc, rc2;

	snprintf(v.by, sizeof(v.by), "%s", origin);
	rc = copy_argv(n, d->args[2], env, &truncated);
	if (sd->nr != SYS_execve || rc < 0 || truncated || !cwd) {
		cJSON_Delete(env);
		cJSON_AddStringToObject(ev, "note", "cannot be deferred safely: refused");
		return answer(n, ev, deny_by(EACCES, origin));
	}
	/* Nobody else runs while the path is rewritten and the kernel reads it (freeze.h). */
	if (freeze_sandbox(&fz, n->init_pid) < 0) {
		cJSON_Delete(env);
		cJSON_AddStringToObject(ev, "note", "the sandbox could not be held still: refused");
		return answer(n, ev, deny_by(EACCES, origin));
	}
	rc = substitute_begin(&sub, pid, d->args[0]);
	if (rc < 0) {
		thaw_sandbox(&fz);
		cJSON_Delete(env);
		cJSON_AddStringToObject(ev, "note",
					rc == -EBUSY ? "other threads share the process's memory: "
						       "cannot be deferred safely, refused"
						     : "cannot be deferred safely: refused");
		return answer(n, ev, deny_by(EACCES, origin));
	}
	if (!id_valid(n)) {
		substitute_abort(&sub);
		thaw_sandbox(&fz);
		cJSON_Delete(env);
		cJSON_Delete(ev);
		return 0;
	}
	cJSON_AddNumberToObject(ev, "deferred", (double)++n->ndeferred);
	cJSON_AddItemToObject(ev, "cwd", json_text(cwd));
	cJSON_AddItemToObject(ev, "env", env);
	rc = answer(n, ev, v);
	if (n->log_broken) {
		/* answer() refused the call: the exec fails and the program keeps its memory. */
		substitute_abort(&sub);
		thaw_sandbox(&fz);
		return rc;
	}
	rc2 = substitute_end(&sub);
	thaw_sandbox(&fz);
	if (rc2 < 0) {
		record_killed(n, new_event(n, "exec", "execve"),
			      "the deferred exec did not run the stub: the process was killed");
	}
	return rc;
}

/* How strict an exec rule is: deny, then defer (never runs now), ask, allow. */
static int exec_rank(const struct rule *r)
{
	if (!r)
		return 0;
	switch (r->action) {
	case RULE_DENY:
		return 3;
	case RULE_DEFER:
		return 2;
	case RULE_ASK:
		return 1;
	default:
		return 0;
	}
}

/*
 * An exec's verdict from the exec rules: allow (CONTINUE: the new program runs inside the same
 * sandbox), deny (EACCES: the program sees PermissionError), ask, defer. The rules see the
 * path as named and as the kernel will resolve it (/bin/id is /usr/bin/id where /bin is a
 * link): the stricter verdict of the two decides, so a rule on either name holds. A command
 * whose argv was cut by the copy bounds, under rules that look at arguments, is refused.
 * found: the resolved path when exec_target() found it already (taken), or NULL.
 */
static int decide_exec(struct notifier *n, const struct sys_desc *sd, cJSON *ev, const char *target,
		       cJSON *argv, bool truncated, char *found)
{
	cleanup_free char **vec = json_strings(argv);
	cleanup_free char *origin = NULL;
	cleanup_free char *key = NULL, *suggest = NULL;
	cleanup_free char *program_key = NULL, *suggest_program = NULL;
	cleanup_free char *real = found;
	const struct rule *r = NULL, *r2;
	struct ask_question q = {0};
	enum rule_action act;

	if (n->rules) {
		if (!real)
			real = sb_realpath((pid_t)n->req->pid, target);
		if (!real)
			return answer(n, ev, deny(EACCES));
		r = rules_match_exec(n->rules, target, vec);
		r2 = strcmp(real, target) ? rules_match_exec(n->rules, real, vec) : NULL;
		if (exec_rank(r2) > exec_rank(r))
			r = r2;
		if (strcmp(real, target))
			cJSON_AddItemToObject(ev, "resolved", json_text(real));
	}
	act = r ? r->action : RULE_ALLOW;
	if (truncated && act == RULE_ALLOW && n->rules && !n->exec_rules_allow_all)
		act = RULE_DENY;
	switch (act) {
	case RULE_DENY:
		origin = r ? rule_origin(r) : xstrdup("default");
		return answer(n, ev, deny_by(EACCES, origin));
	case RULE_ASK:
		/* Keyed by the program that will run: PATH tries name one program many ways. */
		key = xasprintf("exec\n%s", real ? real : target);
		for (size_t i = 1; vec[0] && vec[i]; i++) {
			char *k = xasprintf("%s\n%s", key, vec[i]);

			free(key);
			key = k;
		}
		suggest = rules_suggest_exec(target, vec);
		/* "This program with any arguments": the same program, whatever argv says. */
		program_key = xasprintf("exec-program\n%s", real ? real : target);
		suggest_program = rules_suggest_program(target);
		q = (struct ask_question){.cls = "exec",
					  .target = target,
					  .key = key,
					  .program_key = program_key,
					  .suggest = suggest,
					  .suggest_program = suggest_program,
					  .command = argv};
		return ask_start(n, sd, ev, CLASS_EXEC, r, &q, EACCES, NULL);
	case RULE_DEFER:
		return defer_exec(n, sd, ev, r);
	default:
		return continue_exec(n, n->req->id, (pid_t)n->req->pid, &n->req->data, sd, ev,
				     rule_verdict(r, EACCES));
	}
}

/*
 * Whether the exec's absolute target exists in the caller's view, and with rules, where it
 * leads: the kernel's own lookup (every symlink followed, as the exec will) gives both at
 * once, where a walk would cost a lookup per component (/bin/true is /usr/bin/true where /bin
 * is a link). 1 and *real (NULL when it must be resolved step by step: the lookup failed
 * otherwise, or named a file unlinked meanwhile), 0 when it does not exist, -errno when it
 * cannot tell.
 */
static int exec_target(struct notifier *n, const char *target, char **real)
{
	pid_t pid = (pid_t)n->req->pid;
	size_t len;

	*real = NULL;
	if (!n->rules)
		return sb_exists(pid, target);
	*real = sb_canonical(pid, target, true);
	if (!*real)
		return errno == ENOENT || errno == ENOTDIR ? 0 : sb_exists(pid, target);
	len = strlen(*real);
	if (len >= 10 && strcmp(*real + len - 10, " (deleted)") == 0) {
		free(*real);
		*real = NULL;
	}
	return 1;
}

int handle_exec(struct notifier *n, const struct sys_desc *sd)
{
	const struct seccomp_data *d = &n->req->data;
	cleanup_free char *target = NULL;
	char *real = NULL;
	cJSON *argv = cJSON_CreateArray();
	bool truncated = false;
	cJSON *ev;
	int rc;

	test_mark("notify: exec received");
	rc = copy_path(n, sd->arg.dirfd, sd->arg.path, &target);
	/*
	 * execvp() and subprocess try each PATH directory: a miss is answered as the kernel
	 * would, and not recorded as a command. execveat (fexecve of a memfd, a path from a
	 * descriptor) is never a PATH search. Answered before argv is read: nothing of it is
	 * used, and the answer needs no ID_VALID of its own (a path read from a task that took
	 * a dead caller's pid is answered to the dead caller's id, which the kernel refuses).
	 */
	if (rc == 0 && target[0] == '/' && exec_target(n, target, &real) == 0 &&
	    sd->nr == SYS_execve) {
		cJSON_Delete(argv);
		return answer(n, NULL, deny(ENOENT));
	}
	if (rc == 0)
		rc = copy_argv(n, d->args[sd->arg.path + 1], argv, &truncated);
	if (!id_valid(n)) {
		free(real);
		cJSON_Delete(argv);
		return 0;
	}
	ev = new_event(n, "exec", sd->name);
	cJSON_AddItemToObject(ev, "target", json_text(target ? target : "?"));
	cJSON_AddItemToObject(ev, "command", argv);
	if (truncated)
		cJSON_AddBoolToObject(ev, "truncated", true);
	if (rc < 0) {
		free(real);
		return answer(n, ev, deny(-rc));
	}
	rc = decide_exec(n, sd, ev, target, argv, truncated, real);
	test_mark("notify: exec answered");
	return rc;
}
