/* SPDX-License-Identifier: MIT */
/* The notifier's execs: argv copied, exec rules, deferred commands, the check after the exec. */
#include "supervisor/supervise/notify_int.h"

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

/* Copy pid's argv at addr (bounded) into a JSON array. 0 or -errno; *truncated when cut. */
static int copy_argv_of(pid_t pid, unsigned long addr, cJSON *arr, bool *truncated)
{
	size_t total = 0, i;
	char arg[MAX_ARG_BYTES];

	*truncated = false;
	if (addr == 0)
		return 0; /* Linux treats a NULL argv as empty */
	for (i = 0; i < MAX_ARGS; i++) {
		unsigned long p;
		int rc;

		if (mem_read(pid, addr + i * sizeof(p), &p, sizeof(p)) < 0)
			return -EFAULT;
		if (p == 0)
			return 0;
		rc = mem_read_string(pid, p, arg, sizeof(arg));
		if (rc == -EFAULT)
			return rc;
		if (rc == -ENAMETOOLONG)
			*truncated = true;
		total += strlen(arg);
		if (total > MAX_ARGV_TOTAL) {
			*truncated = true;
			return 0;
		}
		cJSON_AddItemToArray(arr, json_text(arg));
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
 */
static int decide_exec(struct notifier *n, const struct sys_desc *sd, cJSON *ev, const char *target,
		       cJSON *argv, bool truncated)
{
	cleanup_free char **vec = json_strings(argv);
	cleanup_free char *origin = NULL;
	cleanup_free char *key = NULL, *suggest = NULL;
	cleanup_free char *program_key = NULL, *suggest_program = NULL;
	cleanup_free char *real = NULL;
	const struct rule *r = NULL, *r2;
	struct ask_question q = {0};
	enum rule_action act;

	if (n->rules) {
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

int handle_exec(struct notifier *n, const struct sys_desc *sd)
{
	const struct seccomp_data *d = &n->req->data;
	cleanup_free char *target = NULL;
	cJSON *argv = cJSON_CreateArray();
	bool truncated = false;
	cJSON *ev;
	int rc;

	rc = copy_path(n, sd->arg.dirfd, sd->arg.path, &target);
	if (rc == 0)
		rc = copy_argv(n, d->args[sd->arg.path + 1], argv, &truncated);
	if (!id_valid(n)) {
		cJSON_Delete(argv);
		return 0;
	}
	/* execvp() and subprocess try each PATH directory: a miss is answered as the kernel
	   would, and not recorded as a command. execveat (fexecve of a memfd, a path from a
	   descriptor) is never a PATH search. */
	if (rc == 0 && sd->nr == SYS_execve && target[0] == '/' &&
	    sb_exists((pid_t)n->req->pid, target) == 0) {
		cJSON_Delete(argv);
		return answer(n, NULL, deny(ENOENT));
	}
	ev = new_event(n, "exec", sd->name);
	cJSON_AddItemToObject(ev, "target", json_text(target ? target : "?"));
	cJSON_AddItemToObject(ev, "command", argv);
	if (truncated)
		cJSON_AddBoolToObject(ev, "truncated", true);
	if (rc < 0)
		return answer(n, ev, deny(-rc));
	return decide_exec(n, sd, ev, target, argv, truncated);
}
