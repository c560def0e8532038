/* SPDX-License-Identifier: MIT */
/* Unit tests for tenants: the merge rules of domains_dir (a duplicate across files, a broken file beside good ones, removed, renamed and repaired files, the serving definition winning). */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hmap.h"
#include "tenants.h"
#include "util.h"

static struct diag_list dl;
static struct config *main_cfg;

/* The main file with domains NAMES (comma separated, may be empty: then a tenant file is needed, which the merge does not judge). */
static struct config *
make_cfg(const char *names)
{
	char yaml[4096];
	int n = snprintf(yaml, sizeof(yaml), "listen:\n  http: [\"127.0.0.1:8080\"]\ndefaults:\n  mode: none\ndomains:\n");
	char *copy = xstrdup(names), *save = NULL;
	struct config *cfg;

	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
		n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "  - %s\n", t);
	free(copy);
	diag_clear(&dl);
	diag_init(&dl, "main.yaml");
	cfg = config_load_mem("main.yaml", "/srv", yaml, strlen(yaml), &dl);
	cr_assert_not_null(cfg, "main config: %zu errors", dl.errors);
	return cfg;
}

static void
load_main(const char *names)
{
	config_free(main_cfg);
	main_cfg = make_cfg(names);
}

static void
setup(void)
{
	diag_init(&dl, "main.yaml");
	load_main("main.example");
}

static void
teardown(void)
{
	config_free(main_cfg);
	main_cfg = NULL;
	diag_clear(&dl);
}

TestSuite(tenants, .init = setup, .fini = teardown);

/* A valid version of NAME (in /srv/d.d/) defining the comma-separated DOMAINS, each at line i+1, column 3. */
static struct tenant_file *
version(const char *name, const char *domains)
{
	char path[256], *copy = xstrdup(domains), *save = NULL;
	struct config_domain *d = xcalloc(64, sizeof(*d));
	size_t n = 0;

	snprintf(path, sizeof(path), "/srv/d.d/%s", name);
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save), n++) {
		domain_init(&d[n]);
		d[n].name = xstrdup(t);
		d[n].line = (int)n + 1;
		d[n].col = 3;
	}
	free(copy);
	return tenant_file_new(path, d, n);
}

struct input_set {
	struct tenant_input v[16];
	char paths[16][256];
	size_t n;
};

static void
add(struct input_set *s, const char *name, enum tenant_found found, const char *domains)
{
	struct tenant_input *in = &s->v[s->n];

	snprintf(s->paths[s->n], sizeof(s->paths[s->n]), "/srv/d.d/%s", name);
	memset(in, 0, sizeof(*in));
	in->name = name;
	in->path = s->paths[s->n];
	in->found = found;
	in->stamp.ino = (ino_t)(s->n + 1);
	diag_init(&in->errors, in->path);
	if (found == TENANT_VALID)
		in->file = version(name, domains);
	if (found == TENANT_INVALID)
		diag_add(&in->errors, DIAG_ERROR, 4, 7, "unknown key 'mdoe'");
	s->n++;
}

/* The serving snapshot's view of PREV: every domain in force, by name (the main file's first). */
struct serving_view {
	struct hmap map;
};

static const struct config_domain *
serving_get(const void *arg, const char *name)
{
	return hmap_get(&((const struct serving_view *)arg)->map, name);
}

static void
view_of(struct serving_view *v, const struct config *cfg, const struct tenants *t)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < cfg->n_domains; i++)
		hmap_put(&v->map, cfg->domains[i].name, (void *)(uintptr_t)&cfg->domains[i]);
	for (size_t i = 0; t && i < t->n; i++)
		for (size_t k = 0; t->v[i].in_force && k < t->v[i].in_force->n_domains; k++)
			hmap_put(&v->map, t->v[i].in_force->domains[k].name, &t->v[i].in_force->domains[k]);
}

static struct tenants *
merge(const struct tenants *prev, struct input_set *s, bool main_read)
{
	struct serving_view v;
	struct tenants *out = NULL;
	int rc;

	view_of(&v, main_cfg, prev);
	diag_clear(&dl);
	diag_init(&dl, "main.yaml");
	rc = tenants_merge(prev, main_cfg, main_read, s->v, s->n, prev ? serving_get : NULL, &v, &out, &dl);
	hmap_clear(&v.map);
	cr_assert_eq(rc, 0, "merge refused the main file: %zu errors", dl.errors);
	cr_assert_not_null(out);
	return out;
}

/* The names in force for slot NAME, comma separated, or "-" for none. */
static const char *
in_force(const struct tenants *t, const char *name)
{
	static char buf[1024];
	const struct tenant_slot *s = tenants_find(t, name);
	size_t n = 0;

	cr_assert_not_null(s, "no slot %s", name);
	if (s->in_force == NULL)
		return "-";
	buf[0] = '\0';
	for (size_t k = 0; k < s->in_force->n_domains; k++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", k ? "," : "", s->in_force->domains[k].name);
	return buf;
}

/* Whether some reason given for refusing NAME contains TEXT. */
static bool
why_has(const struct tenants *t, const char *name, const char *text)
{
	const struct tenant_slot *s = tenants_find(t, name);
	char line[1024];

	for (size_t i = 0; s && i < s->why.n; i++) {
		diag_format(&s->why, i, line, sizeof(line));
		if (strstr(line, text) != NULL)
			return true;
	}
	return false;
}

Test(tenants, duplicate_across_files_at_start_up_first_in_name_order_wins)
{
	struct input_set s = {0};
	struct tenants *t;

	add(&s, "a.yaml", TENANT_VALID, "x.example,y.example");
	add(&s, "b.yaml", TENANT_VALID, "y.example,z.example");
	add(&s, "c.yaml", TENANT_VALID, "w.example");
	t = merge(NULL, &s, true);
	cr_expect_str_eq(in_force(t, "a.yaml"), "x.example,y.example");
	cr_expect_str_eq(in_force(t, "b.yaml"), "-", "the later file is refused whole, z included");
	cr_expect_str_eq(in_force(t, "c.yaml"), "w.example");
	cr_expect_eq(t->n_refused, 1);
	cr_expect(tenants_find(t, "b.yaml")->refused);
	cr_expect(why_has(t, "b.yaml", "/srv/d.d/b.yaml:1:3: domain 'y.example' is also defined at /srv/d.d/a.yaml:2:3"),
	    "both places are named");
	cr_expect(why_has(t, "b.yaml", "none of its domains are served"));
	tenants_free(t);
}

Test(tenants, the_main_file_wins_over_a_tenant_file)
{
	struct input_set s = {0};
	struct tenants *t;

	add(&s, "a.yaml", TENANT_VALID, "main.example,x.example");
	t = merge(NULL, &s, true);
	cr_expect_str_eq(in_force(t, "a.yaml"), "-");
	cr_expect(why_has(t, "a.yaml", "main.yaml:6:5"), "the main file's definition is named");
	cr_expect(why_has(t, "a.yaml", "main configuration"));
	tenants_free(t);
}

Test(tenants, a_broken_file_beside_good_ones_is_refused_alone)
{
	struct input_set s = {0}, s2 = {0};
	struct tenants *t, *t2;

	add(&s, "a.yaml", TENANT_VALID, "a.example");
	add(&s, "b.yaml", TENANT_VALID, "b.example");
	t = merge(NULL, &s, true);
	/* b breaks: its last good version stays; a is untouched */
	add(&s2, "a.yaml", TENANT_UNCHANGED, NULL);
	add(&s2, "b.yaml", TENANT_INVALID, NULL);
	t2 = merge(t, &s2, false);
	cr_expect_str_eq(in_force(t2, "a.yaml"), "a.example");
	cr_expect_str_eq(in_force(t2, "b.yaml"), "b.example", "the last good version stays in force");
	cr_expect(tenants_find(t2, "b.yaml")->refused);
	cr_expect_eq(t2->n_refused, 1);
	cr_expect(why_has(t2, "b.yaml", "/srv/d.d/b.yaml:4:7: unknown key 'mdoe'"), "the reader's errors are kept");
	cr_expect(why_has(t2, "b.yaml", "its last good version stays in force"));
	cr_expect_eq(tenants_find(t2, "a.yaml")->in_force, tenants_find(t, "a.yaml")->in_force,
	    "an unchanged file's version is shared, not copied");
	tenants_free(t);
	tenants_free(t2);
}

Test(tenants, broken_at_start_up_none_of_its_domains_are_served)
{
	struct input_set s = {0};
	struct tenants *t;

	add(&s, "a.yaml", TENANT_VALID, "a.example");
	add(&s, "b.yaml", TENANT_INVALID, NULL);
	t = merge(NULL, &s, true);
	cr_expect_str_eq(in_force(t, "a.yaml"), "a.example");
	cr_expect_str_eq(in_force(t, "b.yaml"), "-");
	cr_expect(why_has(t, "b.yaml", "none of its domains are served"));
	tenants_free(t);
}

Test(tenants, a_file_that_becomes_valid_again_is_taken)
{
	struct input_set s = {0}, s2 = {0}, s3 = {0};
	struct tenants *t, *t2, *t3;

	add(&s, "a.yaml", TENANT_VALID, "a.example");
	t = merge(NULL, &s, true);
	add(&s2, "a.yaml", TENANT_INVALID, NULL);
	t2 = merge(t, &s2, false);
	/* unchanged and still broken: still refused, same reasons */
	add(&s3, "a.yaml", TENANT_UNCHANGED, NULL);
	t3 = merge(t2, &s3, false);
	cr_expect(tenants_find(t3, "a.yaml")->refused);
	cr_expect(why_has(t3, "a.yaml", "unknown key 'mdoe'"));
	tenants_free(t3);
	memset(&s3, 0, sizeof(s3));
	add(&s3, "a.yaml", TENANT_VALID, "a.example,a2.example");
	t3 = merge(t2, &s3, false);
	cr_expect_str_eq(in_force(t3, "a.yaml"), "a.example,a2.example");
	cr_expect_not(tenants_find(t3, "a.yaml")->refused);
	cr_expect_eq(tenants_find(t3, "a.yaml")->why.n, 0, "no reasons left once it is taken");
	cr_expect_eq(t3->n_refused, 0);
	tenants_free(t);
	tenants_free(t2);
	tenants_free(t3);
}

Test(tenants, a_removed_file_has_no_slot)
{
	struct input_set s = {0}, s2 = {0};
	struct tenants *t, *t2;

	add(&s, "a.yaml", TENANT_VALID, "a.example");
	add(&s, "b.yaml", TENANT_VALID, "b.example");
	t = merge(NULL, &s, true);
	add(&s2, "a.yaml", TENANT_UNCHANGED, NULL);
	t2 = merge(t, &s2, false);
	cr_expect_eq(t2->n, 1);
	cr_expect_null(tenants_find(t2, "b.yaml"));
	tenants_free(t);
	tenants_free(t2);
}

Test(tenants, a_renamed_file_keeps_its_domains)
{
	struct input_set s = {0}, s2 = {0};
	struct tenants *t, *t2;

	add(&s, "a.yaml", TENANT_VALID, "a.example,b.example");
	t = merge(NULL, &s, true);
	/* mv a.yaml c.yaml: the serving definitions are in a file that is gone, so nothing keeps them */
	add(&s2, "c.yaml", TENANT_VALID, "a.example,b.example");
	t2 = merge(t, &s2, false);
	cr_expect_str_eq(in_force(t2, "c.yaml"), "a.example,b.example");
	cr_expect_eq(t2->n_refused, 0);
	tenants_free(t);
	tenants_free(t2);
}

Test(tenants, the_serving_definition_wins_over_name_order)
{
	struct input_set s = {0}, s2 = {0};
	struct tenants *t, *t2;

	add(&s, "b.yaml", TENANT_VALID, "y.example");
	t = merge(NULL, &s, true);
	/* a.yaml comes first in name order, but b.yaml serves y */
	add(&s2, "a.yaml", TENANT_VALID, "x.example,y.example");
	add(&s2, "b.yaml", TENANT_UNCHANGED, NULL);
	t2 = merge(t, &s2, false);
	cr_expect_str_eq(in_force(t2, "a.yaml"), "-");
	cr_expect_str_eq(in_force(t2, "b.yaml"), "y.example");
	cr_expect(why_has(t2, "a.yaml", "/srv/d.d/b.yaml:1:3, which is serving"));
	tenants_free(t);
	tenants_free(t2);
}

Test(tenants, a_refused_file_is_taken_once_the_other_definition_goes)
{
	struct input_set s = {0}, s2 = {0}, s3 = {0};
	struct tenants *t, *t2, *t3;

	add(&s, "b.yaml", TENANT_VALID, "y.example");
	t = merge(NULL, &s, true);
	add(&s2, "a.yaml", TENANT_VALID, "y.example");
	add(&s2, "b.yaml", TENANT_UNCHANGED, NULL);
	t2 = merge(t, &s2, false);
	cr_assert_str_eq(in_force(t2, "a.yaml"), "-");
	/* b.yaml removed; a.yaml unchanged on disk: its pending version is judged again */
	add(&s3, "a.yaml", TENANT_UNCHANGED, NULL);
	t3 = merge(t2, &s3, false);
	cr_expect_str_eq(in_force(t3, "a.yaml"), "y.example");
	cr_expect_not(tenants_find(t3, "a.yaml")->refused);
	tenants_free(t);
	tenants_free(t2);
	tenants_free(t3);
}

Test(tenants, a_domain_moved_between_files_in_one_change)
{
	struct input_set s = {0}, s2 = {0};
	struct tenants *t, *t2;

	add(&s, "a.yaml", TENANT_VALID, "x.example,y.example");
	add(&s, "b.yaml", TENANT_VALID, "z.example");
	t = merge(NULL, &s, true);
	add(&s2, "a.yaml", TENANT_VALID, "x.example");
	add(&s2, "b.yaml", TENANT_VALID, "z.example,y.example");
	t2 = merge(t, &s2, false);
	cr_expect_str_eq(in_force(t2, "a.yaml"), "x.example");
	cr_expect_str_eq(in_force(t2, "b.yaml"), "z.example,y.example");
	tenants_free(t);
	tenants_free(t2);
}

Test(tenants, refusing_one_file_frees_a_name_for_another)
{
	struct input_set s = {0};
	struct tenants *t;

	/* a and b share x, b and c share y: a is taken, b refused, so c keeps y */
	add(&s, "a.yaml", TENANT_VALID, "x.example");
	add(&s, "b.yaml", TENANT_VALID, "x.example,y.example");
	add(&s, "c.yaml", TENANT_VALID, "y.example");
	t = merge(NULL, &s, true);
	cr_expect_str_eq(in_force(t, "a.yaml"), "x.example");
	cr_expect_str_eq(in_force(t, "b.yaml"), "-");
	cr_expect_str_eq(in_force(t, "c.yaml"), "y.example");
	tenants_free(t);
}

Test(tenants, a_refused_file_falls_back_to_what_it_serves_and_that_wins)
{
	struct input_set s = {0}, s2 = {0};
	struct tenants *t, *t2;

	add(&s, "t.yaml", TENANT_VALID, "x.example");
	t = merge(NULL, &s, true);
	/*
	 * t's new version drops x and takes main.example (the main file's: refused),
	 * so its old version, with x, stays; s's new x (s.yaml is judged first) must then be refused too,
	 * although it looked free while t's new version was being judged.
	 */
	add(&s2, "s.yaml", TENANT_VALID, "x.example");
	add(&s2, "t.yaml", TENANT_VALID, "main.example");
	t2 = merge(t, &s2, false);
	cr_expect_str_eq(in_force(t2, "t.yaml"), "x.example");
	cr_expect_str_eq(in_force(t2, "s.yaml"), "-");
	cr_expect(why_has(t2, "s.yaml", "/srv/d.d/t.yaml:1:3"));
	tenants_free(t);
	tenants_free(t2);
}

Test(tenants, the_main_file_may_not_take_a_domain_a_tenant_file_serves)
{
	struct input_set s = {0}, s2 = {0};
	struct tenants *t, *out = NULL;
	struct serving_view v;
	struct config *next;

	add(&s, "a.yaml", TENANT_VALID, "x.example");
	t = merge(NULL, &s, true);
	view_of(&v, main_cfg, t);
	/* the main file read again, now with x too; the view is of what serves (the old main file) */
	next = make_cfg("main.example,x.example");
	add(&s2, "a.yaml", TENANT_UNCHANGED, NULL);
	cr_expect_eq(tenants_merge(t, next, true, s2.v, s2.n, serving_get, &v, &out, &dl), -1);
	cr_expect_null(out);
	cr_expect_eq(dl.errors, 1);
	{
		char line[512];
		diag_format(&dl, 0, line, sizeof(line));
		cr_expect(strstr(line, "main.yaml:7:5: domain 'x.example' is served from /srv/d.d/a.yaml:1:3") != NULL,
		    "%s", line);
	}
	hmap_clear(&v.map);
	tenants_free(t);
	config_free(next);
}
