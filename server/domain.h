/* SPDX-License-Identifier: MIT */
/* domain: one domain's policy inputs as configured (or retiring), with the one way to build and to free it. */
#ifndef MTASTSD_DOMAIN_H
#define MTASTSD_DOMAIN_H

#include "policy.h"
#include "strlist.h"

/*
 * A domain as the config (or the state, for a retiring one) gives it. Built
 * from domain_init by setting fields; everything it points to is its own or
 * a reference it holds (the lists are shared with the defaults it inherits
 * them from, by reference), and domain_clear frees it, whoever built it.
 */
struct config_domain {
	char *name;			/* normalised: lower-case A-labels, no trailing dot */
	enum policy_mode mode;
	unsigned long max_age;
	struct strlist *mx;		/* normalised patterns, config order, duplicates dropped; NULL: none */
	struct strlist *tlsrpt;		/* rua URIs, config order, duplicates dropped; NULL: none */
	char *zone;			/* dns.update: the zone holding its records, NULL: found by SOA query */
	bool acme;			/* may get an ACME certificate for mta-sts.<name> (with an acme
					 * section); `acme: false` brings its own. true from domain_init */
	const char *file;		/* the file defining it (borrowed from its owner: the config's or the
					 * tenant file's path); NULL when not from a file */
	int line, col;			/* position of the domain's name (0 when not from a file) */
};

/* D with no name, mode none, max_age 0, no lists, no zone and acme true: what every domain is built from. */
void domain_init(struct config_domain *d);

/* Free the name and zone of D and drop its references to the lists; D is left as domain_init leaves it. */
void domain_clear(struct config_domain *d);

#endif
