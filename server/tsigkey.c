/* SPDX-License-Identifier: MIT */
/* tsigkey: reads a TSIG key (RFC 8945) from a secret file: a base64 secret alone, or tsig-keygen's `key` clause. */
#include "tsigkey.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* a secret file is a few lines; anything larger is not one */
#define SECRET_FILE_MAX 65536

static const char *const alg_names[TSIGKEY_ALG_N] = {
	[TSIGKEY_HMAC_SHA256] = "hmac-sha256",
	[TSIGKEY_HMAC_SHA1] = "hmac-sha1",
	[TSIGKEY_HMAC_SHA512] = "hmac-sha512",
};

static const char *const alg_wire[TSIGKEY_ALG_N] = {
	[TSIGKEY_HMAC_SHA256] = "hmac-sha256.",
	[TSIGKEY_HMAC_SHA1] = "hmac-sha1.",
	[TSIGKEY_HMAC_SHA512] = "hmac-sha512.",
};

int
tsigkey_alg_parse(const char *s, enum tsigkey_alg *out)
{
	size_t len = strlen(s);

	if (len > 0 && s[len - 1] == '.')
		len--;
	for (int i = 0; i < TSIGKEY_ALG_N; i++)
		if (strlen(alg_names[i]) == len && str_eq_ci(s, alg_names[i], len)) {
			*out = (enum tsigkey_alg)i;
			return 0;
		}
	return -1;
}

const char *
tsigkey_alg_name(enum tsigkey_alg alg)
{
	return alg < TSIGKEY_ALG_N ? alg_wire[alg] : alg_wire[TSIGKEY_HMAC_SHA256];
}

/* NAME lower case with exactly one trailing dot (owned by the caller). */
static char *
absolute_name(const char *name)
{
	size_t len = strlen(name);
	char *out;

	while (len > 0 && name[len - 1] == '.')
		len--;
	out = xasprintf("%.*s.", (int)len, name);
	str_lower(out);
	return out;
}

static bool
b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	    c == '/';
}

/* S without whitespace, when it is valid padded base64 of at least one byte; NULL otherwise. */
static char *
b64_clean(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0, pad = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '=')
			pad++;
		else if (!b64_char(s[i]) || pad > 0)
			goto bad;
		out[n++] = s[i];
	}
	out[n] = '\0';
	if (n < 4 || n % 4 != 0 || pad > 2)
		goto bad;
	return out;
bad:
	explicit_bzero(out, len + 1);
	free(out);
	return NULL;
}

/* Tokens of named.conf syntax: words, quoted strings, '{', '}', ';'. */
struct lexer {
	const char *p, *end;
	char tok[512];
	bool quoted;
};

/* The next token into L->tok: 1, 0 at the end, -1 on a token too long or an unterminated string or comment. */
static int
next_token(struct lexer *l)
{
	size_t n = 0;

	for (;;) {
		while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\r' || *l->p == '\n'))
			l->p++;
		if (l->p < l->end && (*l->p == '#' || (*l->p == '/' && l->p + 1 < l->end && l->p[1] == '/'))) {
			while (l->p < l->end && *l->p != '\n')
				l->p++;
			continue;
		}
		if (l->p + 1 < l->end && l->p[0] == '/' && l->p[1] == '*') {
			const char *e = NULL;
			for (const char *q = l->p + 2; q + 1 < l->end; q++)
				if (q[0] == '*' && q[1] == '/') {
					e = q;
					break;
				}
			if (e == NULL)
				return -1;
			l->p = e + 2;
			continue;
		}
		break;
	}
	if (l->p >= l->end)
		return 0;
	l->quoted = false;
	if (*l->p == '{' || *l->p == '}' || *l->p == ';') {
		l->tok[0] = *l->p++;
		l->tok[1] = '\0';
		return 1;
	}
	if (*l->p == '"') {
		l->quoted = true;
		for (l->p++; l->p < l->end && *l->p != '"'; l->p++) {
			if (n + 1 >= sizeof(l->tok))
				return -1;
			l->tok[n++] = *l->p;
		}
		if (l->p >= l->end)
			return -1;
		l->p++;
		l->tok[n] = '\0';
		return 1;
	}
	while (l->p < l->end && strchr(" \t\r\n{};\"#", *l->p) == NULL) {
		if (n + 1 >= sizeof(l->tok))
			return -1;
		l->tok[n++] = *l->p++;
	}
	l->tok[n] = '\0';
	return 1;
}

/* The next token must be TOK. */
static bool
expect(struct lexer *l, const char *tok)
{
	return next_token(l) == 1 && !l->quoted && strcmp(l->tok, tok) == 0;
}

/* One clause after the word "key": its name, algorithm and secret (all owned by the caller). */
static int
key_clause(struct lexer *l, char **name, char **alg, char **secret, char *err, size_t errlen)
{
	if (next_token(l) != 1 || (!l->quoted && strchr("{};", l->tok[0]) != NULL)) {
		snprintf(err, errlen, "a 'key' clause needs a name");
		return -1;
	}
	*name = xstrdup(l->tok);
	if (!expect(l, "{")) {
		snprintf(err, errlen, "key '%s': '{' expected after the name", *name);
		return -1;
	}
	for (;;) {
		int rc = next_token(l);
		const char *what;

		if (rc == 1 && !l->quoted && strcmp(l->tok, "}") == 0)
			break;
		if (rc != 1 || l->quoted) {
			snprintf(err, errlen, "key '%s': the clause is not closed with '};'", *name);
			return -1;
		}
		if (strcmp(l->tok, "algorithm") != 0 && strcmp(l->tok, "secret") != 0) {
			snprintf(err, errlen, "key '%s': unknown statement '%s' (algorithm and secret are read)", *name,
			    l->tok);
			return -1;
		}
		what = strcmp(l->tok, "algorithm") == 0 ? "algorithm" : "secret";
		if (next_token(l) != 1 || (!l->quoted && strchr("{};", l->tok[0]) != NULL)) {
			snprintf(err, errlen, "key '%s': '%s' needs a value", *name, what);
			return -1;
		}
		if (what[0] == 'a') {
			free(*alg);
			*alg = xstrdup(l->tok);
		} else {
			if (*secret != NULL) {
				explicit_bzero(*secret, strlen(*secret));
				free(*secret);
			}
			*secret = xstrdup(l->tok);
		}
		explicit_bzero(l->tok, sizeof(l->tok));
		if (!expect(l, ";")) {
			snprintf(err, errlen, "key '%s': ';' expected after '%s'", *name, what);
			return -1;
		}
	}
	if (!expect(l, ";")) {
		snprintf(err, errlen, "key '%s': ';' expected after '}'", *name);
		return -1;
	}
	return 0;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int
tsigkey_parse(const char *text, const char *name, const char *alg, struct tsigkey *out, char *err,
    size_t errlen)
{
	struct lexer l = { text, text + strlen(text), "", false };
	char *want = name != NULL && name[0] != '\0' ? absolute_name(name) : NULL;
	char *got_name = NULL, *got_alg = NULL, *got_secret = NULL;
	size_t clauses = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (alg != NULL && tsigkey_alg_parse(alg, &out->alg) < 0) {
		snprintf(err, errlen, "unknown TSIG algorithm '%s' (hmac-sha256, hmac-sha512 or hmac-sha1: "
		    "ldns cannot sign with any other)", alg);
		goto done;
	}
	if (next_token(&l) == 1 && !l.quoted && strcmp(l.tok, "key") == 0) {
		for (;;) {
			char *n = NULL, *a = NULL, *s = NULL, *abs;
			bool match;

			if (key_clause(&l, &n, &a, &s, err, errlen) < 0) {
				free(n);
				free(a);
				free_secret(s);
				goto done;
			}
			clauses++;
			abs = absolute_name(n);
			match = want == NULL ? clauses == 1 : strcmp(abs, want) == 0;
			if (match && got_name == NULL) {
				got_name = abs;
				got_alg = a;
				got_secret = s;
			} else {
				free(abs);
				free(a);
				free_secret(s);
			}
			free(n);
			if (next_token(&l) != 1)
				break;
			if (l.quoted || strcmp(l.tok, "key") != 0) {
				snprintf(err, errlen, "unexpected '%s' (only 'key' clauses are read)", l.quoted ? "\"...\"" : l.tok);
				goto done;
			}
		}
		if (want == NULL && clauses > 1) {
			snprintf(err, errlen, "the file has %zu key clauses: name the one to use in tsig.name", clauses);
			goto done;
		}
		if (got_name == NULL) {
			snprintf(err, errlen, "no key '%s' in the file", want);
			goto done;
		}
		if (got_secret == NULL) {
			snprintf(err, errlen, "key '%s' has no secret", got_name);
			goto done;
		}
		if (got_alg != NULL) {
			enum tsigkey_alg a;
			if (tsigkey_alg_parse(got_alg, &a) < 0) {
				snprintf(err, errlen, "key '%s': unknown algorithm '%s'", got_name, got_alg);
				goto done;
			}
			if (alg != NULL && a != out->alg) {
				snprintf(err, errlen, "key '%s' is %s in the file, but tsig.algorithm is '%s'", got_name,
				    alg_names[a], alg);
				goto done;
			}
			out->alg = a;
		}
		if ((out->secret = b64_clean(got_secret, strlen(got_secret))) == NULL) {
			snprintf(err, errlen, "key '%s': the secret is not base64", got_name);
			goto done;
		}
		out->name = got_name;
		got_name = NULL;
	} else {
		explicit_bzero(l.tok, sizeof(l.tok));
		if (want == NULL) {
			snprintf(err, errlen, "a file with a bare secret needs tsig.name");
			goto done;
		}
		if ((out->secret = b64_clean(text, strlen(text))) == NULL) {
			snprintf(err, errlen, "the file is neither a base64 secret nor a 'key' clause");
			goto done;
		}
		out->name = want;
		want = NULL;
	}
	rc = 0;
done:
	explicit_bzero(l.tok, sizeof(l.tok));
	if (rc < 0)
		tsigkey_clear(out);
	free(want);
	free(got_name);
	free(got_alg);
	free_secret(got_secret);
	return rc;
}

int
tsigkey_load(const char *path, const char *name, const char *alg, struct tsigkey *out, struct diag_list *dl,
    char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL, perr[512];
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (read_file_max(path, SECRET_FILE_MAX, &text, &len, &st) < 0) {
		snprintf(err, errlen, "cannot read the secret file '%s': %s", path,
		    errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
		return -1;
	}
	if ((st.st_mode & S_IROTH) != 0) {
		snprintf(err, errlen, "the secret file '%s' is readable by others (mode %03o): refused; chmod o-r it",
		    path, (unsigned)(st.st_mode & 0777));
		rc = -1;
	} else if ((rc = tsigkey_parse(text, name, alg, out, perr, sizeof(perr))) < 0) {
		snprintf(err, errlen, "secret file '%s': %s", path, perr);
	} else if ((st.st_mode & S_IRGRP) != 0 && dl != NULL) {
		diag_add(dl, DIAG_WARNING, 0, 0, "the secret file '%s' is readable by its group (mode %03o)", path,
		    (unsigned)(st.st_mode & 0777));
	}
	explicit_bzero(text, len);
	free(text);
	return rc;
}

void
tsigkey_clear(struct tsigkey *k)
{
	free(k->name);
	free_secret(k->secret);
	memset(k, 0, sizeof(*k));
}
