/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/sha256.h: the FIPS 180-4 examples, and known answers computed with
 * Python's hashlib for every length from 0 to 1,100 bytes (every padding case, every split of
 * a block) and for 3 MiB, through each implementation this machine has (portable C, the x86
 * SHA extensions, libcrypto), whole and streamed through a pipe in odd-sized pieces.
 */
#include "common/sha256.h"

#include "common/cleanup.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG_LEN (3 * 1024 * 1024 + 77)

static unsigned char *pattern(size_t n)
{
	unsigned char *d = malloc(n ? n : 1);
	size_t i;

	for (i = 0; d && i < n; i++)
		d[i] = (unsigned char)((uint32_t)(i * 2654435761u) >> 13);
	return d;
}

static void hex_of(const char *s, char out[65])
{
	sha256_hex(s, strlen(s), out);
}

static void test_fips_examples(const char *impl)
{
	cleanup_free char *million = malloc(1000000);
	char out[65];

	hex_of("abc", out);
	is_str(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "%s: \"abc\"", impl);
	hex_of("", out);
	is_str(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "%s: the empty string", impl);
	hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", out);
	is_str(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	       "%s: two blocks", impl);
	memset(million, 'a', 1000000);
	sha256_hex(million, 1000000, out);
	is_str(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "%s: a million 'a'", impl);
}

/* The hash of the concatenated hex digests of the first n bytes of the pattern, n = 0..1100. */
static void test_every_length(const char *impl)
{
	cleanup_free unsigned char *d = pattern(1101);
	cleanup_free char *all = malloc(1101 * 64 + 1);
	char out[65];
	size_t n;

	for (n = 0; n <= 1100; n++)
		sha256_hex(d, n, all + 64 * n);
	sha256_hex(all, 1101 * 64, out);
	is_str(out, "ba39d6268398cc85e157beb3d972af912dbe80da8173334d9739714a620b4cdd",
	       "%s: every length from 0 to 1,100 bytes", impl);
}

/* sha256_fd() reading a pipe that a child fills in pieces of 1, 63, 65, 4097... bytes. */
static int hash_through_pipe(const unsigned char *d, size_t len, char out[65])
{
	static const size_t pieces[] = {1, 63, 65, 4097, 64, 100003};
	int p[2], status, rc;
	pid_t pid;

	if (pipe(p) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		size_t off = 0, k = 0;

		close(p[0]);
		while (off < len) {
			size_t n = pieces[k++ % 6];
			ssize_t w = write(p[1], d + off, n < len - off ? n : len - off);

			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	rc = sha256_fd(p[0], out);
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0 || status != 0)
		return -EIO;
	return rc;
}

static void test_big(const char *impl)
{
	static const char want[] =
		"4b62d1a3b44be77b678525de7050f9510a20bf6c58426269a50f768c0e22a6e4";
	cleanup_free unsigned char *d = pattern(BIG_LEN);
	char out[65];

	sha256_hex(d, BIG_LEN, out);
	is_str(out, want, "%s: 3 MiB at once", impl);
	is_int(hash_through_pipe(d, BIG_LEN, out), 0, "%s: 3 MiB through a pipe", impl);
	is_str(out, want, "%s: streamed in odd pieces, the same digest", impl);
}

static void test_file(void)
{
	char path[] = "/tmp/airlock-sha256-XXXXXX", out[65];
	int fd = mkstemp(path);

	ok(fd >= 0 && write(fd, "abc", 3) == 3, "a file to hash");
	is_int(sha256_file(path, out), 0, "sha256_file() reads it");
	is_str(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "and hashes its content");
	unlink(path);
	close(fd);
	is_int(sha256_file(path, out), -ENOENT, "a missing file is -ENOENT");
}

static void run_all(const char *impl)
{
	test_fips_examples(impl);
	test_every_length(impl);
	test_big(impl);
}

int main(void)
{
	is_int(sha256_select(SHA256_PORTABLE), 0, "the portable function can always be chosen");
	run_all("portable");
	if (sha256_select(SHA256_SHANI) == 0)
		run_all("SHA-NI");
	else
		printf("# this CPU has no SHA extensions: the portable function is its only one\n");
	/* Debian 12 always has libssl3 (CI installs it with python3): -ENOTSUP here is a bug. */
	is_int(sha256_select(SHA256_LIBCRYPTO), 0, "libcrypto can be loaded");
	run_all("libcrypto");
	is_int(sha256_select(SHA256_AUTO), 0, "back to the default");
	test_file();
	return tap_done();
}
