/* SPDX-License-Identifier: MIT */
/* SHA-256 in hex, of memory, a file or a descriptor (OpenSSL's EVP); see sha256.h. */
#include "common/sha256.h"

#include "common/cleanup.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef CRYPTO_SONAME
#define CRYPTO_SONAME "libcrypto.so.3"
#endif

/*
 * libcrypto is loaded when first needed, not linked: mapping and relocating it cost every
 * start of airlock about a millisecond, and most commands (exec into a live session, show,
 * help) never hash. The soname is the one the build was made against (another major version
 * has another ABI).
 */
static struct {
	EVP_MD *(*md_fetch)(OSSL_LIB_CTX *, const char *, const char *);
	const EVP_MD *(*sha256)(void);
	int (*digest)(const void *, size_t, unsigned char *, unsigned int *, const EVP_MD *,
		      ENGINE *);
	EVP_MD_CTX *(*ctx_new)(void);
	void (*ctx_free)(EVP_MD_CTX *);
	int (*init)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
	int (*update)(EVP_MD_CTX *, const void *, size_t);
	int (*final)(EVP_MD_CTX *, unsigned char *, unsigned int *);
	EVP_MD *md; /* fetched once: OpenSSL 3 looks the algorithm up on every EVP_sha256() */
	int rc;
} ev;
static pthread_once_t ev_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	static const struct {
		const char *name;
		size_t offset;
	} syms[] = {
		{"EVP_MD_fetch", offsetof(__typeof__(ev), md_fetch)},
		{"EVP_sha256", offsetof(__typeof__(ev), sha256)},
		{"EVP_Digest", offsetof(__typeof__(ev), digest)},
		{"EVP_MD_CTX_new", offsetof(__typeof__(ev), ctx_new)},
		{"EVP_MD_CTX_free", offsetof(__typeof__(ev), ctx_free)},
		{"EVP_DigestInit_ex", offsetof(__typeof__(ev), init)},
		{"EVP_DigestUpdate", offsetof(__typeof__(ev), update)},
		{"EVP_DigestFinal_ex", offsetof(__typeof__(ev), final)},
	};
	void *h = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!h) {
		fprintf(stderr, "airlock: cannot load %s: %s\n", CRYPTO_SONAME, dlerror());
		ev.rc = -ENOENT;
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			fprintf(stderr, "airlock: cannot load %s: %s is missing\n", CRYPTO_SONAME,
				syms[i].name);
			ev.rc = -ENOENT;
			return;
		}
		*(void **)((char *)&ev + syms[i].offset) = f;
	}
	ev.md = ev.md_fetch(NULL, "SHA256", NULL);
	if (!ev.md)
		ev.md = (EVP_MD *)ev.sha256();
}

int sha256_init(void)
{
	pthread_once(&ev_once, load);
	return ev.rc;
}

/* Every digest needs the library: without it nothing can be recorded, so stop (fail closed). */
static void need(void)
{
	if (sha256_init() < 0)
		exit(1);
}

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
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	need();
	ev.digest(data, len, md, &mdlen, ev.md, NULL);
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

	need();
	ctx = ev.ctx_new();
	if (!ctx)
		return -ENOMEM;
	ev.init(ctx, ev.md, NULL);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		ev.update(ctx, chunk, (size_t)n);
	}
	ev.final(ctx, md, &mdlen);
	ev.ctx_free(ctx);
	if (rc == 0)
		to_hex(md, 32, out);
	return rc;
}
