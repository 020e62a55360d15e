/* SPDX-License-Identifier: MIT */
/*
 * The change set of a session, computed from the overlay upper directories (the ground truth),
 * never from the event log. Each upper directory belongs to one overlay whose lower layer is a
 * host directory (mount_path); an entry in the upper at REL is compared with the host at
 * mount_path/REL to classify it.
 *
 * Overlayfs conventions read here (mounted with "userxattr", so the xattrs are user.*):
 *   whiteout     character device 0/0            -> the host entry is deleted
 *   opaque dir   xattr user.overlay.opaque = "y" -> the host directory's content is replaced
 */
#ifndef AIRLOCK_SUPERVISOR_CHANGES_H
#define AIRLOCK_SUPERVISOR_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

enum change_kind {
	CHANGE_ADDED,		/* a file (or fifo, socket) that the host does not have */
	CHANGE_MODIFIED,	/* a regular file whose content differs (mode may differ too) */
	CHANGE_DELETED,		/* whiteout: the host entry, and all below it, is removed */
	CHANGE_DIR_ADDED,	/* a directory the host does not have */
	CHANGE_DIR_REPLACED,	/* an opaque directory over a host directory */
	CHANGE_SYMLINK_ADDED,	/* a symlink the host does not have */
	CHANGE_SYMLINK_CHANGED, /* a symlink over a host symlink with another target */
	CHANGE_TYPE_CHANGED,	/* file <-> dir <-> symlink <-> other */
	CHANGE_MODE_CHANGED,	/* same type and content, other permission bits */
};

struct change {
	char *path;  /* absolute host path */
	char *upper; /* absolute path of the entry in the upper directory */
	enum change_kind kind;
	mode_t mode;	   /* st_mode of the new entry (type and permissions); 0 when deleted */
	mode_t old_mode;   /* st_mode of the host entry; 0 when the host has none */
	off_t size;	   /* size of the new entry; 0 when deleted */
	off_t old_size;	   /* size of the host entry; 0 when absent */
	char *link_target; /* new symlink target, or NULL */
	/* The upper entry's identity when scanned (0 when deleted): what a decision is pinned to
	   (see gate_pin()). */
	dev_t dev;
	ino_t ino;
	struct timespec ctim;
	size_t seen; /* its entry in the scan's scan_seen (changes_scan_seen()), else 0 */
};

struct change_set {
	struct change *items;
	size_t n, cap;
};

/* One overlay: where it is mounted on the host and where its upper directory is. */
struct overlay_layer {
	const char *mount_path;	    /* host path the overlay covers, e.g. "/home" */
	const char *upper_dir;	    /* the session's upper directory for it */
	const char *const *premade; /* upper-relative paths airlock made itself (hidden-path
				       whiteouts and their parent directories); never changes */
	size_t npremade;
};

/*
 * Scan every layer and append the changes, sorted by path, to *out (which the caller
 * initialises to zero and frees with change_set_free()). Entries below an added, replaced
 * or type-changed directory are listed one by one. Never follows a symlink in the upper
 * directory; a tree deeper than 1024 levels stops the scan with -ELOOP.
 * Returns 0 or -errno.
 */
int changes_scan(const struct overlay_layer *layers, size_t nlayers, struct change_set *out);

void change_set_free(struct change_set *cs);

/*
 * What a scan looked at, for a change set handed over from the run's end (handover.h) to be
 * proven fresh later without listing the directories again: every upper directory walked with
 * the names it held, each name's lstat in the upper and, where the host was consulted, in the
 * host. A change set depends on nothing else (the layers aside).
 */
struct scan_stat {
	dev_t dev, rdev;
	ino_t ino;
	mode_t mode;
	off_t size;
	struct timespec ctim; /* moves with any change of the entry, its content or its names */
};

enum scan_host {
	SCAN_HOST_NONE,	   /* not looked up: no host directory there */
	SCAN_HOST_ABSENT,  /* looked up, not there */
	SCAN_HOST_PRESENT, /* looked up: hst */
};

struct scan_seen_entry {
	char *name;
	struct scan_stat st;
	enum scan_host host;
	struct scan_stat hst;
};

struct scan_seen_dir {
	size_t layer;
	char *rel;	      /* upper-relative, "" for the layer's root */
	struct scan_stat st;  /* the upper directory before it was listed */
	bool host;	      /* the host had a directory there, opened for lookups */
	struct scan_stat hst; /* its identity when it had */
	size_t first, n;      /* its names: entries[first, first + n) */
	/* Each directory's file system stamps a change with a nanosecond ctime from this
	   machine's clock (ext4, xfs, btrfs, tmpfs): the upper one, the host one. */
	bool fine, hfine;
};

struct scan_seen {
	struct scan_seen_dir *dirs;
	size_t ndirs, dirs_cap;
	struct scan_seen_entry *entries;
	size_t nentries, entries_cap;
	/* A host directory went away between its lstat and its opening: a scan now would not
	   see what this one saw. */
	bool raced;
};

/*
 * Told of every upper entry a scan looks at, for a record that needs the same walk (the
 * change-set manifest, manifest.h), so that the upper directories are walked once at the end
 * of a run, not once per record. entry gets the upper directory dfd holding name, rel the
 * entry's upper-relative path, st its lstat (before the scan grants itself any access) and,
 * for a directory, whether it is opaque; a directory comes before the entries below it, and
 * all entries of a layer before the next layer's. The observer may read the entry through dfd
 * (not change it): nothing it does changes the scan, which goes on whatever the observer makes
 * of an entry. After a failed scan, what the observer was told is incomplete.
 */
struct scan_observer {
	void (*entry)(void *arg, const struct overlay_layer *layer, int dfd, const char *name,
		      const char *rel, const struct stat *st, bool opaque);
	void *arg;
};

/* changes_scan(), keeping what it looked at in *seen (zeroed by the caller, freed with
   scan_seen_free(), left empty on failure); each change's seen is its entry there. obs, when
   not NULL, is told of every entry (struct scan_observer). */
int changes_scan_seen(const struct overlay_layer *layers, size_t nlayers, struct change_set *out,
		      struct scan_seen *seen, const struct scan_observer *obs);

void scan_seen_free(struct scan_seen *seen);

/* The fields of st a scan_stat keeps. */
void scan_stat_of(struct scan_stat *to, const struct stat *st);

/*
 * Helpers for reading an upper directory, shared with the change-set manifest (manifest.h).
 * None follows a symlink.
 */

/* How deep an upper tree is walked; deeper stops the walk with -ELOOP. */
#define CHANGES_MAX_DEPTH 1024

/*
 * Print why the walk of the upper directory upper failed at rel (NULL or "" for its root):
 * "airlock: cannot VERB PATH: why", the path escaped for the terminal.
 */
void changes_walk_error(const char *verb, const char *upper, const char *rel, int rc);

/* The mode changes_open_upper_dir() leaves in *restore when it changed none. */
#define CHANGES_NO_RESTORE ((mode_t)-1)

/*
 * Open the upper directory name in dfd (st its lstat) for reading. The program may have left it
 * without read or search permission for us (chmod 000); the upper is ours, so u+rx is granted
 * and *restore set to the mode to put back with fchmod() when done (else CHANGES_NO_RESTORE).
 * fd or -errno.
 */
int changes_open_upper_dir(int dfd, const char *name, const struct stat *st, mode_t *restore);

/* Reopen the directory above the one open at fd, checking it is still want. fd or -errno
   (-ESTALE when the tree moved). */
int changes_reopen_parent(int fd, const struct stat *want);

/* 1 when the upper directory open at fd is opaque (it replaces the host's), 0 if not, -errno. */
int changes_is_opaque(int fd);

/* The target of the symlink name in dfd into *out (caller frees). 0 or -errno. */
int changes_read_link(int dfd, const char *name, char **out);

/* "added", "modified", "deleted", "dir-added", "dir-replaced", "symlink-added",
   "symlink-changed", "type-changed", "mode-changed". */
const char *change_kind_name(enum change_kind kind);

#endif
