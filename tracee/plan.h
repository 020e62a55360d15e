/* SPDX-License-Identifier: MIT */
/*
 * The mount plan: how the sandbox's root is assembled from the host's mounts.
 *
 * Every real mounted filesystem gets a copy-on-write overlay whose lower layer is the host
 * directory and whose upper layer lives in the session directory. An unprivileged user
 * namespace cannot use a directory as an overlay lower layer when a mount lies below it
 * (the kernel refuses to clone a mount with locked children, so that nothing hidden under a
 * mount can be revealed). Such directories, "/" always among them, are rebuilt instead as
 * skeleton directories on a tmpfs, and each of their entries is planned in turn: directories
 * recursively, symlinks copied, other files bound read-only.
 *
 * An overlay shows its upper directory's owner and mode for its own root, and the upper
 * directory is the caller's: so a directory the caller can neither write nor owns (/usr,
 * /etc, /root for an unprivileged caller) is not made an overlay of its own. It is mounted as
 * an overlay without an upper layer (PLAN_LOWER), which shows the host's owner, mode and
 * access checks and costs a tenth of a writable overlay, and each of its subdirectories that
 * the caller owns or can write (/home/USER, /var/tmp) gets a writable overlay on top. A
 * directory that needs more (a file of the caller's, a hidden path) stays one overlay.
 *
 * A writable overlay costs its mount a dozen metadata operations in the session's
 * filesystem (the work directory's checks), a quarter of a millisecond or more, and root gets
 * one for every entry of a directory that holds a mount (34 on a container's /, /run and
 * /run/firejail). With collect_empty, the writable overlays of host directories that are
 * empty (nothing of the host to show, no hidden path, no other item of the plan inside) are
 * made one overlay, the PLAN_COLLECTOR, whose lower layer is empty
 * and whose upper holds one directory for each of them (each with the host directory's mode
 * and times): each is bound from there onto its path. Each keeps an upper directory of its
 * own, which the record names as it names any overlay's, so the change set reads them alike;
 * what the program sees differs only in that they share one filesystem (st_dev), as on the
 * host, and that a file the host puts in such a directory while the program runs does not
 * appear (overlayfs leaves a change to a lower layer under a mounted overlay undefined). A
 * live session started again collects the same directories (collect_listed), whatever they
 * hold by then: its layers must be where its record says they are.
 *
 * The plan is computed by the supervisor before the sandbox starts (it creates the scratch
 * overlays' directories and whiteouts) and carried out by the tracee, which makes the
 * writable overlays' upper and work directories and, in them, the directories and whiteouts
 * that hide paths (struct plan_premade_op): inodes of the session's filesystem, each of which
 * can take a tenth of a millisecond on a busy disk, are made beside the supervisor's start of
 * the record rather than before the clone.
 */
#ifndef AIRLOCK_TRACEE_PLAN_H
#define AIRLOCK_TRACEE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum plan_kind {
	PLAN_DIR,      /* skeleton directory on the root tmpfs */
	PLAN_SYMLINK,  /* skeleton symlink, same target as the host's */
	PLAN_BIND_RO,  /* a host file bound read-only (a file beside a mount point) */
	PLAN_OVERLAY,  /* copy-on-write overlay of the host directory */
	PLAN_SCRATCH,  /* overlay whose upper is thrown away and never reviewed */
	PLAN_READONLY, /* bind the sandbox's own view of the path read-only onto itself */
	PLAN_LOWER,    /* read-only overlay of the host directory without an upper layer */
	PLAN_COLLECTOR /* the overlay the collected overlays are bound from (path: its mount
			  point in the session directory, outside the new root) */
};

/*
 * A directory or a whiteout that hides a path, to be made in a writable overlay's upper
 * directory by the tracee (with the upper directory itself), in order; a directory then gets
 * the host directory's mode and times (when have_attrs).
 */
struct plan_premade_op {
	char *rel; /* relative to the upper directory */
	bool whiteout, have_attrs;
	mode_t mode;
	struct timespec times[2];
};

struct plan_item {
	enum plan_kind kind;
	char *path;	  /* absolute path, the same inside and on the host */
	char *upper;	  /* PLAN_OVERLAY, PLAN_SCRATCH: upper directory */
	char *work;	  /* PLAN_OVERLAY, PLAN_SCRATCH: work directory */
	char *link;	  /* PLAN_SYMLINK: target */
	char *bottom;	  /* PLAN_LOWER: an empty directory, the second lower layer overlayfs
			     needs when there is no upper one; PLAN_COLLECTOR: its lower layer */
	mode_t mode;	  /* PLAN_DIR: permission bits */
	bool ro;	  /* PLAN_OVERLAY: the host mount is read-only, so is the overlay */
	bool noexec;	  /* PLAN_OVERLAY, PLAN_LOWER: the host mount is noexec */
	bool hidden;	  /* removed from the plan by a hide: nothing is made */
	bool is_dir;	  /* PLAN_BIND_RO: the host path is a directory */
	bool collected;	  /* PLAN_OVERLAY bound from the PLAN_COLLECTOR: upper is a subdirectory
			     of the collector's, work is the collector's */
	bool maybe_empty; /* PLAN_OVERLAY: the host directory had no subdirectory */
	char **premade;	  /* PLAN_OVERLAY: upper-relative entries airlock made (hidden paths) */
	size_t npremade;
	struct plan_premade_op *ops; /* layer_to_make: the premade entries, still to make */
	size_t nops, ops_cap;
	/* PLAN_OVERLAY: upper and work are still to be made, by plan_make_layer(), with the
	   upper's mode and times as the host directory's (when have_attrs) */
	bool layer_to_make, have_attrs;
	mode_t upper_mode;
	struct timespec upper_times[2];
};

struct plan {
	struct plan_item *items; /* parents before children */
	size_t n, cap;
	unsigned next_layer; /* numbering of upper/work directories */
};

struct plan_opts {
	const char *session_dir; /* upper/N, work/N, scratch/N are made below it */
	const char *const *hide; /* absolute paths to make absent */
	size_t nhide;
	const char *const *readonly;
	size_t nreadonly;
	const char *const *scratch;
	size_t nscratch;
	const char *mountinfo; /* path of the mountinfo to read; NULL: /proc/self/mountinfo */
	bool collect_empty;    /* collect the writable overlays of empty directories */
	/*
	 * A live session started again (collect_listed): collect exactly the directories its
	 * record names as collected, empty or not by now, so that every layer is where it was.
	 */
	bool collect_listed;
	const char *const *collected;
	size_t ncollected;
};

/*
 * Build the plan from the host's mounts and create the session's upper/work directories and
 * the whiteouts that hide paths. Returns 0, or -errno after printing what failed.
 */
int plan_build(struct plan *plan, const struct plan_opts *opts);

void plan_free(struct plan *plan);

/*
 * Make a writable overlay's upper and work directories (layer_to_make): one of pid 1's mount
 * threads makes them all while the other mounts the read-only views and the supervisor starts
 * the record, rather than the supervisor before the clone (two ext4 mkdirs an overlay: 1.5 ms
 * for 34 overlays). Existing ones are kept (a live session started again).
 * 0 or -errno. plan_make_layers() makes every one still missing, best effort: for a sandbox
 * that ended before it made them, so that the session's layers all exist.
 */
int plan_make_layer(const struct plan_item *it);
/*
 * The PLAN_COLLECTOR's upper and work directories and its mount point, before the upper
 * directories of the overlays collected in it (the tracee makes them, as the others').
 * 0 or -errno.
 */
int plan_make_collector(const struct plan *plan);
void plan_make_layers(const struct plan *plan);

/* mountinfo's fields: undo its \ooo escapes in place; whether an option list has want. */
void plan_unescape_octal(char *s);
bool plan_has_option(const char *opts, const char *want);

/* True for filesystem types that are not storage (proc, sysfs, cgroup, ...). */
bool plan_is_pseudo_fs(const char *fstype);

#endif
