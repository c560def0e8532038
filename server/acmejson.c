/* SPDX-License-Identifier: MIT */
/* acmejson: reads the CA's JSON answers in ACME (RFC 8555 objects, RFC 7807 problems, RFC 9773 renewal information) into C structs. */
#include "acmejson.h"
#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* room for "authorization.challenges[999].error.subproblems[999].identifier" */
#define WHERE 160
/* how many bytes of a bad value a message quotes, and the room they take escaped */
#define QUOTE 64
#define QBUF (QUOTE * 4 + 8)
/* jansson's own messages quote the text near the error: escaped as well */
#define JBUF (JSON_ERROR_TEXT_LENGTH * 4 + 8)

/* flags of the member readers */
#define F_REQUIRED 0x1	/* absent (or null) is an error */
#define F_NONEMPTY 0x2	/* "" is an error */
#define F_WORD 0x4	/* printable ASCII without spaces: names that end up in logs and files */
#define F_URL 0x8	/* an https:// or http:// URL */
#define F_URI 0x10	/* any URI: a scheme, ':', then printable ASCII without spaces */

static const char *const account_names[] = { "valid", "deactivated", "revoked" };
static const char *const order_names[] = { "pending", "ready", "processing", "valid", "invalid" };
static const char *const authz_names[] = { "pending", "valid", "invalid", "deactivated", "expired", "revoked" };
static const char *const chall_names[] = { "pending", "processing", "valid", "invalid" };

#define NAMES(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(NAMES(account_names) == ACMEJSON_ACCOUNT_REVOKED + 1, "account status names");
_Static_assert(NAMES(order_names) == ACMEJSON_ORDER_INVALID + 1, "order status names");
_Static_assert(NAMES(authz_names) == ACMEJSON_AUTHZ_REVOKED + 1, "authorization status names");
_Static_assert(NAMES(chall_names) == ACMEJSON_CHALL_INVALID + 1, "challenge status names");

/* the error buffer of one parse */
struct rd {
	char *err;
	size_t errlen;
};

enum want { W_OBJECT, W_ARRAY, W_STRING, W_BOOL, W_INT };
static const char *const want_names[] = { "an object", "an array", "a string", "a boolean", "an integer" };

/*
 * S[0..N) made safe to print: at most MAX bytes of it, printable ASCII kept,
 * the backslash doubled, every other byte (and the quote with QUOTES) as
 * \xNN, and "..." when it was cut. OUT has room for MAX * 4 + 4 bytes.
 */
static const char *
printable(char *out, const char *s, size_t n, size_t max, bool quotes)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && (c != '\'' || !quotes)) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		if (c == '\\') {
			out[o++] = '\\';
			continue;
		}
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	if (n > max) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static const char *
quote(char q[QBUF], const char *s, size_t n)
{
	return printable(q, s, n, QUOTE, true);
}

static void
path(char out[WHERE], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* a member's place in the document: truncation only shortens a message */
static void
path(char out[WHERE], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, WHERE, fmt, ap);
	va_end(ap);
}

static void
fail(struct rd *r, const char *where, const char *key, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The message "WHERE.KEY: ...", or "WHERE: ..." without KEY. */
static void
fail(struct rd *r, const char *where, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->err == NULL || r->errlen == 0)
		return;
	n = key ? snprintf(r->err, r->errlen, "%s.%s: ", where, key) : snprintf(r->err, r->errlen, "%s: ", where);
	if (n < 0 || (size_t)n >= r->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

static bool
is(const json_t *v, enum want want)
{
	switch (want) {
	case W_OBJECT:
		return json_is_object(v);
	case W_ARRAY:
		return json_is_array(v);
	case W_STRING:
		return json_is_string(v);
	case W_BOOL:
		return json_is_boolean(v);
	case W_INT:
		return json_is_integer(v);
	}
	return false;
}

/* KEY of O as *OUT: 1 when present and of type WANT, 0 when absent or null and not F_REQUIRED, else -1 */
static int
member(struct rd *r, const json_t *o, const char *where, const char *key, enum want want, int flags, json_t **out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		if (!(flags & F_REQUIRED))
			return 0;
		fail(r, where, NULL, "member '%s' is %s", key, v == NULL ? "missing" : "null");
		return -1;
	}
	if (!is(v, want)) {
		fail(r, where, key, "expected %s, found %s", want_names[want], type_name(v));
		return -1;
	}
	*out = v;
	return 1;
}

/* RFC 3986 section 2: unreserved, reserved and the percent of an escape */
static bool
uri_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL);
}

static int
check_url(struct rd *r, const char *where, const char *key, const char *s, size_t n)
{
	char q[QBUF];
	size_t skip;

	if (str_has_prefix_ci(s, "https://"))
		skip = 8;
	else if (str_has_prefix_ci(s, "http://"))
		skip = 7;
	else {
		fail(r, where, key, "'%s' is not an https:// or http:// URL", quote(q, s, n));
		return -1;
	}
	if (skip == n || s[skip] == '/' || s[skip] == '?' || s[skip] == '#') {
		fail(r, where, key, "'%s' has no host", quote(q, s, n));
		return -1;
	}
	for (size_t i = skip; i < n; i++) {
		if (!uri_char((unsigned char)s[i])) {
			fail(r, where, key, "'%s' has a character not allowed in a URL at offset %zu", quote(q, s, n), i);
			return -1;
		}
	}
	return 0;
}

/* RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static bool
scheme_char(unsigned char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (!first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
}

/*
 * Any URI, for members only shown to the operator (RFC 8555 says "a URL"
 * and pebble gives a data: URI): a scheme and ':' (RFC 3986 section 3),
 * then printable ASCII without spaces, at most ACMEJSON_MAX_URI bytes.
 */
static int
check_uri(struct rd *r, const char *where, const char *key, const char *s, size_t n)
{
	char q[QBUF];
	size_t i = 0;

	if (n > ACMEJSON_MAX_URI) {
		fail(r, where, key, "'%s' is %zu characters long, more than %d", quote(q, s, n), n, ACMEJSON_MAX_URI);
		return -1;
	}
	while (i < n && scheme_char((unsigned char)s[i], i == 0))
		i++;
	if (i == 0 || i == n || s[i] != ':') {
		fail(r, where, key, "'%s' is not a URI (a scheme such as 'https' then ':')", quote(q, s, n));
		return -1;
	}
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f) {
			fail(r, where, key, "'%s' has a space or a byte outside printable ASCII at offset %zu",
			    quote(q, s, n), i);
			return -1;
		}
	}
	return 0;
}

static bool
b64url_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* RFC 8555 section 8.1: a token is base64url, and here a file name as well */
static int
check_token(struct rd *r, const char *where, const char *s, size_t n)
{
	char q[QBUF];

	if (n > ACMEJSON_MAX_TOKEN) {
		fail(r, where, "token", "'%s' is %zu characters long, more than %d", quote(q, s, n), n, ACMEJSON_MAX_TOKEN);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!b64url_char((unsigned char)s[i])) {
			fail(r, where, "token", "'%s' has a character outside base64url at offset %zu", quote(q, s, n), i);
			return -1;
		}
	}
	return 0;
}

/* the checks of FLAGS on the string V, which is WHERE.KEY (or WHERE) */
static int
check_string(struct rd *r, const char *where, const char *key, const json_t *v, int flags)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	char q[QBUF];

	if (n == 0 && (flags & (F_NONEMPTY | F_WORD | F_URL | F_URI))) {
		fail(r, where, key, "is empty");
		return -1;
	}
	if (flags & F_URL)
		return check_url(r, where, key, s, n);
	if (flags & F_URI)
		return check_uri(r, where, key, s, n);
	if (flags & F_WORD) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c <= ' ' || c >= 0x7f) {
				fail(r, where, key, "'%s' has a space or a byte outside printable ASCII at offset %zu",
				    quote(q, s, n), i);
				return -1;
			}
		}
	}
	return 0;
}

/* The string KEY of O, checked by FLAGS, copied into *OUT (untouched when absent); as member() */
static int
get_string(struct rd *r, const json_t *o, const char *where, const char *key, int flags, char **out)
{
	json_t *v;
	int rc = member(r, o, where, key, W_STRING, flags, &v);

	if (rc <= 0)
		return rc;
	if (check_string(r, where, key, v, flags) < 0)
		return -1;
	*out = xstrndup(json_string_value(v), json_string_length(v));
	return 1;
}

static int
get_array(struct rd *r, const json_t *o, const char *where, const char *key, int flags, json_t **out, size_t *n)
{
	int rc = member(r, o, where, key, W_ARRAY, flags, out);

	*n = 0;
	if (rc <= 0)
		return rc;
	*n = json_array_size(*out);
	if (*n > ACMEJSON_MAX_ITEMS) {
		fail(r, where, key, "holds %zu items, more than the %d allowed", *n, ACMEJSON_MAX_ITEMS);
		return -1;
	}
	return 1;
}

/* The array of strings KEY of O, each checked by FLAGS, into *OUT and *NOUT (slots filled so far, on failure too) */
static int
get_strings(struct rd *r, const json_t *o, const char *where, const char *key, int flags, char ***out, size_t *nout)
{
	json_t *a;
	size_t n;
	int rc = get_array(r, o, where, key, flags, &a, &n);

	if (rc <= 0)
		return rc;
	*out = xcalloc(n ? n : 1, sizeof(**out));
	*nout = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);
		char at[WHERE];

		path(at, "%s.%s[%zu]", where, key, i);
		if (!json_is_string(v)) {
			fail(r, at, NULL, "expected a string, found %s", type_name(v));
			return -1;
		}
		if (check_string(r, at, NULL, v, flags | F_NONEMPTY) < 0)
			return -1;
		(*out)[i] = xstrndup(json_string_value(v), json_string_length(v));
	}
	return 1;
}

static int
get_time(struct rd *r, const json_t *o, const char *where, const char *key, int flags, time_t *out)
{
	json_t *v;
	char q[QBUF];
	int rc = member(r, o, where, key, W_STRING, flags, &v);

	if (rc <= 0)
		return rc;
	if (acmejson_time_parse(json_string_value(v), json_string_length(v), out) < 0) {
		fail(r, where, key, "'%s' is not an RFC 3339 date-time",
		    quote(q, json_string_value(v), json_string_length(v)));
		return -1;
	}
	return 1;
}

static int
get_bool(struct rd *r, const json_t *o, const char *where, const char *key, bool *out)
{
	json_t *v;
	int rc = member(r, o, where, key, W_BOOL, 0, &v);

	if (rc > 0)
		*out = json_is_true(v);
	return rc;
}

/* "status" of O, one of NAMES[0..COUNT) (its index into *OUT) */
static int
get_status(struct rd *r, const json_t *o, const char *where, const char *const *names, size_t count, int *out)
{
	json_t *v;
	char q[QBUF], list[96];
	size_t used = 0;

	if (member(r, o, where, "status", W_STRING, F_REQUIRED, &v) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	list[0] = '\0';
	for (size_t i = 0; i < count; i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
		if (n < 0 || (size_t)n >= sizeof(list) - used)
			break;
		used += (size_t)n;
	}
	fail(r, where, "status", "unknown status '%s' (expected %s)",
	    quote(q, json_string_value(v), json_string_length(v)), list);
	return -1;
}

/* the object V, which is WHERE (an item of an array), or -1 */
static int
need_object(struct rd *r, const json_t *v, const char *where)
{
	if (json_is_object(v))
		return 0;
	fail(r, where, NULL, "expected an object, found %s", type_name(v));
	return -1;
}

static int
read_identifier(struct rd *r, const json_t *o, const char *where, struct acmejson_identifier *id)
{
	if (get_string(r, o, where, "type", F_REQUIRED | F_WORD, &id->type) < 0 ||
	    get_string(r, o, where, "value", F_REQUIRED | F_WORD, &id->value) < 0)
		return -1;
	return 0;
}

/* the optional identifier KEY of O */
static int
get_identifier(struct rd *r, const json_t *o, const char *where, const char *key, int flags, struct acmejson_identifier *id)
{
	json_t *v;
	char at[WHERE];
	int rc = member(r, o, where, key, W_OBJECT, flags, &v);

	if (rc <= 0)
		return rc;
	path(at, "%s.%s", where, key);
	return read_identifier(r, v, at, id) < 0 ? -1 : 1;
}

static const char *
short_name(const char *type)
{
	size_t n = strlen(ACMEJSON_ERROR_PREFIX);

	return strncmp(type, ACMEJSON_ERROR_PREFIX, n) == 0 ? type + n : "";
}

/* "type" of a problem or subproblem, "about:blank" when absent (RFC 7807 section 4.2) */
static int
get_type(struct rd *r, const json_t *o, const char *where, char **type, const char **name)
{
	int rc = get_string(r, o, where, "type", F_NONEMPTY, type);

	if (rc < 0)
		return -1;
	if (rc == 0)
		*type = xstrdup("about:blank");
	*name = short_name(*type);
	return 0;
}

static int
read_problem(struct rd *r, const json_t *o, const char *where, struct acmejson_problem *p)
{
	json_t *v, *a;
	size_t n;
	int rc;

	if (get_type(r, o, where, &p->type, &p->name) < 0 || get_string(r, o, where, "detail", 0, &p->detail) < 0)
		return -1;
	if ((rc = member(r, o, where, "status", W_INT, 0, &v)) < 0)
		return -1;
	if (rc > 0) {
		json_int_t s = json_integer_value(v);
		if (s < 100 || s > 599) {
			fail(r, where, "status", "%lld is not an HTTP status", (long long)s);
			return -1;
		}
		p->status = (int)s;
	}
	if ((rc = get_array(r, o, where, "subproblems", 0, &a, &n)) <= 0)
		return rc;
	p->subproblems = xcalloc(n ? n : 1, sizeof(*p->subproblems));
	p->nsubproblems = n;
	for (size_t i = 0; i < n; i++) {
		struct acmejson_subproblem *s = &p->subproblems[i];
		char at[WHERE];

		v = json_array_get(a, i);
		path(at, "%s.subproblems[%zu]", where, i);
		if (need_object(r, v, at) < 0 || get_type(r, v, at, &s->type, &s->name) < 0 ||
		    get_string(r, v, at, "detail", 0, &s->detail) < 0 ||
		    get_identifier(r, v, at, "identifier", 0, &s->identifier) < 0)
			return -1;
	}
	return 0;
}

/* the optional problem KEY of O into *OUT */
static int
get_problem(struct rd *r, const json_t *o, const char *where, const char *key, struct acmejson_problem **out)
{
	json_t *v;
	char at[WHERE];
	int rc = member(r, o, where, key, W_OBJECT, 0, &v);

	if (rc <= 0)
		return rc;
	*out = xcalloc(1, sizeof(**out));
	path(at, "%s.%s", where, key);
	return read_problem(r, v, at, *out);
}

/* TEXT as a JSON object, or NULL with the message */
static json_t *
load(struct rd *r, const char *what, const char *text, size_t len)
{
	json_error_t e;
	json_t *root;
	char q[JBUF];

	if (len > ACMEJSON_MAX_TEXT) {
		fail(r, what, NULL, "%zu bytes, more than the %d allowed", len, ACMEJSON_MAX_TEXT);
		return NULL;
	}
	root = json_loadb(text ? text : "", text ? len : 0, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL) {
		fail(r, what, NULL, "not JSON: %s at line %d, column %d",
		    printable(q, e.text, strnlen(e.text, sizeof(e.text)), sizeof(e.text), false), e.line, e.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		fail(r, what, NULL, "expected an object, found %s", type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

int
acmejson_time_parse(const char *s, size_t n, time_t *out)
{
	char mdhms[10];
	int64_t t;
	int year, off = 0;
	size_t i = 19;

	/* 2006-01-02T15:04:05 */
	if (s == NULL || n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	if ((year = str_digits(s, 4)) < 0)
		return -1;
	memcpy(mdhms, s + 5, 2);
	memcpy(mdhms + 2, s + 8, 2);
	memcpy(mdhms + 4, s + 11, 2);
	memcpy(mdhms + 6, s + 14, 2);
	memcpy(mdhms + 8, s + 17, 2);
	if (mdhms[8] == '6' && mdhms[9] == '0')
		mdhms[8] = '5', mdhms[9] = '9';
	if (utc_from_mdhms(year, mdhms, &t) < 0)
		return -1;
	if (s[i] == '.') {
		size_t first = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == first)
			return -1;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
		off = 0;
	else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int h = str_digits(s + i + 1, 2), m = str_digits(s + i + 4, 2);
		if (h < 0 || h > 23 || m < 0 || m > 59)
			return -1;
		off = (h * 60 + m) * 60;
		if (s[i] == '-')
			off = -off;
	} else
		return -1;
	t -= off;
	if ((int64_t)(time_t)t != t)
		return -1;
	*out = (time_t)t;
	return 0;
}

struct acmejson_problem *
acmejson_problem_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct rd r = { err, errlen };
	json_t *root = load(&r, "problem", text, len);
	struct acmejson_problem *p;

	if (root == NULL)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	if (read_problem(&r, root, "problem", p) < 0) {
		acmejson_problem_free(p);
		p = NULL;
	}
	json_decref(root);
	return p;
}

static void
identifier_clear(struct acmejson_identifier *id)
{
	free(id->type);
	free(id->value);
}

void
acmejson_problem_free(struct acmejson_problem *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nsubproblems; i++) {
		free(p->subproblems[i].type);
		free(p->subproblems[i].detail);
		identifier_clear(&p->subproblems[i].identifier);
	}
	free(p->subproblems);
	free(p->type);
	free(p->detail);
	free(p);
}

static void
strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct acmejson_directory *
acmejson_directory_parse(const char *text, size_t len, char *err, size_t errlen)
{
	static const char w[] = "directory", m[] = "directory.meta";
	struct rd r = { err, errlen };
	json_t *root = load(&r, w, text, len), *meta;
	struct acmejson_directory *d;
	int rc;

	if (root == NULL)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	if (get_string(&r, root, w, "newNonce", F_REQUIRED | F_URL, &d->new_nonce) < 0 ||
	    get_string(&r, root, w, "newAccount", F_REQUIRED | F_URL, &d->new_account) < 0 ||
	    get_string(&r, root, w, "newOrder", F_REQUIRED | F_URL, &d->new_order) < 0 ||
	    get_string(&r, root, w, "revokeCert", F_URL, &d->revoke_cert) < 0 ||
	    get_string(&r, root, w, "keyChange", F_URL, &d->key_change) < 0 ||
	    get_string(&r, root, w, "renewalInfo", F_URL, &d->renewal_info) < 0 ||
	    (rc = member(&r, root, w, "meta", W_OBJECT, 0, &meta)) < 0)
		goto fail;
	if (rc > 0 &&
	    (get_string(&r, meta, m, "termsOfService", F_URI, &d->terms_of_service) < 0 ||
		get_bool(&r, meta, m, "externalAccountRequired", &d->external_account_required) < 0 ||
		get_strings(&r, meta, m, "caaIdentities", F_WORD, &d->caa_identities, &d->ncaa_identities) < 0))
		goto fail;
	json_decref(root);
	return d;
fail:
	json_decref(root);
	acmejson_directory_free(d);
	return NULL;
}

void
acmejson_directory_free(struct acmejson_directory *d)
{
	if (d == NULL)
		return;
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms_of_service);
	strings_free(d->caa_identities, d->ncaa_identities);
	free(d);
}

struct acmejson_account *
acmejson_account_parse(const char *text, size_t len, char *err, size_t errlen)
{
	static const char w[] = "account";
	struct rd r = { err, errlen };
	json_t *root = load(&r, w, text, len);
	struct acmejson_account *a;
	int st;

	if (root == NULL)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	if (get_status(&r, root, w, account_names, NAMES(account_names), &st) < 0 ||
	    get_string(&r, root, w, "orders", F_URL, &a->orders) < 0) {
		json_decref(root);
		acmejson_account_free(a);
		return NULL;
	}
	a->status = (enum acmejson_account_status)st;
	json_decref(root);
	return a;
}

void
acmejson_account_free(struct acmejson_account *a)
{
	if (a == NULL)
		return;
	free(a->orders);
	free(a);
}

struct acmejson_order *
acmejson_order_parse(const char *text, size_t len, char *err, size_t errlen)
{
	static const char w[] = "order";
	struct rd r = { err, errlen };
	json_t *root = load(&r, w, text, len), *ids;
	struct acmejson_order *o;
	size_t n;
	int st;

	if (root == NULL)
		return NULL;
	o = xcalloc(1, sizeof(*o));
	if (get_status(&r, root, w, order_names, NAMES(order_names), &st) < 0 ||
	    get_time(&r, root, w, "expires", 0, &o->expires) < 0 ||
	    get_array(&r, root, w, "identifiers", F_REQUIRED, &ids, &n) < 0)
		goto fail;
	o->status = (enum acmejson_order_status)st;
	if (n == 0) {
		fail(&r, w, "identifiers", "is empty");
		goto fail;
	}
	o->identifiers = xcalloc(n, sizeof(*o->identifiers));
	o->nidentifiers = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(ids, i);
		char at[WHERE];

		path(at, "%s.identifiers[%zu]", w, i);
		if (need_object(&r, v, at) < 0 || read_identifier(&r, v, at, &o->identifiers[i]) < 0)
			goto fail;
	}
	if (get_strings(&r, root, w, "authorizations", F_REQUIRED | F_URL, &o->authorizations, &o->nauthorizations) < 0 ||
	    get_string(&r, root, w, "finalize", F_REQUIRED | F_URL, &o->finalize) < 0 ||
	    get_string(&r, root, w, "certificate", F_URL, &o->certificate) < 0 ||
	    get_problem(&r, root, w, "error", &o->error) < 0)
		goto fail;
	json_decref(root);
	return o;
fail:
	json_decref(root);
	acmejson_order_free(o);
	return NULL;
}

void
acmejson_order_free(struct acmejson_order *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->nidentifiers; i++)
		identifier_clear(&o->identifiers[i]);
	free(o->identifiers);
	strings_free(o->authorizations, o->nauthorizations);
	free(o->finalize);
	free(o->certificate);
	acmejson_problem_free(o->error);
	free(o);
}

static enum acmejson_chall_type
chall_kind(const char *type)
{
	if (strcmp(type, "http-01") == 0)
		return ACMEJSON_CHALL_HTTP_01;
	if (strcmp(type, "dns-01") == 0)
		return ACMEJSON_CHALL_DNS_01;
	if (strcmp(type, "tls-alpn-01") == 0)
		return ACMEJSON_CHALL_TLS_ALPN_01;
	return ACMEJSON_CHALL_OTHER;
}

static int
read_challenge(struct rd *r, const json_t *o, const char *where, struct acmejson_challenge *c)
{
	int st;

	if (get_string(r, o, where, "type", F_REQUIRED | F_WORD, &c->type) < 0)
		return -1;
	c->kind = chall_kind(c->type);
	if (get_string(r, o, where, "url", F_REQUIRED | F_URL, &c->url) < 0 ||
	    get_status(r, o, where, chall_names, NAMES(chall_names), &st) < 0)
		return -1;
	c->status = (enum acmejson_chall_status)st;
	/* another type's token may follow other rules: it is not read */
	if (c->kind != ACMEJSON_CHALL_OTHER &&
	    (get_string(r, o, where, "token", F_REQUIRED | F_NONEMPTY, &c->token) < 0 ||
		check_token(r, where, c->token, strlen(c->token)) < 0))
		return -1;
	if (get_time(r, o, where, "validated", 0, &c->validated) < 0 || get_problem(r, o, where, "error", &c->error) < 0)
		return -1;
	return 0;
}

struct acmejson_authz *
acmejson_authz_parse(const char *text, size_t len, char *err, size_t errlen)
{
	static const char w[] = "authorization";
	struct rd r = { err, errlen };
	json_t *root = load(&r, w, text, len), *chs;
	struct acmejson_authz *a;
	size_t n;
	int st;

	if (root == NULL)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	if (get_identifier(&r, root, w, "identifier", F_REQUIRED, &a->identifier) < 0 ||
	    get_status(&r, root, w, authz_names, NAMES(authz_names), &st) < 0 ||
	    get_time(&r, root, w, "expires", 0, &a->expires) < 0 || get_bool(&r, root, w, "wildcard", &a->wildcard) < 0 ||
	    get_array(&r, root, w, "challenges", F_REQUIRED, &chs, &n) < 0)
		goto fail;
	a->status = (enum acmejson_authz_status)st;
	a->challenges = xcalloc(n ? n : 1, sizeof(*a->challenges));
	a->nchallenges = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(chs, i);
		char at[WHERE];

		path(at, "%s.challenges[%zu]", w, i);
		if (need_object(&r, v, at) < 0 || read_challenge(&r, v, at, &a->challenges[i]) < 0)
			goto fail;
	}
	json_decref(root);
	return a;
fail:
	json_decref(root);
	acmejson_authz_free(a);
	return NULL;
}

void
acmejson_authz_free(struct acmejson_authz *a)
{
	if (a == NULL)
		return;
	identifier_clear(&a->identifier);
	for (size_t i = 0; i < a->nchallenges; i++) {
		free(a->challenges[i].type);
		free(a->challenges[i].url);
		free(a->challenges[i].token);
		acmejson_problem_free(a->challenges[i].error);
	}
	free(a->challenges);
	free(a);
}

struct acmejson_renewal *
acmejson_renewal_parse(const char *text, size_t len, char *err, size_t errlen)
{
	static const char w[] = "renewalInfo", sw[] = "renewalInfo.suggestedWindow";
	struct rd r = { err, errlen };
	json_t *root = load(&r, w, text, len), *win;
	struct acmejson_renewal *ri;

	if (root == NULL)
		return NULL;
	ri = xcalloc(1, sizeof(*ri));
	if (member(&r, root, w, "suggestedWindow", W_OBJECT, F_REQUIRED, &win) < 0 ||
	    get_time(&r, win, sw, "start", F_REQUIRED, &ri->start) < 0 ||
	    get_time(&r, win, sw, "end", F_REQUIRED, &ri->end) < 0)
		goto fail;
	/* RFC 9773 section 4.2: such a window is no answer at all */
	if (ri->end <= ri->start) {
		const json_t *s = json_object_get(win, "start"), *e = json_object_get(win, "end");
		char qs[QBUF], qe[QBUF];

		fail(&r, sw, NULL, "end '%s' is not after start '%s'", quote(qe, json_string_value(e), json_string_length(e)),
		    quote(qs, json_string_value(s), json_string_length(s)));
		goto fail;
	}
	if (get_string(&r, root, w, "explanationURL", F_URL, &ri->explanation_url) < 0)
		goto fail;
	json_decref(root);
	return ri;
fail:
	json_decref(root);
	acmejson_renewal_free(ri);
	return NULL;
}

void
acmejson_renewal_free(struct acmejson_renewal *ri)
{
	if (ri == NULL)
		return;
	free(ri->explanation_url);
	free(ri);
}

static const char *
name_of(const char *const *names, size_t count, int s)
{
	return s >= 0 && (size_t)s < count ? names[s] : "unknown";
}

const char *
acmejson_account_status_name(enum acmejson_account_status s)
{
	return name_of(account_names, NAMES(account_names), (int)s);
}

const char *
acmejson_order_status_name(enum acmejson_order_status s)
{
	return name_of(order_names, NAMES(order_names), (int)s);
}

const char *
acmejson_authz_status_name(enum acmejson_authz_status s)
{
	return name_of(authz_names, NAMES(authz_names), (int)s);
}

const char *
acmejson_chall_status_name(enum acmejson_chall_status s)
{
	return name_of(chall_names, NAMES(chall_names), (int)s);
}
