/* SPDX-License-Identifier: MIT */
/*
 * The change set handed over from the run's end to the review: the end of a run scans the
 * upper directories anyway (session_record_finish()), so it keeps what that scan looked at
 * in changes.handover in the session, and a later reader proves the set still fresh instead
 * of listing every directory and comparing every file with the host again.
 *
 * Fresh means: a scan now would give the same set. A scan depends on the layers (meta), the
 * names in each upper directory, each entry's lstat in the upper and, where it was looked up,
 * in the host (a content change moves the ctime too; of a host directory only its type and
 * permissions count, its names being looked up one by one). So the file keeps the layers,
 * every upper directory with its names and its lstat, and every entry's two lstats; the
 * reader lstats each again (no listing, no reading, no sorting) and any difference, or any
 * doubt, falls back to the scan:
 *  - the session is not "finished", "partially committed" or "undone" (a live session's later
 *    step makes it "running" again: its sandbox may write), or its meta "end" is not the one
 *    the file was written at (it ran again since);
 *  - the file is damaged: its SHA-256, kept at its end, is checked before anything in it is
 *    used, and every length and index is checked against what is left;
 *  - an entry, a directory or the layers differ from what was kept.
 * A ctime proves no change only if a later change cannot carry the same one: the writer keeps
 * the file only when every upper entry is on a file system with nanosecond ctimes from this
 * clock (ext4, xfs, btrfs, tmpfs) and changed before the coarse clock's tick the scan started
 * in (the next change gets a later stamp), and every host entry changed two seconds before
 * it (or, on such a file system, before that tick). Upper entries changed within that tick
 * (the program's last writes) are checked once more after the clock has moved past them, for a
 * set of 1024 changes or more (fewer are scanned faster than the wait); a smaller set, or a
 * host entry changed just before the end, gets no file.
 * A directory the scan had to chmod to read (changes_open_upper_dir()) has a new ctime at
 * every scan, so its session gets no file either; root reads them without.
 */
#ifndef AIRLOCK_SUPERVISOR_HANDOVER_H
#define AIRLOCK_SUPERVISOR_HANDOVER_H

#include "supervisor/changeset/changes.h"
#include "supervisor/record/store.h"

#include <cjson/cJSON.h>

#define HANDOVER_FILE "changes.handover"

/*
 * The run's end: scan the session's changes into *cs (as session_scan_changes()) and hand the
 * set over in HANDOVER_FILE when it can be proven fresh later; a file from an earlier end is
 * removed either way. meta is the session's, with its "end" set. obs (or NULL) is told of
 * every entry the scan looks at (the manifest's, manifest.h). 0 or -errno (the scan's).
 */
int handover_scan(const struct session *s, const cJSON *meta, struct change_set *cs,
		  const struct scan_observer *obs);

/*
 * The session's changes into *cs: the handed-over set when it is proven fresh, else a scan
 * (session_scan_changes()). 0 or -errno (the scan's, printed).
 */
int handover_changes(const struct session *s, const cJSON *meta, struct change_set *cs);

/*
 * handover_changes() with the proof on threads of its own (two for a large set, each with half
 * the directories), started as soon as the file is read, for a caller with other work to do
 * meanwhile (the review's verdicts and attribution): *check is set when *cs is the handed-over
 * set, not yet proven; the caller must call handover_check() before anything of *cs is shown,
 * decided or written, and scan again when it says stale. *check NULL: *cs is a scan's.
 */
struct handover_check;
int handover_changes_async(const struct session *s, const cJSON *meta, struct change_set *cs,
			   struct handover_check **check);

/* Wait for the proof and free check: true when the set is fresh, false when it is stale (or
   check is NULL: nothing to prove). */
bool handover_check(struct handover_check *check);

#endif
