/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the sandbox resolver's DNS parser: queries from the sandboxed program and
 * answers from the network may hold anything; nothing may crash, read out of bounds or leak. */
#include "supervisor/supervise/dns.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *ctx, int family, const uint8_t *addr)
{
	(void)family;
	(void)addr;
	++*(int *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_question q;
	uint8_t out[DNS_HEADER + DNS_MAX_NAME + 4];
	int rc = dns_parse_query(data, size, &q), n = 0;

	/* As the resolver does: an error answer, then the same bytes checked as an answer. */
	if (rc == 0 || rc == -EINVAL || rc == -EOPNOTSUPP)
		dns_error_reply(data, size, &q, rc == 0, 3, out, sizeof(out));
	if (rc == 0) {
		if (strlen(q.name) >= sizeof(q.name))
			abort();
		dns_check_answer(data, size, &q, count, &n);
	}
	/* A resolv.conf and a --dns-upstream value of the same bytes. */
	if (size < 4096) {
		char *text = malloc(size + 1);
		struct sockaddr_storage ss;
		socklen_t len;

		memcpy(text, data, size);
		text[size] = '\0';
		dns_first_nameserver(text, &ss, &len);
		dns_parse_server(text, &ss, &len);
		free(text);
	}
	return 0;
}
