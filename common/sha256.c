/* SPDX-License-Identifier: MIT */
/* SHA-256 in hex, of memory, a file or a descriptor (OpenSSL's EVP); see sha256.h. */
#include "common/sha256.h"

#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

static void to_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	/* Fetched once: OpenSSL 3 looks the algorithm up on every EVP_sha256() digest, which
	   costs more than hashing a line of the log. */
	static EVP_MD *md_sha256;
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	if (!md_sha256)
		md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_Digest(data, len, md, &mdlen, md_sha256 ? md_sha256 : EVP_sha256(), NULL);
	to_hex(md, 32, out);
}

int sha256_file(const char *path, char out[65])
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	return sha256_fd(fd, out);
}

int sha256_fd(int fd, char out[65])
{
	unsigned char md[32], chunk[65536];
	unsigned int mdlen = sizeof(md);
	EVP_MD_CTX *ctx;
	ssize_t n;
	int rc = 0;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		EVP_DigestUpdate(ctx, chunk, (size_t)n);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (rc == 0)
		to_hex(md, 32, out);
	return rc;
}
