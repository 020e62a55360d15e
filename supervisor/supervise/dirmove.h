/* SPDX-License-Identifier: MIT */
/*
 * Renaming a directory that comes from the host, inside the sandbox. overlayfs moves a
 * directory that has a lower layer only with redirect_dir, which needs trusted xattrs and so
 * is out of reach in a user namespace: rename() of such a directory fails with EXDEV, and
 * git mv, Python's os.rename, Node's fs.rename and Rust's fs::rename have no fallback.
 *
 * The supervisor makes the rename happen as the program sees it. A helper process it forks
 * joins the sandbox's user and mount namespaces, takes the caller's root and working
 * directory (and the directories the call named by descriptor), drops every capability, and
 * first makes the call itself, so that the kernel makes each check it makes for the caller
 * (permissions, EINVAL for a directory into itself, EEXIST for RENAME_NOREPLACE, EBUSY, ...)
 * and answers exactly as it would. Only when the overlay refuses with EXDEV, both names are
 * on the same overlay and the source is a directory, the helper copies the tree under a
 * temporary name next to the target (directories, regular files, symlinks, FIFOs and
 * sockets; modes, times, the xattrs the overlay accepts; hard links within the tree), moves
 * the copy onto the target (an upper directory moves), and removes the source, which leaves
 * the overlay's whiteout. A non-empty target gets ENOTEMPTY, as on a filesystem.
 *
 * Nothing from the program is trusted: names are the supervisor's copies, resolved by the
 * kernel from the caller's root, which the helper cannot leave (chroot, in the sandbox's
 * mount namespace, no capabilities); the tree is walked without following a symlink or
 * crossing a mount (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV). The
 * caller freezes the sandbox around it (freeze.h), so no process sees a half-done state or
 * changes the tree meanwhile.
 *
 * A tree of more than DIRMOVE_MAX_ENTRIES entries or DIRMOVE_MAX_BYTES of file data (or more
 * than the store's room), one deeper than DIRMOVE_MAX_DEPTH, one that crosses a mount, or
 * one holding a device node, a file the caller cannot read or a directory it could not empty
 * is left alone: the call gets EXDEV as from the kernel, and the program's own fallback (mv
 * copies) runs.
 */
#ifndef AIRLOCK_SUPERVISOR_DIRMOVE_H
#define AIRLOCK_SUPERVISOR_DIRMOVE_H

#include <stdbool.h>
#include <sys/types.h>

#define DIRMOVE_MAX_ENTRIES 10000
#define DIRMOVE_MAX_BYTES   (256ULL << 20)
#define DIRMOVE_MAX_DEPTH   128

struct dirmove;

struct dirmove_result {
	int err;			   /* the call's answer: 0 or an errno */
	bool copied;			   /* the tree was copied (not renamed by the kernel) */
	unsigned long long entries, bytes; /* what the tree held (when it was walked) */
	char note[120];			   /* why the tree was left to the kernel, or "" */
};

/*
 * Take hold of what pid's rename names: its namespaces, root and working directory, and the
 * directories olddirfd and newdirfd when a path is relative. The paths are the supervisor's
 * copies, as the program passed them; flags are renameat2's. NULL with errno when something
 * cannot be taken (the process is gone, a descriptor is not open): then the kernel runs the
 * call.
 */
struct dirmove *dirmove_open(pid_t pid, int olddirfd, const char *oldpath, int newdirfd,
			     const char *newpath, unsigned flags);

/*
 * Make the rename in the sandbox's view, copying at most room bytes of file data. 1 when it
 * is done or refused (the answer in res->err: 0, the kernel's errno, or EXDEV for a tree
 * left alone, res->note saying why); 0 when the helper could not start (nothing was done:
 * the kernel may run the call); -EIO when the helper failed midway (the state is unknown).
 * The sandbox must be frozen.
 */
int dirmove_perform(const struct dirmove *m, unsigned long long room, struct dirmove_result *res);

void dirmove_free(struct dirmove *m);

#endif
