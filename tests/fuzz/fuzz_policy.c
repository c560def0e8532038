/* SPDX-License-Identifier: MIT */
/* Fuzz target: the RFC 8461 policy parser, and render/parse agreement for what it accepts. */
#include "domain.h"
#include "policy.h"
#include "util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy p, q;
	char err[256];

	if (policy_parse((const char *)data, size, &p, err, sizeof(err)) != 0)
		return 0;
	/* whatever parses must render to a body that parses to the same meaning */
	struct config_domain d;
	domain_init(&d);
	d.mode = p.mode;
	d.max_age = p.max_age;
	for (size_t i = 0; i < p.n_mx; i++)
		strlist_push(&d.mx, xstrdup(p.mx[i]));
	if (d.max_age > 0) {
		size_t len;
		char *body = policy_render(&d, &len);
		if (policy_parse(body, len, &q, err, sizeof(err)) != 0)
			__builtin_trap();
		if (q.mode != p.mode || q.max_age != p.max_age || q.n_mx != p.n_mx)
			__builtin_trap();
		for (size_t i = 0; i < q.n_mx; i++)
			if (strcmp(q.mx[i], p.mx[i]) != 0)
				__builtin_trap();
		policy_clear(&q);
		free(body);
	}
	domain_clear(&d);
	if (p.n_mx > 0)
		(void)policy_mx_match(&p, "mx1.example.com");
	policy_clear(&p);
	return 0;
}
