/* SPDX-License-Identifier: MIT */
/* Unit tests for tsigkey: bare secrets, tsig-keygen clauses, names and algorithms, file modes. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsigkey.h"

#define SECRET "m7qQ0kMJ0vJfy1ePz6jzqzkXyqQ7Qp1v8k3Hc9m3q2E="

/* what `tsig-keygen -a hmac-sha512 mtastsd-update` writes */
static const char keygen[] =
    "key \"mtastsd-update\" {\n"
    "\talgorithm hmac-sha512;\n"
    "\tsecret \"" SECRET "\";\n"
    "};\n";

struct ok_case {
	const char *text, *name, *alg;
	const char *want_name;
	enum tsigkey_alg want_alg;
};

static const struct ok_case oks[] = {
	{ SECRET "\n", "update-key", NULL, "update-key.", TSIGKEY_HMAC_SHA256 },
	{ "  " SECRET "  \r\n", "Update-Key.", "hmac-sha1", "update-key.", TSIGKEY_HMAC_SHA1 },
	{ keygen, NULL, NULL, "mtastsd-update.", TSIGKEY_HMAC_SHA512 },
	{ keygen, "mtastsd-update.", "HMAC-SHA512", "mtastsd-update.", TSIGKEY_HMAC_SHA512 },
	/* comments, and the key picked by name among several */
	{ "# made by hand\nkey a { algorithm hmac-sha256; secret \"" SECRET "\"; };\n"
	  "/* the one */ key \"b\" { secret \"" SECRET "\"; // no algorithm: the config's\n};",
	  "b", "hmac-sha512", "b.", TSIGKEY_HMAC_SHA512 },
};

Test(tsigkey, accepted_forms)
{
	for (size_t i = 0; i < sizeof(oks) / sizeof(oks[0]); i++) {
		struct tsigkey k;
		char err[256] = "";
		int rc = tsigkey_parse(oks[i].text, oks[i].name, oks[i].alg, &k, err, sizeof(err));
		cr_assert_eq(rc, 0, "case %zu: %s", i, err);
		cr_expect_str_eq(k.name, oks[i].want_name, "case %zu", i);
		cr_expect_eq(k.alg, oks[i].want_alg, "case %zu", i);
		cr_expect_str_eq(k.secret, SECRET, "case %zu", i);
		tsigkey_clear(&k);
		tsigkey_clear(&k);
	}
}

struct bad_case {
	const char *text, *name, *alg, *msg;
};

static const struct bad_case bads[] = {
	{ SECRET, NULL, NULL, "a file with a bare secret needs tsig.name" },
	{ "not base64!", "k", NULL, "the file is neither a base64 secret nor a 'key' clause" },
	{ "QUJD", "k", "hmac-md5", "unknown TSIG algorithm 'hmac-md5'" },
	/* ldns 1.8 signs only sha256, sha512 and sha1 ("hmac-shac384." is a typo in its table):
	 * accepting these passed check and then failed every update */
	{ "QUJD", "k", "hmac-sha384", "unknown TSIG algorithm 'hmac-sha384'" },
	{ "QUJD", "k", "hmac-sha224", "unknown TSIG algorithm 'hmac-sha224'" },
	{ "key k { algorithm hmac-sha384; secret \"QUJD\"; };", "k", NULL, "key 'k.': unknown algorithm 'hmac-sha384'" },
	{ keygen, "other", NULL, "no key 'other.' in the file" },
	{ keygen, NULL, "hmac-sha256", "key 'mtastsd-update.' is hmac-sha512 in the file, but tsig.algorithm is 'hmac-sha256'" },
	{ "key k { algorithm hmac-sha256; secret \"" SECRET "\"; }", "k", NULL, "key 'k': ';' expected after '}'" },
	{ "key k { algorithm hmac-sha256; secret \"abc", "k", NULL, "key 'k': 'secret' needs a value" },
	{ "key k { algorithm hmac-sha256; };", "k", NULL, "key 'k.' has no secret" },
	{ "key k { secret \"QUJ=D\"; };", "k", NULL, "key 'k.': the secret is not base64" },
	{ "key k { algorithm hmac-foo; secret \"" SECRET "\"; };", NULL, NULL, "key 'k.': unknown algorithm 'hmac-foo'" },
	{ "key k { owner x; };", "k", NULL, "key 'k': unknown statement 'owner' (algorithm and secret are read)" },
	{ "key a { secret \"QUJD\"; }; key b { secret \"QUJD\"; };", NULL, NULL,
	  "the file has 2 key clauses: name the one to use in tsig.name" },
	{ "key a { secret \"QUJD\"; }; server 1.2.3.4 { };", "a", NULL, "unexpected 'server' (only 'key' clauses are read)" },
};

Test(tsigkey, refused_forms)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct tsigkey k;
		char err[256] = "";
		cr_assert_eq(tsigkey_parse(bads[i].text, bads[i].name, bads[i].alg, &k, err, sizeof(err)), -1,
		    "case %zu accepted", i);
		cr_expect(strncmp(err, bads[i].msg, strlen(bads[i].msg)) == 0, "case %zu: '%s'", i, err);
		cr_expect(strstr(err, SECRET) == NULL, "case %zu quotes the secret", i);
		cr_expect_null(k.name);
		cr_expect_null(k.secret);
	}
}

Test(tsigkey, alg_names)
{
	enum tsigkey_alg a;

	cr_expect_eq(tsigkey_alg_parse("hmac-sha256.", &a), 0);
	cr_expect_eq(a, TSIGKEY_HMAC_SHA256);
	cr_expect_str_eq(tsigkey_alg_name(TSIGKEY_HMAC_SHA512), "hmac-sha512.");
	cr_expect_eq(tsigkey_alg_parse("hmac-md5.sig-alg.reg.int", &a), -1);
	cr_expect_eq(tsigkey_alg_parse("", &a), -1);
}

static char *
write_key(mode_t mode)
{
	char *path = strdup("/tmp/test_tsigkey.XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, keygen, strlen(keygen)), (ssize_t)strlen(keygen));
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

Test(tsigkey, file_modes)
{
	static const struct { mode_t mode; int rc; size_t warnings; } cases[] = {
		{ 0600, 0, 0 }, { 0400, 0, 0 }, { 0640, 0, 1 }, { 0644, -1, 0 }, { 0604, -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = write_key(cases[i].mode), err[512] = "";
		struct diag_list dl;
		struct tsigkey k;
		int rc;

		diag_init(&dl, "test.yaml");
		rc = tsigkey_load(path, NULL, NULL, &k, &dl, err, sizeof(err));
		cr_expect_eq(rc, cases[i].rc, "mode %03o: %s", (unsigned)cases[i].mode, err);
		cr_expect_eq(dl.warnings, cases[i].warnings, "mode %03o", (unsigned)cases[i].mode);
		if (rc < 0)
			cr_expect(strstr(err, "is readable by others") != NULL, "%s", err);
		else
			cr_expect_str_eq(k.name, "mtastsd-update.");
		tsigkey_clear(&k);
		diag_clear(&dl);
		unlink(path);
		free(path);
	}
}

Test(tsigkey, missing_file)
{
	struct tsigkey k;
	char err[512];

	cr_assert_eq(tsigkey_load("/nonexistent/key", "k", NULL, &k, NULL, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "cannot read the secret file '/nonexistent/key': No such file or directory");
}
