/* SPDX-License-Identifier: MIT */
/* Unit tests of certstore.c: file layouts and the selection rules, on certificates generated at test time. */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certstore.h"
#include "commands.h"
#include "config.h"
#include "diag.h"
#include "gencert.h"

static char dir[64];
static struct diag_list dl;

static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_certstore.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	diag_init(&dl, "certs");
}

static void
teardown(void)
{
	sh("rm -rf '%s'", dir);
	diag_clear(&dl);
}

TestSuite(certstore, .init = setup, .fini = teardown, .timeout = 60);

static void
need_openssl(void)
{
	if (sh("command -v openssl >/dev/null 2>&1") != 0)
		cr_skip_test("openssl is not installed: cannot generate test certificates");
}

/* scripts/gen-dev-certs into DIR/SUB with extra ARGS; the CA is shared by everything in DIR/SUB. */
static void
gen(const char *sub, const char *args)
{
	int rc = sh("'%s/scripts/gen-dev-certs' -o '%s/%s' %s >/dev/null", SOURCE_ROOT, dir, sub, args);

	cr_assert_eq(rc, 0, "gen-dev-certs %s failed", args);
}

static struct certstore *
load(void)
{
	struct certstore *cs = certstore_load(dir, &dl);

	cr_assert_not_null(cs);
	return cs;
}

/* load(), with every diagnostic in the test's log and none expected: WHY says what a warning would mean. */
static struct certstore *
load_clean(const char *why)
{
	struct certstore *cs = load();

	for (size_t i = 0; i < dl.n; i++)
		cr_log_info("diag: %s", dl.items[i].msg);
	cr_assert_eq(dl.errors, 0);
	cr_assert_eq(dl.warnings, 0, "%s", why);
	return cs;
}

/* The file name (last path component) of the pair serving HOST, or "-". */
static const char *
pick(const struct certstore *cs, const char *host, enum certstore_key want)
{
	long i = certstore_lookup(cs, host, want);
	const char *p;

	if (i < 0)
		return "-";
	p = strrchr(certstore_cert_path(cs, (size_t)i), '/');
	return p ? p + 1 : certstore_cert_path(cs, (size_t)i);
}

static bool
has_diag(enum diag_level level, const char *needle)
{
	for (size_t i = 0; i < dl.n; i++)
		if (dl.items[i].level == level && strstr(dl.items[i].msg, needle) != NULL)
			return true;
	return false;
}

/* A host, the key types its client accepts, and the file name pick() must give. */
struct want_pick {
	const char *host;
	enum certstore_key key;
	const char *file;
};

/* Loads the pairs gen-dev-certs makes from ARGS (skipped without openssl) and asserts each pick of W. */
static void
assert_picks(const char *args, const struct want_pick *w, size_t n)
{
	struct certstore *cs;

	need_openssl();
	gen("d", args);
	cs = load();
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(pick(cs, w[i].host, w[i].key), w[i].file, "%s (key %d)", w[i].host, (int)w[i].key);
	certstore_free(cs);
}

Test(certstore, exact_beats_wildcard_even_when_the_wildcard_lives_longer)
{
	struct certstore *cs;

	need_openssl();
	gen("d", "--name exact --days 30 a.example");
	gen("d", "--name wild --days 300 --wildcard a.example");
	cs = load();
	cr_assert_eq(dl.errors, 0);
	cr_assert_eq(certstore_count(cs), 2, "the CA must not count as a serving pair");
	cr_assert_str_eq(pick(cs, "mta-sts.a.example", CERTSTORE_KEY_ANY), "exact.crt");
	/* the wildcard still serves other names directly under a.example */
	cr_assert_str_eq(pick(cs, "www.a.example", CERTSTORE_KEY_ANY), "wild.crt");
	certstore_free(cs);
}

Test(certstore, wildcard_covers_exactly_one_label)
{
	static const struct want_pick w[] = {
		{ "mta-sts.b.example", CERTSTORE_KEY_ANY, "_wildcard.b.example.crt" },
		{ "x.mta-sts.b.example", CERTSTORE_KEY_ANY, "-" },
		{ "b.example", CERTSTORE_KEY_ANY, "-" },
		{ "mta-sts.c.example", CERTSTORE_KEY_ANY, "-" },
	};

	assert_picks("--wildcard b.example", w, sizeof w / sizeof w[0]);
}

Test(certstore, later_expiry_wins_among_equals)
{
	struct certstore *cs;
	long i;

	need_openssl();
	/*
	 * File order and expiry order disagree in both directions: for c the
	 * longest-lived pair is listed first (a rule "last found wins" fails),
	 * for d it is listed last and for e in the middle (a rule "first found
	 * wins" fails).
	 */
	gen("d", "--name a-long --days 400 c.example");
	gen("d", "--name b-short --days 10 c.example");
	gen("d", "--name c-mid --days 200 c.example");
	gen("d", "--name d1-short --days 10 d.example");
	gen("d", "--name d2-mid --days 200 d.example");
	gen("d", "--name d3-long --days 400 d.example");
	gen("d", "--name e1-mid --days 200 e.example");
	gen("d", "--name e2-long --days 400 e.example");
	gen("d", "--name e3-short --days 10 e.example");
	cs = load();
	cr_assert_eq(certstore_count(cs), 9);
	cr_assert_str_eq(pick(cs, "mta-sts.c.example", CERTSTORE_KEY_ANY), "a-long.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.d.example", CERTSTORE_KEY_ANY), "d3-long.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.e.example", CERTSTORE_KEY_ANY), "e2-long.crt");
	i = certstore_lookup(cs, "mta-sts.c.example", CERTSTORE_KEY_EC);
	cr_assert(certstore_cert_not_after(cs, (size_t)i) > time(NULL) + 399 * 86400L);
	i = certstore_lookup(cs, "mta-sts.d.example", CERTSTORE_KEY_EC);
	cr_assert(certstore_cert_not_after(cs, (size_t)i) > time(NULL) + 399 * 86400L);
	certstore_free(cs);
}

Test(certstore, cn_only_certificate_is_not_indexed)
{
	struct certstore *cs;
	int rc;

	need_openssl();
	rc = sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-subj /CN=mta-sts.cn.example -addext basicConstraints=critical,CA:FALSE "
	    "-keyout cn.key -out cn.crt -days 30 >/dev/null 2>&1 && chmod 600 cn.key", dir);
	cr_assert_eq(rc, 0);
	cs = load();
	cr_assert_eq(dl.errors, 0);
	cr_assert_eq(certstore_count(cs), 1, "the pair loads");
	cr_assert_eq(certstore_cert_n_names(cs, 0), 0);
	cr_assert_str_eq(pick(cs, "mta-sts.cn.example", CERTSTORE_KEY_ANY), "-", "the CN must be ignored");
	cr_assert(has_diag(DIAG_WARNING, "no SAN DNS names"));
	certstore_free(cs);
}

Test(certstore, rsa_and_ecdsa_for_one_host)
{
	struct certstore *cs;
	long ec, rsa;

	need_openssl();
	gen("d", "d.example");
	gen("d", "--rsa d.example");
	cs = load();
	cr_assert_eq(certstore_count(cs), 2);
	ec = certstore_lookup(cs, "mta-sts.d.example", CERTSTORE_KEY_EC);
	rsa = certstore_lookup(cs, "mta-sts.d.example", CERTSTORE_KEY_RSA);
	cr_assert(ec >= 0 && rsa >= 0 && ec != rsa);
	cr_assert_eq(certstore_cert_key(cs, (size_t)ec), CERTSTORE_KEY_EC);
	cr_assert_eq(certstore_cert_key(cs, (size_t)rsa), CERTSTORE_KEY_RSA);
	cr_assert_str_eq(pick(cs, "mta-sts.d.example", CERTSTORE_KEY_RSA), "mta-sts.d.example.rsa.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.d.example", CERTSTORE_KEY_EC), "mta-sts.d.example.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.d.example", CERTSTORE_KEY_ANY), "mta-sts.d.example.crt",
	    "EC is preferred when the client accepts both");
	certstore_free(cs);
}

Test(certstore, host_with_only_rsa_has_no_ec_pick)
{
	static const struct want_pick w[] = {
		{ "mta-sts.e.example", CERTSTORE_KEY_EC, "-" },
		{ "mta-sts.e.example", CERTSTORE_KEY_ANY, "mta-sts.e.example.rsa.crt" },
	};

	assert_picks("--rsa e.example", w, sizeof w / sizeof w[0]);
}

Test(certstore, certbot_layout_single_file_and_pem_key_pairs)
{
	struct certstore *cs;
	int rc;

	need_openssl();
	gen("src", "f.example g.example h.example");
	rc = sh("cd '%s' && mkdir -p live/mta-sts.f.example one && "
	    "cp src/mta-sts.f.example.crt live/mta-sts.f.example/cert.pem && "
	    "cp src/ca.crt live/mta-sts.f.example/chain.pem && "
	    "cat src/mta-sts.f.example.crt src/ca.crt > live/mta-sts.f.example/fullchain.pem && "
	    "cp src/mta-sts.f.example.key live/mta-sts.f.example/privkey.pem && "
	    "cat src/mta-sts.g.example.crt src/mta-sts.g.example.key > one/g.pem && "
	    "cp src/mta-sts.h.example.crt one/h.pem && cp src/mta-sts.h.example.key one/h.key && "
	    "chmod 600 one/* live/mta-sts.f.example/privkey.pem && rm src/mta-sts.*", dir);
	cr_assert_eq(rc, 0);
	cs = load_clean("cert.pem and chain.pem beside fullchain.pem are not strays");
	cr_assert_eq(certstore_count(cs), 3);
	cr_assert_str_eq(pick(cs, "mta-sts.f.example", CERTSTORE_KEY_ANY), "fullchain.pem");
	cr_assert_str_eq(pick(cs, "mta-sts.g.example", CERTSTORE_KEY_ANY), "g.pem");
	cr_assert_str_eq(pick(cs, "mta-sts.h.example", CERTSTORE_KEY_ANY), "h.pem");
	certstore_free(cs);
}

Test(certstore, certbot_root_reads_live_only)
{
	struct certstore *cs;
	int rc;

	need_openssl();
	/* /etc/letsencrypt as certbot leaves it after one renewal: live/ links into archive/ */
	gen("src", "--days 10 p.example");
	rc = sh("cd '%s' && mkdir -p le/archive/p le/live/p le/keys le/csr && "
	    "cat src/mta-sts.p.example.crt src/ca.crt > le/archive/p/fullchain1.pem && "
	    "cp src/mta-sts.p.example.crt le/archive/p/cert1.pem && "
	    "cp src/mta-sts.p.example.key le/archive/p/privkey1.pem && "
	    "cp src/mta-sts.p.example.key le/keys/0000_key-certbot.pem && "
	    "rm src/mta-sts.*", dir);
	cr_assert_eq(rc, 0);
	gen("src", "--days 80 p.example");
	rc = sh("cd '%s' && cat src/mta-sts.p.example.crt src/ca.crt > le/archive/p/fullchain2.pem && "
	    "cp src/mta-sts.p.example.crt le/archive/p/cert2.pem && "
	    "cp src/ca.crt le/archive/p/chain2.pem && "
	    "cp src/mta-sts.p.example.key le/archive/p/privkey2.pem && "
	    "ln -s ../../archive/p/fullchain2.pem le/live/p/fullchain.pem && "
	    "ln -s ../../archive/p/privkey2.pem le/live/p/privkey.pem && "
	    "ln -s ../../archive/p/cert2.pem le/live/p/cert.pem && "
	    "ln -s ../../archive/p/chain2.pem le/live/p/chain.pem && "
	    "chmod 600 le/archive/p/privkey* le/keys/* && rm -r src", dir);
	cr_assert_eq(rc, 0);
	cs = load_clean("archive/ and keys/ are not strays in a certbot root");
	cr_assert_eq(certstore_count(cs), 1);
	cr_assert_str_eq(pick(cs, "mta-sts.p.example", CERTSTORE_KEY_ANY), "fullchain.pem");
	cr_assert(certstore_cert_not_after(cs, 0) > time(NULL) + 79 * 86400L, "the current (renewed) one");
	certstore_free(cs);
}

/* Issue 14.10: a broken pair is a problem for its own names only; every other pair loads and serves. */
Test(certstore, mismatched_key_and_broken_pem_leave_only_their_own_names_unserved)
{
	struct certstore *cs;
	int rc;

	need_openssl();
	gen("d", "i.example j.example k2.example");
	rc = sh("cd '%s/d' && cp mta-sts.j.example.key mta-sts.i.example.key && "
	    "printf -- '-----BEGIN CERTIFICATE-----\\nnot base64\\n' > mta-sts.j.example.crt", dir);
	cr_assert_eq(rc, 0);
	cs = load();
	cr_assert_eq(dl.errors, 0, "nothing here stops serve from starting or reloading");
	cr_assert_eq(dl.unserved, 2);
	cr_assert(has_diag(DIAG_UNSERVED, "does not match"));
	cr_assert(has_diag(DIAG_UNSERVED, "cannot be parsed"));
	cr_assert_eq(certstore_count_broken(cs), 2);
	cr_assert_eq(certstore_count(cs), 1, "the good pair loads");
	cr_assert_str_eq(pick(cs, "mta-sts.i.example", CERTSTORE_KEY_ANY), "-");
	cr_assert_str_eq(pick(cs, "mta-sts.k2.example", CERTSTORE_KEY_ANY), "mta-sts.k2.example.crt");
	certstore_free(cs);
}

Test(certstore, readable_key_and_stray_files_are_warnings)
{
	struct certstore *cs;
	char path[256];

	need_openssl();
	gen("d", "k.example");
	snprintf(path, sizeof(path), "%s/d/mta-sts.k.example.key", dir);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(sh("cd '%s/d' && cp mta-sts.k.example.crt lonely.crt", dir), 0);
	cs = load();
	cr_assert_eq(dl.errors, 0);
	cr_assert(has_diag(DIAG_WARNING, "readable by group or others"));
	cr_assert(has_diag(DIAG_WARNING, "lonely.crt"));
	cr_assert_str_eq(pick(cs, "mta-sts.k.example", CERTSTORE_KEY_ANY), "mta-sts.k.example.crt");
	certstore_free(cs);
}

Test(certstore, missing_folder_is_an_error)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/nope", dir);
	cr_assert_null(certstore_load(path, &dl));
	cr_assert_eq(dl.errors, 1);
}

/* `check`'s judgement (check_extra) of the config YAML in DIR; LINES gets each domain's line (up to 8). */
static void
check_yaml(const char *yaml, int *lines)
{
	struct config *cfg = config_load_mem("c.yaml", dir, yaml, strlen(yaml), &dl);

	cr_assert_not_null(cfg);
	for (size_t i = 0; lines != NULL && i < cfg->n_domains && i < 8; i++)
		lines[i] = cfg->domains[i].line;
	check_extra(cfg, &dl);
	for (size_t i = 0; i < dl.n; i++)
		cr_log_info("diag %d:%d %d %s", dl.items[i].line, dl.items[i].col, (int)dl.items[i].level,
		    dl.items[i].msg);
}

Test(certstore, check_reports_coverage_expiry_and_unused)
{
	static const char yaml[] =
	    "listen:\n  https: [\"127.0.0.1:8443\"]\n"
	    "tls:\n  certs: d/\n"
	    "domains:\n"
	    "  - name: l.example\n    mx: [mx.l.example]\n"
	    "  - name: m.example\n    mx: [mx.m.example]\n"
	    "  - name: n.example\n    mx: [mx.n.example]\n";
	int lines[8];

	need_openssl();
	gen("d", "--days 300 l.example");
	gen("d", "--days 5 m.example");
	gen("d", "--name other --days 300 unrelated.example");
	check_yaml(yaml, lines);
	cr_assert_eq(dl.errors, 0, "serve would run this");
	cr_assert_eq(dl.unserved, 1, "only n.example lacks a certificate");
	cr_assert(has_diag(DIAG_UNSERVED, "'mta-sts.n.example'"));
	for (size_t i = 0; i < dl.n; i++) {
		if (dl.items[i].level == DIAG_UNSERVED)
			cr_assert_eq(dl.items[i].line, lines[2], "the problem sits on the domain");
		if (strstr(dl.items[i].msg, "expires in") != NULL) {
			cr_assert_eq(dl.items[i].level, DIAG_WARNING);
			cr_assert_eq(dl.items[i].line, lines[1]);
		}
	}
	cr_assert(has_diag(DIAG_WARNING, "'mta-sts.m.example'"));
	cr_assert(has_diag(DIAG_WARNING, "other.crt' is not used"));
	cr_assert_not(has_diag(DIAG_WARNING, "mta-sts.l.example'"));
}

/*
 * Write DIR/NAME.crt and DIR/NAME.key (mode 0600) for a certificate of KIND
 * for HOST, valid from NOT_AFTER - 90 days to NOT_AFTER; PKCS8 picks the key
 * format; PREFIX goes before the key.
 */
static void
put_pair_until(const char *name, enum gencert_key kind, const char *host, time_t not_after, bool pkcs8,
    const char *prefix)
{
	const char *dns[] = { host };
	struct gencert g = { kind, dns, 1, false, false, 3, not_after };
	gnutls_datum_t cert, key, p8;
	static const char *const labels[] = { "EC PRIVATE KEY", "EC PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY",
		"PRIVATE KEY" };
	char *c, *k, path[256];
	FILE *f;

	cr_assert_eq(gencert_make(&g, &cert, &key, &p8), 0);
	c = gencert_pem("CERTIFICATE", &cert);
	k = pkcs8 ? gencert_pem("PRIVATE KEY", &p8) : gencert_pem(labels[kind], &key);
	snprintf(path, sizeof(path), "%s/%s.crt", dir, name);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(c, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(prefix ? prefix : "", f);
	fputs(k, f);
	fclose(f);
	chmod(path, 0600);
	free(c);
	free(k);
	gnutls_free(cert.data);
	gnutls_free(key.data);
	gnutls_free(p8.data);
}

static void
put_pair(const char *name, enum gencert_key kind, const char *host, bool pkcs8, const char *prefix)
{
	put_pair_until(name, kind, host, time(NULL) + 60 * 86400, pkcs8, prefix);
}

/* The file name of the pair serving HOST at T, or "-". */
static const char *
pick_at(const struct certstore *cs, const char *host, enum certstore_key want, time_t t)
{
	long i = certstore_lookup_at(cs, host, want, t);
	const char *p;

	if (i < 0)
		return "-";
	p = strrchr(certstore_cert_path(cs, (size_t)i), '/');
	return p ? p + 1 : certstore_cert_path(cs, (size_t)i);
}

#define DAY (86400L)

/* Issue 14.1: an exact name beats a wildcard only while it is valid; the choice follows the clock, no reload. */
Test(certstore, an_expired_exact_certificate_gives_way_to_a_valid_wildcard)
{
	time_t t = time(NULL);
	struct certstore *cs;

	put_pair_until("exact", GENCERT_P256, "mta-sts.a.example", t + 30 * DAY, false, NULL);
	put_pair_until("wild", GENCERT_P256, "*.a.example", t + 60 * DAY, false, NULL);
	cs = load_clean("both are valid now");
	cr_assert_str_eq(pick_at(cs, "mta-sts.a.example", CERTSTORE_KEY_ANY, t), "exact.crt");
	cr_assert_str_eq(pick_at(cs, "mta-sts.a.example", CERTSTORE_KEY_ANY, t + 30 * DAY), "exact.crt",
	    "valid up to and including its last second");
	cr_assert_str_eq(pick_at(cs, "mta-sts.a.example", CERTSTORE_KEY_ANY, t + 30 * DAY + 1), "wild.crt");
	cr_assert_str_eq(pick_at(cs, "mta-sts.a.example", CERTSTORE_KEY_ANY, t + 61 * DAY), "-");
	cr_assert(certstore_covers(cs, "mta-sts.a.example", t + 45 * DAY));
	cr_assert_not(certstore_covers(cs, "mta-sts.a.example", t + 61 * DAY));
	cr_assert_eq(certstore_next_change(cs, t), t + 30 * DAY + 1, "the exact one leaves validity first");
	certstore_free(cs);
}

/* Issue 14.1: the one expiring last wins only among those valid now; a renewal placed early waits its turn. */
Test(certstore, a_certificate_not_yet_valid_is_no_candidate)
{
	time_t t = time(NULL);
	struct certstore *cs;

	put_pair_until("current", GENCERT_P256, "mta-sts.b.example", t + 60 * DAY, false, NULL);
	put_pair_until("next", GENCERT_P256, "mta-sts.b.example", t + 200 * DAY, false, NULL);
	cs = load();
	cr_assert_eq(dl.errors + dl.unserved, 0);
	cr_assert(has_diag(DIAG_WARNING, "next.crt' is not valid before"));
	cr_assert_str_eq(pick_at(cs, "mta-sts.b.example", CERTSTORE_KEY_ANY, t), "current.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.b.example", CERTSTORE_KEY_EC), "current.crt", "at the real clock too");
	cr_assert_str_eq(pick_at(cs, "mta-sts.b.example", CERTSTORE_KEY_ANY, t + 110 * DAY), "next.crt",
	    "from its first second on");
	cr_assert_str_eq(pick_at(cs, "mta-sts.b.example", CERTSTORE_KEY_ANY, t - 31 * DAY), "-");
	cr_assert_eq(certstore_next_change(cs, t), t + 60 * DAY + 1, "the current one expires first");
	certstore_free(cs);
}

/* Issue 14.1: key type comes last: a valid RSA pair serves when the EC one has expired. */
Test(certstore, an_expired_ec_pair_leaves_the_valid_rsa_one)
{
	time_t t = time(NULL);
	struct certstore *cs;

	put_pair_until("ec", GENCERT_P256, "mta-sts.c.example", t + 10 * DAY, false, NULL);
	put_pair_until("rsa", GENCERT_RSA2048, "mta-sts.c.example", t + 50 * DAY, false, NULL);
	cs = load_clean("both are valid now");
	cr_assert_str_eq(pick_at(cs, "mta-sts.c.example", CERTSTORE_KEY_ANY, t), "ec.crt");
	cr_assert_str_eq(pick_at(cs, "mta-sts.c.example", CERTSTORE_KEY_ANY, t + 20 * DAY), "rsa.crt");
	cr_assert_str_eq(pick_at(cs, "mta-sts.c.example", CERTSTORE_KEY_EC, t + 20 * DAY), "-");
	certstore_free(cs);
}

/* Issue 14.1: `check` judges the pair serve presents, and calls none that serves "not used". */
Test(certstore, check_judges_the_pair_serve_presents)
{
	static const char yaml[] =
	    "listen:\n  https: [\"127.0.0.1:8443\"]\n"
	    "tls:\n  certs: .\n"
	    /* the default state/ would lie inside tls.certs, which the loader refuses */
	    "dns:\n  state: ../certstore-test.state\n  zone: \"\"\n"
	    "domains:\n"
	    "  - name: d.example\n    mx: [mx.d.example]\n"
	    "  - name: e.example\n    mx: [mx.e.example]\n";
	time_t t = time(NULL);
	int lines[8];

	/* d: the valid one expires soon, the later one is not valid yet */
	put_pair_until("d-now", GENCERT_P256, "mta-sts.d.example", t + 10 * DAY, false, NULL);
	put_pair_until("d-later", GENCERT_P256, "mta-sts.d.example", t + 200 * DAY, false, NULL);
	/* e: expired only */
	put_pair_until("e-old", GENCERT_P256, "mta-sts.e.example", t - DAY, false, NULL);
	check_yaml(yaml, lines);
	cr_assert_eq(dl.errors, 0, "serve runs this");
	cr_assert(has_diag(DIAG_WARNING, "d-now.crt') expires in"), "the presented pair is judged");
	cr_assert_not(has_diag(DIAG_WARNING, "d-now.crt' is not used"));
	cr_assert_not(has_diag(DIAG_WARNING, "is not used"));
	cr_assert_eq(dl.unserved, 1, "e.example cannot be fetched");
	cr_assert(has_diag(DIAG_UNSERVED, "no certificate valid now covers 'mta-sts.e.example' ("));
	cr_assert(has_diag(DIAG_UNSERVED, "e-old.crt' expired on"));
	for (size_t i = 0; i < dl.n; i++)
		if (dl.items[i].level == DIAG_UNSERVED)
			cr_assert_eq(dl.items[i].line, lines[1]);
}

static int
chmod_key(const char *name, mode_t mode)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	return chmod(path, mode);
}

Test(certstore, every_key_kind_and_format_loads_and_check_builds_each_chain)
{
	static const char yaml[] =
	    "listen:\n  https: [\"127.0.0.1:8443\"]\n"
	    "tls:\n  certs: .\n"
	    /* the default state/ would lie inside tls.certs, which the loader refuses */
	    "dns:\n  state: ../certstore-test.state\n  zone: \"\"\n"
	    "domains:\n"
	    "  - name: ed.example\n    mx: [mx.ed.example]\n"
	    "  - name: rsa.example\n    mx: [mx.rsa.example]\n"
	    "  - name: p8.example\n    mx: [mx.p8.example]\n"
	    "  - name: params.example\n    mx: [mx.params.example]\n";
	struct certstore *cs;

	/* Ed25519: a chain certparse leaves to GnuTLS; RSA: a key it leaves to GnuTLS */
	put_pair("ed", GENCERT_ED25519, "mta-sts.ed.example", true, NULL);
	put_pair("rsa", GENCERT_RSA2048, "mta-sts.rsa.example", false, NULL);
	put_pair("p8", GENCERT_P384, "mta-sts.p8.example", true, NULL);
	/* `openssl ecparam -genkey` puts the curve's parameters before the key */
	put_pair("params", GENCERT_P256, "mta-sts.params.example", false,
	    "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n");
	cs = load_clean("every kind and format loads without a warning");
	cr_assert_eq(certstore_count(cs), 4);
	cr_assert_str_eq(pick(cs, "mta-sts.ed.example", CERTSTORE_KEY_EC), "ed.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.rsa.example", CERTSTORE_KEY_RSA), "rsa.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.rsa.example", CERTSTORE_KEY_EC), "-");
	cr_assert_str_eq(pick(cs, "mta-sts.p8.example", CERTSTORE_KEY_EC), "p8.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.params.example", CERTSTORE_KEY_EC), "params.crt");
	certstore_free(cs);

	check_yaml(yaml, NULL);
	cr_assert_eq(dl.errors + dl.unserved, 0, "GnuTLS can use every chain");
}

Test(certstore, keys_swapped_between_certificates_do_not_match)
{
	char a[256], b[256], t[256];
	struct certstore *cs;

	/* RSA keys are compared by GnuTLS's reading, EC keys by certparse's */
	put_pair("r1", GENCERT_RSA2048, "mta-sts.r1.example", false, NULL);
	put_pair("r2", GENCERT_RSA2048, "mta-sts.r2.example", true, NULL);
	put_pair("e1", GENCERT_P256, "mta-sts.e1.example", true, NULL);
	put_pair("e2", GENCERT_P256, "mta-sts.e2.example", false, NULL);
	snprintf(t, sizeof(t), "%s/tmp.key", dir);
	snprintf(a, sizeof(a), "%s/r1.key", dir);
	snprintf(b, sizeof(b), "%s/r2.key", dir);
	cr_assert_eq(rename(a, t) | rename(b, a) | rename(t, b), 0);
	snprintf(a, sizeof(a), "%s/e1.key", dir);
	snprintf(b, sizeof(b), "%s/e2.key", dir);
	cr_assert_eq(rename(a, t) | rename(b, a) | rename(t, b), 0);
	cs = load();
	cr_assert_eq(dl.unserved, 4);
	cr_assert(has_diag(DIAG_UNSERVED, "r1.key' does not match certificate"));
	cr_assert(has_diag(DIAG_UNSERVED, "e2.key' does not match certificate"));
	cr_assert_eq(certstore_count(cs), 0);
	certstore_free(cs);
}

Test(certstore, reload_takes_over_unchanged_pairs_and_rereads_changed_ones)
{
	struct certstore *a, *b, *c;
	long i;
	time_t before;

	put_pair("one", GENCERT_P256, "mta-sts.one.example", false, NULL);
	put_pair("two", GENCERT_P256, "mta-sts.two.example", true, NULL);
	put_pair("three", GENCERT_RSA2048, "mta-sts.three.example", false, NULL);
	cr_assert_eq(chmod_key("three", 0640), 0);
	a = load();
	cr_assert_eq(certstore_count(a), 3);
	cr_assert_eq(certstore_count_reused(a), 0);
	cr_assert_eq(dl.warnings, 1, "three.key is group-readable");

	/* nothing changed: every pair taken over, and the warning given again */
	b = certstore_reload(dir, a, &dl);
	cr_assert_eq(certstore_count(b), 3);
	cr_assert_eq(certstore_count_reused(b), 3);
	cr_assert_eq(dl.warnings, 2);
	/* the old store goes away while the new one serves (ASan would see a pair freed under it) */
	certstore_free(a);
	cr_assert_str_eq(pick(b, "mta-sts.three.example", CERTSTORE_KEY_RSA), "three.crt");

	/* one pair renewed (new files), one added, one removed */
	i = certstore_lookup(b, "mta-sts.one.example", CERTSTORE_KEY_ANY);
	cr_assert_geq(i, 0);
	before = certstore_cert_not_after(b, (size_t)i);
	sleep(1);
	put_pair("one", GENCERT_P256, "mta-sts.one.example", false, NULL);
	put_pair("four", GENCERT_P384, "mta-sts.four.example", true, NULL);
	cr_assert_eq(sh("rm '%s/two.crt' '%s/two.key'", dir, dir), 0);
	c = certstore_reload(dir, b, &dl);
	certstore_free(b);
	cr_assert_eq(certstore_count(c), 3);
	cr_assert_eq(certstore_count_reused(c), 1, "only three is unchanged");
	i = certstore_lookup(c, "mta-sts.one.example", CERTSTORE_KEY_ANY);
	cr_assert_geq(i, 0);
	cr_assert_gt(certstore_cert_not_after(c, (size_t)i), before, "the renewed certificate is read");
	cr_assert_str_eq(pick(c, "mta-sts.four.example", CERTSTORE_KEY_EC), "four.crt");
	cr_assert_str_eq(pick(c, "mta-sts.two.example", CERTSTORE_KEY_ANY), "-");
	cr_assert_str_eq(pick(c, "mta-sts.three.example", CERTSTORE_KEY_RSA), "three.crt");
	certstore_free(c);
}

/* Issue 14.10: a pair broken by a half-written renewal keeps its serving version, in every reload until it loads. */
Test(certstore, a_pair_broken_on_reload_keeps_the_version_that_served)
{
	struct certstore *a, *b, *c, *d;

	put_pair("one", GENCERT_P256, "mta-sts.one.example", false, NULL);
	put_pair("two", GENCERT_P256, "mta-sts.two.example", false, NULL);
	a = load_clean("two good pairs");
	cr_assert_eq(sh("printf -- '-----BEGIN CERTIFICATE-----\\nbroken\\n' > '%s/one.crt'", dir), 0);
	b = certstore_reload(dir, a, &dl);
	certstore_free(a);
	cr_assert_eq(dl.errors, 0);
	cr_assert_eq(dl.unserved, 1);
	cr_assert(has_diag(DIAG_UNSERVED, "one.crt' cannot be parsed"));
	cr_assert(has_diag(DIAG_WARNING, "one.crt' that was serving is kept"));
	cr_assert_eq(certstore_count_broken(b), 1);
	cr_assert_str_eq(pick(b, "mta-sts.one.example", CERTSTORE_KEY_EC), "one.crt");
	cr_assert_str_eq(pick(b, "mta-sts.two.example", CERTSTORE_KEY_EC), "two.crt");
	/* unchanged since, still broken: said and counted again, not taken over as if it were fine */
	c = certstore_reload(dir, b, &dl);
	certstore_free(b);
	cr_assert_eq(dl.unserved, 2);
	cr_assert_eq(certstore_count_broken(c), 1);
	cr_assert_str_eq(pick(c, "mta-sts.one.example", CERTSTORE_KEY_EC), "one.crt");
	/* the renewal completes */
	put_pair("one", GENCERT_P256, "mta-sts.one.example", false, NULL);
	d = certstore_reload(dir, c, &dl);
	certstore_free(c);
	cr_assert_eq(dl.unserved, 2, "nothing new is broken");
	cr_assert_eq(certstore_count_broken(d), 0);
	cr_assert_str_eq(pick(d, "mta-sts.one.example", CERTSTORE_KEY_EC), "one.crt");
	certstore_free(d);
}

/* Issue 14.9: links back up the tree are followed once, by (device, inode), not until the depth limit. */
Test(certstore, symlink_loops_are_read_once)
{
	struct certstore *cs;
	char path[256];

	put_pair("one", GENCERT_P256, "mta-sts.one.example", false, NULL);
	cr_assert_eq(sh("mkdir '%s/sub' && mv '%s/one.crt' '%s/one.key' '%s/sub/' && cd '%s' && "
	    "ln -s . a && ln -s . b && ln -s .. sub/up && ln -s ../sub sub/self", dir, dir, dir, dir, dir), 0);
	cs = load();
	cr_assert_eq(dl.errors + dl.unserved, 0);
	cr_assert_eq(certstore_count(cs), 1, "one pair, not one per path through the links");
	snprintf(path, sizeof(path), "%s/sub/one.crt", dir);
	cr_assert_str_eq(certstore_cert_path(cs, 0), path, "the pair is known by its plain path");
	cr_assert(has_diag(DIAG_WARNING, "/a' is '"));
	cr_assert(has_diag(DIAG_WARNING, "(a link); read once"));
	certstore_free(cs);
}

/* A key and its certificate with other files listed between them are still paired (the lookup past the neighbours). */
Test(certstore, pairs_far_apart_in_the_listing_are_found)
{
	struct certstore *cs;

	put_pair("x", GENCERT_P256, "mta-sts.x.example", false, NULL);
	/* listed x.crt, x.crta.crt, x.crta.key, x.crtb.crt, x.crtb.key, x.key: x's files are five apart */
	put_pair("x.crta", GENCERT_P256, "mta-sts.a.example", false, NULL);
	put_pair("x.crtb", GENCERT_P256, "mta-sts.b.example", false, NULL);
	cs = load_clean("a key was left without its certificate");
	cr_assert_eq(certstore_count(cs), 3);
	cr_assert_str_eq(pick(cs, "mta-sts.x.example", CERTSTORE_KEY_EC), "x.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.a.example", CERTSTORE_KEY_EC), "x.crta.crt");
	cr_assert_str_eq(pick(cs, "mta-sts.b.example", CERTSTORE_KEY_EC), "x.crtb.crt");
	certstore_free(cs);
}

/* A reload takes over the listing of a folder that has not changed, and lists again one that has. */
Test(certstore, reload_lists_a_folder_again_only_when_it_changed)
{
	struct certstore *a, *b, *c;
	struct timespec settle = { 1, 200 * 1000 * 1000 };

	put_pair("one", GENCERT_P256, "mta-sts.one.example", false, NULL);
	/* a listing made within a second of the folder's last change is never taken over */
	nanosleep(&settle, NULL);
	a = load();
	cr_assert_eq(certstore_count_folders_reused(a), 0);
	b = certstore_reload(dir, a, &dl);
	certstore_free(a);
	cr_assert_eq(certstore_count_folders_reused(b), 1);
	cr_assert_eq(certstore_count_reused(b), 1);
	/* a pair added to it: the folder changed, so it is listed again and the new pair found */
	put_pair("two", GENCERT_P256, "mta-sts.two.example", false, NULL);
	c = certstore_reload(dir, b, &dl);
	certstore_free(b);
	cr_assert_eq(certstore_count_folders_reused(c), 0);
	cr_assert_eq(certstore_count(c), 2);
	cr_assert_str_eq(pick(c, "mta-sts.two.example", CERTSTORE_KEY_EC), "two.crt");
	cr_assert_str_eq(pick(c, "mta-sts.one.example", CERTSTORE_KEY_EC), "one.crt");
	certstore_free(c);
}

/* Copy DIR/FROM over DIR/TO the way tools replace files: a new file renamed into place. */
static void
replace_file(const char *from, const char *to)
{
	cr_assert_eq(sh("cd '%s' && cp '%s' '%s.tmp' && mv '%s.tmp' '%s'", dir, from, to, to, to), 0);
}

/*
 * Issue 15: a reload whose certificate file is unchanged while its key file
 * changed reads the key again: a new key that matches is what serves (the
 * pair is not taken over as it was), one that no longer matches makes the
 * pair broken for its own names only, the version that served staying in
 * service until the pair loads again.
 */
Test(certstore, a_key_changed_under_an_unchanged_certificate_is_read_again)
{
	struct certstore *a, *b, *c, *d;
	char path[256];
	struct stat before, after;

	need_openssl();
	put_pair("one", GENCERT_P256, "mta-sts.one.example", false, NULL);
	put_pair("two", GENCERT_P256, "mta-sts.two.example", false, NULL);
	cr_assert_eq(sh("cd '%s' && cp -p one.key one.key.sec1", dir), 0);
	snprintf(path, sizeof(path), "%s/one.crt", dir);
	cr_assert_eq(stat(path, &before), 0);
	a = load_clean("two good pairs");
	cr_assert_eq(certstore_count(a), 2);

	/* the same key in another file (PKCS#8 now): read again, not taken over from A */
	put_pair("p8", GENCERT_P256, "mta-sts.p8.example", true, NULL);
	cr_assert_eq(sh("cd '%s' && openssl pkey -in one.key.sec1 -out one.key.p8 2>/dev/null", dir), 0,
	    "openssl converts the key to PKCS#8");
	cr_assert_eq(sh("cd '%s' && rm p8.crt p8.key", dir), 0);
	replace_file("one.key.p8", "one.key");
	b = certstore_reload(dir, a, &dl);
	certstore_free(a);
	cr_assert_eq(dl.errors + dl.unserved + dl.warnings, 0);
	cr_assert_eq(certstore_count(b), 2);
	cr_assert_eq(certstore_count_reused(b), 1, "only two is unchanged: one's key file is new");
	cr_assert_eq(certstore_count_broken(b), 0);
	cr_assert_str_eq(pick(b, "mta-sts.one.example", CERTSTORE_KEY_EC), "one.crt");

	/* the key of another certificate: one is broken, for its own name only */
	put_pair("other", GENCERT_P256, "mta-sts.other.example", false, NULL);
	replace_file("other.key", "one.key");
	cr_assert_eq(sh("cd '%s' && rm other.crt other.key", dir), 0);
	c = certstore_reload(dir, b, &dl);
	certstore_free(b);
	cr_assert_eq(dl.errors, 0);
	cr_assert_eq(dl.unserved, 1);
	cr_assert(has_diag(DIAG_UNSERVED, "one.key' does not match certificate"));
	cr_assert(has_diag(DIAG_WARNING, "one.crt' that was serving is kept"));
	cr_assert_eq(certstore_count_broken(c), 1);
	cr_assert_eq(certstore_count_reused(c), 1, "two is taken over");
	cr_assert_str_eq(pick(c, "mta-sts.one.example", CERTSTORE_KEY_EC), "one.crt", "the version that served");
	cr_assert_str_eq(pick(c, "mta-sts.two.example", CERTSTORE_KEY_EC), "two.crt");

	/* the matching key back, written into the same file: the pair loads again */
	cr_assert_eq(sh("cd '%s' && cat one.key.sec1 > one.key", dir), 0);
	d = certstore_reload(dir, c, &dl);
	certstore_free(c);
	cr_assert_eq(dl.unserved, 1, "nothing new is broken");
	cr_assert_eq(certstore_count_broken(d), 0);
	cr_assert_eq(certstore_count(d), 2);
	cr_assert_str_eq(pick(d, "mta-sts.one.example", CERTSTORE_KEY_EC), "one.crt");
	cr_assert_eq(stat(path, &after), 0);
	cr_assert(after.st_ino == before.st_ino && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
	    "the certificate file never changed");
	certstore_free(d);
}

/* The folders the store lists, which the watcher watches: each once, links followed, a certbot root's spares left out. */
Test(certstore, the_folders_listed_are_the_ones_read)
{
	struct certstore *cs;
	char want[6][256];
	bool found[6] = { false };
	size_t n;

	put_pair("one", GENCERT_P256, "mta-sts.one.example", false, NULL);
	cr_assert_eq(sh("cd '%s' && mkdir -p a/b le/live/x le/archive/x le/keys le/csr le/accounts/acme && "
	    "ln -s a/b again && mv one.crt one.key a/b/", dir), 0);
	cs = load();
	cr_assert_eq(certstore_count(cs), 1);
	snprintf(want[0], sizeof(want[0]), "%s", dir);
	snprintf(want[1], sizeof(want[1]), "%s/a", dir);
	snprintf(want[2], sizeof(want[2]), "%s/a/b", dir);
	snprintf(want[3], sizeof(want[3]), "%s/le", dir);
	snprintf(want[4], sizeof(want[4]), "%s/le/live", dir);
	snprintf(want[5], sizeof(want[5]), "%s/le/live/x", dir);
	n = certstore_count_folders(cs);
	for (size_t i = 0; i < n; i++) {
		const char *f = certstore_folder(cs, i);
		size_t j = 0;

		while (j < 6 && strcmp(f, want[j]) != 0)
			j++;
		cr_assert_lt(j, 6, "'%s' is listed", f);
		cr_assert_not(found[j], "'%s' is listed twice", f);
		found[j] = true;
	}
	cr_assert_eq(n, 6, "every folder read once, the link to a/b not again, no archive/, keys/, csr/ or accounts/");
	cr_assert_eq(certstore_count_folders(NULL), 0);
	certstore_free(cs);
}

/* ACME's folder is a second, lower source: the operator's pair wins even as a wildcard expiring sooner. */
Test(certstore, acme_folder_below_tls_certs)
{
	char ops[300], acme[300];
	struct certstore *cs;
	long i;

	snprintf(ops, sizeof(ops), "%s/ops", dir);
	snprintf(acme, sizeof(acme), "%s/acme/certs", dir);
	cr_assert_eq(sh("mkdir -p '%s' '%s'", ops, acme), 0);
	put_pair_until("ops/wild", GENCERT_P256, "*.a.example", time(NULL) + 10 * 86400, false, NULL);
	put_pair_until("acme/certs/mta-sts.a.example", GENCERT_P256, "mta-sts.a.example", time(NULL) + 80 * 86400,
	    true, NULL);
	put_pair("acme/certs/mta-sts.b.example", GENCERT_P256, "mta-sts.b.example", true, NULL);

	cs = certstore_reload_acme(ops, acme, NULL, &dl);
	cr_assert_not_null(cs);
	cr_assert_eq(dl.errors, 0);
	cr_assert_eq(certstore_count(cs), 3);
	cr_assert_str_eq(pick_at(cs, "mta-sts.a.example", CERTSTORE_KEY_ANY, time(NULL)), "wild.crt");
	i = certstore_lookup(cs, "mta-sts.a.example", CERTSTORE_KEY_ANY);
	cr_assert(!certstore_cert_acme(cs, (size_t)i));
	cr_assert_str_eq(pick_at(cs, "mta-sts.b.example", CERTSTORE_KEY_ANY, time(NULL)), "mta-sts.b.example.crt");
	i = certstore_lookup(cs, "mta-sts.b.example", CERTSTORE_KEY_ANY);
	cr_assert(certstore_cert_acme(cs, (size_t)i));
	/* once the operator's wildcard has expired, ACME's own certificate serves */
	cr_assert_str_eq(pick_at(cs, "mta-sts.a.example", CERTSTORE_KEY_ANY, time(NULL) + 20 * 86400),
	    "mta-sts.a.example.crt");
	/* ACME's folder is watched like tls.certs */
	cr_assert_eq(certstore_count_folders(cs), 2);
	cr_assert_str_eq(certstore_folder(cs, 1), acme);
	certstore_free(cs);

	/* a folder the orderer has not made yet holds nothing, and is no error */
	snprintf(acme, sizeof(acme), "%s/none/certs", dir);
	cs = certstore_reload_acme(ops, acme, NULL, &dl);
	cr_assert_not_null(cs);
	cr_assert_eq(dl.errors, 0);
	cr_assert_eq(certstore_count(cs), 1);
	cr_assert_eq(certstore_count_broken(cs), 0);
	cr_assert_str_eq(pick_at(cs, "mta-sts.b.example", CERTSTORE_KEY_ANY, time(NULL)), "-");
	certstore_free(cs);
}
