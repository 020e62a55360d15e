/* SPDX-License-Identifier: MIT */
/* Unit tests for supervisor/supervise/dns.h: queries from a hostile program, answers from the
 * network. */
#include "supervisor/supervise/dns.h"

#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A query for name (dotted) of type t into out; returns its length. */
static size_t make_query(uint8_t *out, uint16_t id, const char *name, uint16_t t)
{
	size_t o = 12;
	const char *p = name;

	memset(out, 0, 12);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = 0x01; /* RD */
	out[5] = 1;    /* one question */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		out[o++] = (uint8_t)len;
		memcpy(out + o, p, len);
		o += len;
		p += len + (dot ? 1 : 0);
	}
	out[o++] = 0;
	out[o++] = (uint8_t)(t >> 8);
	out[o++] = (uint8_t)t;
	out[o++] = 0;
	out[o++] = 1;
	return o;
}

struct seen {
	int n4, n6;
	uint8_t last4[4];
};

static void on_addr(void *ctx, int family, const uint8_t *addr)
{
	struct seen *s = ctx;

	if (family == AF_INET) {
		s->n4++;
		memcpy(s->last4, addr, 4);
	} else {
		s->n6++;
	}
}

/* Append an answer record: a compression pointer to the question's name, then the data. */
static size_t add_rr(uint8_t *m, size_t o, uint16_t type, const uint8_t *data, uint16_t len)
{
	m[o++] = 0xc0;
	m[o++] = 12;
	m[o++] = (uint8_t)(type >> 8);
	m[o++] = (uint8_t)type;
	m[o++] = 0;
	m[o++] = 1;
	memset(m + o, 0, 4); /* ttl */
	m[o + 3] = 60;
	o += 4;
	m[o++] = (uint8_t)(len >> 8);
	m[o++] = (uint8_t)len;
	memcpy(m + o, data, len);
	return o + len;
}

static void test_queries(void)
{
	uint8_t q[600], out[600];
	struct dns_question dq;
	size_t n, r;
	char tb[8];

	n = make_query(q, 0x1234, "Svc.Test", DNS_TYPE_A);
	is_int(dns_parse_query(q, n, &dq), 0, "a plain query parses");
	is_str(dq.name, "svc.test", "the name is read lower case");
	is_int(dq.qtype, DNS_TYPE_A, "its type");
	is_int(dq.id, 0x1234, "its id");
	is_int(dq.end, n, "the question ends where the query does");
	is_str(dns_type_name(dq.qtype, tb), "A", "type name A");
	is_str(dns_type_name(99, tb), "99", "an unknown type is its number");

	r = dns_error_reply(q, n, &dq, true, DNS_RCODE_NXDOMAIN, out, sizeof(out));
	is_int(r, n, "an NXDOMAIN answer repeats the question");
	ok(out[0] == 0x12 && out[1] == 0x34, "with the query's id");
	ok((out[2] & 0x80) && (out[3] & 0x0f) == 3, "QR set, rcode NXDOMAIN");
	ok(out[7] == 0 && out[5] == 1, "no answers, one question");
	ok(memcmp(out + 12, q + 12, n - 12) == 0, "the question as sent");
	is_int(dns_error_reply(q, n, &dq, true, 3, out, 20), 0, "no answer when it does not fit");

	n = make_query(q, 1, "a.b", DNS_TYPE_AAAA);
	q[13] = '.'; /* label "." : a dot inside a label */
	is_int(dns_parse_query(q, n, &dq), 0, "a dot inside a label parses");
	is_str(dq.name, "\\046.b", "and is escaped, never read as a separator");
	q[13] = 0x1b;
	dns_parse_query(q, n, &dq);
	is_str(dq.name, "\\027.b", "control bytes are escaped");

	n = make_query(q, 1, "", DNS_TYPE_A);
	is_int(dns_parse_query(q, n, &dq), 0, "the root name parses");
	is_str(dq.name, ".", "as '.'");

	is_int(dns_parse_query(q, 11, &dq), -EBADMSG, "shorter than a header: dropped");
	n = make_query(q, 1, "x.test", DNS_TYPE_A);
	q[2] |= 0x80;
	is_int(dns_parse_query(q, n, &dq), -EBADMSG, "a response is not answered");
	q[2] = 0x01 | (2 << 3);
	is_int(dns_parse_query(q, n, &dq), -EOPNOTSUPP, "another opcode: NOTIMP");
	n = make_query(q, 1, "x.test", DNS_TYPE_A);
	q[5] = 2;
	is_int(dns_parse_query(q, n, &dq), -EINVAL, "two questions: FORMERR");
	q[5] = 0;
	is_int(dns_parse_query(q, n, &dq), -EINVAL, "no question: FORMERR");
	q[5] = 1;
	q[7] = 1;
	is_int(dns_parse_query(q, n, &dq), -EINVAL, "a query with answers: FORMERR");
	q[7] = 0;
	is_int(dns_parse_query(q, n - 1, &dq), -EINVAL, "a truncated question: FORMERR");
	is_int(dns_parse_query(q, 14, &dq), -EINVAL, "a truncated name: FORMERR");
	q[12] = 0xc0;
	is_int(dns_parse_query(q, n, &dq), -EINVAL, "a compression pointer in a question");
	q[12] = 64;
	is_int(dns_parse_query(q, n, &dq), -EINVAL, "a label over 63 bytes");
	r = dns_error_reply(q, n, &dq, false, DNS_RCODE_FORMERR, out, sizeof(out));
	ok(r == 12 && (out[3] & 0x0f) == 1 && out[5] == 0, "FORMERR carries the header only");

	/* A name over 255 bytes: 5 labels of 60. */
	{
		char big[400];
		size_t i;

		for (i = 0; i < 5 * 61; i++)
			big[i] = (i % 61 == 60) ? '.' : 'a';
		big[5 * 61 - 1] = '\0';
		n = make_query(q, 1, big, DNS_TYPE_A);
		is_int(dns_parse_query(q, n, &dq), -EINVAL, "a name over 255 bytes: FORMERR");
		big[4 * 61 - 1] = '\0';
		n = make_query(q, 1, big, DNS_TYPE_A);
		is_int(dns_parse_query(q, n, &dq), 0, "a name of 245 bytes parses");
	}
}

static void test_answers(void)
{
	uint8_t q[600], a[1200];
	struct dns_question dq;
	struct seen s = {0};
	const uint8_t v4[4] = {127, 0, 0, 1}, v6[16] = {0xfd, 0, [15] = 1};
	size_t n, o;

	n = make_query(q, 0x4242, "svc.test", DNS_TYPE_A);
	dns_parse_query(q, n, &dq);
	memcpy(a, q, n);
	a[2] |= 0x80;
	a[7] = 3;
	o = add_rr(a, n, DNS_TYPE_A, v4, 4);
	o = add_rr(a, o, DNS_TYPE_AAAA, v6, 16);
	o = add_rr(a, o, 5 /* CNAME */, (const uint8_t *)"\x01x\x00", 3);
	is_int(dns_check_answer(a, o, &dq, on_addr, &s), 0, "an answer to the query: NOERROR");
	is_int(s.n4, 1, "its A record");
	is_int(s.n6, 1, "its AAAA record");
	ok(memcmp(s.last4, v4, 4) == 0, "the A record's address");

	a[13] = 'S'; /* 0x20 case randomisation */
	is_int(dns_check_answer(a, o, &dq, NULL, NULL), 0, "the question's case may differ");
	a[13] = 'z';
	is_int(dns_check_answer(a, o, &dq, NULL, NULL), -EBADMSG, "another question is refused");
	a[13] = 's';
	a[1] ^= 1;
	is_int(dns_check_answer(a, o, &dq, NULL, NULL), -EBADMSG, "another id is refused");
	a[1] ^= 1;
	a[2] &= 0x7f;
	is_int(dns_check_answer(a, o, &dq, NULL, NULL), -EBADMSG, "a query is not an answer");
	a[2] |= 0x80;
	memset(&s, 0, sizeof(s));
	is_int(dns_check_answer(a, o - 1, &dq, on_addr, &s), -EBADMSG, "a truncated record");
	a[7] = 200;
	is_int(dns_check_answer(a, o, &dq, NULL, NULL), -EBADMSG, "more records than bytes");
	a[7] = 1;
	a[n + 11] = 5; /* A record claiming 5 bytes */
	memset(&s, 0, sizeof(s));
	dns_check_answer(a, o, &dq, on_addr, &s);
	is_int(s.n4, 0, "an A record of the wrong length is no address");
	a[n + 11] = 4;
	a[3] = (uint8_t)((a[3] & 0xf0) | 3);
	a[7] = 0;
	is_int(dns_check_answer(a, n, &dq, NULL, NULL), 3, "NXDOMAIN is passed on");

	/* Every truncation of a good answer and every single-byte change stays in bounds. */
	a[3] &= 0xf0;
	a[7] = 3;
	a[n + 11] = 4;
	for (size_t cut = 0; cut < o; cut++)
		dns_check_answer(a, cut, &dq, on_addr, &s);
	for (size_t i = 0; i < o; i++)
		for (int b = 0; b < 256; b += 17) {
			uint8_t saved = a[i];

			a[i] = (uint8_t)b;
			dns_check_answer(a, o, &dq, on_addr, &s);
			dns_parse_query(a, o, &dq);
			n = make_query(q, 0x4242, "svc.test", DNS_TYPE_A);
			dns_parse_query(q, n, &dq);
			a[i] = saved;
		}
	ok(1, "mutated answers and queries never read out of bounds (ASan checks)");
}

static void test_config(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[64];

	is_int(dns_first_nameserver("# c\nsearch x\nnameserver 10.1.2.3\nnameserver 1.1.1.1\n", &ss,
				    &len),
	       0, "resolv.conf: the first nameserver");
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof(buf));
	is_str(buf, "10.1.2.3", "its address");
	is_int(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53, "port 53");
	is_int(dns_first_nameserver("  nameserver\tfe80::1%eth0 # x\n", &ss, &len), 0,
	       "resolv.conf: a scoped IPv6 nameserver");
	is_int(ss.ss_family, AF_INET6, "is IPv6");
	is_int(dns_first_nameserver("nameserver bogus\nnameserver ::1\n", &ss, &len), 0,
	       "a nameserver that does not parse is skipped");
	is_int(ss.ss_family, AF_INET6, "the next one is taken");
	is_int(dns_first_nameserver("options ndots:1\n", &ss, &len), -ENOENT, "none: ENOENT");
	is_int(dns_first_nameserver("nameservers 1.2.3.4\n", &ss, &len), -ENOENT,
	       "nameservers is not nameserver");

	is_int(dns_parse_server("127.0.0.1:5353", &ss, &len), 0, "ADDR:PORT");
	is_int(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5353, "its port");
	is_int(dns_parse_server("127.0.0.1", &ss, &len), 0, "ADDR alone");
	is_int(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53, "port 53 by default");
	is_int(dns_parse_server("[::1]:5300", &ss, &len), 0, "[IPv6]:PORT");
	is_int(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 5300, "its port");
	is_int(dns_parse_server("::1", &ss, &len), 0, "bare IPv6");
	is_int(len, sizeof(struct sockaddr_in6), "an IPv6 length");
	is_int(dns_parse_server("127.0.0.1:0", &ss, &len), -EINVAL, "port 0 is refused");
	is_int(dns_parse_server("127.0.0.1:70000", &ss, &len), -EINVAL, "port over 65535");
	is_int(dns_parse_server("host.test:53", &ss, &len), -EINVAL, "a name is refused");
	is_int(dns_parse_server("[127.0.0.1]:53", &ss, &len), -EINVAL, "IPv4 in brackets");
	is_int(dns_parse_server("[::1]x", &ss, &len), -EINVAL, "junk after brackets");
	is_int(dns_parse_server("", &ss, &len), -EINVAL, "empty");
}

int main(void)
{
	test_queries();
	test_answers();
	test_config();
	return tap_done();
}
