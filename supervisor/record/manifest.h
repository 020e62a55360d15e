/* SPDX-License-Identifier: MIT */
/*
 * The change-set manifest, changes.sha256 in the session: one line for every entry of the
 * session's overlay upper directories, written when the run ends, so that `airlock verify`
 * can show later that the overlays still hold exactly what the program left there. Commit and
 * undo only read the upper directories, so the manifest stays true after them.
 *
 * Each line is "DIGEST TYPE MODE PATH":
 *   DIGEST  hex SHA-256 of a regular file's content or of a symlink's target; "-" otherwise
 *   TYPE    file, symlink, dir, opaque-dir, whiteout, fifo, socket, chardev-MAJ:MIN,
 *           blockdev-MAJ:MIN
 *   MODE    the permission bits, four octal digits
 *   PATH    the host path the entry stands for; "\" is written "\\" and a control character
 *           "\xHH", so that a line is always one line
 * Lines are sorted by PATH (bytes, as strcmp), then by the whole line. meta.json records the
 * SHA-256 of the file ("changes_sha256") and its line count ("changes_entries"), and the
 * seal of meta.json (seal.h) covers both.
 */
#ifndef AIRLOCK_SUPERVISOR_MANIFEST_H
#define AIRLOCK_SUPERVISOR_MANIFEST_H

#include "supervisor/changeset/changes.h"
#include "supervisor/record/store.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * The manifest built from the walk of the change-set scan at the end of a run (its observer,
 * changes.h), so that the upper directories are walked once, not once more for the manifest.
 * Its lines are those of manifest_record()'s own walk: the same entries, lstats, hashes and
 * helpers (one upper descriptor held, an unreadable file made readable only while it is
 * hashed, its dev and inode checked). It hashes as the walk goes, up to 8 MB of regular files:
 * past that it gives up, and manifest_record() walks and hashes on its own, as it does from
 * SEAL_AFTER_BYTES on in the child of the seal (session.h), so that a large run's status waits
 * for no more hashing than that. It gives up too at an entry it cannot hash (the walk then says
 * why).
 */
struct manifest_collect;
struct manifest_collect *manifest_collect_new(void);
void manifest_collect_free(struct manifest_collect *c);

/* The observer for changes_scan_seen() that fills c. */
struct scan_observer manifest_observer(struct manifest_collect *c);

/*
 * Write changes.sha256 and record its hash in meta: with c's lines when c was filled by a scan
 * that succeeded and did not give up (c is then emptied), else (c NULL) from a walk of the
 * upper directories meta names. On failure (printed), meta gets "changes_sha256": null and
 * "changes_error" saying why, so that verify can say the change set was never recorded. 0 or
 * -errno.
 */
int manifest_record(const struct session *s, cJSON *meta, struct manifest_collect *c);

/*
 * Check changes.sha256 against meta's hash, then the upper directories against
 * changes.sha256. 0 (*entries = the number of lines), or -1 after printing the first entry
 * that differs ("session ID: overlay: PATH: ...") or what could not be read.
 */
int manifest_check(const struct session *s, const cJSON *meta, size_t *entries);

/*
 * Check that changes.sha256 still has the hash meta records, without reading the overlays
 * (for a discarded session, whose overlays are gone). 0, or -1 after printing why.
 */
int manifest_check_file(const struct session *s, const cJSON *meta);

#endif
