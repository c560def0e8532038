/* SPDX-License-Identifier: MIT */
/* Unit tests for tenantdir and domset: domains_dir read from a real folder (names kept and ignored, a ConfigMap's ..data links, files read again only when changed, errors with their positions) and the domain set a snapshot serves. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "domset.h"
#include "ids.h"
#include "snapshot.h"
#include "tenantdir.h"
#include "util.h"

static char dir[64];
static char *tdir;
static struct config *cfg;
static struct diag_list dl;

static void
put(const char *name, const char *text)
{
	char *path = path_join(tdir, name), *tmp = xasprintf("%s/.tmp", tdir);
	FILE *f = fopen(tmp, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, path), 0);
	free(tmp);
	free(path);
}

static void
load_main(const char *extra)
{
	char *yaml = xasprintf("listen:\n  http: [\"127.0.0.1:8080\"]\ndefaults:\n  mode: testing\n  mx: [mx.example.net]\n"
	    "domains_dir: tenants.d\n%s", extra);
	char *path = path_join(dir, "main.yaml");

	config_free(cfg);
	diag_clear(&dl);
	diag_init(&dl, path);
	cfg = config_load_mem(path, dir, yaml, strlen(yaml), &dl);
	cr_assert_not_null(cfg, "main config: %zu errors", dl.errors);
	free(path);
	free(yaml);
}

static void
setup(void)
{
	strcpy(dir, "/tmp/test_tenantdir.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	tdir = path_join(dir, "tenants.d");
	cr_assert_eq(mkdir(tdir, 0755), 0);
	load_main("");
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(tdir);
	config_free(cfg);
	cfg = NULL;
	diag_clear(&dl);
}

TestSuite(tenantdir, .init = setup, .fini = teardown);

/* The tenant set of the folder now, PREV's unchanged files not read again; *N_READ the files read. */
static struct tenants *
load(const struct tenants *prev, size_t *n_read)
{
	struct tenants *t = NULL;

	cr_assert_eq(tenantdir_load(cfg, prev, true, NULL, NULL, &t, n_read, &dl), 0, "%zu errors", dl.errors);
	cr_assert_not_null(t);
	return t;
}

static const struct tenant_slot *
slot(const struct tenants *t, const char *name)
{
	const struct tenant_slot *s = tenants_find(t, name);

	cr_assert_not_null(s, "no slot %s", name);
	return s;
}

Test(tenantdir, names_kept_and_ignored)
{
	size_t n_read;
	struct tenants *t;

	put("b.yaml", "- b.example\n");
	put("a.yaml", "- name: a.example\n  mode: enforce\n");
	put(".hidden.yaml", "- hidden.example\n");
	put("notes.txt", "- txt.example\n");
	put("c.yml", "- yml.example\n");
	put("empty.yaml", "");
	cr_assert_eq(mkdir(strcat(strcpy((char[128]){0}, tdir), "/sub.yaml"), 0755), 0);
	t = load(NULL, &n_read);
	cr_expect_eq(t->n, 3, "a.yaml, b.yaml, empty.yaml: %zu", t->n);
	cr_expect_eq(n_read, 3);
	cr_expect_str_eq(t->v[0].name, "a.yaml");
	cr_expect_str_eq(t->v[1].name, "b.yaml");
	cr_expect_str_eq(t->v[2].name, "empty.yaml");
	cr_expect_eq(t->n_refused, 0);
	cr_expect_eq(slot(t, "empty.yaml")->in_force->n_domains, 0, "an empty file is a tenant without domains");
	cr_expect_eq(slot(t, "a.yaml")->in_force->domains[0].mode, POLICY_MODE_ENFORCE);
	cr_expect_eq(slot(t, "b.yaml")->in_force->domains[0].mode, POLICY_MODE_TESTING, "the main file's defaults");
	cr_expect_str_eq(slot(t, "b.yaml")->in_force->domains[0].mx->v[0], "mx.example.net");
	cr_expect(strstr(slot(t, "b.yaml")->in_force->domains[0].file, "tenants.d/b.yaml") != NULL);
	tenants_free(t);
}

Test(tenantdir, unchanged_files_are_not_read_again)
{
	size_t n_read;
	struct tenants *t1, *t2, *t3;

	put("a.yaml", "- a.example\n");
	put("b.yaml", "- b.example\n");
	t1 = load(NULL, &n_read);
	cr_expect_eq(n_read, 2);
	t2 = load(t1, &n_read);
	cr_expect_eq(n_read, 0);
	cr_expect_eq(slot(t2, "a.yaml")->in_force, slot(t1, "a.yaml")->in_force, "the same version, shared");
	put("b.yaml", "- b.example\n- b2.example\n");
	t3 = load(t2, &n_read);
	cr_expect_eq(n_read, 1, "only the rewritten file");
	cr_expect_eq(slot(t3, "a.yaml")->in_force, slot(t1, "a.yaml")->in_force);
	cr_expect_eq(slot(t3, "b.yaml")->in_force->n_domains, 2);
	tenants_free(t1);
	tenants_free(t2);
	tenants_free(t3);
}

Test(tenantdir, a_broken_file_keeps_its_last_good_version_and_says_where)
{
	size_t n_read;
	struct tenants *t1, *t2, *t3;
	const struct tenant_slot *s;
	char line[512];
	bool found = false;

	put("a.yaml", "- a.example\n");
	put("b.yaml", "- b.example\n");
	t1 = load(NULL, &n_read);
	put("b.yaml", "- b.example\n- name: c.example\n  mode: sometimes\n");
	t2 = load(t1, &n_read);
	s = slot(t2, "b.yaml");
	cr_expect(s->refused);
	cr_expect_eq(t2->n_refused, 1);
	cr_expect_eq(s->in_force, slot(t1, "b.yaml")->in_force, "the last good version stays in force");
	for (size_t i = 0; i < s->why.n; i++) {
		diag_format(&s->why, i, line, sizeof(line));
		if (strstr(line, "tenants.d/b.yaml:3:9: 'mode' must be enforce, testing or none") != NULL)
			found = true;
	}
	cr_expect(found, "the error with its FILE:LINE:COL");
	cr_expect(!slot(t2, "a.yaml")->refused, "the other file is not touched");
	/* repaired: in force again */
	put("b.yaml", "- b.example\n- name: c.example\n  mode: none\n");
	t3 = load(t2, &n_read);
	cr_expect(!slot(t3, "b.yaml")->refused);
	cr_expect_eq(slot(t3, "b.yaml")->in_force->n_domains, 2);
	tenants_free(t1);
	tenants_free(t2);
	tenants_free(t3);
}

Test(tenantdir, at_start_up_a_broken_file_serves_nothing_and_the_others_serve)
{
	struct tenants *t;
	struct domset ds;

	put("a.yaml", "- a.example\n");
	put("b.yaml", "- b.example\n  oops: [\n");
	put("c.yaml", "a: mapping\n");
	t = load(NULL, NULL);
	cr_expect_eq(t->n_refused, 2);
	cr_expect_null(slot(t, "b.yaml")->in_force);
	cr_expect_null(slot(t, "c.yaml")->in_force);
	{
		const struct diag_list *why = &slot(t, "c.yaml")->why;
		bool found = false;
		for (size_t i = 0; i < why->n; i++)
			found |= why->items[i].line == 1 && why->items[i].col == 1 &&
			    strstr(why->items[i].msg, "a tenant file must be a list of domain entries") != NULL;
		cr_expect(found, "a mapping is not a list: said where it starts");
	}
	domset_build(&ds, cfg, t, NULL);
	cr_expect_eq(ds.n, 1);
	cr_expect_not_null(domset_find(&ds, "a.example"));
	cr_expect_null(domset_find(&ds, "b.example"));
	domset_clear(&ds);
	tenants_free(t);
}

Test(tenantdir, a_duplicate_keeps_the_main_file_and_names_both)
{
	struct tenants *t;
	const struct tenant_slot *s;
	char line[512];

	load_main("domains:\n  - main.example\n");
	put("a.yaml", "- x.example\n- main.example\n");
	t = load(NULL, NULL);
	s = slot(t, "a.yaml");
	cr_expect(s->refused);
	cr_expect_null(s->in_force);
	diag_format(&s->why, 0, line, sizeof(line));
	cr_expect(strstr(line, "a.yaml:2:3: domain 'main.example' is also defined at ") != NULL, "%s", line);
	cr_expect(strstr(line, "main.yaml:8:5") != NULL, "names the main file's place: %s", line);
	tenants_free(t);
}

Test(tenantdir, a_configmap_mount_is_followed_and_its_swap_is_a_new_version)
{
	char target[256], link[256], data[256];
	size_t n_read;
	struct tenants *t1, *t2;

	/* what the kubelet makes: ..2026_a/{a.yaml}, ..data -> ..2026_a, a.yaml -> ..data/a.yaml */
	snprintf(target, sizeof(target), "%s/..2026_a", tdir);
	cr_assert_eq(mkdir(target, 0755), 0);
	put("..2026_a/a.yaml", "- a.example\n");
	snprintf(data, sizeof(data), "%s/..data", tdir);
	cr_assert_eq(symlink("..2026_a", data), 0);
	snprintf(link, sizeof(link), "%s/a.yaml", tdir);
	cr_assert_eq(symlink("..data/a.yaml", link), 0);
	t1 = load(NULL, &n_read);
	cr_expect_eq(t1->n, 1, "the dot-folders are not tenants, the link is");
	cr_expect_eq(slot(t1, "a.yaml")->in_force->n_domains, 1);
	/* the swap: a new folder, ..data replaced by a rename */
	snprintf(target, sizeof(target), "%s/..2026_b", tdir);
	cr_assert_eq(mkdir(target, 0755), 0);
	put("..2026_b/a.yaml", "- a.example\n- a2.example\n");
	snprintf(link, sizeof(link), "%s/..data_tmp", tdir);
	cr_assert_eq(symlink("..2026_b", link), 0);
	cr_assert_eq(rename(link, data), 0);
	t2 = load(t1, &n_read);
	cr_expect_eq(n_read, 1);
	cr_expect_eq(slot(t2, "a.yaml")->in_force->n_domains, 2);
	tenants_free(t1);
	tenants_free(t2);
}

Test(tenantdir, a_removed_or_renamed_file)
{
	char from[256], to[256];
	struct tenants *t1, *t2, *t3;
	struct domset ds;

	put("a.yaml", "- a.example\n");
	put("b.yaml", "- b.example\n");
	t1 = load(NULL, NULL);
	snprintf(from, sizeof(from), "%s/b.yaml", tdir);
	snprintf(to, sizeof(to), "%s/c.yaml", tdir);
	cr_assert_eq(rename(from, to), 0);
	t2 = load(t1, NULL);
	cr_expect_eq(t2->n, 2);
	cr_expect_null(tenants_find(t2, "b.yaml"));
	cr_expect_str_eq(slot(t2, "c.yaml")->in_force->domains[0].name, "b.example", "its domains move with it");
	cr_assert_eq(unlink(to), 0);
	t3 = load(t2, NULL);
	domset_build(&ds, cfg, t3, NULL);
	cr_expect_eq(ds.n, 1, "a removed file's domains are no longer configured (they retire)");
	cr_expect_null(domset_find(&ds, "b.example"));
	domset_clear(&ds);
	tenants_free(t1);
	tenants_free(t2);
	tenants_free(t3);
}

Test(tenantdir, a_missing_folder_is_an_error)
{
	struct tenants *t = NULL;
	char *cmd = xasprintf("rmdir '%s'", tdir);

	cr_assert_eq(system(cmd), 0);
	free(cmd);
	cr_expect_eq(tenantdir_load(cfg, NULL, true, NULL, NULL, &t, NULL, &dl), -1);
	cr_expect_null(t);
	cr_expect_eq(dl.errors, 1);
	cr_expect(strstr(dl.items[0].msg, "cannot read domains_dir") != NULL, "%s", dl.items[0].msg);
}

Test(tenantdir, domset_order_is_main_then_files_by_name)
{
	struct tenants *t;
	struct domset ds;

	load_main("domains:\n  - m.example\n");
	put("b.yaml", "- b1.example\n- b2.example\n");
	put("a.yaml", "- a1.example\n");
	t = load(NULL, NULL);
	domset_build(&ds, cfg, t, NULL);
	cr_assert_eq(ds.n, 4);
	cr_expect_str_eq(ds.v[0]->name, "m.example");
	cr_expect_str_eq(ds.v[1]->name, "a1.example");
	cr_expect_str_eq(ds.v[2]->name, "b1.example");
	cr_expect_str_eq(ds.v[3]->name, "b2.example");
	cr_expect_eq(domset_find(&ds, "b2.example"), ds.v[3]);
	domset_clear(&ds);
	tenants_free(t);
}

/*
 * A snapshot of the main file at DIR/main.yaml (EXTRA appended), the tenant
 * set T (taken over) and, when RETIRING is not NULL, that retiring domain;
 * with PREV, built as a version of PREV's lookups (a reload of changed
 * tenant files).
 */
static struct snapshot *
snap_from(const char *extra, struct tenants *t, const char *retiring, const struct snapshot *prev)
{
	struct snapshot_parts p = {0};

	load_main(extra);
	p.cfg = cfg;
	cfg = NULL;
	p.tenants = t;
	p.prev = prev;
	domset_build(&p.domains, p.cfg, t, prev ? &prev->domains : NULL);
	if (retiring != NULL) {
		p.retiring = xcalloc(1, sizeof(*p.retiring));
		domain_init(&p.retiring[0]);
		p.retiring[0].name = xstrdup(retiring);
		p.retiring[0].mode = POLICY_MODE_NONE;
		p.n_retiring = 1;
	}
	return snapshot_from(&p);
}

static struct snapshot *
snap_of(const char *extra, struct tenants *t)
{
	return snap_from(extra, t, NULL, NULL);
}

/* An unchanged tenant file's sites are the ones rendered when it was read, in every snapshot serving it. */
Test(tenantdir, snapshots_share_the_sites_of_an_unchanged_file)
{
	struct snapshot *s1, *s2;
	const struct site *a1, *a2, *b1, *b2, *m2;
	size_t n_read;

	put("a.yaml", "- name: a.example\n  mode: enforce\n");
	put("b.yaml", "- b.example\n");
	s1 = snap_of("domains:\n  - m.example\n", load(NULL, NULL));
	put("b.yaml", "- name: b.example\n  max_age: 1234567\n");
	load_main("domains:\n  - m.example\n");
	s2 = snap_of("domains:\n  - m.example\n", load(s1->tenants, &n_read));
	cr_assert_eq(n_read, 1, "only b.yaml was read again");
	a1 = snapshot_site(s1, "mta-sts.a.example");
	a2 = snapshot_site(s2, "mta-sts.a.example");
	b1 = snapshot_site(s1, "mta-sts.b.example");
	b2 = snapshot_site(s2, "mta-sts.b.example");
	m2 = snapshot_site(s2, "mta-sts.m.example");
	cr_assert(a1 && a2 && b1 && b2 && m2);
	cr_expect(a2->shared, "a tenant file's site is its file's");
	cr_expect_eq(a2->body, a1->body, "the unchanged file's body is not rendered again");
	cr_expect_eq(a2->host, a1->host);
	cr_expect_neq(b2->body, b1->body, "the rewritten file's is new");
	cr_expect(strstr(b2->body, "max_age: 1234567\r\n") != NULL, "%s", b2->body);
	cr_expect(strstr(b1->body, "max_age: 1234567") == NULL);
	cr_expect(!m2->shared, "the main file's domains belong to the snapshot");
	/* the older snapshot goes first: what the newer one shares with it stays */
	snapshot_unref(s1);
	cr_expect(strstr(a2->body, "mode: enforce\r\n") != NULL, "%s", a2->body);
	cr_expect_str_eq(a2->host, "mta-sts.a.example");
	snapshot_unref(s2);
}

/* A long main list is rendered on several threads: every site in order, the tenant files' shared, each own once. */
Test(tenantdir, a_long_main_list_renders_every_site_in_order)
{
	size_t cap = 64 * 30000, len = 0, n_shared = 0;
	char *yaml = xmalloc(cap), host[64];
	struct snapshot *snap;

	len += (size_t)snprintf(yaml + len, cap - len, "domains:\n");
	for (int i = 0; i < 30000; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "  - name: m%d.example\n    max_age: %d\n", i,
		    100000 + i);
	put("a.yaml", "- a1.example\n- a2.example\n");
	snap = snap_of(yaml, load(NULL, NULL));
	cr_assert_eq(snap->n_sites, 30002);
	cr_expect_eq(snap->n_own, 30000);
	for (size_t i = 0; i < snap->n_sites; i++) {
		const struct site *site = snap->sites[i];
		char want[64];

		cr_assert_eq(site->domain, snap->domains.v[i], "site %zu is its domain's", i);
		snprintf(host, sizeof(host), "mta-sts.%s", site->domain->name);
		cr_assert_str_eq(site->host, host);
		cr_assert_eq(snapshot_site(snap, host), site);
		if (site->shared) {
			n_shared++;
			continue;
		}
		cr_assert(site >= snap->own && site < snap->own + snap->n_own, "site %zu is the snapshot's own", i);
		cr_assert_eq(site, &snap->own[i], "own sites in order");
		snprintf(want, sizeof(want), "max_age: %zu\r\n", 100000 + i);
		cr_assert(strstr(site->body, want) != NULL, "%s", site->body);
	}
	cr_expect_eq(n_shared, 2);
	snapshot_unref(snap);
	free(yaml);
}

Test(tenantdir, main_file_checks)
{
	struct diag_list d;
	const char *bad = "listen:\n  http: [\"127.0.0.1:8080\"]\ndomains_dir: \"\"\n";
	const char *none = "listen:\n  http: [\"127.0.0.1:8080\"]\n";
	const char *inside = "listen:\n  http: [\"127.0.0.1:8080\"]\ndomains_dir: t\ndns:\n  zone: t/zone.yaml\n";
	struct config *c;

	diag_init(&d, "m.yaml");
	cr_expect_null(config_load_mem("m.yaml", "/srv", bad, strlen(bad), &d));
	cr_expect(strstr(d.items[0].msg, "'domains_dir' must name a folder") != NULL, "%s", d.items[0].msg);
	cr_expect_eq(d.items[0].line, 3);
	diag_clear(&d);
	diag_init(&d, "m.yaml");
	cr_expect_null(config_load_mem("m.yaml", "/srv", none, strlen(none), &d), "no domains and no domains_dir");
	diag_clear(&d);
	diag_init(&d, "m.yaml");
	cr_expect_null(config_load_mem("m.yaml", "/srv", inside, strlen(inside), &d));
	cr_expect(d.errors == 1 && strstr(d.items[0].msg, "inside domains_dir") != NULL, "%s", d.items[0].msg);
	diag_clear(&d);
	diag_init(&d, "m.yaml");
	c = config_load_mem("m.yaml", "/srv", "domains_dir: t\nlisten:\n  http: [\"127.0.0.1:8080\"]\n", 50, &d);
	cr_expect_not_null(c, "a main file without domains is valid with domains_dir");
	cr_expect_str_eq(c->domains_dir, "/srv/t");
	config_free(c);
	diag_clear(&d);
}

/*
 * A reload of changed tenant files builds its lookups as versions of the
 * serving snapshot's: the result must be the snapshot a whole build makes,
 * share what did not change, and outlive the snapshot it was made from.
 */
Test(tenantdir, an_incremental_snapshot_is_the_whole_one)
{
	static const char *main1 = "domains:\n  - m1.example\n  - m2.example\n";
	static const char *main2 = "domains:\n  - m1.example\n  - m3.example\n";
	static const char *gone[] = { "mta-sts.c1.example", "mta-sts.m2.example", "mta-sts.old.example" };
	struct snapshot *s1, *s2, *whole;
	const struct site *a1;

	put("a.yaml", "- a1.example\n- name: a2.example\n  mode: enforce\n");
	put("b.yaml", "- b1.example\n");
	put("c.yaml", "- c1.example\n");
	load_main(main1);
	s1 = snap_from(main1, load(NULL, NULL), "old.example", NULL);
	cr_assert_eq(s1->n_sites, 7);
	put("b.yaml", "- name: b1.example\n  max_age: 1234567\n- b2.example\n");
	cr_assert_eq(remove(strcat(strcpy((char[128]){0}, tdir), "/c.yaml")), 0);
	put("d.yaml", "- d1.example\n");
	load_main(main2);
	s2 = snap_from(main2, load(s1->tenants, NULL), "c1.example", s1);
	load_main(main2);
	whole = snap_from(main2, load(NULL, NULL), "c1.example", NULL);
	cr_assert_eq(s2->n_sites, whole->n_sites);
	cr_assert_eq(s2->by_host.n, whole->n_sites);
	cr_assert_eq(s2->domains.by_name.n, whole->domains.n);
	for (size_t i = 0; i < whole->n_sites; i++) {
		const struct site *w = whole->sites[i], *s = snapshot_site(s2, w->host);

		cr_assert_not_null(s, "%s is served", w->host);
		cr_expect_str_eq(s->body, w->body, "%s", w->host);
		cr_expect_eq(s->retiring, w->retiring, "%s", w->host);
		cr_expect_str_eq(s2->sites[i]->host, w->host, "the same order");
		if (!w->retiring)
			cr_expect_eq(domset_find(&s2->domains, w->domain->name), s->domain, "%s", w->domain->name);
		else
			cr_expect_null(domset_find(&s2->domains, w->domain->name), "a retiring domain is not configured");
	}
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		cr_expect_eq(snapshot_site(s2, gone[i]) == NULL, i != 0, "%s", gone[i]);
	cr_expect(snapshot_site(s2, "mta-sts.c1.example")->retiring, "c1 retires with its file");
	cr_expect_null(domset_find(&s2->domains, "m2.example"));
	cr_expect_null(domset_find(&s2->domains, "c1.example"));
	cr_expect(strstr(snapshot_site(s2, "mta-sts.b1.example")->body, "max_age: 1234567\r\n") != NULL);
	a1 = snapshot_site(s1, "mta-sts.a1.example");
	cr_expect_eq(snapshot_site(s2, "mta-sts.a1.example"), a1, "the unchanged file's site is shared");
	cr_expect_eq(domset_find(&s2->domains, "a2.example"), domset_find(&s1->domains, "a2.example"));
	/* the older snapshot goes first: nothing the newer one serves may go with it (ASan would see it) */
	snapshot_unref(s1);
	for (size_t i = 0; i < whole->n_sites; i++)
		cr_expect_str_eq(snapshot_site(s2, whole->sites[i]->host)->body, whole->sites[i]->body);
	cr_expect_null(snapshot_site(s2, "mta-sts.old.example"), "the previous retiring domain is gone");
	snapshot_unref(whole);
	snapshot_unref(s2);
}

/* The names of D[0..N), space-separated, for comparing two retiring lists. */
static char *
names_of(const struct config_domain *d, size_t n)
{
	struct buf b = {0};

	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", d[i].name);
	if (b.data == NULL)
		buf_puts(&b, "");
	return b.data;
}

/*
 * After a reload of changed tenant files, the retiring domains come from
 * the state's flagged entries and the domains the reload dropped only: the
 * same list, in the same order, as the look at every state entry.
 */
Test(tenantdir, retiring_since_the_previous_set_is_the_whole_list)
{
	const int64_t t0 = 1767225600;	/* 2026-01-01 */
	struct snapshot *s0, *s1, *s2;
	struct ids_state st0 = {0}, st1 = {0};
	struct config_domain *whole, *since;
	size_t *flagged, n_flagged, n_whole, n_since;
	char *a, *b;

	put("a.yaml", "- a1.example\n- a2.example\n");
	put("b.yaml", "- b1.example\n- b2.example\n");
	put("c.yaml", "- c1.example\n");
	load_main("domains:\n  - m1.example\n  - old.example\n  - gone.example\n");
	s0 = snap_from("domains:\n  - m1.example\n  - old.example\n  - gone.example\n", load(NULL, NULL), NULL, NULL);
	cr_assert_eq(ids_assign(NULL, s0->domains.v, s0->domains.n, t0 - 86400, &st0, NULL), 0);
	load_main("domains:\n  - m1.example\n");
	s1 = snap_from("domains:\n  - m1.example\n", load(s0->tenants, NULL), NULL, s0);
	/* what serve published for S1: old and gone retiring */
	cr_assert_eq(ids_assign(&st0, s1->domains.v, s1->domains.n, t0, &st1, NULL), 0);
	n_flagged = ids_flagged(&st1, &flagged);
	cr_assert_eq(n_flagged, 2);
	put("b.yaml", "- b1.example\n");
	cr_assert_eq(remove(strcat(strcpy((char[128]){0}, tdir), "/c.yaml")), 0);
	load_main("domains:\n  - m1.example\n  - old.example\n");
	s2 = snap_from("domains:\n  - m1.example\n  - old.example\n", load(s1->tenants, NULL), NULL, s1);
	n_whole = ids_retiring(&st1, &s2->domains, t0 + 60, &whole);
	n_since = ids_retiring_since(&st1, flagged, n_flagged, &s1->domains, &s2->domains, t0 + 60, &since);
	a = names_of(whole, n_whole);
	b = names_of(since, n_since);
	cr_expect_str_eq(a, "b2.example c1.example gone.example");
	cr_expect_str_eq(b, a);
	for (size_t i = 0; i < n_whole && i < n_since; i++)
		cr_expect_eq(since[i].max_age, whole[i].max_age, "%s", whole[i].name);
	free(a);
	free(b);
	ids_retiring_free(whole, n_whole);
	ids_retiring_free(since, n_since);
	/* a year on: gone.example's retirement is over, and both still agree */
	n_whole = ids_retiring(&st1, &s2->domains, t0 + 400 * 86400, &whole);
	n_since = ids_retiring_since(&st1, flagged, n_flagged, &s1->domains, &s2->domains, t0 + 400 * 86400, &since);
	cr_expect_eq(n_since, n_whole);
	cr_expect_eq(n_whole, 2, "b2 and c1 start retiring only now; gone's retirement is over");
	ids_retiring_free(whole, n_whole);
	ids_retiring_free(since, n_since);
	free(flagged);
	ids_state_clear(&st0);
	ids_state_clear(&st1);
	snapshot_unref(s0);
	snapshot_unref(s1);
	snapshot_unref(s2);
}

/* A long state is looked through on several threads: the same entries, in the state's order. */
Test(tenantdir, a_long_state_retires_in_order)
{
	const int64_t t0 = 1767225600;	/* 2026-01-01 */
	size_t cap = 32 * 30000, len, len_all = 0, len_kept = 0, n, k = 0;
	char *all = xmalloc(cap), *kept = xmalloc(cap);
	struct snapshot *s0, *s1;
	struct ids_state st = {0};
	struct config_domain *out;

	len_all += (size_t)snprintf(all, cap, "domains:\n");
	len_kept += (size_t)snprintf(kept, cap, "domains:\n");
	for (int i = 0; i < 30000; i++) {
		len = (size_t)snprintf(all + len_all, cap - len_all, "  - m%d.example\n", i);
		if (i % 3 != 0)
			memcpy(kept + len_kept, all + len_all, len + 1), len_kept += len;
		len_all += len;
	}
	s0 = snap_of(all, NULL);
	cr_assert_eq(ids_assign(NULL, s0->domains.v, s0->domains.n, t0, &st, NULL), 0);
	s1 = snap_of(kept, NULL);
	n = ids_retiring(&st, &s1->domains, t0 + 60, &out);
	cr_assert_eq(n, 10000);
	for (size_t i = 0; i < st.n; i++)
		if (domset_find(&s1->domains, st.d[i].name) == NULL) {
			cr_assert(k < n);
			cr_assert_str_eq(out[k].name, st.d[i].name, "retiring entry %zu", k);
			k++;
		}
	cr_expect_eq(k, n);
	ids_retiring_free(out, n);
	ids_state_clear(&st);
	snapshot_unref(s0);
	snapshot_unref(s1);
	free(all);
	free(kept);
}
