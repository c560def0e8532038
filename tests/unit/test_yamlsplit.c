/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for yamlsplit and ytree_load_split: where a long list is cut, and
 * that the tree read in pieces is the tree read at once, positions included,
 * or that the whole text is read at once when the pieces cannot make it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "diag.h"
#include "util.h"
#include "yamlsplit.h"
#include "yamltree.h"

/* Whether node A of TA and node B of TB are the same tree, positions included; the first difference in WHY. */
static bool
same(const struct ytree *ta, uint32_t a, const struct ytree *tb, uint32_t b, char *why, size_t len)
{
	const struct ynode *x = ytree_node(ta, a), *y = ytree_node(tb, b);

	if (x->type != y->type || x->line != y->line || x->col != y->col || x->plain != y->plain) {
		snprintf(why, len, "node at %d:%d (type %d) vs %d:%d (type %d)", x->line, x->col, x->type, y->line,
		    y->col, y->type);
		return false;
	}
	if (x->type == YAML_SCALAR_NODE) {
		if (x->length != y->length || memcmp(x->value, y->value, x->length) != 0) {
			snprintf(why, len, "scalar at %d:%d: '%s' vs '%s'", x->line, x->col, x->value, y->value);
			return false;
		}
		return true;
	}
	if (x->n != y->n) {
		snprintf(why, len, "collection at %d:%d: %u vs %u children", x->line, x->col, x->n, y->n);
		return false;
	}
	for (uint32_t i = 0; i < x->n; i++)
		if (!same(ta, ta->kids[x->first + i], tb, tb->kids[y->first + i], why, len))
			return false;
	return true;
}

/* Read TEXT at once and in pieces on THREADS threads: the trees must be equal; returns ytree_load_split's result. */
static int
split_equals_whole(const char *text, unsigned threads)
{
	struct ytree whole = {0}, split = {0};
	struct diag_list d1, d2;
	uint32_t r1, r2;
	int rc1, rc2;
	char why[256] = "";

	diag_init(&d1, "t.yaml");
	diag_init(&d2, "t.yaml");
	rc1 = ytree_load(&whole, text, strlen(text), &d1, &r1);
	rc2 = ytree_load_split(&split, text, strlen(text), "domains", threads, &d2, &r2);
	cr_assert_eq(rc1 < 0, rc2 < 0, "whole %d, split %d", rc1, rc2);
	cr_assert_eq(d1.n, d2.n, "%zu vs %zu diagnostics", d1.n, d2.n);
	for (size_t i = 0; i < d1.n; i++) {
		char b1[512], b2[512];

		diag_format(&d1, i, b1, sizeof(b1));
		diag_format(&d2, i, b2, sizeof(b2));
		cr_expect_str_eq(b2, b1);
	}
	if (rc1 >= 0) {
		cr_assert_eq(r1 == YTREE_NONE, r2 == YTREE_NONE);
		if (r1 != YTREE_NONE)
			cr_expect(same(&whole, r1, &split, r2, why, sizeof(why)), "%s", why);
	}
	ytree_clear(&whole);
	ytree_clear(&split);
	diag_clear(&d1);
	diag_clear(&d2);
	return rc2;
}

/* A config with N domain entries of a few shapes, then TAIL. */
static char *
config_with(size_t n, const char *tail)
{
	size_t cap = 256 + n * 160 + strlen(tail), len = 0;
	char *s = xmalloc(cap);

	len += (size_t)snprintf(s + len, cap - len, "# head\ndefaults:\n  mode: testing\n  mx: [mx.example.net]\n"
	    "domains:\n  # the customers\n\n");
	for (size_t i = 0; i < n; i++) {
		switch (i % 4) {
		case 0:
			len += (size_t)snprintf(s + len, cap - len, "  - name: d%zu.example.com\n    mode: enforce\n", i);
			break;
		case 1:
			len += (size_t)snprintf(s + len, cap - len, "  - d%zu.example.com   # bare\n", i);
			break;
		case 2:
			len += (size_t)snprintf(s + len, cap - len,
			    "  - name: \"d%zu.example.com\"\n\n    mx:\n      - a.example.net\n      - 'b.example.net'\n", i);
			break;
		default:
			len += (size_t)snprintf(s + len, cap - len, "  -\n    name: d%zu.example.com\n    max_age: 86400\n", i);
			break;
		}
	}
	len += (size_t)snprintf(s + len, cap - len, "%s", tail);
	return s;
}

Test(yamlsplit, cuts_at_entries_near_equal_shares)
{
	char *text = config_with(400, "");
	struct yamlsplit s;
	size_t n = yamlsplit_find(text, strlen(text), "domains", 4, &s);

	cr_assert_eq(n, 4);
	cr_expect_eq(s.key_line, 5);
	cr_expect_eq(s.indent, 2);
	cr_expect_eq(s.cut[0].line, 8, "the first entry, after the comment and the blank line");
	for (size_t k = 0; k < n; k++) {
		size_t share = s.cut[k + 1].off - s.cut[k].off;
		int line = 1;

		cr_expect(strncmp(text + s.cut[k].off, "  -", 3) == 0, "piece %zu starts at an entry", k);
		for (size_t i = 0; i < s.cut[k].off; i++)
			line += text[i] == '\n';
		cr_expect_eq(s.cut[k].line, line, "piece %zu: line %d, counted %d", k, s.cut[k].line, line);
		cr_expect(share > strlen(text) / 8, "piece %zu holds %zu of %zu bytes", k, share, strlen(text));
	}
	cr_expect_eq(s.cut[n].off, strlen(text));
	free(text);
}

Test(yamlsplit, the_list_ends_at_the_first_line_outside_it)
{
	char *text = config_with(40, "listen:\n  http: [\"127.0.0.1:80\"]\n");
	struct yamlsplit s;
	size_t n = yamlsplit_find(text, strlen(text), "domains", 2, &s);

	cr_assert_eq(n, 2);
	cr_expect(strncmp(text + s.cut[n].off, "listen:", 7) == 0, "ends at '%.10s'", text + s.cut[n].off);
	free(text);
}

Test(yamlsplit, no_block_list_no_cut)
{
	struct yamlsplit s;
	static const char *const texts[] = {
		"domains: [a.example, b.example, c.example]\n",
		"domains:\n  a: b\n",
		"x:\n  domains:\n    - a\n    - b\n",
		"domainsx:\n  - a\n  - b\n",
		"domains:\n  - a\n",
		"",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		cr_expect_eq(yamlsplit_find(texts[i], strlen(texts[i]), "domains", 4, &s), 0, "text %zu", i);
}

Test(yamlsplit, a_long_list_is_read_in_pieces_into_the_same_tree)
{
	char *text = config_with(1000, "listen:\n  http: [\"127.0.0.1:80\"]\n");

	for (unsigned threads = 2; threads <= 8; threads *= 2)
		cr_expect_eq(split_equals_whole(text, threads), 1, "%u threads", threads);
	free(text);
}

Test(yamlsplit, one_thread_reads_at_once)
{
	char *text = config_with(100, "");

	cr_expect_eq(split_equals_whole(text, 1), 0);
	free(text);
}

Test(yamlsplit, compact_lists_and_crlf_lines_are_cut_too)
{
	static const char compact[] = "domains:\n- a.example\n- name: b.example\n  mode: none\n- c.example\n"
	    "- d.example\nlog: {level: info}\n";
	static const char crlf[] = "domains:\r\n  - a.example\r\n  - b.example\r\n  - c.example\r\n  - d.example\r\n";

	cr_expect_eq(split_equals_whole(compact, 2), 1);
	cr_expect_eq(split_equals_whole(crlf, 2), 1);
}

/*
 * Texts whose lines look like a list that pieces cannot read: each read at
 * once, with the same result and the same diagnostics. 16 threads cut at
 * every entry, so each construct spans a cut.
 */
Test(yamlsplit, what_pieces_cannot_read_is_read_at_once)
{
	static const char *const texts[] = {
		/* a quoted scalar across an entry-looking line */
		"domains:\n  - a.example\n  - \"b\n  - c\"\n  - d.example\n  - e.example\n",
		/* a flow list across one */
		"domains:\n  - a.example\n  - [b,\n  - c]\n  - d.example\n  - e.example\n",
		/* an alias to an anchor in another piece */
		"domains:\n  - &x {name: a.example}\n  - b.example\n  - c.example\n  - *x\n  - *x\n",
		/* an anchor of the head defined again in the list, named after it */
		"defaults: &m {mode: none}\ndomains:\n  - a.example\n  - &m b.example\n  - c.example\n  - d.example\n"
		"acme: *m\n",
		/* the list is not the key's value: a multi-line quoted scalar holds it */
		"x: \"a\ndomains:\n  - a.example\n  - b.example\n  - c.example\n\"\n",
		/* a line at the entries' column that is not an entry */
		"domains:\n  - a.example\n  - b.example\n  c: d\n  - e.example\n",
		/* a syntax error inside the list: the same message at the same place */
		"domains:\n  - a.example\n  - b: [\n  - c.example\n  - d.example\n",
		/* a second document */
		"domains:\n  - a.example\n  - b.example\n---\nx: 1\n",
		/* nested deeper than the limit inside an entry */
		"domains:\n  - a\n  - b\n  - [[[[[[[1]]]]]]]\n  - c\n",
		/* the key twice */
		"domains:\n  - a\n  - b\n  - c\ndomains:\n  - d\n",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]) - 1; i++)
		cr_expect_neq(split_equals_whole(texts[i], 16), 1, "text %zu was read in pieces", i);
	/* the key twice is the config's error to report; the first one's list is cut out and read in pieces */
	cr_expect_eq(split_equals_whole(texts[sizeof(texts) / sizeof(texts[0]) - 1], 16), 1);
}
