/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: request routing. The input is split at NUL bytes into SNI, Host,
 * method and request target; an empty SNI or Host field stands for "absent"
 * (an HTTP/1.0 request then, which may omit Host).
 */
#include "config.h"
#include "diag.h"
#include "policy.h"
#include "route.h"
#include "snapshot.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yaml[] =
    "domains:\n"
    "  - {name: example.com, mode: enforce, mx: [mx1.example.com, '*.mail.example.net']}\n"
    "  - {name: example.org, mode: testing, mx: [mail.example.org]}\n"
    "  - {name: b\xc3\xbc" "cher.example, mode: none}\n"
    "  - {name: sub.example.com, mx: [mx.sub.example.com]}\n";

static struct snapshot *snap;

/* The path of TARGET (origin- or absolute-form) fully percent-decoded, up to its query. */
static void
decoded_path(const char *t, char *out, size_t len)
{
	size_t n = 0;
	const char *p = strstr(t, "://");

	if (t[0] != '/' && p != NULL)
		t = p + 3 + strcspn(p + 3, "/?#");
	for (; *t != '\0' && *t != '?' && n + 1 < len; t++) {
		unsigned v;

		if (*t == '%' && sscanf(t + 1, "%2x", &v) == 1) {
			out[n++] = v ? (char)v : '\x01';
			t += 2;
		} else {
			out[n++] = *t;
		}
	}
	out[n] = '\0';
}

static void
init(void)
{
	struct diag_list dl;
	struct config *cfg;

	diag_init(&dl, "fuzz.yaml");
	cfg = config_load_mem("fuzz.yaml", "/nonexistent", yaml, sizeof(yaml) - 1, &dl);
	if (cfg == NULL)
		__builtin_trap();
	{
		struct snapshot_parts p = { .cfg = cfg };
		domset_build(&p.domains, cfg, NULL, NULL);
		snap = snapshot_from(&p);
	}
	diag_clear(&dl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *field[4] = { "", "", "GET", "/" };
	size_t n = 0, start = 0;
	struct route_result rr;
	struct route_request req;
	char path[64];

	if (snap == NULL)
		init();
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i <= size && n < 4; i++) {
		if (i == size || buf[i] == '\0') {
			field[n++] = buf + start;
			start = i + 1;
		}
	}
	req = (struct route_request){ field[0][0] ? field[0] : NULL, field[1][0] ? field[1] : NULL,
		field[1][0] != '\0', field[2], field[3], field[1][0] == '\0' };
	rr = route(snap, &req);
	decoded_path(field[3], path, sizeof(path));
	switch (rr.status) {
	case 200:
		/* a health check only on plain HTTP, for its path */
		if (rr.health) {
			if (req.sni != NULL || rr.site != NULL || strcmp(path, ROUTE_HEALTH_PATH) != 0)
				__builtin_trap();
			break;
		}
		/* a policy is only ever the rendered body of a configured domain, for GET or HEAD */
		if (rr.site == NULL || rr.body_len != rr.site->body_len ||
		    memcmp(rr.body, rr.site->body, rr.body_len) != 0 ||
		    strcmp(path, ROUTE_POLICY_PATH) != 0)
			__builtin_trap();
		{
			size_t len;
			char *body = policy_render(rr.site->domain, &len);
			if (len != rr.body_len || memcmp(body, rr.body, len) != 0)
				__builtin_trap();
			free(body);
		}
		if (rr.send_body != (strcmp(field[2], "GET") == 0))
			__builtin_trap();
		break;
	case 400:
	case 404:
	case 405:
	case 421:
		if (rr.site != NULL && rr.status != 405)
			__builtin_trap();
		break;
	default:
		__builtin_trap();	/* never a redirect, never anything else */
	}
	free(buf);
	return 0;
}
