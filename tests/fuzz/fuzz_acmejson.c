/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the readers of the CA's answers (server/acmejson.c). Every
 * input goes to all six parsers and to the RFC 3339 reader. A refusal must
 * say why in printable ASCII; an acceptance must keep the promises of
 * acmejson.h (URLs http(s), the terms of service any URI, tokens base64url,
 * statuses known, windows that end after they start); an accepted UTC time
 * must print back as it came.
 */
#include "acmejson.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_err(const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen);

	if (n == 0 || n == errlen)
		__builtin_trap();	/* every refusal says why, within the buffer */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] >= 0x7f)
			__builtin_trap();	/* and never quotes a raw byte back */
}

static void
check_url(const char *u, bool optional)
{
	if (u == NULL) {
		if (!optional)
			__builtin_trap();
		return;
	}
	if (strncasecmp(u, "https://", 8) != 0 && strncasecmp(u, "http://", 7) != 0)
		__builtin_trap();
	for (const char *c = u; *c; c++)
		if (*c <= ' ' || *c >= 0x7f || *c == '"' || *c == '<' || *c == '>' || *c == '\\')
			__builtin_trap();
}

/* meta.termsOfService: any URI, a scheme and ':' then printable ASCII without spaces */
static void
check_uri(const char *u)
{
	size_t i = 0;

	if (u == NULL)
		return;
	if (strlen(u) > ACMEJSON_MAX_URI)
		__builtin_trap();
	while ((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') ||
	    (i > 0 && ((u[i] >= '0' && u[i] <= '9') || u[i] == '+' || u[i] == '-' || u[i] == '.')))
		i++;
	if (i == 0 || u[i] != ':')
		__builtin_trap();
	for (const char *c = u + i + 1; *c; c++)
		if (*c <= ' ' || *c >= 0x7f)
			__builtin_trap();
}

static void
check_word(const char *s)
{
	if (s == NULL || *s == '\0')
		__builtin_trap();
	for (const char *c = s; *c; c++)
		if (*c <= ' ' || *c >= 0x7f)
			__builtin_trap();
}

static void
check_problem(const struct acmejson_problem *p)
{
	if (p == NULL)
		return;
	if (p->type == NULL || p->name == NULL || (p->status != 0 && (p->status < 100 || p->status > 599)))
		__builtin_trap();
	if (*p->name && (p->name < p->type || strncmp(p->type, ACMEJSON_ERROR_PREFIX, strlen(ACMEJSON_ERROR_PREFIX)) != 0))
		__builtin_trap();
	for (size_t i = 0; i < p->nsubproblems; i++) {
		const struct acmejson_subproblem *s = &p->subproblems[i];
		if (s->type == NULL || s->name == NULL || (s->identifier.type == NULL) != (s->identifier.value == NULL))
			__builtin_trap();
		if (s->identifier.type) {
			check_word(s->identifier.type);
			check_word(s->identifier.value);
		}
	}
}

/* an accepted time without fraction or offset prints back as it came */
static void
check_time(const char *s, size_t n)
{
	char back[64], up[21];
	struct tm tm;
	time_t t;

	if (acmejson_time_parse(s, n, &t) < 0)
		return;
	if (n < 20)
		__builtin_trap();
	if (n != 20 || s[17] == '6' || gmtime_r(&t, &tm) == NULL)
		return;
	snprintf(back, sizeof(back), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(up, s, 20);
	up[20] = '\0';
	if (up[10] == 't')
		up[10] = 'T';
	if (up[19] == 'z')
		up[19] = 'Z';
	if (strcmp(back, up) != 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	char *m;

	if (size > 65536)
		return 0;
	/* an exact-size copy, so a read past the end is caught by ASan */
	m = malloc(size ? size : 1);
	if (m == NULL)
		return 0;
	memcpy(m, data, size);

	check_time(m, size);

	struct acmejson_directory *d = acmejson_directory_parse(m, size, err, sizeof(err));
	if (d == NULL)
		check_err(err, sizeof(err));
	else {
		check_url(d->new_nonce, false);
		check_url(d->new_account, false);
		check_url(d->new_order, false);
		check_url(d->revoke_cert, true);
		check_url(d->key_change, true);
		check_url(d->renewal_info, true);
		check_uri(d->terms_of_service);
		for (size_t i = 0; i < d->ncaa_identities; i++)
			check_word(d->caa_identities[i]);
		acmejson_directory_free(d);
	}

	struct acmejson_problem *p = acmejson_problem_parse(m, size, err, sizeof(err));
	if (p == NULL)
		check_err(err, sizeof(err));
	check_problem(p);
	acmejson_problem_free(p);

	struct acmejson_account *a = acmejson_account_parse(m, size, err, sizeof(err));
	if (a == NULL)
		check_err(err, sizeof(err));
	else {
		if (a->status > ACMEJSON_ACCOUNT_REVOKED)
			__builtin_trap();
		check_url(a->orders, true);
		acmejson_account_free(a);
	}

	struct acmejson_order *o = acmejson_order_parse(m, size, err, sizeof(err));
	if (o == NULL)
		check_err(err, sizeof(err));
	else {
		if (o->status > ACMEJSON_ORDER_INVALID || o->nidentifiers == 0 || o->nidentifiers > ACMEJSON_MAX_ITEMS ||
		    o->nauthorizations > ACMEJSON_MAX_ITEMS)
			__builtin_trap();
		for (size_t i = 0; i < o->nidentifiers; i++) {
			check_word(o->identifiers[i].type);
			check_word(o->identifiers[i].value);
		}
		for (size_t i = 0; i < o->nauthorizations; i++)
			check_url(o->authorizations[i], false);
		check_url(o->finalize, false);
		check_url(o->certificate, true);
		check_problem(o->error);
		acmejson_order_free(o);
	}

	struct acmejson_authz *z = acmejson_authz_parse(m, size, err, sizeof(err));
	if (z == NULL)
		check_err(err, sizeof(err));
	else {
		if (z->status > ACMEJSON_AUTHZ_REVOKED)
			__builtin_trap();
		check_word(z->identifier.type);
		check_word(z->identifier.value);
		for (size_t i = 0; i < z->nchallenges; i++) {
			const struct acmejson_challenge *c = &z->challenges[i];
			check_word(c->type);
			check_url(c->url, false);
			if (c->status > ACMEJSON_CHALL_INVALID)
				__builtin_trap();
			if ((c->kind == ACMEJSON_CHALL_OTHER) != (c->token == NULL))
				__builtin_trap();	/* a known type has its token, another has none */
			if (c->token) {
				size_t n = strlen(c->token);
				if (n == 0 || n > ACMEJSON_MAX_TOKEN || strspn(c->token,
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
					__builtin_trap();
			}
			check_problem(c->error);
		}
		acmejson_authz_free(z);
	}

	struct acmejson_renewal *r = acmejson_renewal_parse(m, size, err, sizeof(err));
	if (r == NULL)
		check_err(err, sizeof(err));
	else {
		if (r->end <= r->start)
			__builtin_trap();
		check_url(r->explanation_url, true);
		acmejson_renewal_free(r);
	}

	free(m);
	return 0;
}
