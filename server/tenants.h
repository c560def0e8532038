/* SPDX-License-Identifier: MIT */
/* tenants: the files of domains_dir as the serving snapshot holds them, and the rule that decides which version of each is in force. */
#ifndef MTASTSD_TENANTS_H
#define MTASTSD_TENANTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "diag.h"
#include "domain.h"
#include "site.h"

/* Which version of a file was read: a new write (or a ConfigMap swap) changes at least one of these. */
struct tenant_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

bool tenant_stamp_equal(const struct tenant_stamp *a, const struct tenant_stamp *b);

/*
 * One valid version of one tenant file: its domains, immutable once built
 * and shared by reference between snapshots (references may be dropped from
 * any thread). Each domain's `file` is PATH.
 */
struct tenant_file {
	atomic_uint refs;
	char *path;			/* domains_dir/NAME, as diagnostics name it */
	struct config_domain *domains;	/* the file's order */
	struct site *sites;		/* one per domain, in the same order, made when the file is read (shared) */
	size_t n_domains;
};

/* A version with one reference (the caller's) of PATH (copied) holding DOMAINS[0..N) (ownership passes; file set). */
struct tenant_file *tenant_file_new(const char *path, struct config_domain *domains, size_t n);

/* How a site's prebuilt response is released when its file is freed (set once, before any file is made). */
void tenants_set_release(void (*release)(void *prebuilt));
struct tenant_file *tenant_file_ref(struct tenant_file *f);
/* Drop a reference; the last one frees the domains. Accepts NULL. */
void tenant_file_unref(struct tenant_file *f);

/* One file of domains_dir after a merge. */
struct tenant_slot {
	char *name;			/* the file's name in domains_dir */
	char *path;			/* domains_dir/NAME */
	struct tenant_stamp seen;	/* the version on disk that was read last */
	struct tenant_file *in_force;	/* whose domains are served; NULL: none of them */
	struct tenant_file *pending;	/* valid, refused for a domain defined elsewhere: tried again at every merge */
	bool refused;			/* the version on disk is not the one in force */
	struct diag_list why;		/* why it is refused (empty otherwise), FILE:LINE:COL each */
};

/* Every file of domains_dir, in name order. Immutable once merged; owned by one snapshot. */
struct tenants {
	struct tenant_slot *v;
	size_t n;
	size_t n_refused;
};

/* What a reload found for one file of the folder. */
enum tenant_found {
	TENANT_UNCHANGED,		/* the same version as the slot of that name: not read again */
	TENANT_VALID,			/* read, and valid on its own: FILE holds it */
	TENANT_INVALID			/* read, with errors (syntax, schema): ERRORS holds them */
};

struct tenant_input {
	const char *name;		/* borrowed */
	const char *path;		/* domains_dir/NAME, borrowed */
	struct tenant_stamp stamp;
	enum tenant_found found;
	struct tenant_file *file;	/* TENANT_VALID: the caller's reference passes to the merge */
	struct diag_list errors;	/* TENANT_INVALID: moved into the merge's slot (left empty) */
};

/*
 * The domain that serves NAME now (from the serving snapshot; its `file`
 * says which file defines it), or NULL: what decides a domain defined twice.
 */
typedef const struct config_domain *(*tenants_serving_fn)(const void *arg, const char *name);

/*
 * The new tenant set from PREV (the serving one, or NULL at start-up) and
 * what the folder holds now, IN[0..N) in name order (files no longer
 * listed are gone: their domains are no longer in force). MAIN is the main
 * file's configuration; MAIN_READ says it was read again for this merge.
 *
 * The rule: every file is read and judged alone; an invalid file keeps its
 * last good version in force. A valid version is refused when one of its
 * domains is defined by another file that keeps it: the definition serving
 * now (SERVING) wins, then the main file's, then the first file in name
 * order. Refusing a file can free a name for another file, so the rule is
 * applied until nothing changes. A refused file's reasons name both places.
 *
 * The main file is never refused alone: when MAIN_READ and one of its
 * domains is served from a tenant file that keeps it, an error naming both
 * places is added to MAIN_DL and -1 is returned (the caller refuses the
 * whole reload). Returns 0 with *OUT (owned by the caller; tenants_free).
 * Takes over every IN[].file and IN[].errors whatever it returns.
 */
int tenants_merge(const struct tenants *prev, const struct config *main, bool main_read, struct tenant_input *in,
    size_t n, tenants_serving_fn serving, const void *serving_arg, struct tenants **out, struct diag_list *main_dl);

/* The slot named NAME in T, or NULL. */
const struct tenant_slot *tenants_find(const struct tenants *t, const char *name);

void tenants_free(struct tenants *t);

#endif
