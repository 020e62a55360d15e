/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4) in hex, of memory, a file or a descriptor; see sha256.h.
 *
 * Not linked with libcrypto: loading libcrypto.so.3 costs every airlock process about 1.5 ms
 * of CPU before main() (its relocations and constructors), a tenth of `python3 -c pass`, and
 * SHA-256 is all airlock uses it for. The compression function is the x86 SHA extensions
 * (SHA-NI: AMD since Zen, Intel since Ice Lake and the Atoms since Goldmont) when the CPU has
 * them; otherwise libcrypto, loaded on the first digest; portable C when neither is there.
 * Each is checked against the FIPS 180-4 examples and Python's hashlib over every length from
 * 0 to 1,100 bytes and over megabytes (tests/unit/test_sha256.c).
 */
#include "common/sha256.h"

#include "common/cleanup.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

struct sha256_ctx {
	void *evp; /* an EVP_MD_CTX when libcrypto hashes */
	void (*compress)(uint32_t h[8], const unsigned char *p, size_t nblocks);
	uint32_t h[8];
	uint64_t bytes;	       /* message length so far */
	unsigned char buf[64]; /* a partial block */
	size_t nbuf;
};

/* The round constants: the first 32 bits of the fractional parts of the cube roots of the
   first 64 primes (FIPS 180-4, 4.2.2). */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static inline uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* FIPS 180-4, 6.2.2, over nblocks 64-byte blocks. */
static void compress_portable(uint32_t h[8], const unsigned char *p, size_t nblocks)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (; nblocks > 0; nblocks--, p += 64) {
		for (i = 0; i < 16; i++)
			w[i] = load_be32(p + 4 * i);
		for (i = 16; i < 64; i++) {
			uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
			uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);

			w[i] = w[i - 16] + s0 + w[i - 7] + s1;
		}
		a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
#pragma GCC unroll 8
		for (i = 0; i < 64; i++) {
			t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) +
			     K[i] + w[i];
			t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
			hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
		}
		h[0] += a, h[1] += b, h[2] += c, h[3] += d;
		h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
	}
}

#if defined(__x86_64__)
/*
 * The same with the SHA extensions. The instructions keep the state as two vectors, ABEF and
 * CDGH; sha256rnds2 does two rounds, so each group of four rounds is two of them, and
 * sha256msg1/sha256msg2 extend the message schedule four words at a time:
 * W[t] = W[t-16] + s0(W[t-15]) + W[t-7] + s1(W[t-2]).
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void
compress_shani(uint32_t h[8], const unsigned char *p, size_t nblocks)
{
	/* Reverses the bytes of each 32-bit word: the message is big-endian. */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i state0, state1, tmp, msg, w[4];
	int i;

	tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);	   /* CDAB */
	state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* EFGH */
	state0 = _mm_alignr_epi8(tmp, state1, 8);				   /* ABEF */
	state1 = _mm_blend_epi16(state1, tmp, 0xF0);				   /* CDGH */

	for (; nblocks > 0; nblocks--, p += 64) {
		__m128i abef = state0, cdgh = state1;

		/* Unrolled, so that w[] and the constants stay in registers. */
#pragma GCC unroll 16
		for (i = 0; i < 16; i++) {
			if (i < 4) {
				w[i] = _mm_shuffle_epi8(
					_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
			} else {
				/* w[i & 3] still holds the words of group i - 4. */
				tmp = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				tmp = _mm_add_epi32(
					tmp, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				w[i & 3] = _mm_sha256msg2_epu32(tmp, w[(i + 3) & 3]);
			}
			msg = _mm_add_epi32(w[i & 3], _mm_loadu_si128((const __m128i *)&K[4 * i]));
			state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
			state0 =
				_mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(msg, 0x0E));
		}
		state0 = _mm_add_epi32(state0, abef);
		state1 = _mm_add_epi32(state1, cdgh);
	}

	tmp = _mm_shuffle_epi32(state0, 0x1B);	     /* FEBA */
	state1 = _mm_shuffle_epi32(state1, 0xB1);    /* DCHG */
	state0 = _mm_blend_epi16(tmp, state1, 0xF0); /* DCBA */
	state1 = _mm_alignr_epi8(state1, tmp, 8);    /* HGFE */
	_mm_storeu_si128((__m128i *)&h[0], state0);
	_mm_storeu_si128((__m128i *)&h[4], state1);
}

/* CPUID: SHA (leaf 7, EBX bit 29), SSE4.1 (leaf 1, ECX bit 19), SSSE3 (leaf 1, ECX bit 9). */
static bool cpu_has_shani(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9)))
		return false;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return false;
	return b & (1u << 29);
}
#endif

/*
 * Without the SHA extensions, OpenSSL's libcrypto hashes three to four times faster than the
 * portable function (its SSSE3/AVX2 code), which matters when a run's end hashes gigabytes.
 * It is loaded then, on the first digest rather than at start-up: only its EVP digest calls,
 * whose ABI is stable across OpenSSL 3.x. If it cannot be loaded the portable function is used.
 */
#define LIBCRYPTO_SONAME "libcrypto.so.3"

static struct {
	void *(*md_fetch)(void *libctx, const char *algorithm, const char *properties);
	void *(*ctx_new)(void);
	int (*init)(void *ctx, const void *md, void *engine);
	int (*update)(void *ctx, const void *data, size_t n);
	int (*final)(void *ctx, unsigned char *md, unsigned int *n);
	void (*ctx_free)(void *ctx);
	void *md; /* EVP_MD_fetch(NULL, "SHA256", NULL), once: OpenSSL 3 looks it up per call
		     otherwise */
} evp;

static void load_libcrypto(void)
{
	static const char *const names[] = {
		"EVP_MD_fetch",	    "EVP_MD_CTX_new",	  "EVP_DigestInit_ex",
		"EVP_DigestUpdate", "EVP_DigestFinal_ex", "EVP_MD_CTX_free",
	};
	void **slots[] = {
		(void **)&evp.md_fetch, (void **)&evp.ctx_new, (void **)&evp.init,
		(void **)&evp.update,	(void **)&evp.final,   (void **)&evp.ctx_free,
	};
	void *h = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!h)
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		*slots[i] = dlsym(h, names[i]);
		if (!*slots[i])
			return;
	}
	/* Set last: a NULL md is what says libcrypto is not there. */
	evp.md = evp.md_fetch(NULL, "SHA256", NULL);
}

static bool have_libcrypto(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, load_libcrypto);
	return evp.md != NULL;
}

/* What hashes: set before main(), changed only by sha256_select(). */
static enum sha256_impl impl = SHA256_PORTABLE;

__attribute__((constructor)) static void pick_at_start(void)
{
#if defined(__x86_64__)
	if (cpu_has_shani()) {
		impl = SHA256_SHANI;
		return;
	}
#endif
	impl = SHA256_LIBCRYPTO;
}

void sha256_init(void)
{
	if (impl == SHA256_LIBCRYPTO)
		have_libcrypto();
}

int sha256_select(enum sha256_impl want)
{
	switch (want) {
	case SHA256_AUTO:
		pick_at_start();
		return 0;
	case SHA256_PORTABLE:
		break;
	case SHA256_SHANI:
#if defined(__x86_64__)
		if (cpu_has_shani())
			break;
#endif
		return -ENOTSUP;
	case SHA256_LIBCRYPTO:
		if (have_libcrypto())
			break;
		return -ENOTSUP;
	}
	impl = want;
	return 0;
}

static void ctx_init(struct sha256_ctx *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	c->evp = NULL;
	c->compress = compress_portable;
#if defined(__x86_64__)
	if (impl == SHA256_SHANI)
		c->compress = compress_shani;
#endif
	/* A context OpenSSL cannot make or start leaves this digest to the portable function. */
	if (impl == SHA256_LIBCRYPTO && have_libcrypto() && (c->evp = evp.ctx_new()) != NULL &&
	    evp.init(c->evp, evp.md, NULL) != 1) {
		evp.ctx_free(c->evp);
		c->evp = NULL;
	}
	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
	c->nbuf = 0;
}

static void ctx_update(struct sha256_ctx *c, const unsigned char *p, size_t n)
{
	size_t take;

	if (c->evp) {
		evp.update(c->evp, p, n);
		return;
	}
	c->bytes += n;
	if (c->nbuf > 0) {
		take = 64 - c->nbuf < n ? 64 - c->nbuf : n;
		memcpy(c->buf + c->nbuf, p, take);
		c->nbuf += take, p += take, n -= take;
		if (c->nbuf < 64)
			return;
		c->compress(c->h, c->buf, 1);
		c->nbuf = 0;
	}
	if (n >= 64) {
		c->compress(c->h, p, n / 64);
		p += n / 64 * 64;
		n %= 64;
	}
	memcpy(c->buf, p, n);
	c->nbuf = n;
}

/* The padding (FIPS 180-4, 5.1.1): 0x80, zeros, the length in bits big-endian. */
static void ctx_final_own(struct sha256_ctx *c, unsigned char md[32])
{
	uint64_t bits = c->bytes * 8;
	unsigned char pad[72] = {0x80};
	size_t padlen = (c->nbuf < 56 ? 56 : 120) - c->nbuf;
	int i;

	for (i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	ctx_update(c, pad, padlen + 8);
	for (i = 0; i < 32; i++)
		md[i] = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

static void ctx_final(struct sha256_ctx *c, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	int i;

	if (c->evp) {
		evp.final(c->evp, md, &mdlen);
		evp.ctx_free(c->evp);
		c->evp = NULL;
	} else {
		ctx_final_own(c, md);
	}
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	struct sha256_ctx c;

	ctx_init(&c);
	ctx_update(&c, data, len);
	ctx_final(&c, out);
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
	unsigned char chunk[65536];
	struct sha256_ctx c;
	ssize_t n;

	ctx_init(&c);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ctx_update(&c, chunk, (size_t)n);
	}
	ctx_final(&c, out);
	return 0;
}
