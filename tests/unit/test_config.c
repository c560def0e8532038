/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of config.c. Every .yaml file in tests/unit/config is one case: its
 * header lines "# expect: LINE:COL: message" (or "# expect: message" for a
 * diagnostic without position) list, in order, exactly what the loader must
 * report. Adding a fixture adds a case. The rest checks what a valid file
 * turns into: inheritance, normalisation, paths, listeners.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"
#include "util.h"

#define FIXTURE_DIR TEST_FIXTURES "/config"
#define EXPECT_TAG "# expect: "

/* ------------------------------------------------------------- fixtures */

struct fixture {
	char name[256];
};

static int
is_fixture(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

static int
cmp_fixture(const void *a, const void *b)
{
	return strcmp(((const struct fixture *)a)->name, ((const struct fixture *)b)->name);
}

static size_t
list_fixtures(struct fixture *out, size_t cap)
{
	DIR *dir = opendir(FIXTURE_DIR);
	struct dirent *de;
	size_t n = 0;

	if (dir == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		if (!is_fixture(de->d_name) || strlen(de->d_name) >= sizeof(out[0].name))
			continue;
		if (out && n < cap)
			snprintf(out[n].name, sizeof(out[n].name), "%s", de->d_name);
		n++;
	}
	closedir(dir);
	if (out)
		qsort(out, n < cap ? n : cap, sizeof(*out), cmp_fixture);
	return n;
}

static void
free_fixtures(struct criterion_test_params *params)
{
	cr_free(params->params);
}

ParameterizedTestParameters(config_fixtures, expected_diagnostics)
{
	size_t n = list_fixtures(NULL, 0);
	struct fixture *f;

	if (n == 0)
		return cr_make_param_array(struct fixture, NULL, 0);
	f = cr_malloc(n * sizeof(*f));
	n = list_fixtures(f, n);
	return cr_make_param_array(struct fixture, f, n, free_fixtures);
}

/* The "# expect: " lines of the fixture's leading comment block, in order. */
static size_t
read_expectations(const char *path, char ***out)
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	size_t n = 0;

	*out = NULL;
	cr_assert_not_null(fp, "cannot open %s", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] != '#')
			break;	/* the header ends at the first non-comment line */
		if (strncmp(line, EXPECT_TAG, strlen(EXPECT_TAG)) != 0)
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		*out = realloc(*out, (n + 1) * sizeof(char *));
		(*out)[n++] = strdup(line + strlen(EXPECT_TAG));
	}
	fclose(fp);
	return n;
}

ParameterizedTest(struct fixture *f, config_fixtures, expected_diagnostics)
{
	char path[1024], got[4096], **want;
	size_t n_want, want_errors = 0, prefix;
	struct diag_list dl;
	struct config *cfg;
	bool same;

	snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, f->name);
	n_want = read_expectations(path, &want);
	cr_assert_gt(n_want, 0, "%s: no '" EXPECT_TAG "' lines in its header", f->name);
	for (size_t i = 0; i < n_want; i++) {
		const char *msg = strstr(want[i], ": ");
		/* "L:C: warning: ..." or "warning: ..." */
		if (!(strncmp(want[i], "warning: ", 9) == 0 || (msg && strncmp(msg + 2, "warning: ", 9) == 0)))
			want_errors++;
	}

	diag_init(&dl, path);
	cfg = config_load(path, &dl);
	prefix = strlen(path) + 1;
	same = dl.n == n_want;
	for (size_t i = 0; i < dl.n; i++) {
		diag_format(&dl, i, got, sizeof(got));
		/* with the file prefix ... */
		cr_expect(strncmp(got, path, strlen(path)) == 0 && got[strlen(path)] == ':',
		    "%s: diagnostic without the file name: %s", f->name, got);
		/* ... and compared without it */
		const char *rest = got + prefix;
		while (*rest == ' ')
			rest++;
		if (i < n_want && strcmp(rest, want[i]) != 0)
			same = false;
	}
	if (!same) {
		struct { char *p; size_t len; } report = { NULL, 0 };
		FILE *m = open_memstream(&report.p, &report.len);
		fprintf(m, "%s: diagnostics differ\n-- expected (%zu):\n", f->name, n_want);
		for (size_t i = 0; i < n_want; i++)
			fprintf(m, "  %s\n", want[i]);
		fprintf(m, "-- got (%zu):\n", dl.n);
		for (size_t i = 0; i < dl.n; i++) {
			diag_format(&dl, i, got, sizeof(got));
			fprintf(m, "  %s\n", got + prefix);
		}
		fclose(m);
		cr_expect_fail("%s", report.p);
		free(report.p);
	}
	cr_expect_eq(dl.errors, want_errors, "%s: %zu errors, expected %zu", f->name, dl.errors, want_errors);
	/* warnings alone do not fail the load; any error does */
	if (want_errors == 0)
		cr_expect_not_null(cfg, "%s: only warnings expected, but the load failed", f->name);
	else
		cr_expect_null(cfg, "%s: errors expected, but a configuration was returned", f->name);
	config_free(cfg);
	diag_clear(&dl);
	for (size_t i = 0; i < n_want; i++)
		free(want[i]);
	free(want);
}

Test(config_fixtures, folder_is_populated)
{
	/* a parameterized test over an empty or missing folder would pass silently */
	cr_expect_geq(list_fixtures(NULL, 0), 20, "fixtures missing in %s", FIXTURE_DIR);
}

/* ------------------------------------------------------------- helpers */

static struct diag_list dl;

static void
setup(void)
{
	diag_init(&dl, "t.yaml");
}

static void
teardown(void)
{
	diag_clear(&dl);
}

static void
reset(void)
{
	diag_clear(&dl);
	diag_init(&dl, "t.yaml");
}

static struct config *
load(const char *yaml)
{
	return config_load_mem("t.yaml", "/srv/mtastsd", yaml, strlen(yaml), &dl);
}

static const struct config_domain *
find(const struct config *cfg, const char *name)
{
	const struct config_domain *d = config_find_domain(cfg, name);

	cr_assert_not_null(d, "domain '%s' not found", name);
	return d;
}

static void
expect_list(const struct strlist *l, const char *const *want, const char *what)
{
	const char *const *got = strlist_items(l);
	size_t m = 0, n = strlist_len(l);

	while (want[m])
		m++;
	cr_assert_eq(n, m, "%s: %zu entries, expected %zu", what, n, m);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(got[i], want[i], "%s[%zu]", what, i);
}

/* ------------------------------------------------------------- positive cases */

TestSuite(config, .init = setup, .fini = teardown);

Test(config, builtin_defaults)
{
	struct config *cfg = load("domains:\n  - name: example.com\n    mx: [mx.example.com]\n");
	const struct config_domain *d;

	cr_assert_not_null(cfg);
	cr_expect_eq(dl.n, 0);
	d = find(cfg, "example.com");
	cr_expect_eq(d->mode, POLICY_MODE_TESTING);
	cr_expect_eq(d->max_age, 604800);
	cr_expect_eq(strlist_len(d->tlsrpt), 0);
	cr_expect_eq(cfg->dns_ttl, 3600);
	cr_expect_str_eq(cfg->tls_certs, "/srv/mtastsd/certs");
	cr_expect_str_eq(cfg->dns_state, "/srv/mtastsd/state/mtastsd.state");
	cr_expect_eq(cfg->n_https, 1);
	cr_expect_str_eq(cfg->https[0].address, "0.0.0.0:8443");
	cr_assert_not_null(cfg->admin);
	cr_expect_str_eq(cfg->admin->address, "127.0.0.1:9100");
	config_free(cfg);
}

Test(config, defaults_inherited_per_field)
{
	static const char yaml[] =
	    "defaults:\n"
	    "  mode: enforce\n"
	    "  max_age: 86400\n"
	    "  mx: [mx1.provider.example, mx2.provider.example]\n"
	    "  tlsrpt: [\"mailto:tls@provider.example\"]\n"
	    "domains:\n"
	    "  - a.example.com\n"
	    "  - name: b.example.com\n"
	    "    mode: testing\n"
	    "  - name: c.example.com\n"
	    "    max_age: 1209600\n"
	    "  - name: d.example.com\n"
	    "    mx: [mx.d.example.com]\n"
	    "  - name: e.example.com\n"
	    "    tlsrpt: []\n"
	    "  - name: f.example.com\n"
	    "    mode: none\n"
	    "    mx: []\n";
	static const char *const pmx[] = { "mx1.provider.example", "mx2.provider.example", NULL };
	static const char *const dmx[] = { "mx.d.example.com", NULL };
	static const char *const prua[] = { "mailto:tls@provider.example", NULL };
	static const char *const none[] = { NULL };
	struct config *cfg = load(yaml);
	const struct config_domain *d;

	cr_assert_not_null(cfg);
	cr_expect_eq(cfg->n_domains, 6);

	d = find(cfg, "a.example.com");	/* shorthand: everything inherited */
	cr_expect_eq(d->mode, POLICY_MODE_ENFORCE);
	cr_expect_eq(d->max_age, 86400);
	expect_list(d->mx, pmx, "a.mx");
	expect_list(d->tlsrpt, prua, "a.tlsrpt");
	cr_expect_eq(d->mx, cfg->defaults.mx, "an inherited list is the defaults', shared");

	d = find(cfg, "b.example.com");	/* mode only */
	cr_expect_eq(d->mode, POLICY_MODE_TESTING);
	cr_expect_eq(d->max_age, 86400);
	expect_list(d->mx, pmx, "b.mx");
	expect_list(d->tlsrpt, prua, "b.tlsrpt");

	d = find(cfg, "c.example.com");	/* max_age only */
	cr_expect_eq(d->mode, POLICY_MODE_ENFORCE);
	cr_expect_eq(d->max_age, 1209600);
	expect_list(d->mx, pmx, "c.mx");

	d = find(cfg, "d.example.com");	/* mx replaces the default list, it does not extend it */
	cr_expect_eq(d->mode, POLICY_MODE_ENFORCE);
	expect_list(d->mx, dmx, "d.mx");
	expect_list(d->tlsrpt, prua, "d.tlsrpt");
	cr_expect_neq(d->mx, cfg->defaults.mx);

	d = find(cfg, "e.example.com");	/* an explicit empty tlsrpt switches reports off */
	expect_list(d->tlsrpt, none, "e.tlsrpt");
	expect_list(d->mx, pmx, "e.mx");

	d = find(cfg, "f.example.com");
	cr_expect_eq(d->mode, POLICY_MODE_NONE);
	expect_list(d->mx, none, "f.mx");
	config_free(cfg);
}

Test(config, defaults_after_domains_still_apply)
{
	struct config *cfg = load("domains:\n  - example.com\ndefaults:\n  mode: none\n  max_age: 1209600\n");

	cr_assert_not_null(cfg);
	cr_expect_eq(find(cfg, "example.com")->mode, POLICY_MODE_NONE);
	cr_expect_eq(find(cfg, "example.com")->max_age, 1209600);
	config_free(cfg);
}

Test(config, names_normalised)
{
	static const char yaml[] =
	    "defaults:\n"
	    "  mx: [mx.provider.example]\n"
	    "domains:\n"
	    "  - Example.COM.\n"
	    "  - name: B\xc3\xbc" "cher.example\n"
	    "  - name: XN--MNCHEN-3YA.example.\n";
	struct config *cfg = load(yaml);

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->n_domains, 3);
	cr_expect_str_eq(cfg->domains[0].name, "example.com");
	cr_expect_str_eq(cfg->domains[1].name, "xn--bcher-kva.example");
	cr_expect_str_eq(cfg->domains[2].name, "xn--mnchen-3ya.example");
	/* lookups take the normalised form only */
	cr_expect_not_null(config_find_domain(cfg, "xn--bcher-kva.example"));
	cr_expect_null(config_find_domain(cfg, "Example.COM."));
	cr_expect_null(config_find_domain(cfg, "example.org"));
	/* positions point at the names */
	cr_expect_eq(cfg->domains[0].line, 4);
	cr_expect_eq(cfg->domains[0].col, 5);
	cr_expect_eq(cfg->domains[1].line, 5);
	cr_expect_eq(cfg->domains[1].col, 11);
	config_free(cfg);
}

Test(config, mx_normalised_deduplicated_in_order)
{
	static const char yaml[] =
	    "domains:\n"
	    "  - name: example.com\n"
	    "    mode: enforce\n"
	    "    mx: [B.Example.COM., a.example.com, b.example.com, \"*.Mail.Example.net.\", A.EXAMPLE.COM,\n"
	    "         mx.b\xc3\xbc" "cher.example, mx.xn--bcher-kva.example, \"*.mail.example.net\"]\n"
	    "    tlsrpt: [\"mailto:a@example.com\", \"https://r.example.com/x\", \"mailto:a@example.com\"]\n";
	static const char *const mx[] = { "b.example.com", "a.example.com", "*.mail.example.net",
		"mx.xn--bcher-kva.example", NULL };
	static const char *const rua[] = { "mailto:a@example.com", "https://r.example.com/x", NULL };
	struct config *cfg = load(yaml);
	const struct config_domain *d;

	cr_assert_not_null(cfg);
	d = find(cfg, "example.com");
	expect_list(d->mx, mx, "mx");
	expect_list(d->tlsrpt, rua, "tlsrpt");
	/* the wildcard is accepted with a warning, nothing else */
	cr_expect_eq(dl.errors, 0);
	cr_expect_eq(dl.warnings, 1);
	config_free(cfg);
}

Test(config, relative_paths_against_config_folder)
{
	static const char yaml[] =
	    "tls:\n  certs: ../certs/\n"
	    "dns:\n  state: state/x.state\n  zone: /var/lib/mtastsd/zone\n"
	    "domains: [{name: example.com, mode: none}]\n";
	struct config *cfg = load(yaml);

	cr_assert_not_null(cfg);
	cr_expect_str_eq(cfg->dir, "/srv/mtastsd");
	cr_expect_str_eq(cfg->tls_certs, "/srv/mtastsd/../certs/");
	cr_expect_str_eq(cfg->dns_state, "/srv/mtastsd/state/x.state");
	cr_expect_str_eq(cfg->dns_zone, "/var/lib/mtastsd/zone");	/* absolute stays */
	config_free(cfg);
}

Test(config, relative_paths_from_file_location)
{
	/* config_load takes the folder from the path, not from the working directory */
	struct config *cfg = config_load(SOURCE_ROOT "/config/example.yaml", &dl);

	cr_assert_not_null(cfg);
	cr_expect_str_eq(cfg->dir, SOURCE_ROOT "/config");
	cr_expect_str_eq(cfg->tls_certs, SOURCE_ROOT "/config/../certs/dev/");
	cr_expect_str_eq(cfg->dns_state, SOURCE_ROOT "/config/../state/mtastsd.state");
	config_free(cfg);
}

Test(config, example_yaml_loads_without_errors)
{
	struct config *cfg = config_load(SOURCE_ROOT "/config/example.yaml", &dl);
	char line[4096];

	for (size_t i = 0; i < dl.n; i++) {
		diag_format(&dl, i, line, sizeof(line));
		cr_expect_eq(dl.items[i].level, DIAG_WARNING, "%s", line);
	}
	cr_assert_not_null(cfg);
	cr_expect_eq(dl.errors, 0);
	cr_expect_gt(cfg->n_domains, 0);
	cr_expect_not_null(config_find_domain(cfg, "example.com"));
	config_free(cfg);
}

Test(config, listeners_parsed)
{
	static const char yaml[] =
	    "listen:\n"
	    "  https: [\"[::1]:8443\", {address: \"127.0.0.1:8443\", proxy_protocol: true, proxy_from: [\"10.0.0.0/8\"]}]\n"
	    "  http: [\"127.0.0.1:8080\"]\n"
	    "  admin: \"\"\n"
	    "domains: [{name: example.com, mode: none}]\n";
	struct config *cfg = load(yaml);
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->n_https, 2);
	s6 = (const struct sockaddr_in6 *)&cfg->https[0].sa;
	cr_expect_eq(s6->sin6_family, AF_INET6);
	cr_expect_eq(ntohs(s6->sin6_port), 8443);
	cr_expect_not(cfg->https[0].proxy_protocol);
	s4 = (const struct sockaddr_in *)&cfg->https[1].sa;
	cr_expect_eq(s4->sin_family, AF_INET);
	cr_expect_eq(ntohl(s4->sin_addr.s_addr), 0x7f000001);
	cr_expect(cfg->https[1].proxy_protocol);
	cr_expect_eq(cfg->https[1].n_proxy_from, 1);
	cr_expect_eq(cfg->n_http, 1);
	cr_expect_null(cfg->admin, "an empty admin address disables the admin listener");
	config_free(cfg);
}

Test(config, empty_input)
{
	char path[] = "/tmp/mtastsd-test-empty-XXXXXX", line[512];
	int fd = mkstemp(path);
	struct config *cfg;

	cr_assert_null(load(""));
	cr_assert_eq(dl.n, 1);
	diag_format(&dl, 0, line, sizeof(line));
	cr_expect_str_eq(line, "t.yaml:1:1: the configuration is empty");

	/* a real empty file, through config_load */
	cr_assert_geq(fd, 0);
	close(fd);
	diag_clear(&dl);
	diag_init(&dl, path);
	cfg = config_load(path, &dl);
	unlink(path);
	cr_expect_null(cfg);
	cr_assert_eq(dl.n, 1);
	cr_expect_str_eq(dl.items[0].msg, "the configuration is empty");
}

Test(config, missing_file)
{
	char line[512];

	cr_assert_null(config_load("/nonexistent/mtastsd.yaml", &dl));
	cr_assert_eq(dl.n, 1);
	cr_expect_eq(dl.errors, 1);
	diag_format(&dl, 0, line, sizeof(line));
	cr_expect_str_eq(line, "t.yaml: cannot read the configuration: No such file or directory");
}

/* A FIFO in the config's place would block the open and the read, and with them reloads and SIGTERM. */
Test(config, fifo_refused_without_blocking, .timeout = 10)
{
	char dir[] = "/tmp/test_config.XXXXXX", *path, line[512];

	cr_assert_not_null(mkdtemp(dir));
	path = xasprintf("%s/mtastsd.yaml", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_expect_null(config_load(path, &dl));
	cr_assert_eq(dl.n, 1);
	diag_format(&dl, 0, line, sizeof(line));
	cr_expect_str_eq(line, "t.yaml: the configuration is not a regular file (it is a FIFO)");
	reset();
	cr_expect_null(config_load(dir, &dl));
	cr_assert_eq(dl.n, 1);
	cr_expect_str_eq(dl.items[0].msg, "the configuration is not a regular file (it is a folder)");
	unlink(path);
	rmdir(dir);
	free(path);
}

Test(config, size_bounded)
{
	char dir[] = "/tmp/test_config.XXXXXX", *path;
	FILE *fp;

	cr_assert_not_null(mkdtemp(dir));
	path = xasprintf("%s/mtastsd.yaml", dir);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs("domains: [{name: example.com, mode: none}]\n#", fp);
	fclose(fp);
	/* sparse: one byte over the limit costs no disk */
	cr_assert_eq(truncate(path, (off_t)(512 << 20) + 1), 0);
	cr_expect_null(config_load(path, &dl));
	cr_assert_eq(dl.n, 1);
	cr_expect_str_eq(dl.items[0].msg, "the configuration is 536870913 bytes, more than the limit of 512 MiB");
	unlink(path);
	rmdir(dir);
	free(path);
}

/* 200 KB of nesting took 23 s in libyaml; refused at the ninth level it takes no time. */
Test(config, deep_nesting_refused_early, .timeout = 10)
{
	size_t depth = 200000, len = 0;
	char *yaml = malloc(2 * depth + 16);

	len += (size_t)sprintf(yaml, "a: ");
	memset(yaml + len, '[', depth);
	len += depth;
	memset(yaml + len, ']', depth);
	len += depth;
	yaml[len] = '\0';
	cr_assert_null(config_load_mem("t.yaml", "/srv", yaml, len, &dl));
	cr_assert_eq(dl.n, 1);
	cr_expect_eq(dl.items[0].line, 1);
	cr_expect_eq(dl.items[0].col, 11);	/* the eighth "[" below the top-level mapping */
	free(yaml);
}

Test(config, every_error_in_one_run)
{
	/* 1,000 bad domains: every one is reported, not just the first */
	size_t cap = 64 * 1024, len = 0;
	char *yaml = malloc(cap);

	len += (size_t)snprintf(yaml + len, cap - len, "domains:\n");
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "  - bad_%d.example.com\n", i);
	cr_assert_lt(len, cap);
	cr_assert_null(load(yaml));
	cr_expect_eq(dl.errors, 1000);
	cr_expect_eq(dl.items[999].line, 1001);
	free(yaml);
}

/*
 * A main file past 1 MiB is read in pieces on every core (yamltree): its
 * domains, their positions and its errors are those of a single read, and
 * keys after the list still count.
 */
Test(config, a_large_file_read_in_pieces_keeps_positions)
{
	size_t cap = 4 * 1024 * 1024, len = 0;
	char *yaml = malloc(cap);
	struct config *cfg;
	const struct config_domain *d;

	len += (size_t)snprintf(yaml + len, cap - len, "defaults: {mode: none}\ndomains:\n");
	for (int i = 0; i < 60000; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "  - name: d%d.example.com\n    max_age: %d\n", i,
		    86400 + i);
	len += (size_t)snprintf(yaml + len, cap - len, "log: {level: debug}\n");
	cr_assert_gt(len, 1024 * 1024);
	cfg = load(yaml);
	cr_assert_not_null(cfg);
	cr_expect_eq(cfg->n_domains, 60000);
	d = find(cfg, "d45678.example.com");
	cr_expect_eq(d->line, 3 + 2 * 45678);
	cr_expect_eq(d->col, 11);
	cr_expect_eq(d->max_age, 86400 + 45678);
	cr_expect_eq(cfg->log_level, LOG_LEVEL_DEBUG);
	config_free(cfg);

	/* an error late in the list: its line as a single read counts it */
	memcpy(strstr(yaml, "d59000.example.com") - 6, "nome", 4);
	reset();
	cr_assert_null(load(yaml));
	cr_assert_eq(dl.errors, 2, "the unknown key and the missing name");
	cr_expect_eq(dl.items[0].line, 3 + 2 * 59000);
	free(yaml);
}

Test(config, many_domains_lookup)
{
	/* every domain of a large file is found by name; the last duplicate is caught */
	size_t cap = 1024 * 1024, len = 0;
	char *yaml = malloc(cap), name[64];
	struct config *cfg;

	len += (size_t)snprintf(yaml + len, cap - len, "defaults: {mode: none}\ndomains:\n");
	for (int i = 0; i < 20000; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "  - d%d.example.com\n", i);
	cfg = load(yaml);
	cr_assert_not_null(cfg);
	cr_expect_eq(cfg->n_domains, 20000);
	for (int i = 0; i < 20000; i += 997) {
		snprintf(name, sizeof(name), "d%d.example.com", i);
		cr_expect_eq(find(cfg, name), &cfg->domains[i]);
	}
	config_free(cfg);
	len += (size_t)snprintf(yaml + len, cap - len, "  - D7.Example.com.\n");
	cr_assert_null(load(yaml));
	cr_assert_eq(dl.errors, 1);
	cr_expect_str_eq(dl.items[0].msg, "duplicate domain 'd7.example.com' (first at line 10:5)");
	free(yaml);
}

Test(config, anchors_and_aliases)
{
	/* the event-based loader resolves aliases like libyaml's document loader did */
	static const char yaml[] =
	    "defaults:\n"
	    "  mode: enforce\n"
	    "  mx: &provider [mx1.provider.example, mx2.provider.example]\n"
	    "domains:\n"
	    "  - name: a.example.com\n"
	    "    mx: *provider\n"
	    "  - &b {name: b.example.com, mode: none, tlsrpt: &rua [\"mailto:r@b.example.com\"]}\n"
	    "  - name: c.example.com\n"
	    "    mx: [mx.c.example.com]\n"
	    "    tlsrpt: *rua\n";
	static const char *const pmx[] = { "mx1.provider.example", "mx2.provider.example", NULL };
	static const char *const rua[] = { "mailto:r@b.example.com", NULL };
	struct config *cfg = load(yaml);
	const struct config_domain *d;

	cr_assert_not_null(cfg);
	d = find(cfg, "a.example.com");
	expect_list(d->mx, pmx, "a.mx");
	cr_expect_neq(d->mx, cfg->defaults.mx, "an aliased list is the domain's own list, not the defaults'");
	d = find(cfg, "b.example.com");
	cr_expect_eq(d->mode, POLICY_MODE_NONE);
	d = find(cfg, "c.example.com");
	expect_list(d->tlsrpt, rua, "c.tlsrpt");
	config_free(cfg);
}

Test(config, document_markers)
{
	struct config *cfg;

	/* explicit start and end markers, and an empty trailing document, are fine */
	cfg = load("---\ndomains: [{name: example.com, mode: none}]\n...\n");
	cr_expect_not_null(cfg);
	cr_expect_eq(dl.n, 0);
	config_free(cfg);
	reset();
	cfg = load("domains: [{name: example.com, mode: none}]\n---\n");
	cr_expect_not_null(cfg);
	cr_expect_eq(dl.n, 0);
	config_free(cfg);
	reset();
	/* a second document with content is not */
	cr_expect_null(load("domains: [{name: example.com, mode: none}]\n--- \nfoo: 1\n"));
	cr_assert_eq(dl.n, 1);
	cr_expect_str_eq(dl.items[0].msg, "only one YAML document is allowed in the configuration");
	cr_expect_eq(dl.items[0].line, 2);
}

Test(config, scalar_or_null_document)
{
	cr_expect_null(load("---\n"));
	cr_assert_eq(dl.n, 1);
	cr_expect_str_eq(dl.items[0].msg, "the configuration must be a mapping, not nothing");
	reset();
	cr_expect_null(load("example.com\n"));
	cr_assert_eq(dl.n, 1);
	cr_expect_str_eq(dl.items[0].msg, "the configuration must be a mapping, not a scalar");
}

Test(config, nul_in_scalar)
{
	/* a quoted "\0" escape puts a NUL inside the value: refused, not truncated */
	cr_expect_null(load("domains:\n  - name: \"example.com\\0.evil\"\n    mode: none\n"));
	cr_assert_eq(dl.errors, 1);
	cr_expect_str_eq(dl.items[0].msg, "'name' contains a NUL character");
	reset();
	/* the same in the shorthand form, and in a key */
	cr_expect_null(load("defaults: {mode: none}\ndomains:\n  - \"example.com\\0.evil\"\n"));
	cr_assert_eq(dl.errors, 1);
	cr_expect_str_eq(dl.items[0].msg, "'name' contains a NUL character");
	reset();
	cr_expect_null(load("domains:\n  - name: example.com\n    \"mode\\0x\": none\n"));
	cr_assert_eq(dl.errors, 1);
	cr_expect_str_eq(dl.items[0].msg, "a key in 'domains[]' contains a NUL character");
	reset();
	/* and the real key after it is not a duplicate of it */
	cr_expect_null(load("domains:\n  - name: example.com\n    \"mode\\0x\": none\n    mode: none\n"));
	cr_assert_eq(dl.errors, 1);
	cr_expect_str_eq(dl.items[0].msg, "a key in 'domains[]' contains a NUL character");
}

Test(config, repeated_key_many_times)
{
	/* every repetition is reported against the first occurrence */
	size_t cap = 64 * 1024, len = 0;
	char *yaml = malloc(cap);

	len += (size_t)snprintf(yaml + len, cap - len, "user: a\n");
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "user: b\n");
	len += (size_t)snprintf(yaml + len, cap - len, "domains: [{name: example.com, mode: none}]\n");
	cr_assert_lt(len, cap);
	cr_assert_null(load(yaml));
	cr_expect_eq(dl.errors, 2000);
	cr_expect_str_eq(dl.items[1999].msg, "duplicate key 'user' in 'top level' (first at line 1)");
	cr_expect_eq(dl.items[1999].line, 2001);
	free(yaml);
}

/* A config with 1818 mx of 30 characters and one of LAST characters, mode none, max_age 86400. */
static char *
big_policy_yaml(size_t last)
{
	size_t cap = 128 * 1024, len = 0;
	char *yaml = malloc(cap), label[64];

	len += (size_t)snprintf(yaml + len, cap - len, "domains:\n  - name: example.com\n    mode: none\n"
	    "    max_age: 86400\n    mx:\n");
	for (int i = 0; i < 1818; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "      - mx%05d.abcdefghijklmn.example\n", i);
	memset(label, 'x', last - 13);
	label[last - 13] = '\0';
	len += (size_t)snprintf(yaml + len, cap - len, "      - last.%s.example\n", label);
	cr_assert_lt(len, cap);
	return yaml;
}

Test(config, policy_body_size_limit)
{
	/* 44 bytes of fixed lines + 1818 * 36 + (38 + 6) = 65536: the largest body senders must accept */
	char *yaml = big_policy_yaml(38), *body, err[256];
	struct config *cfg = load(yaml);
	struct policy p;
	size_t len;

	cr_assert_not_null(cfg);
	body = policy_render(find(cfg, "example.com"), &len);
	cr_expect_eq(len, 65536);
	cr_expect_eq(policy_parse(body, len, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.n_mx, 1819);
	policy_clear(&p);
	free(body);
	config_free(cfg);
	free(yaml);

	/* one byte more is refused by the loader, as policy_parse would refuse the body */
	reset();
	yaml = big_policy_yaml(39);
	cr_expect_null(load(yaml));
	cr_assert_eq(dl.errors, 1);
	cr_expect_str_eq(dl.items[0].msg, "the policy of 'example.com' would be 65537 bytes; senders may refuse "
	    "more than 65536 (RFC 8461 section 3.3)");
	cr_expect_eq(dl.items[0].line, 6);	/* at the mx list (its first item) */
	cr_expect_eq(dl.items[0].col, 7);
	free(yaml);
}

Test(config, long_lists_deduplicated)
{
	/* past the short-list scan, duplicates are still dropped and the order kept */
	size_t cap = 256 * 1024, len = 0;
	char *yaml = malloc(cap);
	struct config *cfg;
	const struct config_domain *d;

	len += (size_t)snprintf(yaml + len, cap - len, "domains:\n  - name: example.com\n    mx:\n");
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 500; i++)
			len += (size_t)snprintf(yaml + len, cap - len, "      - %s%d.example.com%s\n",
			    round == 1 ? "MX" : "mx", i, round == 2 ? "." : "");
	len += (size_t)snprintf(yaml + len, cap - len, "    tlsrpt:\n");
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 40; i++)
			len += (size_t)snprintf(yaml + len, cap - len, "      - \"mailto:r%d@example.com\"\n", i);
	cr_assert_lt(len, cap);
	cfg = load(yaml);
	cr_assert_not_null(cfg);
	d = find(cfg, "example.com");
	cr_assert_eq(strlist_len(d->mx), 500);
	cr_expect_str_eq(d->mx->v[0], "mx0.example.com");
	cr_expect_str_eq(d->mx->v[17], "mx17.example.com");
	cr_expect_str_eq(d->mx->v[499], "mx499.example.com");
	cr_assert_eq(strlist_len(d->tlsrpt), 40);
	cr_expect_str_eq(d->tlsrpt->v[39], "mailto:r39@example.com");
	config_free(cfg);
	free(yaml);
}

Test(config, dns_zone_must_not_be_the_state_or_its_lock_files)
{
	static const char *const zones[] = { "state/x.state", "state/x.state.lock", "state/x.state.serving",
		"state/x.state.pending", "state/x.state.update", "state/x.state.tmp.abc123", NULL };
	char line[1024];

	for (size_t i = 0; zones[i] != NULL; i++) {
		char *yaml = xasprintf("dns:\n  state: state/x.state\n  ttl: 300\n  zone: %s\n"
		    "domains: [{name: example.com, mode: none}]\n", zones[i]);
		struct config *cfg;

		diag_clear(&dl);
		diag_init(&dl, "t.yaml");
		cfg = load(yaml);
		cr_expect_null(cfg, "dns.zone '%s' accepted beside dns.state", zones[i]);
		cr_assert_eq(dl.errors, 1, "%s: %zu errors", zones[i], dl.errors);
		diag_format(&dl, 0, line, sizeof(line));
		/* at the zone's value */
		cr_expect(strncmp(line, "t.yaml:4:9: 'dns.zone' is ", 26) == 0, "%s", line);
		cr_expect(strstr(line, "/srv/mtastsd/state/x.state") != NULL, "%s", line);
		config_free(cfg);
		free(yaml);
	}
	/* a zone beside the state, with its own name, is fine */
	diag_clear(&dl);
	diag_init(&dl, "t.yaml");
	struct config *ok = load("dns:\n  state: state/x.state\n  zone: state/x.zone\n"
	    "domains: [{name: example.com, mode: none}]\n");
	cr_assert_not_null(ok);
	config_free(ok);
	/* the default zone named as the state */
	diag_clear(&dl);
	diag_init(&dl, "t.yaml");
	cr_expect_null(load("dns:\n  state: state/mta-sts.zone\ndomains: [{name: example.com, mode: none}]\n"));
	cr_expect_eq(dl.errors, 1);
}

/* dns.update read from a real secret file in a temporary folder */
static struct config *
load_update(const char *dir, const char *update)
{
	char *yaml = xasprintf("dns:\n  update:\n%sdomains: [{name: example.com, mode: none}]\n", update);
	struct config *cfg;

	diag_clear(&dl);
	diag_init(&dl, "t.yaml");
	cfg = config_load_mem("t.yaml", dir, yaml, strlen(yaml), &dl);
	free(yaml);
	return cfg;
}

Test(config, dns_update)
{
	char dir[] = "/tmp/test_config_update.XXXXXX", *key, line[1024];
	struct config *cfg;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	key = xasprintf("%s/update.key", dir);
	cr_assert_not_null(f = fopen(key, "w"));
	fputs("key \"mtastsd-update\" {\n\talgorithm hmac-sha512;\n\tsecret \"QUJDREVGR0g=\";\n};\n", f);
	fclose(f);
	chmod(key, 0600);

	cfg = load_update(dir, "    server: 192.0.2.53\n    tsig: {secret_file: update.key}\n    retry: 5\n");
	cr_assert_not_null(cfg, "%zu errors", dl.errors);
	cr_assert_not_null(cfg->dns_update);
	cr_expect_eq(dl.n, 0);
	cr_expect_str_eq(cfg->dns_update->server, "192.0.2.53:53");
	cr_expect_eq(ntohs(((struct sockaddr_in *)&cfg->dns_update->sa)->sin_port), 53);
	cr_expect(cfg->dns_update->signed_);
	cr_expect_str_eq(cfg->dns_update->key.name, "mtastsd-update.");
	cr_expect_eq(cfg->dns_update->key.alg, TSIGKEY_HMAC_SHA512);
	cr_expect_eq(cfg->dns_update->timeout, 3);
	cr_expect_eq(cfg->dns_update->retry, 5);
	cr_expect_eq(cfg->dns_update->retry_max, 3600);
	config_free(cfg);

	cfg = load_update(dir, "    server: \"[::1]:5353\"\n");
	cr_assert_not_null(cfg);
	cr_expect_eq(cfg->dns_update->sa.ss_family, AF_INET6);
	cr_expect(!cfg->dns_update->signed_);
	cr_assert_eq(dl.warnings, 1);
	diag_format(&dl, 0, line, sizeof(line));
	cr_expect_str_eq(line, "t.yaml:3:5: warning: 'dns.update' has no 'tsig': updates are sent unsigned");
	config_free(cfg);

	/* a secret others can read is refused at the file's position; one the group reads is a warning */
	chmod(key, 0644);
	cr_expect_null(load_update(dir, "    server: 192.0.2.53\n    tsig: {secret_file: update.key}\n"));
	cr_assert_eq(dl.errors, 1);
	diag_format(&dl, 0, line, sizeof(line));
	cr_expect(strncmp(line, "t.yaml:4:25: the secret file '", 30) == 0, "%s", line);
	cr_expect(strstr(line, "is readable by others (mode 644): refused") != NULL, "%s", line);
	chmod(key, 0640);
	cfg = load_update(dir, "    server: 192.0.2.53\n    tsig: {secret_file: update.key, name: other}\n");
	cr_expect_null(cfg);
	diag_format(&dl, 0, line, sizeof(line));
	cr_expect(strstr(line, "no key 'other.' in the file") != NULL, "%s", line);
	cfg = load_update(dir, "    server: 192.0.2.53\n    tsig: {secret_file: update.key}\n");
	cr_assert_not_null(cfg);
	cr_expect_eq(dl.warnings, 1);
	config_free(cfg);

	cr_expect_null(load_update(dir, "    tsig: {secret_file: update.key}\n"));
	diag_format(&dl, 0, line, sizeof(line));
	cr_expect_str_eq(line, "t.yaml:3:5: 'dns.update' needs a 'server' (IP address, optionally with :PORT)");
	unlink(key);
	rmdir(dir);
	free(key);
}

/* ------------------------------------------------- output paths (issue 14.4) */

/*
 * dns.zone and dns.state (with STATE.lock, .pending, .serving) are written
 * by serve: none may be the configuration or lie inside tls.certs, however
 * the path reaches it (.., a symbolic link, a hard link, a linked folder).
 */
Test(config, output_paths_never_inputs)
{
	static const struct {
		const char *conf;	/* the config's file name */
		const char *dns;	/* the dns section's body */
		const char *want;	/* the error, after "c.yaml:LINE:COL: ", NULL: none */
	} cases[] = {
		{ "c.yaml", "  zone: c.yaml\n", "'dns.zone' puts '" },
		{ "c.yaml", "  zone: ./sub/../c.yaml\n", "'dns.zone' puts '" },
		{ "c.yaml", "  state: c.yaml\n", "'dns.state' puts '" },
		{ "m.lock", "  state: m\n", "'dns.state' puts its lock file '" },
		{ "m.pending", "  state: m\n", "'dns.state' puts its pending-publish marker '" },
		{ "c.yaml", "  zone: certs/mta-sts.zone\n", "'dns.zone' puts '" },
		{ "c.yaml", "  state: certs/sub/../state\n", "'dns.state' puts '" },
		{ "c.yaml", "  zone: key-link.zone\n", "'dns.zone' puts '" },
		{ "c.yaml", "  zone: hard.zone\n", "'dns.zone' puts '" },
		{ "c.yaml", "  state: linked-dir/s.state\n", "'dns.state' puts '" },
		{ "c.yaml", "  state: state/s.state\n  zone: state/s.zone\n", NULL },
	};
	char dir[] = "/tmp/test_config.XXXXXX", line[2048];

	cr_assert_not_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *cmd = xasprintf("cd %s && rm -rf ./* && mkdir -p certs/sub sub && touch certs/key.pem && "
		    "ln -s certs/key.pem key-link.zone && ln -s certs linked-dir", dir);
		char *path = xasprintf("%s/%s", dir, cases[i].conf), *hard = xasprintf("%s/hard.zone", dir);
		FILE *fp;
		struct config *cfg;

		cr_assert_eq(system(cmd), 0);
		cr_assert_not_null(fp = fopen(path, "w"));
		fprintf(fp, "dns:\n%sdomains: [{name: example.com, mode: none}]\n", cases[i].dns);
		fclose(fp);
		cr_assert_eq(link(path, hard), 0);
		reset();
		cfg = config_load(path, &dl);
		if (cases[i].want == NULL) {
			cr_expect_not_null(cfg, "case %zu: refused", i);
			cr_expect_eq(dl.errors, 0, "case %zu: %zu errors", i, dl.errors);
		} else {
			cr_expect_null(cfg, "case %zu (%s): accepted", i, cases[i].dns);
			cr_assert_eq(dl.errors, 1, "case %zu (%s): %zu errors", i, cases[i].dns, dl.errors);
			diag_format(&dl, 0, line, sizeof(line));
			/* at the key's value, in the dns section */
			cr_expect(dl.items[0].line == 2 || dl.items[0].line == 3, "case %zu: %s", i, line);
			cr_expect_eq(dl.items[0].col, strncmp(cases[i].want, "'dns.zone'", 10) == 0 ? 9 : 10,
			    "case %zu: %s", i, line);
			cr_expect(strstr(line, cases[i].want) != NULL, "case %zu: %s", i, line);
		}
		config_free(cfg);
		free(cmd);
		free(path);
		free(hard);
	}
	char *rm = xasprintf("rm -rf %s", dir);
	cr_expect_eq(system(rm), 0);
	free(rm);
}

Test(config, log_level)
{
	static const struct {
		const char *name;
		enum log_level want;
	} ok[] = {
		{ "debug", LOG_LEVEL_DEBUG },
		{ "info", LOG_LEVEL_INFO },
		{ "warn", LOG_LEVEL_WARN },
		{ "error", LOG_LEVEL_ERROR },
	};
	char yaml[128], got[256];
	struct config *cfg = load("domains: [{name: example.com, mode: none}]\n");

	cr_assert_not_null(cfg);
	cr_expect_eq(cfg->log_level, LOG_LEVEL_INFO, "info when not written");
	config_free(cfg);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(yaml, sizeof(yaml), "log:\n  level: %s\ndomains: [{name: example.com, mode: none}]\n", ok[i].name);
		cfg = load(yaml);
		cr_assert_not_null(cfg, "log.level: %s refused", ok[i].name);
		cr_expect_eq(cfg->log_level, ok[i].want, "log.level: %s", ok[i].name);
		config_free(cfg);
	}
	reset();
	cr_assert_null(load("log:\n  level: verbose\ndomains: [{name: example.com, mode: none}]\n"));
	cr_assert_eq(dl.errors, 1);
	diag_format(&dl, 0, got, sizeof(got));
	cr_expect_str_eq(got, "t.yaml:2:10: 'log.level' must be debug, info, warn or error, not 'verbose'");
}

/* ------------------------------------------------------------------ acme */

#define ACME_DOMAINS "domains:\n  - name: example.com\n    mode: none\n"

Test(config, acme_absent_changes_nothing)
{
	struct config *cfg = load("listen: {http: [\"127.0.0.1:8080\"]}\n" ACME_DOMAINS);

	cr_assert_not_null(cfg);
	cr_expect_eq(dl.n, 0, "no acme section: no new diagnostics");
	cr_expect_null(cfg->acme);
	cr_expect(find(cfg, "example.com")->acme, "a domain may get an ACME certificate unless it says no");
	cr_expect(cfg->defaults.acme);
	config_free(cfg);
}

Test(config, acme_defaults)
{
	/* the default listeners are HTTPS only: http-01 leaves the default list without a word */
	struct config *cfg = load("acme: {agree_terms: true}\n" ACME_DOMAINS);
	const struct config_acme *a;

	cr_assert_not_null(cfg);
	cr_expect_eq(dl.n, 0);
	a = cfg->acme;
	cr_assert_not_null(a);
	cr_expect_str_eq(a->directory, "https://acme-v02.api.letsencrypt.org/directory");
	cr_expect_null(a->email);
	cr_expect_str_eq(a->storage, "/srv/mtastsd/state/acme");
	cr_expect(a->order);
	cr_assert_eq(a->n_challenges, 1);
	cr_expect_eq(a->challenges[0], CONFIG_ACME_TLS_ALPN_01);
	cr_expect_null(a->ca_file);
	cr_expect_null(a->eab_kid);
	cr_expect_null(a->eab_hmac_key);
	cr_expect_eq(a->pacing_burst, 20);
	cr_expect_eq(a->pacing_period, 45);
	cr_expect_eq(a->line, 1);
	config_free(cfg);

	cfg = load("listen: {https: [\"127.0.0.1:8443\"], http: [\"127.0.0.1:8080\"]}\nacme: {agree_terms: true}\n"
	    ACME_DOMAINS);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->acme->n_challenges, 2);
	cr_expect_eq(cfg->acme->challenges[0], CONFIG_ACME_TLS_ALPN_01);
	cr_expect_eq(cfg->acme->challenges[1], CONFIG_ACME_HTTP_01);
	cr_expect_str_eq(config_acme_challenge_name(cfg->acme->challenges[1]), "http-01");
	config_free(cfg);

	/* only a plain HTTP listener (TLS ends at the balancer): http-01 alone */
	cfg = load("listen: {https: [], http: [\"127.0.0.1:8080\"]}\nacme: {agree_terms: true}\n" ACME_DOMAINS);
	cr_assert_not_null(cfg);
	cr_expect_eq(dl.n, 0);
	cr_assert_eq(cfg->acme->n_challenges, 1);
	cr_expect_eq(cfg->acme->challenges[0], CONFIG_ACME_HTTP_01);
	config_free(cfg);
}

Test(config, acme_every_key)
{
	char ca[] = "/tmp/test_config_ca.XXXXXX", *yaml;
	int fd = mkstemp(ca);
	struct config *cfg;
	const struct config_acme *a;

	cr_assert_geq(fd, 0);
	close(fd);
	yaml = xasprintf("listen: {https: [\"127.0.0.1:8443\"], http: [\"127.0.0.1:8080\"]}\n"
	    "acme:\n"
	    "  directory: https://localhost:14000/dir\n"
	    "  email: ops@provider.example\n"
	    "  agree_terms: yes\n"
	    "  storage: /var/lib/mtastsd/acme///\n"
	    "  order: false\n"
	    "  challenges: [http-01, tls-alpn-01]\n"
	    "  ca_file: %s\n"
	    "  eab: {kid: kid-1, hmac_key: \"c2VjcmV0\"}\n"
	    "  pacing: {burst: 5, period: 600}\n" ACME_DOMAINS, ca);
	cfg = load(yaml);
	free(yaml);
	unlink(ca);
	cr_assert_not_null(cfg);
	cr_expect_eq(dl.n, 0);
	a = cfg->acme;
	cr_expect_str_eq(a->directory, "https://localhost:14000/dir");
	cr_expect_str_eq(a->email, "ops@provider.example");
	cr_expect_str_eq(a->storage, "/var/lib/mtastsd/acme", "trailing slashes dropped");
	cr_expect_not(a->order);
	cr_assert_eq(a->n_challenges, 2);
	cr_expect_eq(a->challenges[0], CONFIG_ACME_HTTP_01, "preference order kept");
	cr_expect_eq(a->challenges[1], CONFIG_ACME_TLS_ALPN_01);
	cr_expect_str_eq(a->ca_file, ca);
	cr_expect_str_eq(a->eab_kid, "kid-1");
	cr_assert_eq(a->eab_hmac_key_len, 6);
	cr_expect_eq(memcmp(a->eab_hmac_key, "secret", 6), 0, "the MAC key is decoded");
	cr_expect_eq(a->pacing_burst, 5);
	cr_expect_eq(a->pacing_period, 600);
	config_free(cfg);

	/* base64's padding is the same key; an empty email is none; a null eab no binding */
	cfg = load("acme:\n  agree_terms: true\n  email: \"\"\n  eab: {kid: k, hmac_key: \"c2VjcmV0MQ==\"}\n" ACME_DOMAINS);
	cr_assert_not_null(cfg);
	cr_expect_null(cfg->acme->email);
	cr_assert_eq(cfg->acme->eab_hmac_key_len, 7);
	cr_expect_eq(memcmp(cfg->acme->eab_hmac_key, "secret1", 7), 0);
	config_free(cfg);
	cfg = load("acme:\n  agree_terms: true\n  eab: null\n  storage: acme\n" ACME_DOMAINS);
	cr_assert_not_null(cfg);
	cr_expect_null(cfg->acme->eab_kid);
	cr_expect_str_eq(cfg->acme->storage, "/srv/mtastsd/acme", "relative to the config's folder");
	config_free(cfg);
}

Test(config, acme_email_and_directory_checked)
{
	static const char *const bad_email[] = { "ops", "@example.com", "ops@", "ops@example", "a@b@example.com",
		"o ps@example.com", "ops@-x.example", "ops@x-.example", "ops@x..example", "ops.@example.com",
		"mailto:ops@example.com", "<ops@example.com>", NULL };
	static const char *const good_email[] = { "ops@example.com", "first.last+acme@mail.example.co.uk",
		"x@a-b.example", NULL };
	static const char *const bad_dir[] = { "http://acme.example/dir", "https://", "https:///dir",
		"https://acme.example/a dir", "acme.example/dir", NULL };
	char yaml[512];

	for (size_t i = 0; bad_email[i] != NULL; i++) {
		reset();
		snprintf(yaml, sizeof(yaml), "acme: {agree_terms: true, email: \"%s\"}\n" ACME_DOMAINS, bad_email[i]);
		cr_expect_null(load(yaml), "email '%s' accepted", bad_email[i]);
		cr_expect_eq(dl.errors, 1, "email '%s'", bad_email[i]);
	}
	for (size_t i = 0; good_email[i] != NULL; i++) {
		struct config *cfg;
		reset();
		snprintf(yaml, sizeof(yaml), "acme: {agree_terms: true, email: \"%s\"}\n" ACME_DOMAINS, good_email[i]);
		cfg = load(yaml);
		cr_expect_not_null(cfg, "email '%s' refused", good_email[i]);
		config_free(cfg);
	}
	for (size_t i = 0; bad_dir[i] != NULL; i++) {
		reset();
		snprintf(yaml, sizeof(yaml), "acme: {agree_terms: true, directory: \"%s\"}\n" ACME_DOMAINS, bad_dir[i]);
		cr_expect_null(load(yaml), "directory '%s' accepted", bad_dir[i]);
		cr_expect_eq(dl.errors, 1, "directory '%s'", bad_dir[i]);
	}
}

Test(config, acme_per_domain_inherited_from_defaults)
{
	static const char main_yaml[] =
	    "acme: {agree_terms: true}\n"
	    "defaults: {mode: none, acme: false}\n"
	    "domains:\n"
	    "  - example.com\n"
	    "  - {name: example.org, acme: true}\n";
	static const char tenant[] =
	    "- tenant.example\n"
	    "- {name: own.example, acme: true}\n";
	struct config *cfg = load(main_yaml), *plain;
	struct config_domain *t;
	struct diag_list tdl;
	size_t n;

	cr_assert_not_null(cfg);
	cr_expect_not(find(cfg, "example.com")->acme, "inherited from defaults");
	cr_expect(find(cfg, "example.org")->acme, "set on the domain");
	diag_init(&tdl, "tenant.yaml");
	t = config_load_tenant_mem(cfg, "tenant.yaml", tenant, strlen(tenant), &tdl, &n);
	cr_assert_not_null(t);
	cr_assert_eq(n, 2);
	cr_expect_not(t[0].acme, "a tenant file inherits the main file's defaults");
	cr_expect(t[1].acme);
	for (size_t i = 0; i < n; i++)
		domain_clear(&t[i]);
	free(t);
	diag_clear(&tdl);

	/* without an acme section the key is allowed and kept (nothing uses it) */
	plain = load("defaults: {mode: none}\ndomains:\n  - {name: example.com, acme: false}\n");
	cr_assert_not_null(plain);
	cr_expect_eq(dl.n, 0);
	cr_expect_not(find(plain, "example.com")->acme);
	config_free(plain);
	config_free(cfg);
}

Test(config, acme_storage_apart_from_what_mtastsd_reads)
{
	static const struct {
		const char *yaml;
		bool ok;
	} cases[] = {
		/* a folder holding the config and tls.certs beside the storage's own files: fine */
		{ "tls: {certs: tls}\nacme: {agree_terms: true, storage: /srv/mtastsd}\n", true },
		{ "acme: {agree_terms: true, storage: /srv/mtastsd}\n", false },	/* certs/ is the storage's */
		{ "tls: {certs: acme/certs}\nacme: {agree_terms: true, storage: acme}\n", false },
		{ "acme: {agree_terms: true, storage: certs/..}\ntls: {certs: certs}\n", false },
		{ "domains_dir: tenants\nacme: {agree_terms: true, storage: tenants/acme}\n", false },
		{ "dns: {state: acme/state}\nacme: {agree_terms: true, storage: acme}\n", false },
		{ "dns: {state: acme/x.state, zone: acme/challenges/zone}\nacme: {agree_terms: true, storage: acme}\n",
		    false },
		{ "dns: {state: acme/mtastsd.state, zone: acme/mta-sts.zone}\nacme: {agree_terms: true, storage: acme}\n",
		    true },
		{ "acme: {agree_terms: true, storage: /srv}\n", true },
		{ "acme: {agree_terms: true, storage: tls/..}\ntls: {certs: tls/challenges}\n", false },
	};
	char yaml[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;
		reset();
		snprintf(yaml, sizeof(yaml), "%s" ACME_DOMAINS, cases[i].yaml);
		cfg = config_load_mem("/srv/mtastsd/t.yaml", "/srv/mtastsd", yaml, strlen(yaml), &dl);
		cr_expect_eq(cfg != NULL, cases[i].ok, "case %zu: %s", i, cases[i].yaml);
		if (cfg == NULL && cases[i].ok)
			diag_print(&dl, stderr);
		config_free(cfg);
	}
	/* the configuration file as the storage's state file */
	reset();
	snprintf(yaml, sizeof(yaml), "acme: {agree_terms: true, storage: .}\ntls: {certs: tls}\n" ACME_DOMAINS);
	cr_expect_null(config_load_mem("/srv/mtastsd/state", "/srv/mtastsd", yaml, strlen(yaml), &dl));
	cr_expect_eq(dl.errors, 1);
}

/*
 * A main file's long list is parsed in slices on several threads: the same
 * domains in the same order, the same diagnostics at the same positions,
 * duplicates found across slices (the first one kept) and errors anywhere.
 */
static char *
long_list(size_t n, bool with_errors, size_t *warn_col)
{
	struct buf b = {0};

	buf_puts(&b, "listen: {http: [\"127.0.0.1:8080\"]}\ndefaults: {mode: testing, mx: [mx.example.net]}\ndomains:\n");
	for (size_t i = 0; i < n; i++) {
		char line[128];

		if (i == 7000) {
			snprintf(line, sizeof(line), "  - {name: d%05zu.example.com, max_age: 60}\n", i);
			*warn_col = (size_t)(strstr(line, "60}") - line) + 1;
		} else if (with_errors && i == 104) {
			snprintf(line, sizeof(line), "  - bad_name.example.com\n");
		} else if (with_errors && (i == 20000 || i == 24999)) {
			/* the same names as entries 5 and 12000, in other slices */
			snprintf(line, sizeof(line), "  - d%05zu.example.com\n", i == 20000 ? (size_t)5 : (size_t)12000);
		} else {
			snprintf(line, sizeof(line), "  - d%05zu.example.com\n", i);
		}
		buf_puts(&b, line);
	}
	return b.data;
}

static char *
printed(void)
{
	FILE *f = tmpfile();
	long len;
	char *out;

	cr_assert_not_null(f);
	diag_print(&dl, f);
	len = ftell(f);
	rewind(f);
	out = xcalloc((size_t)len + 1, 1);
	cr_assert_eq(fread(out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return out;
}

Test(config, a_long_list_parsed_in_slices_keeps_order_and_positions)
{
	enum { N = 25000 };
	size_t col = 0;
	char *yaml = long_list(N, false, &col), *got, want[256];
	struct config *cfg = load(yaml);

	cr_assert_not_null(cfg, "%zu errors", dl.errors);
	cr_assert_eq(cfg->n_domains, N);
	for (size_t i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "d%05zu.example.com", i);
		cr_assert_str_eq(cfg->domains[i].name, name, "entry %zu", i);
		cr_assert_eq(cfg->domains[i].line, (int)(4 + i));
	}
	cr_expect_eq(find(cfg, "d07000.example.com")->max_age, 60);
	got = printed();
	snprintf(want, sizeof(want), "t.yaml:7004:%zu: warning: max_age 60 is under a day; RFC 8461 recommends weeks or more\n",
	    col);
	cr_expect_str_eq(got, want);
	free(got);
	config_free(cfg);
	free(yaml);
}

Test(config, a_long_list_reports_errors_and_duplicates_across_slices)
{
	enum { N = 25000 };
	size_t col = 0;
	char *yaml = long_list(N, true, &col), *got;
	const char *lines[4];

	cr_assert_null(load(yaml));
	cr_expect_eq(dl.errors, 3, "%zu errors", dl.errors);
	cr_expect_eq(dl.warnings, 1);
	got = printed();
	/* in file order, whichever slice found them */
	lines[0] = strstr(got, "t.yaml:108:5: invalid domain: ");
	lines[1] = strstr(got, "t.yaml:7004:");
	lines[2] = strstr(got, "t.yaml:20004:5: duplicate domain 'd00005.example.com' (first at line 9:5)\n");
	lines[3] = strstr(got, "t.yaml:25003:5: duplicate domain 'd12000.example.com' (first at line 12004:5)\n");
	for (size_t i = 0; i < 4; i++)
		cr_expect_not_null(lines[i], "line %zu missing in:\n%s", i, got);
	for (size_t i = 1; i < 4; i++)
		cr_expect(lines[i - 1] < lines[i], "line %zu out of order in:\n%s", i, got);
	free(got);
	free(yaml);
}
