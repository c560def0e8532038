/* SPDX-License-Identifier: MIT */
/* site: one served host, mta-sts.<domain>, with its policy body rendered once and the HTTP layer's response. */
#include "site.h"
#include "policy.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void
site_render(struct site *s, const struct config_domain *d, bool shared)
{
	memset(s, 0, sizeof(*s));
	s->domain = d;
	s->shared = shared;
	s->host = xstrcat("mta-sts.", d->name, NULL);
	s->body = policy_render(d, &s->body_len);
}

void
site_render_in(struct site *s, const struct config_domain *d, struct arena *arena, struct buf *scratch)
{
	memset(s, 0, sizeof(*s));
	s->domain = d;
	s->in_arena = true;
	scratch->len = 0;
	buf_puts(scratch, "mta-sts.");
	buf_puts(scratch, d->name);
	s->host = arena_memdup(arena, scratch->data, scratch->len);
	scratch->len = 0;
	policy_render_buf(d, scratch);
	s->body = arena_memdup(arena, scratch->data, scratch->len);
	s->body_len = scratch->len;
}

void
site_clear(struct site *s)
{
	if (!s->in_arena) {
		free(s->host);
		free(s->body);
	}
	memset(s, 0, sizeof(*s));
}
