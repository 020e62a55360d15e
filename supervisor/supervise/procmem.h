/* SPDX-License-Identifier: MIT */
/*
 * Copies from a sandboxed process's memory into bounded supervisor buffers. Everything read
 * here is untrusted: callers decide on the copy, never on the program's memory, and check
 * SECCOMP_IOCTL_NOTIF_ID_VALID after copying (the pid may have been reused meanwhile).
 */
#ifndef AIRLOCK_SUPERVISOR_PROCMEM_H
#define AIRLOCK_SUPERVISOR_PROCMEM_H

#include <stddef.h>
#include <sys/types.h>

/* Copy exactly len bytes from addr. 0, or -EFAULT when any byte is unreadable. */
int mem_read(pid_t pid, unsigned long addr, void *buf, size_t len);

/*
 * Copy a NUL-terminated string of at most size-1 bytes into buf. 0, -EFAULT when unreadable,
 * -ENAMETOOLONG when no NUL is found within size-1 bytes (buf then holds a truncated copy).
 */
int mem_read_string(pid_t pid, unsigned long addr, char *buf, size_t size);

/*
 * Write len bytes at addr in the process (a result the kernel would have written there, such
 * as sendmmsg's msg_len). 0, or -EFAULT.
 */
int mem_write(pid_t pid, unsigned long addr, const void *buf, size_t len);

/* The page size: a read of another process's memory that stays in one page fails whole or not
   at all. */
size_t mem_page_size(void);

/*
 * Read the small file /proc/PID/NAME ("stat", "status") into buf, NUL-terminated: one read,
 * which the kernel answers whole for these files up to a page. Its length, or -errno
 * (-ESRCH when it read nothing: the process is going).
 */
ssize_t proc_read(pid_t pid, const char *name, char *buf, size_t size);

/* Where /proc/PID/exe points, into out[sz] ("" when the process is gone or a zombie). */
void proc_exe(pid_t pid, char *out, size_t sz);

#endif
