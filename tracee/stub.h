/* SPDX-License-Identifier: MIT */
/* The stub a deferred exec runs instead of its command (see supervisor/supervise/substitute.h). */
#ifndef AIRLOCK_TRACEE_STUB_H
#define AIRLOCK_TRACEE_STUB_H

/* Its path inside the sandbox: short, so that it fits over nearly any path string. */
#define STUB_PATH "/.@"

/* Its bytes: a static x86-64 ELF executable that calls exit_group(0) and nothing else. */
extern const unsigned char stub_elf[129];

#endif
