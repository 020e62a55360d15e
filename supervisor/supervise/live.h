/* SPDX-License-Identifier: MIT */
/*
 * A live session's control channel (airlock start / exec / stop): a SOCK_SEQPACKET socket,
 * `control`, in the session's directory. The directory is the user's alone (0700) and
 * hidden from every sandbox; the supervisor also checks each peer's uid (SO_PEERCRED), so
 * another user, or a process inside the sandbox, never reaches it.
 *
 * Each connection carries one request and its answers:
 *   LIVE_EXEC    -> LIVE_STEP, then LIVE_EXIT (or LIVE_ERROR); the client may send
 *                   LIVE_SIGNAL meanwhile (the signals a terminal would send the command).
 *                   With LIVE_HAND_BACK, a LIVE_HANDED precedes the LIVE_EXIT of a step
 *                   that ended: the file's final content as the sandbox sees it
 *   LIVE_STOP    -> LIVE_STOPPED once the record is sealed (or LIVE_ERROR)
 *   LIVE_ATTEND  -> LIVE_STEP (an acknowledgement, step 0), then the asks as JSON lines,
 *                   one a message, and the answers back (or LIVE_ERROR)
 * A request's body follows its header in the same message. Nothing a client sends is trusted:
 * sizes and strings are checked before use.
 */
#ifndef AIRLOCK_SUPERVISOR_LIVE_H
#define AIRLOCK_SUPERVISOR_LIVE_H

#include <stdint.h>

#define LIVE_MAGIC  0x4b4c4941u /* "AILK" */
#define LIVE_SOCKET "control"

enum live_type {
	LIVE_EXEC = 1,	  /* arg: the number of argv strings; arg2: LIVE_CWD_* ; body: cwd, argv,
			     environment, each NUL-terminated; SCM_RIGHTS: stdin, stdout, stderr */
	LIVE_SIGNAL = 2,  /* arg: the signal for this connection's step */
	LIVE_STOP = 3,	  /* arg: seconds of grace before running steps are killed */
	LIVE_STEP = 4,	  /* answer: the step's number in step */
	LIVE_EXIT = 5,	  /* answer: arg the exit status as `airlock run` gives it, arg2 the
			     signal that ended the step (0: none) */
	LIVE_ERROR = 6,	  /* answer: body the message (one line, no "airlock: ") */
	LIVE_STOPPED = 7, /* answer: the record is sealed; arg: the number of held changes */
	LIVE_ATTEND = 8,  /* the connection becomes the session's attender (--ask attend): the
			     asks arrive on it as the approver's JSON lines, answers go back */
	LIVE_HANDED = 9,  /* answer (exec --hand-back): arg 0 and body the file's bytes (at most
			     LIVE_HAND_BACK_MAX, any bytes, no terminator), or arg -errno and no
			     body (-ENOENT: the step left no such file; -EFBIG: too large;
			     -EINVAL: not a regular file; -ELOOP: a symlink on the way) */
};

#define LIVE_CWD_GIVEN 1 /* exec -C: no fallback to the session's directory */
/*
 * exec --hand-back: the body has one more string after the cwd, an absolute path whose final
 * content, as the sandbox sees it, comes back in LIVE_HANDED once the step ended. Read, never
 * followed through a symlink; what the caller does with it is the caller's (it writes only
 * under its temporary directory).
 */
#define LIVE_HAND_BACK 2

#define LIVE_HAND_BACK_MAX (64 * 1024)

struct live_msg {
	uint32_t magic;
	uint32_t type;
	int32_t arg;
	int32_t arg2;
	uint32_t step;
	uint32_t pad;
};

/* The largest message: a header and a body that the launcher's request can still hold. */
#define LIVE_MAX_BODY (160 * 1024)

#endif
