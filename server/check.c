/* SPDX-License-Identifier: MIT */
/* check: the parts of `check` beyond the config file itself (identity, layout, tenants, DNS, certificates). */
#include "acmestatus.h"
#include "certcheck.h"
#include "certstore.h"
#include "commands.h"
#include "checkdns.h"
#include "dnspublish.h"
#include "ids.h"
#include "snapshot.h"
#include "tenantdir.h"
#include "util.h"
#include "vec.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int
check_identity(const struct config *cfg, struct diag_list *dl)
{
	size_t errors = dl->errors;

	errno = 0;
	if (cfg->user != NULL && getpwnam(cfg->user) == NULL)
		diag_add(dl, DIAG_ERROR, cfg->user_line, cfg->user_col, "user '%s' does not exist%s%s", cfg->user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
	errno = 0;
	if (cfg->group != NULL && getgrnam(cfg->group) == NULL)
		diag_add(dl, DIAG_ERROR, cfg->group_line, cfg->group_col, "group '%s' does not exist%s%s",
		    cfg->group, errno ? ": " : "", errno ? strerror(errno) : "");
	return dl->errors == errors ? 0 : -1;
}

struct layout_walk {
	char *targets[2];	/* canonical folders of dns.state and dns.zone (NULL: none) */
	bool found[2];
	struct { dev_t dev; ino_t ino; } *seen;	/* each folder walked once, links or not */
	size_t n_seen, cap_seen;
	struct diag_list *dl;
	const char *certs;
};

/*
 * Walk the folders below DIR as the reload watcher does (linked folders
 * included, 8 levels), warning when one of them is the state's or the
 * zone's folder: the watcher then sees mtastsd's own writes (it ignores
 * them by name, but the layout is a mistake).
 */
static void
layout_walk(struct layout_walk *lw, const char *dir, int depth)
{
	struct stat st;
	char *real;
	DIR *d;
	struct dirent *de;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	for (size_t i = 0; i < lw->n_seen; i++)
		if (lw->seen[i].dev == st.st_dev && lw->seen[i].ino == st.st_ino)
			return;
	VEC_RESERVE(lw->seen, lw->cap_seen, lw->n_seen + 1, 16);
	lw->seen[lw->n_seen].dev = st.st_dev;
	lw->seen[lw->n_seen++].ino = st.st_ino;
	if ((real = realpath(dir, NULL)) != NULL) {
		for (int i = 0; i < 2; i++)
			if (lw->targets[i] && !lw->found[i] && strcmp(real, lw->targets[i]) == 0) {
				lw->found[i] = true;
				diag_add(lw->dl, DIAG_WARNING, 0, 0,
				    "tls.certs '%s' reaches the folder of %s through '%s': keep the files mtastsd "
				    "writes outside the certificate folder", lw->certs, i == 0 ? "dns.state" : "dns.zone", dir);
			}
		free(real);
	}
	if (depth >= 8 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *path;

		if (de->d_name[0] == '.' || de->d_type == DT_REG)
			continue;
		path = xasprintf("%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
		layout_walk(lw, path, depth + 1);
		free(path);
	}
	closedir(d);
}

static void
check_layout(const struct config *cfg, struct diag_list *dl)
{
	struct layout_walk lw = { { NULL, NULL }, { false, false }, NULL, 0, 0, dl, cfg->tls_certs };
	char *dirs[2] = { path_dirname(cfg->dns_state), cfg->dns_zone ? path_dirname(cfg->dns_zone) : NULL };

	for (int i = 0; i < 2; i++)
		lw.targets[i] = dirs[i] ? realpath(dirs[i], NULL) : NULL;
	if (lw.targets[1] && lw.targets[0] && strcmp(lw.targets[0], lw.targets[1]) == 0)
		lw.found[1] = true;	/* one folder, one warning */
	if (lw.targets[0] || lw.targets[1])
		layout_walk(&lw, cfg->tls_certs, 0);
	for (int i = 0; i < 2; i++) {
		free(lw.targets[i]);
		free(dirs[i]);
	}
	free(lw.seen);
}

/* Each reason why a file of T is refused, in DL as DIAG_UNSERVED: serve runs, without that file's domains. */
static void
add_refused(const struct tenants *t, struct diag_list *dl)
{
	for (size_t i = 0; t != NULL && i < t->n; i++) {
		const struct diag_list *why = &t->v[i].why;

		if (!t->v[i].refused)
			continue;
		for (size_t k = 0; k < why->n; k++)
			diag_add_in(dl, why->items[k].file ? why->items[k].file : why->file, DIAG_UNSERVED,
			    why->items[k].line, why->items[k].col, "%s", why->items[k].msg);
	}
}

/*
 * The ACME state of SNAP's hosts into AS, as serve's orderer decides it. A
 * state file that cannot be read stops that orderer, and with order: true
 * serve with it: its errors are errors then, warnings for an instance
 * that only answers challenges.
 */
static void
check_acme(const struct snapshot *snap, time_t now, struct acmestatus *as, struct diag_list *dl)
{
	const struct config_acme *a = snap->cfg->acme;
	struct diag_list sdl;
	char *state;

	if (a == NULL) {
		memset(as, 0, sizeof(*as));
		return;
	}
	state = xstrcat(a->storage, "/state", NULL);
	diag_init(&sdl, state);
	free(state);
	if (acmestatus_load(as, snap, (int64_t)now, acmestatus_gate_dns, NULL, &sdl) < 0) {
		for (size_t i = 0; i < sdl.n; i++)
			diag_add_in(dl, sdl.items[i].file ? sdl.items[i].file : sdl.file, a->order ? DIAG_ERROR :
			    DIAG_WARNING, sdl.items[i].line, sdl.items[i].col, "%s", sdl.items[i].msg);
		diag_add(dl, a->order ? DIAG_ERROR : DIAG_WARNING, a->line, a->col, "the ACME state in '%s' cannot be "
		    "read: %s (fix or remove it)", a->storage, a->order ? "serve does not start with it" :
		    "the orderer sharing it does not start with it");
	}
	diag_clear(&sdl);
}

void
check_extra(struct config *cfg, struct diag_list *dl)
{
	struct snapshot_parts p;

	check_identity(cfg, dl);
	check_layout(cfg, dl);
	/* the tenant files as serve starts with them: each judged alone, a refused one left out */
	if (cmd_load_parts(cfg, false, &p, dl) < 0)
		return;
	add_refused(p.tenants, dl);
	checkdns_run(p.cfg, &p.domains, dl);
	/* exactly what serve loads and serves: the same store, the same sites (retiring ones too) */
	if (p.cfg->n_https > 0 && p.cfg->tls_certs != NULL) {
		/* serve's sources: tls.certs, then ACME's issued pairs below it */
		char *acme = p.cfg->acme ? xstrcat(p.cfg->acme->storage, "/certs", NULL) : NULL;

		p.certs = certstore_reload_acme(p.cfg->tls_certs, acme, NULL, dl);
		free(acme);
		certstore_check_chains(p.certs, dl);
	}
	if (p.certs == NULL && p.cfg->n_https > 0) {
		/* the folder cannot be read (an error already): serve refuses to start, nothing more to judge */
		snapshot_unref(snapshot_from(&p));
		return;
	}
	dnspublish_retiring(p.cfg, &p.domains, &p.retiring, &p.n_retiring);
	{
		struct snapshot *snap = snapshot_from(&p);
		time_t now = time(NULL);
		struct acmestatus as;

		check_acme(snap, now, &as, dl);
		certcheck_sites(snap, now, &as, dl);
		acmestatus_clear(&as);
		snapshot_unref(snap);
	}
}
