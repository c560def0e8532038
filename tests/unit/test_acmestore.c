/* SPDX-License-Identifier: MIT */
/* Unit tests for acmestore: the storage's files written atomically, with their modes, read back, refused when broken, and its lock. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acmestore.h"
#include "dnsstate.h"
#include "util.h"

static char dir[64];
static struct acmestore *st;
static char err[1024];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_acmestore.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	st = acmestore_open(dir, err, sizeof(err));
	cr_assert_not_null(st, "%s", err);
}

static void
teardown(void)
{
	char *rm = xasprintf("rm -rf '%s'", dir);

	acmestore_free(st);
	cr_expect_eq(system(rm), 0);
	free(rm);
}

TestSuite(acmestore, .init = setup, .fini = teardown);

static char *
at(const char *rel)
{
	return xasprintf("%s/%s", dir, rel);
}

static unsigned
mode_of(const char *rel)
{
	char *p = at(rel);
	struct stat sb;

	cr_assert_eq(stat(p, &sb), 0, "%s: %s", p, strerror(errno));
	free(p);
	return (unsigned)(sb.st_mode & 07777);
}

static char *
slurp(const char *rel)
{
	char *p = at(rel), *text;
	size_t len;

	cr_assert_eq(read_file(p, &text, &len), 0, "%s", p);
	free(p);
	return text;
}

static void
spill(const char *rel, const char *text)
{
	char *p = at(rel);
	FILE *f = fopen(p, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

/* The names in folder REL, sorted, joined by spaces: what a temporary left behind would show up in. */
static char *
listing(const char *rel)
{
	char *p = at(rel), *names[64];
	DIR *d = opendir(p);
	struct dirent *de;
	struct buf b = {0};
	size_t n = 0;

	cr_assert_not_null(d, "%s", p);
	while ((de = readdir(d)) != NULL && n < 64)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			names[n++] = xstrdup(de->d_name);
	closedir(d);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? " " : "", names[i]);
		free(names[i]);
	}
	free(p);
	if (b.data == NULL)
		buf_puts(&b, "");
	return b.data;
}

#define THUMB "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"	/* 43 base64url characters */

Test(acmestore, layout_made_on_open)
{
	char *top = listing(""), *ch = listing("challenges");

	cr_expect_str_eq(top, "certs challenges");
	cr_expect_str_eq(ch, "http-01 tls-alpn-01");
	cr_expect_eq(mode_of("certs"), 0755);
	cr_expect_str_eq(acmestore_dir(st), dir);
	free(top);
	free(ch);

	/* a storage given with trailing slashes, and one that is a file */
	char *slashed = xasprintf("%s/nested/acme//", dir);
	struct acmestore *s2 = acmestore_open(slashed, err, sizeof(err));
	cr_assert_not_null(s2, "%s", err);
	cr_expect(strlen(acmestore_dir(s2)) == strlen(slashed) - 2);
	cr_expect_str_eq(strrchr(acmestore_state_path(s2), '/'), "/state");
	acmestore_free(s2);
	free(slashed);
	spill("file", "x");
	char *file = at("file");
	cr_expect_null(acmestore_open(file, err, sizeof(err)));
	cr_expect(strstr(err, file) != NULL, "%s", err);
	free(file);
}

Test(acmestore, names_and_tokens)
{
	static const char *const good_names[] = { "mta-sts.example.com", "a", "xn--bcher-kva.example", "a-b.c1", NULL };
	static const char *const bad_names[] = { "", ".", "..", "../etc", "a/b", "a..b", ".example.com", "example.com.",
		"Mta-sts.example.com", "-a.example", "a_b.example", "a b", "a\\b", "*.example.com", NULL };
	static const char *const good_tokens[] = { "a", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", "_-09azAZ", NULL };
	static const char *const bad_tokens[] = { "", ".", "..", "../x", "a/b", "a.b", "a=", "a b", "a+b", NULL };
	char longtok[ACMESTORE_TOKEN_MAX + 2];

	for (size_t i = 0; good_names[i]; i++)
		cr_expect(acmestore_name_ok(good_names[i]), "'%s' refused", good_names[i]);
	for (size_t i = 0; bad_names[i]; i++) {
		cr_expect_not(acmestore_name_ok(bad_names[i]), "'%s' accepted", bad_names[i]);
		cr_expect_null(acmestore_cert_path(st, bad_names[i]), "'%s'", bad_names[i]);
		cr_expect_null(acmestore_key_path(st, bad_names[i]), "'%s'", bad_names[i]);
		cr_expect_eq(acmestore_tlsalpn01_put(st, bad_names[i], "tok." THUMB, err, sizeof(err)), -1, "'%s'",
		    bad_names[i]);
		cr_expect_eq(acmestore_pair_save(st, bad_names[i], "C", 1, "K", 1, err, sizeof(err)), -1, "'%s'",
		    bad_names[i]);
		cr_expect_null(acmestore_tlsalpn01_get(st, bad_names[i], NULL));
	}
	cr_expect_not(acmestore_name_ok(NULL));
	for (size_t i = 0; good_tokens[i]; i++)
		cr_expect(acmestore_token_ok(good_tokens[i]), "'%s' refused", good_tokens[i]);
	for (size_t i = 0; bad_tokens[i]; i++) {
		char *ka = xasprintf("%s." THUMB, bad_tokens[i]);
		cr_expect_not(acmestore_token_ok(bad_tokens[i]), "'%s' accepted", bad_tokens[i]);
		cr_expect_eq(acmestore_http01_put(st, bad_tokens[i], ka, err, sizeof(err)), -1, "'%s'", bad_tokens[i]);
		cr_expect_null(acmestore_http01_get(st, bad_tokens[i], NULL));
		free(ka);
	}
	memset(longtok, 'a', sizeof(longtok) - 1);
	longtok[sizeof(longtok) - 1] = '\0';
	cr_expect_not(acmestore_token_ok(longtok));
	longtok[ACMESTORE_TOKEN_MAX] = '\0';
	cr_expect(acmestore_token_ok(longtok));
	/* nothing landed anywhere, in the storage or beside it */
	char *h = listing(ACMESTORE_HTTP01), *t = listing(ACMESTORE_TLSALPN01), *c = listing(ACMESTORE_CERTS),
	    *top = listing("");
	cr_expect_str_eq(h, "");
	cr_expect_str_eq(t, "");
	cr_expect_str_eq(c, "");
	cr_expect_str_eq(top, "certs challenges");
	free(h);
	free(t);
	free(c);
	free(top);
}

Test(acmestore, pair_written_atomically_with_modes)
{
	static const char chain[] = "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n";
	static const char key[] = "-----BEGIN PRIVATE KEY-----\nnew\n-----END PRIVATE KEY-----\n";
	char *l, *text, *p;

	umask(022);
	cr_assert_eq(acmestore_pair_save(st, "mta-sts.example.com", "old", 3, "oldkey", 6, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(acmestore_pair_save(st, "mta-sts.example.com", chain, strlen(chain), key, strlen(key), err,
	    sizeof(err)), 0, "%s", err);
	l = listing("certs");
	cr_expect_str_eq(l, "mta-sts.example.com.crt mta-sts.example.com.key", "no temporary left");
	free(l);
	cr_expect_eq(mode_of("certs/mta-sts.example.com.key"), 0600);
	cr_expect_eq(mode_of("certs/mta-sts.example.com.crt"), 0644);
	text = slurp("certs/mta-sts.example.com.crt");
	cr_expect_str_eq(text, chain);
	free(text);
	text = slurp("certs/mta-sts.example.com.key");
	cr_expect_str_eq(text, key);
	free(text);
	p = acmestore_cert_path(st, "mta-sts.example.com");
	cr_expect_str_eq(strrchr(p, '/'), "/mta-sts.example.com.crt");
	free(p);

	/* an empty part is refused before anything is written */
	cr_expect_eq(acmestore_pair_save(st, "mta-sts.example.org", "", 0, key, strlen(key), err, sizeof(err)), -1);
	cr_expect_eq(acmestore_pair_save(st, "mta-sts.example.org", chain, strlen(chain), "", 0, err, sizeof(err)), -1);
	l = listing("certs");
	cr_expect_str_eq(l, "mta-sts.example.com.crt mta-sts.example.com.key");
	free(l);

	/* removed, certificate and key */
	cr_expect_eq(acmestore_pair_remove(st, "mta-sts.example.com", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(acmestore_pair_remove(st, "mta-sts.example.com", err, sizeof(err)), 0, "gone is no error");
	l = listing("certs");
	cr_expect_str_eq(l, "");
	free(l);
}

Test(acmestore, pair_rename_failure_leaves_no_temporary)
{
	char *crtdir = at("certs/mta-sts.example.com.crt/x");

	/* a non-empty folder where the certificate goes: its rename fails, after the key's */
	cr_assert_eq(dnsstate_mkdirs(crtdir), 0);
	free(crtdir);
	cr_expect_eq(acmestore_pair_save(st, "mta-sts.example.com", "C", 1, "K", 1, err, sizeof(err)), -1);
	cr_expect(strstr(err, "its new key is already in place") != NULL, "%s", err);
	char *l = listing("certs");
	cr_expect_str_eq(l, "mta-sts.example.com.crt mta-sts.example.com.key", "no temporary left: %s", l);
	free(l);
	cr_expect_eq(mode_of("certs/mta-sts.example.com.key"), 0600);
}

static void
state_init(struct acmesched_state *s, const char *name, unsigned failures, int64_t next, const char *error)
{
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->failures = failures;
	s->next_attempt = next;
	s->not_after = next ? next + 86400 * 90 : 0;
	s->next_renewal = next ? next + 86400 * 60 : 0;
	s->ari_check = next ? next + 3600 : 0;
	s->gone_since = failures > 1 ? next - 86400 : 0;
	s->last_error = error ? xstrdup(error) : NULL;
}

Test(acmestore, state_round_trip)
{
	struct acmesched_state in[3], *out;
	struct diag_list dl;
	size_t n;
	char *l, *text;

	state_init(&in[0], "mta-sts.example.com", 0, 1796083200, NULL);
	state_init(&in[1], "mta-sts.example.org", 3, 1796090400, "rateLimited:\ttoo many\nnew orders \xc3\xa9 -");
	state_init(&in[2], "mta-sts.example.net", 1, 0, "-");
	diag_init(&dl, acmestore_state_path(st));

	/* no file yet: no state, no error */
	cr_expect_eq(acmestore_state_load(st, &out, &n, &dl), 0);
	cr_expect_eq(n, 0);
	cr_expect_null(out);

	cr_assert_eq(acmestore_state_save(st, in, 3, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(mode_of("state"), 0644);
	l = listing("");
	cr_expect_str_eq(l, "certs challenges state", "no temporary left");
	free(l);
	text = slurp("state");
	cr_expect(strncmp(text, ACMESCHED_STATE_HEADER "\n", strlen(ACMESCHED_STATE_HEADER) + 1) == 0);
	free(text);

	cr_assert_eq(acmestore_state_load(st, &out, &n, &dl), 0);
	cr_expect_eq(dl.n, 0);
	cr_assert_eq(n, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_expect_str_eq(out[i].name, in[i].name);
		cr_expect_eq(out[i].failures, in[i].failures);
		cr_expect_eq(out[i].next_attempt, in[i].next_attempt);
		cr_expect_eq(out[i].not_after, in[i].not_after);
		cr_expect_eq(out[i].next_renewal, in[i].next_renewal);
		cr_expect_eq(out[i].ari_check, in[i].ari_check);
		cr_expect_eq(out[i].gone_since, in[i].gone_since);
		if (in[i].last_error == NULL)
			cr_expect_null(out[i].last_error);
		else
			cr_expect_str_eq(out[i].last_error, in[i].last_error, "entry %zu", i);
		acmesched_state_clear(&out[i]);
	}
	free(out);

	/* a name that could not be read back, or twice: refused, the file as it was */
	text = slurp("state");
	free(in[2].name);
	in[2].name = xstrdup("../x");
	cr_expect_eq(acmestore_state_save(st, in, 3, err, sizeof(err)), -1);
	free(in[2].name);
	in[2].name = xstrdup("mta-sts.example.com");
	cr_expect_eq(acmestore_state_save(st, in, 3, err, sizeof(err)), -1);
	cr_expect(strstr(err, "twice") != NULL, "%s", err);
	char *again = slurp("state");
	cr_expect_str_eq(again, text);
	free(again);
	free(text);
	for (size_t i = 0; i < 3; i++)
		acmesched_state_clear(&in[i]);
	diag_clear(&dl);
}

Test(acmestore, version_1_state_read_and_saved_as_version_2)
{
	struct acmesched_state *out;
	struct diag_list dl;
	size_t n;
	char *text;

	spill("state", "mtastsd-acme-state 1\n"
	    "mta-sts.example.com\t0\t-\t2027-02-28T23:59:59Z\t2027-01-30T00:00:00Z\t-\n"
	    "mta-sts.example.org\t2\t2026-12-01T00:10:00Z\t-\t-\tconnection refused\n");
	diag_init(&dl, "state");
	cr_assert_eq(acmestore_state_load(st, &out, &n, &dl), 0, "%s", dl.n ? dl.items[0].msg : "");
	cr_assert_eq(n, 2);
	cr_expect_eq(out[0].next_renewal, 1801267200);
	cr_expect_eq(out[0].ari_check, 0);
	cr_expect_str_eq(out[1].last_error, "connection refused");
	cr_assert_eq(acmestore_state_save(st, out, n, err, sizeof(err)), 0, "%s", err);
	text = slurp("state");
	cr_expect_str_eq(text, ACMESCHED_STATE_HEADER "\n"
	    "mta-sts.example.com\t0\t-\t2027-02-28T23:59:59Z\t2027-01-30T00:00:00Z\t-\t-\t-\n"
	    "mta-sts.example.org\t2\t2026-12-01T00:10:00Z\t-\t-\t-\t-\tconnection refused\n");
	free(text);
	for (size_t i = 0; i < n; i++)
		acmesched_state_clear(&out[i]);
	free(out);
	diag_clear(&dl);
}

Test(acmestore, pair_names_listed)
{
	char **names;
	size_t n;

	cr_assert_eq(acmestore_pair_names(st, &names, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 0);
	free(names);
	cr_assert_eq(acmestore_pair_save(st, "mta-sts.b.example", "C", 1, "K", 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(acmestore_pair_save(st, "mta-sts.a.example", "C", 1, "K", 1, err, sizeof(err)), 0, "%s", err);
	/* a key alone, a temporary, a name the storage would not make, another file: not pairs */
	spill("certs/mta-sts.c.example.key", "K");
	spill("certs/.mta-sts.d.example.crt.XyZ123", "C");
	spill("certs/UPPER.example.crt", "C");
	spill("certs/notes.txt", "x");
	cr_assert_eq(acmestore_pair_names(st, &names, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(names[0], "mta-sts.a.example");
	cr_expect_str_eq(names[1], "mta-sts.b.example");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

Test(acmestore, broken_state_refused_with_its_line)
{
#define GOOD "mta-sts.example.com\t0\t2026-12-01T00:00:00Z\t-\t-\t-\t-\t-\n"
	static const struct {
		const char *text;
		const char *want;	/* the first diagnostic, without the file name */
	} cases[] = {
		{ "", "1:1: the ACME state file is empty (not even its header): it was not written whole; restore it or "
		  "remove it to start again" },
		{ ACMESCHED_STATE_HEADER "\n" GOOD "mta-sts.example.org\t0\t2026-12-01T00:", "3:" },	/* cut: no newline */
		{ ACMESCHED_STATE_HEADER "\n" GOOD "mta-sts.example.org\tx\t-\t-\t-\t-\t-\t-\n", "3:" },
		/* a version 1 line (six fields) under the version 2 header */
		{ ACMESCHED_STATE_HEADER "\n" GOOD "mta-sts.example.org\t0\t-\t-\t-\t-\n", "3:30: 6 fields, 8 expected" },
		{ ACMESCHED_STATE_HEADER "\n" GOOD GOOD, "3:1: 'mta-sts.example.com' is in the ACME state twice (first at line 2)" },
		{ ACMESCHED_STATE_HEADER "\n" GOOD "\n", "3:" },
		{ "mtastsd-acme-state 3\n" GOOD, "1:" },
		{ "something else\n" GOOD, "1:1:" },
		{ ACMESCHED_STATE_HEADER "\n" GOOD "../../etc/passwd\t0\t-\t-\t-\t-\t-\t-\n", "3:" },
	};
#undef GOOD
	struct diag_list dl;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = xstrdup(cases[i].text), got[512], *after;
		struct acmesched_state *out = (void *)1;
		size_t n = 99;

		spill("state", text);
		diag_init(&dl, "state");
		cr_expect_eq(acmestore_state_load(st, &out, &n, &dl), -1, "case %zu accepted", i);
		cr_expect_null(out, "case %zu", i);
		cr_expect_eq(n, 0, "case %zu", i);
		cr_assert_geq(dl.errors, 1, "case %zu", i);
		diag_format(&dl, 0, got, sizeof(got));
		cr_expect(strncmp(got + strlen("state:"), cases[i].want, strlen(cases[i].want)) == 0,
		    "case %zu: %s", i, got);
		/* reading never rewrites it */
		after = slurp("state");
		cr_expect_str_eq(after, text, "case %zu", i);
		free(after);
		diag_clear(&dl);
		free(text);
	}
	/* a cut line is named as such */
	spill("state", ACMESCHED_STATE_HEADER "\nmta-sts.example.org\t0");
	diag_init(&dl, "state");
	cr_expect_eq(acmestore_state_load(st, &(struct acmesched_state *){NULL}, &(size_t){0}, &dl), -1);
	cr_assert_eq(dl.n, 1);
	char got[512];
	diag_format(&dl, 0, got, sizeof(got));
	cr_expect_str_eq(got, "state:2:22: the line ends without its newline: the ACME state file was not written whole");
	diag_clear(&dl);
}

Test(acmestore, account_key_made_once_0600)
{
	struct acmejws_key *k1, *k2;
	char t1[ACMEJWS_THUMBPRINT_LEN], t2[ACMEJWS_THUMBPRINT_LEN];

	cr_expect_null(acmestore_account(st, false, err, sizeof(err)));
	cr_expect(strstr(err, acmestore_account_path(st)) != NULL, "%s", err);
	k1 = acmestore_account(st, true, err, sizeof(err));
	cr_assert_not_null(k1, "%s", err);
	cr_expect_eq(mode_of("account.key"), 0600);
	k2 = acmestore_account(st, false, err, sizeof(err));
	cr_assert_not_null(k2, "%s", err);
	acmejws_thumbprint(k1, t1);
	acmejws_thumbprint(k2, t2);
	cr_expect_str_eq(t1, t2, "the saved key is loaded, not a new one");
	acmejws_key_free(k1);
	acmejws_key_free(k2);
	char *l = listing("");
	cr_expect_str_eq(l, "account.key certs challenges");
	free(l);
	/* loading refuses a key others can read */
	char *p = at("account.key");
	cr_expect_eq(chmod(p, 0644), 0);
	cr_expect_null(acmestore_account(st, true, err, sizeof(err)));
	free(p);
}

Test(acmestore, challenge_answers)
{
	static const char token[] = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
	char *ka = xasprintf("%s." THUMB, token), *got, *l;
	size_t len;

	cr_assert_eq(acmestore_http01_put(st, token, ka, err, sizeof(err)), 0, "%s", err);
	got = acmestore_http01_get(st, token, &len);
	cr_assert_not_null(got);
	cr_expect_str_eq(got, ka);
	cr_expect_eq(len, strlen(ka), "no trailing newline");
	free(got);
	cr_expect_eq(mode_of("challenges/http-01/evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"), 0644);
	/* a key authorization for another token, or not of the form, is refused */
	cr_expect_eq(acmestore_http01_put(st, "other", ka, err, sizeof(err)), -1);
	cr_expect_eq(acmestore_http01_put(st, token, "nodot", err, sizeof(err)), -1);
	cr_expect_eq(acmestore_tlsalpn01_put(st, "mta-sts.example.com", "a.short", err, sizeof(err)), -1);

	cr_assert_eq(acmestore_tlsalpn01_put(st, "mta-sts.example.com", ka, err, sizeof(err)), 0, "%s", err);
	got = acmestore_tlsalpn01_get(st, "mta-sts.example.com", NULL);
	cr_expect_str_eq(got, ka);
	free(got);
	cr_expect_null(acmestore_tlsalpn01_get(st, "mta-sts.example.org", NULL));
	l = listing(ACMESTORE_HTTP01);
	cr_expect_str_eq(l, token, "no temporary left");
	free(l);

	/* removed after use; removing again is no error */
	cr_expect_eq(acmestore_http01_remove(st, token, err, sizeof(err)), 0);
	cr_expect_eq(acmestore_http01_remove(st, token, err, sizeof(err)), 0);
	cr_expect_null(acmestore_http01_get(st, token, NULL));
	cr_expect_eq(acmestore_tlsalpn01_remove(st, "mta-sts.example.com", err, sizeof(err)), 0);
	cr_expect_null(acmestore_tlsalpn01_get(st, "mta-sts.example.com", NULL));
	l = listing(ACMESTORE_TLSALPN01);
	cr_expect_str_eq(l, "");
	free(l);
	free(ka);
}

Test(acmestore, challenge_reader_takes_only_small_regular_files, .timeout = 10)
{
	char *target = at("elsewhere"), *link = at("challenges/http-01/linked"), *fifo = at("challenges/http-01/fifo");
	char big[ACMESTORE_KEYAUTH_MAX + 2];

	spill("elsewhere", "secret");
	cr_assert_eq(symlink(target, link), 0);
	cr_expect_null(acmestore_http01_get(st, "linked", NULL), "a link is not followed");
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	cr_expect_null(acmestore_http01_get(st, "fifo", NULL), "a FIFO is refused without blocking");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	spill("challenges/http-01/big", big);
	cr_expect_null(acmestore_http01_get(st, "big", NULL));
	free(target);
	free(link);
	free(fifo);
}

Test(acmestore, lock_refused_while_another_process_holds_it, .timeout = 30)
{
	int up[2], down[2];
	long holder = -1;
	char c = 0, *text;
	pid_t pid;
	int status;

	cr_assert_eq(pipe(up), 0);
	cr_assert_eq(pipe(down), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* the first orderer: takes the lock, says so, holds it until told to exit */
		struct acmestore *s = acmestore_open(dir, err, sizeof(err));
		char ok = s != NULL && acmestore_lock(s, NULL, err, sizeof(err)) == 0 ? 'y' : 'n';

		if (write(up[1], &ok, 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(2);
		_exit(ok == 'y' ? 0 : 1);	/* exiting releases it: no acmestore_free */
	}
	cr_assert_eq(read(up[0], &c, 1), 1);
	cr_assert_eq(c, 'y', "the child could not take the lock");

	cr_expect_eq(acmestore_lock(st, &holder, err, sizeof(err)), ACMESTORE_BUSY);
	cr_expect_eq(holder, (long)pid);
	cr_expect(strstr(err, dir) != NULL, "the storage is named: %s", err);
	char pidtext[32];
	snprintf(pidtext, sizeof(pidtext), "pid %ld", (long)pid);
	cr_expect(strstr(err, pidtext) != NULL, "the holder's pid is named: %s", err);
	cr_expect(strstr(err, "order: false") != NULL, "%s", err);

	cr_assert_eq(write(down[1], "x", 1), 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	cr_expect_eq(acmestore_lock(st, &holder, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(acmestore_lock(st, NULL, err, sizeof(err)), 0, "taking it again through the same store");
	text = slurp("order.lock");
	char want[32];
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	cr_expect_str_eq(text, want, "our pid replaces the old holder's");
	free(text);
	cr_expect_eq(mode_of("order.lock"), 0644);

	/* a second store in this process is refused too: the lock is per open file, not per process */
	struct acmestore *other = acmestore_open(dir, err, sizeof(err));
	cr_assert_not_null(other);
	cr_expect_eq(acmestore_lock(other, &holder, err, sizeof(err)), ACMESTORE_BUSY);
	cr_expect_eq(holder, (long)getpid());
	acmestore_free(other);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static void
expect_listing(const char *rel, const char *want)
{
	char *got = listing(rel);

	cr_expect_str_eq(got, want, "the folder '%s'", rel);
	free(got);
}

Test(acmestore, lock_removes_what_a_killed_orderer_left)
{
	/* a kill in the middle of an order: its answers, and temporaries of every atomic write */
	spill("challenges/http-01/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", "LoqX.thumb");
	spill("challenges/http-01/LoqX.tmp.Ab12Cd", "Lo");
	spill("challenges/tls-alpn-01/mta-sts.example.com", "tok.thumb");
	spill("certs/.mta-sts.example.com.crt.Xy12Zw", "-----BEGIN CERT");
	spill("certs/.mta-sts.example.com.key.Xy12Zw", "-----BEGIN PRIV");
	spill("state.tmp.Qw12Er", "# mtastsd");
	spill("account.key.tmp.Qw12Er", "-----BEGIN");
	/* what stays: the pairs, the state, the key, and files that are no temporary of ours */
	spill("certs/mta-sts.example.com.crt", "pem");
	spill("certs/mta-sts.example.com.key", "pem");
	spill("certs/.keep", "");
	spill("state", "x\n");
	spill("account.key", "k");
	spill("notes.txt", "mine");

	cr_assert_eq(acmestore_lock(st, NULL, err, sizeof(err)), 0, "%s", err);
	expect_listing("challenges/http-01", "");
	expect_listing("challenges/tls-alpn-01", "");
	expect_listing("certs", ".keep mta-sts.example.com.crt mta-sts.example.com.key");
	expect_listing("", "account.key certs challenges notes.txt order.lock state");
}

Test(acmestore, a_refused_lock_removes_nothing, .timeout = 30)
{
	struct acmestore *other;
	long holder = 0;

	cr_assert_eq(acmestore_lock(st, NULL, err, sizeof(err)), 0, "%s", err);
	/* the orderer's order in flight: the second instance must not take its answer away */
	spill("challenges/tls-alpn-01/mta-sts.example.com", "tok.thumb");
	other = acmestore_open(dir, err, sizeof(err));
	cr_assert_not_null(other);
	cr_expect_eq(acmestore_lock(other, &holder, err, sizeof(err)), ACMESTORE_BUSY);
	acmestore_free(other);
	expect_listing("challenges/tls-alpn-01", "mta-sts.example.com");
}
