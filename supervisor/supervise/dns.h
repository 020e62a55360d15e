/* SPDX-License-Identifier: MIT */
/*
 * The DNS wire format, as far as the sandbox's resolver needs it (RFC 1035): read a query's
 * question, build an error answer, check an upstream answer against its query and find the
 * addresses it holds. Pure code on bounded buffers: every byte comes from the sandboxed program
 * or from the network, so every length and offset is checked before it is used, and compression
 * pointers are never followed (names in answers are only skipped, which needs no pointer).
 * Also: the first nameserver of a resolv.conf, and ADDR[:PORT] for --dns-upstream.
 */
#ifndef AIRLOCK_SUPERVISOR_DNS_H
#define AIRLOCK_SUPERVISOR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_HEADER   12
#define DNS_MAX_NAME 255 /* bytes of a name in wire form */
/* A name as text: each wire byte becomes at most 4 characters ("\DDD"). */
#define DNS_NAME_TEXT (DNS_MAX_NAME * 4 + 2)

enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_AAAA = 28,
	DNS_CLASS_IN = 1,
};

/* A query's question. */
struct dns_question {
	uint16_t id;
	uint16_t flags;		    /* the query's header flags */
	uint16_t qtype, qclass;	    /* host byte order */
	size_t end;		    /* offset just past the question in the query */
	char name[DNS_NAME_TEXT];   /* lower case, dot separated, no trailing dot ("." for the
				       root); bytes other than [a-z0-9_-] written as \DDD */
	uint8_t wire[DNS_MAX_NAME]; /* the name as it was sent, for comparing with answers */
	size_t wire_len;
};

/*
 * Read the question of the query in p[0..n). 0; -EBADMSG when it is not a query worth an
 * answer (shorter than a header, or a response); -EINVAL when it deserves FORMERR (not exactly
 * one question, a compressed or malformed name, truncated); -EOPNOTSUPP for an opcode other
 * than QUERY (NOTIMP). On -EINVAL and -EOPNOTSUPP, q->id and q->flags are filled.
 */
int dns_parse_query(const uint8_t *p, size_t n, struct dns_question *q);

/*
 * An answer with rcode to the query in p[0..n) whose question is q (the question is repeated
 * when dns_parse_query() read it, otherwise only the header is sent). Returns its length in
 * out (at most cap; 0 when cap is too small).
 */
size_t dns_error_reply(const uint8_t *p, size_t n, const struct dns_question *q, bool have_q,
		       int rcode, uint8_t *out, size_t cap);

/* A type as text: "A", "AAAA", "MX", ..., or its number. out holds at least 8 bytes. */
const char *dns_type_name(uint16_t type, char out[8]);

/* Called for each address record of an answer: family AF_INET (4 bytes) or AF_INET6 (16). */
typedef void (*dns_addr_fn)(void *ctx, int family, const uint8_t *addr);

/*
 * Check that p[0..n) answers q (a response with q's id, exactly q's question) and call fn for
 * each A and AAAA record of class IN in its answer section. Returns the answer's rcode
 * (>= 0), or -EBADMSG when it is not an answer to q or is malformed (then fn may have been
 * called for the records before the fault: callers only remember names, which is harmless).
 */
int dns_check_answer(const uint8_t *p, size_t n, const struct dns_question *q, dns_addr_fn fn,
		     void *ctx);

/*
 * The first "nameserver ADDR" of resolv.conf text, as an address with port 53. 0, or -ENOENT
 * when there is none that parses.
 */
int dns_first_nameserver(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/*
 * ADDR or ADDR:PORT (IPv4), ADDR or [ADDR]:PORT (IPv6); the port defaults to 53. 0 or -EINVAL.
 */
int dns_parse_server(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
