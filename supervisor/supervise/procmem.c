/* SPDX-License-Identifier: MIT */
/* Reads a sandboxed process's memory with process_vm_readv; see procmem.h. */
#include "supervisor/supervise/procmem.h"

#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

size_t mem_page_size(void)
{
	static size_t ps;

	if (!ps) {
		long v = sysconf(_SC_PAGESIZE);

		ps = v > 0 ? (size_t)v : 4096; /* never a size that wraps the reads' arithmetic */
	}
	return ps;
}

int mem_read(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)addr, .iov_len = len};
	ssize_t n;

	if (len == 0)
		return 0;
	if (addr == 0 || addr + len < addr)
		return -EFAULT;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	/* A short read means part of the range is unmapped: the whole copy is refused. */
	if (n != (ssize_t)len)
		return -EFAULT;
	return 0;
}

int mem_write(pid_t pid, unsigned long addr, const void *buf, size_t len)
{
	struct iovec local = {.iov_base = (void *)buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)addr, .iov_len = len};

	if (len == 0)
		return 0;
	if (addr == 0 || addr + len < addr)
		return -EFAULT;
	return process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

int mem_read_string(pid_t pid, unsigned long addr, char *buf, size_t size)
{
	size_t got = 0;

	if (size == 0)
		return -ENAMETOOLONG;
	if (addr == 0)
		return -EFAULT;
	/* Page by page: a string may end just before an unmapped page. */
	while (got < size - 1) {
		size_t chunk = mem_page_size() - ((addr + got) % mem_page_size());
		char *nul;

		if (chunk > size - 1 - got)
			chunk = size - 1 - got;
		if (mem_read(pid, addr + got, buf + got, chunk) < 0)
			return -EFAULT;
		nul = memchr(buf + got, '\0', chunk);
		if (nul)
			return 0;
		got += chunk;
	}
	buf[size - 1] = '\0';
	return -ENAMETOOLONG;
}

ssize_t proc_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	cleanup_fd int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	return n;
}

void proc_exe(pid_t pid, char *out, size_t sz)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, out, sz - 1);
	out[n > 0 ? n : 0] = '\0';
}
