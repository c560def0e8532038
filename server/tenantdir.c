/* SPDX-License-Identifier: MIT */
/* tenantdir: reads the folder domains_dir into a tenant set: lists it, reads each file whose version changed, merges. */
#include "tenantdir.h"
#include "pool.h"
#include "dirlist.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool
tenantdir_is_tenant_file(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

static void
stamp_of(const struct stat *st, struct tenant_stamp *s)
{
	memset(s, 0, sizeof(*s));
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtim = st->st_mtim;
	s->ctim = st->st_ctim;
}

/* Read IN's file (listed, its version changed) into IN: VALID with its domains, or INVALID with why. */
static void
read_one(const struct config *cfg, struct tenant_input *in)
{
	struct config_domain *v;
	struct stat st;
	size_t n;

	v = config_load_tenant(cfg, in->path, &in->errors, &n, &st);
	if (v == NULL) {
		in->found = TENANT_INVALID;
		return;
	}
	in->found = TENANT_VALID;
	in->file = tenant_file_new(in->path, v, n);
	stamp_of(&st, &in->stamp);
}

/* The files a load reads: each alone (its own YAML tree, domains and diagnostics), so on several threads. */
struct reads {
	const struct config *cfg;
	struct tenant_input *in;
	size_t *todo;		/* indexes into IN */
};

/* pool_fn: read the I-th file of the struct reads CTX. */
static void
read_todo(void *ctx, size_t i)
{
	struct reads *r = ctx;

	read_one(r->cfg, &r->in[r->todo[i]]);
}

int
tenantdir_load(const struct config *cfg, const struct tenants *prev, bool main_read, tenants_serving_fn serving,
    const void *arg, struct tenants **out, size_t *n_read, struct diag_list *dl)
{
	struct dirlist *l;
	struct tenant_input *in;
	struct reads r;
	char **paths;
	size_t n = 0, read = 0;
	bool reused;
	DIR *d;
	int rc;

	*out = NULL;
	if (n_read != NULL)
		*n_read = 0;
	if (cfg->domains_dir == NULL)
		return 0;
	if ((d = opendir(cfg->domains_dir)) == NULL) {
		diag_add(dl, DIAG_ERROR, 0, 0, "cannot read domains_dir '%s': %s", cfg->domains_dir, strerror(errno));
		return -1;
	}
	l = dirlist_read(d, cfg->domains_dir, NULL, tenantdir_is_tenant_file, &reused);
	closedir(d);
	in = xcalloc(l->n + 1, sizeof(*in));
	paths = xcalloc(l->n + 1, sizeof(*paths));
	r.cfg = cfg;
	r.in = in;
	r.todo = xcalloc(l->n + 1, sizeof(*r.todo));
	for (size_t i = 0; i < l->n; i++) {
		const char *name = l->v[i].name;
		struct tenant_input *t = &in[n];
		const struct tenant_slot *p;
		struct stat st;

		if (!tenantdir_is_tenant_file(name))
			continue;
		paths[n] = path_join(cfg->domains_dir, name);
		t->name = name;
		t->path = paths[n];
		diag_init(&t->errors, t->path);
		/* stat follows the links of a ConfigMap mount: a swap of `..data` is a new version */
		if (stat(t->path, &st) < 0) {
			if (errno == ENOENT) {
				/* gone since the listing, or a dangling link: not a tenant file now */
				diag_clear(&t->errors);
				free(paths[n]);
				paths[n] = NULL;
				continue;
			}
			diag_add(&t->errors, DIAG_ERROR, 0, 0, "cannot read the tenant file: %s", strerror(errno));
			t->found = TENANT_INVALID;
		} else if (!S_ISREG(st.st_mode)) {
			if (S_ISDIR(st.st_mode)) {
				diag_clear(&t->errors);
				free(paths[n]);
				paths[n] = NULL;
				continue;
			}
			diag_add(&t->errors, DIAG_ERROR, 0, 0, "the tenant file is not a regular file");
			t->found = TENANT_INVALID;
		} else {
			stamp_of(&st, &t->stamp);
			p = prev ? tenants_find(prev, name) : NULL;
			if (p != NULL && tenant_stamp_equal(&p->seen, &t->stamp))
				t->found = TENANT_UNCHANGED;
			else
				r.todo[read++] = n;
		}
		n++;
	}
	/* a full reload of a million domains in 1,000 files: the parsing is spread over the CPUs */
	pool_run_each(read, pool_threads(4), read_todo, &r);
	free(r.todo);
	rc = tenants_merge(prev, cfg, main_read, in, n, serving, arg, out, dl);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(in);
	dirlist_free(l);
	if (n_read != NULL)
		*n_read = read;
	return rc;
}
