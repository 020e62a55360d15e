/* SPDX-License-Identifier: MIT */
/* The DNS wire format for the sandbox's resolver; see dns.h. */
#include "supervisor/supervise/dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAG_QR	  0x8000
#define FLAG_RD	  0x0100
#define FLAG_RA	  0x0080
#define OPCODE(f) (((f) >> 11) & 0xf)
#define RCODE(f)  ((f)&0xf)
#define MAX_LABEL 63

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Read an uncompressed name at p[off..n) into q->wire and q->name; *end is just past it.
 * 0 or -EINVAL.
 */
static int read_name(const uint8_t *p, size_t n, size_t off, struct dns_question *q, size_t *end)
{
	size_t w = 0, t = 0;

	for (;;) {
		uint8_t len;

		if (off >= n)
			return -EINVAL;
		len = p[off];
		if (len == 0)
			break;
		/* 0xc0: a compression pointer, 0x40/0x80: extended label types. A question is
		   the first name of a message: there is nothing before it to point to. */
		if (len > MAX_LABEL)
			return -EINVAL;
		if (off + 1 + len > n || w + 1 + len + 1 > DNS_MAX_NAME)
			return -EINVAL;
		memcpy(q->wire + w, p + off, 1 + (size_t)len);
		w += 1 + (size_t)len;
		if (t)
			q->name[t++] = '.';
		for (size_t i = 0; i < len; i++) {
			unsigned char c = p[off + 1 + i];

			c = (unsigned char)tolower(c);
			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_') {
				q->name[t++] = (char)c;
			} else {
				/* Dots inside a label, '\', '*', control bytes: never read as
				   name syntax by the rules or a terminal. */
				t += (size_t)snprintf(q->name + t, 5, "\\%03u", c);
			}
		}
		off += 1 + (size_t)len;
	}
	q->wire[w++] = 0;
	q->wire_len = w;
	if (t == 0)
		q->name[t++] = '.';
	q->name[t] = '\0';
	*end = off + 1;
	return 0;
}

int dns_parse_query(const uint8_t *p, size_t n, struct dns_question *q)
{
	size_t end;

	memset(q, 0, sizeof(*q));
	if (n < DNS_HEADER)
		return -EBADMSG;
	q->id = get16(p);
	q->flags = get16(p + 2);
	if (q->flags & FLAG_QR)
		return -EBADMSG; /* a response: answering it could start a loop */
	if (OPCODE(q->flags) != 0)
		return -EOPNOTSUPP;
	if (get16(p + 4) != 1 || get16(p + 6) != 0 || get16(p + 8) != 0)
		return -EINVAL;
	if (read_name(p, n, DNS_HEADER, q, &end) < 0 || end + 4 > n)
		return -EINVAL;
	q->qtype = get16(p + end);
	q->qclass = get16(p + end + 2);
	q->end = end + 4;
	return 0;
}

size_t dns_error_reply(const uint8_t *p, size_t n, const struct dns_question *q, bool have_q,
		       int rcode, uint8_t *out, size_t cap)
{
	size_t qlen = have_q && q->end <= n ? q->end - DNS_HEADER : 0;

	if (cap < DNS_HEADER + qlen || n < DNS_HEADER)
		return 0;
	memset(out, 0, DNS_HEADER);
	put16(out, q->id);
	put16(out + 2, (uint16_t)(FLAG_QR | FLAG_RA | (q->flags & FLAG_RD) | (q->flags & 0x7800) |
				  (rcode & 0xf)));
	put16(out + 4, qlen ? 1 : 0);
	memcpy(out + DNS_HEADER, p + DNS_HEADER, qlen);
	return DNS_HEADER + qlen;
}

const char *dns_type_name(uint16_t type, char out[8])
{
	static const struct {
		uint16_t t;
		const char *name;
	} names[] = {
		{1, "A"},   {2, "NS"},	    {5, "CNAME"}, {6, "SOA"},	 {12, "PTR"},
		{15, "MX"}, {16, "TXT"},    {28, "AAAA"}, {33, "SRV"},	 {35, "NAPTR"},
		{43, "DS"}, {48, "DNSKEY"}, {64, "SVCB"}, {65, "HTTPS"}, {255, "ANY"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == type)
			return names[i].name;
	snprintf(out, 8, "%u", type);
	return out;
}

/* Skip a name that may end in a compression pointer; 0 and *off past it, or -EBADMSG. */
static int skip_name(const uint8_t *p, size_t n, size_t *off)
{
	size_t o = *off;

	for (size_t labels = 0; labels < 128; labels++) {
		uint8_t len;

		if (o >= n)
			return -EBADMSG;
		len = p[o];
		if (len == 0) {
			*off = o + 1;
			return 0;
		}
		if ((len & 0xc0) == 0xc0) {
			if (o + 2 > n)
				return -EBADMSG;
			*off = o + 2;
			return 0;
		}
		if (len > MAX_LABEL)
			return -EBADMSG;
		o += 1 + (size_t)len;
	}
	return -EBADMSG;
}

static bool same_wire_name(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (tolower(a[i]) != tolower(b[i]))
			return false;
	return true;
}

int dns_check_answer(const uint8_t *p, size_t n, const struct dns_question *q, dns_addr_fn fn,
		     void *ctx)
{
	uint16_t flags, ancount;
	size_t off = DNS_HEADER;

	if (n < DNS_HEADER || get16(p) != q->id)
		return -EBADMSG;
	flags = get16(p + 2);
	if (!(flags & FLAG_QR) || OPCODE(flags) != 0 || get16(p + 4) != 1)
		return -EBADMSG;
	/* The question must be ours, byte for byte but for case (0x20 randomisation). */
	if (off + q->wire_len + 4 > n || !same_wire_name(p + off, q->wire, q->wire_len))
		return -EBADMSG;
	off += q->wire_len;
	if (get16(p + off) != q->qtype || get16(p + off + 2) != q->qclass)
		return -EBADMSG;
	off += 4;
	ancount = get16(p + 6);
	for (unsigned i = 0; i < ancount; i++) {
		uint16_t type, cls, rdlen;

		if (skip_name(p, n, &off) < 0 || off + 10 > n)
			return -EBADMSG;
		type = get16(p + off);
		cls = get16(p + off + 2);
		rdlen = get16(p + off + 8);
		off += 10;
		if (off + rdlen > n)
			return -EBADMSG;
		if (cls == DNS_CLASS_IN && type == DNS_TYPE_A && rdlen == 4 && fn)
			fn(ctx, AF_INET, p + off);
		else if (cls == DNS_CLASS_IN && type == DNS_TYPE_AAAA && rdlen == 16 && fn)
			fn(ctx, AF_INET6, p + off);
		off += rdlen;
	}
	return RCODE(flags);
}

/* An address with an optional "%scope" (dropped: scoped resolvers are link-local). */
static int parse_addr(const char *s, size_t len, uint16_t port, struct sockaddr_storage *ss,
		      socklen_t *sl)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *pct;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	pct = strchr(buf, '%');
	memset(ss, 0, sizeof(*ss));
	if (!pct) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			*sl = sizeof(*sin);
			return 0;
		}
	} else {
		buf[pct - buf] = '\0';
	}
	{
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			*sl = sizeof(*s6);
			return 0;
		}
	}
	return -EINVAL;
}

int dns_first_nameserver(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *line = text;

	while (line && *line) {
		const char *end = strchrnul(line, '\n'), *p = line, *a;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) > 10 && strncmp(p, "nameserver", 10) == 0 &&
		    (p[10] == ' ' || p[10] == '\t')) {
			p += 10;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			a = p;
			while (p < end && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#' &&
			       *p != ';')
				p++;
			if (parse_addr(a, (size_t)(p - a), 53, ss, len) == 0)
				return 0;
		}
		line = *end ? end + 1 : NULL;
	}
	return -ENOENT;
}

int dns_parse_server(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(s, ':');
	unsigned long port = 53;
	char *endp;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return -EINVAL;
		if (close[1] == ':') {
			errno = 0;
			port = strtoul(close + 2, &endp, 10);
			if (errno || endp == close + 2 || *endp || port == 0 || port > 65535)
				return -EINVAL;
		} else if (close[1]) {
			return -EINVAL;
		}
		if (parse_addr(s + 1, (size_t)(close - s - 1), (uint16_t)port, ss, len) < 0 ||
		    ss->ss_family != AF_INET6)
			return -EINVAL;
		return 0;
	}
	if (colon && strchr(s, ':') == colon) {
		/* One colon: IPv4 with a port. */
		errno = 0;
		port = strtoul(colon + 1, &endp, 10);
		if (errno || endp == colon + 1 || *endp || port == 0 || port > 65535)
			return -EINVAL;
		if (parse_addr(s, (size_t)(colon - s), (uint16_t)port, ss, len) < 0 ||
		    ss->ss_family != AF_INET)
			return -EINVAL;
		return 0;
	}
	return parse_addr(s, strlen(s), 53, ss, len);
}
