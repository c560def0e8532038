/* SPDX-License-Identifier: MIT */
/* tenantdir: reads the folder domains_dir into a tenant set: lists it, reads each file whose version changed, merges. */
#ifndef MTASTSD_TENANTDIR_H
#define MTASTSD_TENANTDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "diag.h"
#include "tenants.h"

/* Whether NAME in domains_dir is a tenant file: `*.yaml`, not starting with a dot. */
bool tenantdir_is_tenant_file(const char *name);

/*
 * The tenant set of CFG's domains_dir (*OUT NULL when CFG has none): every
 * tenant file listed in name order, following symlinks (a ConfigMap's
 * `..data`); a file whose version on disk is the one PREV's slot of that
 * name read (the serving set; NULL: read everything) is not read again.
 * Each file read is judged alone (config_load_tenant); tenants_merge with
 * MAIN_READ, SERVING and ARG then decides what is in force. *N_READ (may be
 * NULL) counts the files read. Returns 0 with *OUT (owned by the caller),
 * or -1 with the problem in DL (the folder cannot be listed, or the main
 * file defines a domain a tenant file serves).
 */
int tenantdir_load(const struct config *cfg, const struct tenants *prev, bool main_read, tenants_serving_fn serving,
    const void *arg, struct tenants **out, size_t *n_read, struct diag_list *dl);

#endif
