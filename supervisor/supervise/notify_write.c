/* SPDX-License-Identifier: MIT */
/* The notifier's file changes: write rules, the path the kernel will use, disk room, IDs. */
#include "supervisor/supervise/notify_int.h"

static int rank(const struct rule *r)
{
	if (!r)
		return 0;
	return r->action == RULE_DENY ? 2 : r->action == RULE_ASK ? 1 : 0;
}

/*
 * A write's verdict from the write rules. The overlay bounds where a write lands whatever the
 * memory says by the time the kernel reads it, so CONTINUE is safe: a deny rule refuses the
 * call now (EACCES); ask and allow let it land and tell the review how to start the change
 * (held for an explicit decision, or approved). Both paths of a rename or link need write
 * authority (sandlock #194), and each path counts as named and as the kernel will resolve it
 * in the sandbox (a symlink into a denied directory): the strictest rule of them decides.
 * Paths the record could not resolve to an absolute path (an anonymous descriptor) match no
 * rule.
 */
static struct verdict decide_write(const struct notifier *n, const char *const paths[4])
{
	const struct rule *r = NULL, *ri;
	struct verdict v;
	int i;

	if (!n->rules)
		return ALLOW;
	for (i = 0; i < 4; i++) {
		if (!paths[i] || paths[i][0] != '/')
			continue;
		ri = rules_match_write(n->rules, paths[i]);
		if (!r || rank(ri) > rank(r))
			r = ri;
	}
	v = rule_verdict(r, EACCES);
	if (r && r->action == RULE_ASK)
		v.decision = "ask";
	return v;
}

/*
 * fallocate() takes blocks without writing them; with FALLOC_FL_KEEP_SIZE it does so past the
 * end of the file, where RLIMIT_FSIZE does not look. Each call is held to the room left above
 * the store's reserve. The decision rests on the call's registers alone, which the program
 * cannot change once the call is made, so letting the kernel run it is safe. A hole punched
 * frees blocks and is not held.
 */
static struct verdict decide_space(const struct notifier *n)
{
	const struct seccomp_data *d = &n->req->data;
	unsigned mode = (unsigned)d->args[1];
	unsigned long long room;

	if (mode & FALLOC_FL_PUNCH_HOLE)
		return ALLOW;
	if (!n->space)
		return ALLOW;
	if (monitor_disk_room(n->space, &room) < 0)
		return deny_by(EIO, "airlock");
	if (d->args[3] > room)
		return deny_by(ENOSPC, "disk reserve");
	return ALLOW;
}

/* Whether the call acts on what a final symlink in path idx points to (open follows it unless
   O_NOFOLLOW or O_CREAT|O_EXCL; the l* and *at calls as their flags say). */
static bool follows_final(const struct sys_desc *sd, const struct seccomp_data *d, int idx)
{
	unsigned flags;

	switch (sd->nr) {
	case SYS_open:
	case SYS_openat:
		flags = (unsigned)d->args[sd->arg.flags];
		return !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
	case SYS_creat:
	case SYS_truncate:
	case SYS_chmod:
	case SYS_fchmodat:
	case SYS_chown:
	case SYS_utime:
	case SYS_utimes:
	case SYS_futimesat:
	case SYS_setxattr:
	case SYS_removexattr:
		return true;
	case SYS_fchmodat2:
	case SYS_utimensat:
		return !((unsigned)d->args[3] & AT_SYMLINK_NOFOLLOW);
	case SYS_fchownat:
		return !((unsigned)d->args[4] & AT_SYMLINK_NOFOLLOW);
	case SYS_setxattrat:
	case SYS_removexattrat:
		return !((unsigned)d->args[2] & AT_SYMLINK_NOFOLLOW);
	case SYS_linkat:
		return idx == 0 && ((unsigned)d->args[4] & AT_SYMLINK_FOLLOW);
	default:
		return false;
	}
}

/*
 * path (absolute, as named) as the kernel will find it in pid's view: every symlink resolved,
 * the last one too when the call follows it, else only the parent directory's. NULL when the
 * same as named, or when it cannot be resolved (then the kernel's lookup fails as well, or
 * the named path decides alone).
 */
static char *resolve_write(pid_t pid, const char *path, bool follow)
{
	char *real;

	if (!path || path[0] != '/')
		return NULL;
	real = sb_resolve_name(pid, path, follow);
	if (real && strcmp(real, path) == 0) {
		free(real);
		return NULL;
	}
	return real;
}

/*
 * Whether a hard link's source (absolute, as named) is a file that came from the host.
 * overlayfs links the copied-up file, but without its inode index (which needs trusted
 * xattrs, out of reach in a user namespace) the new name reports another inode number than
 * the old one, so a tool that checks its link gets a different file: git's local clone dies
 * with "hardlink different from source". Such a link is refused with EXDEV, as a link across
 * filesystems is, and git, cp and package managers copy instead. The overlay's lower layer
 * is the host itself at the same path, so "came from the host" is: the path the sandbox
 * resolves it to exists on the host as a non-directory.
 */
static bool links_host_file(pid_t pid, const char *src, bool follow)
{
	cleanup_free char *real = NULL;
	struct stat st;

	if (!src || src[0] != '/')
		return false;
	real = sb_canonical(pid, src, follow);
	return real && lstat(real, &st) == 0 && !S_ISDIR(st.st_mode);
}

int handle_write(struct notifier *n, const struct sys_desc *sd)
{
	const struct seccomp_data *d = &n->req->data;
	pid_t pid = (pid_t)n->req->pid;
	cleanup_free char *target = NULL, *target2 = NULL, *real = NULL, *real2 = NULL;
	char link[MAX_PATH_BYTES];
	bool host_link = false;
	struct verdict v;
	cJSON *ev;
	int rc = 0;

	link[0] = '\0';
	if (sd->arg.fd >= 0) {
		target = dir_of(pid, (int)(unsigned)d->args[sd->arg.fd]);
		if (!target)
			rc = -EBADF;
	} else {
		rc = copy_path(n, sd->arg.dirfd, sd->arg.path, &target);
	}
	if (rc == 0 && sd->arg.path2 >= 0)
		rc = copy_path(n, sd->arg.dirfd2, sd->arg.path2, &target2);
	if (rc == 0 && sd->arg.str >= 0)
		rc = mem_read_string(pid, d->args[sd->arg.str], link, sizeof(link));
	/* A descriptor's path is already the file's own; a named path may pass through links. */
	if (rc == 0 && n->rules && sd->arg.fd < 0) {
		real = resolve_write(pid, target, follows_final(sd, d, 0));
		real2 = resolve_write(pid, target2, false);
	}
	if (rc == 0 && (sd->nr == SYS_link || sd->nr == SYS_linkat))
		host_link = links_host_file(pid, target, follows_final(sd, d, 0));
	if (!id_valid(n))
		return 0;
	ev = new_event(n, "write", sd->name);
	cJSON_AddItemToObject(ev, "target", json_text(target ? target : "?"));
	if (real)
		cJSON_AddItemToObject(ev, "resolved", json_text(real));
	if (target2)
		cJSON_AddItemToObject(ev, "target2", json_text(target2));
	if (real2)
		cJSON_AddItemToObject(ev, "resolved2", json_text(real2));
	if (sd->arg.str >= 0 && rc == 0)
		cJSON_AddItemToObject(ev, "link", json_text(link));
	if (sd->arg.flags >= 0)
		add_open_flags(ev, (unsigned)d->args[sd->arg.flags]);
	if (rc < 0)
		return answer(n, ev, deny(-rc));
	if (!ids_mapped(n))
		return answer(n, ev, deny_by(EPERM, "airlock: an ID outside the sandbox's map"));
	if (sd->nr == SYS_fallocate) {
		v = decide_space(n);
		if (!v.cont)
			return answer(n, ev, v);
	}
	v = decide_write(n, (const char *const[4]){target, target2, real, real2});
	if (v.cont && host_link)
		v = deny_by(EXDEV, "airlock: a hard link to a file from the host");
	return answer(n, ev, v);
}
