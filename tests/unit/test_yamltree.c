/* SPDX-License-Identifier: MIT */
/* Unit tests for yamltree: the node tree of a YAML document, its positions, aliases and syntax errors. */
#include <criterion/criterion.h>

#include <string.h>
#include <yaml.h>

#include "diag.h"
#include "yamltree.h"

struct loaded {
	struct ytree t;
	struct diag_list dl;
	uint32_t root;
	int rc;
};

static void
load(struct loaded *l, const char *text, size_t len)
{
	memset(l, 0, sizeof(*l));
	diag_init(&l->dl, "t.yaml");
	l->rc = ytree_load(&l->t, text, len, &l->dl, &l->root);
}

static void
unload(struct loaded *l)
{
	ytree_clear(&l->t);
	diag_clear(&l->dl);
}

/* The only diagnostic, as `check` prints it. */
static void
expect_one_diag(const struct loaded *l, const char *want)
{
	char buf[512];

	cr_assert_eq(l->dl.n, 1, "%zu diagnostics, want 1 (%s)", l->dl.n, want);
	diag_format(&l->dl, 0, buf, sizeof(buf));
	cr_expect_str_eq(buf, want);
}

static void
expect_at(const struct ynode *n, int type, int line, int col)
{
	cr_expect_eq(n->type, type, "type %d, want %d", n->type, type);
	cr_expect_eq(n->line, line, "line %d, want %d", n->line, line);
	cr_expect_eq(n->col, col, "col %d, want %d", n->col, col);
}

Test(yamltree, nested_mapping_and_sequence_keep_their_positions)
{
	static const char text[] =
	    "a:\n"
	    "  - x\n"
	    "  - {b: \"q\", c: 3}\n"
	    "d: ~\n";
	struct loaded l;
	struct ynode *root, *seq, *map;

	load(&l, text, strlen(text));
	cr_assert_eq(l.rc, 0);
	cr_assert_eq(l.dl.n, 0);
	cr_assert_neq(l.root, YTREE_NONE);
	root = ytree_node(&l.t, l.root);
	expect_at(root, YAML_MAPPING_NODE, 1, 1);
	cr_assert_eq(root->n, 4, "two pairs are four kids, not %u", root->n);
	expect_at(ytree_kid(&l.t, root, 0), YAML_SCALAR_NODE, 1, 1);
	cr_expect_str_eq(ytree_sval(ytree_kid(&l.t, root, 0)), "a");

	seq = ytree_kid(&l.t, root, 1);
	expect_at(seq, YAML_SEQUENCE_NODE, 2, 3);
	cr_assert_eq(seq->n, 2);
	expect_at(ytree_kid(&l.t, seq, 0), YAML_SCALAR_NODE, 2, 5);
	cr_expect_str_eq(ytree_sval(ytree_kid(&l.t, seq, 0)), "x");
	cr_expect_str_eq(ytree_type_name(seq), "a list");

	map = ytree_kid(&l.t, seq, 1);
	expect_at(map, YAML_MAPPING_NODE, 3, 5);
	cr_expect_str_eq(ytree_type_name(map), "a mapping");
	cr_assert_eq(map->n, 4);
	expect_at(ytree_kid(&l.t, map, 1), YAML_SCALAR_NODE, 3, 9);
	cr_expect_str_eq(ytree_sval(ytree_kid(&l.t, map, 1)), "q");
	cr_expect_not(ytree_is_plain(ytree_kid(&l.t, map, 1)), "a quoted scalar is not plain");
	expect_at(ytree_kid(&l.t, map, 3), YAML_SCALAR_NODE, 3, 17);
	cr_expect(ytree_is_plain(ytree_kid(&l.t, map, 3)));
	cr_expect_eq(ytree_kid(&l.t, map, 3)->length, 1);
	cr_expect_str_eq(ytree_type_name(ytree_kid(&l.t, map, 3)), "a scalar");

	expect_at(ytree_kid(&l.t, root, 3), YAML_SCALAR_NODE, 4, 4);
	cr_expect(ytree_is_null(ytree_kid(&l.t, root, 3)));
	cr_expect_str_eq(ytree_type_name(ytree_kid(&l.t, root, 3)), "nothing");
	unload(&l);
}

Test(yamltree, null_spellings_are_plain_only)
{
	static const char text[] = "[~, null, Null, NULL, \"\", '~', nil, ]";
	static const bool want[] = { true, true, true, true, false, false, false };
	struct loaded l;
	struct ynode *seq;

	load(&l, text, strlen(text));
	cr_assert_eq(l.rc, 0);
	seq = ytree_node(&l.t, l.root);
	cr_assert_eq(seq->n, 7);
	for (size_t i = 0; i < 7; i++)
		cr_expect_eq(ytree_is_null(ytree_kid(&l.t, seq, i)), want[i], "element %zu", i);
	unload(&l);
}

Test(yamltree, a_nul_inside_a_quoted_scalar_is_kept_in_the_length)
{
	static const char text[] = "k: \"a\\0b\"\n";
	struct loaded l;
	struct ynode *v;

	load(&l, text, strlen(text));
	cr_assert_eq(l.rc, 0);
	v = ytree_kid(&l.t, ytree_node(&l.t, l.root), 1);
	cr_expect_eq(v->length, 3);
	cr_expect_eq(strlen(ytree_sval(v)), 1);
	unload(&l);
}

Test(yamltree, syntax_error_at_the_problem_with_where_the_construct_began)
{
	static const char text[] = "a: 1\nb: [1, 2\nc: 3\n";
	struct loaded l;

	load(&l, text, strlen(text));
	cr_expect_eq(l.rc, -1);
	expect_one_diag(&l, "t.yaml:3:2: YAML syntax error: did not find expected ',' or ']' while parsing a flow "
	    "sequence started at line 2 column 4");
	unload(&l);
}

Test(yamltree, reader_error_counts_characters_up_to_the_byte)
{
	/* "é" is two bytes and one column; the NUL is the reader's problem, not the scanner's */
	static const char text[] = "a: 1\nbé: x\0y\n";
	struct loaded l;

	load(&l, text, sizeof(text) - 1);
	cr_expect_eq(l.rc, -1);
	expect_one_diag(&l, "t.yaml:2:6: YAML syntax error: control characters are not allowed");
	unload(&l);
}

Test(yamltree, an_alias_is_its_anchors_node)
{
	static const char text[] = "x: &common [1, 2]\ny: *common\n";
	struct loaded l;
	struct ynode *root;

	load(&l, text, strlen(text));
	cr_assert_eq(l.rc, 0);
	cr_assert_eq(l.dl.n, 0);
	root = ytree_node(&l.t, l.root);
	cr_assert_eq(root->n, 4);
	cr_expect_eq(ytree_kid(&l.t, root, 1), ytree_kid(&l.t, root, 3), "the alias must be the anchored list");
	cr_expect_eq(ytree_kid(&l.t, root, 3)->n, 2);
	unload(&l);
}

Test(yamltree, an_undefined_alias_is_an_error_at_the_alias)
{
	static const char text[] = "x: &a 1\ny:\n  - *b\n";
	struct loaded l;

	load(&l, text, strlen(text));
	cr_expect_eq(l.rc, -1);
	expect_one_diag(&l, "t.yaml:3:5: YAML syntax error: found undefined alias 'b'");
	unload(&l);
}

Test(yamltree, empty_stream_has_no_root)
{
	static const char *const texts[] = { "", "\n", "# only a comment\n" };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct loaded l;

		load(&l, texts[i], strlen(texts[i]));
		cr_expect_eq(l.rc, 0, "text %zu", i);
		cr_expect_eq(l.root, YTREE_NONE, "text %zu", i);
		cr_expect_eq(l.dl.n, 0, "text %zu", i);
		unload(&l);
	}
}

Test(yamltree, an_empty_explicit_document_is_a_null_scalar)
{
	static const char text[] = "---\n";
	struct loaded l;

	load(&l, text, strlen(text));
	cr_assert_eq(l.rc, 0);
	cr_assert_neq(l.root, YTREE_NONE);
	cr_expect(ytree_is_null(ytree_node(&l.t, l.root)));
	unload(&l);
}

Test(yamltree, a_second_document_is_reported_and_the_first_kept)
{
	static const char text[] = "a: 1\n---\nb: 2\n";
	static const char harmless[] = "a: 1\n---\n";
	struct loaded l;

	load(&l, text, strlen(text));
	cr_expect_eq(l.rc, 0);
	cr_assert_neq(l.root, YTREE_NONE);
	cr_expect_eq(ytree_node(&l.t, l.root)->n, 2);
	expect_one_diag(&l, "t.yaml:2:1: only one YAML document is allowed in the configuration");
	unload(&l);

	load(&l, harmless, strlen(harmless));
	cr_expect_eq(l.rc, 0);
	cr_expect_eq(l.dl.n, 0, "an empty second document is harmless");
	unload(&l);
}

Test(yamltree, nesting_past_the_limit_is_refused_at_the_first_collection_too_deep)
{
	char text[64] = "";
	struct loaded l;

	for (int i = 0; i <= YTREE_MAX_DEPTH; i++)
		strcat(text, "[");
	load(&l, text, strlen(text));
	cr_expect_eq(l.rc, -1);
	expect_one_diag(&l, "t.yaml:1:9: lists and mappings are nested more than 8 deep; the configuration needs 5");
	unload(&l);
}

Test(yamltree, free_resets_and_accepts_an_empty_tree)
{
	static const char text[] = "a: [b, c]\n";
	struct loaded l;

	load(&l, text, strlen(text));
	ytree_clear(&l.t);
	cr_expect_null(l.t.nodes);
	cr_expect_eq(l.t.n_nodes, 0);
	ytree_clear(&l.t);
	diag_clear(&l.dl);
}
