/* SPDX-License-Identifier: MIT */
/* yamltree: reads one YAML document into a compact tree of nodes with their 1-based positions. */
#ifndef MTASTSD_YAMLTREE_H
#define MTASTSD_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/*
 * The schema nests five collections deep (top level, listen, https, a
 * listener, its proxy_from). libyaml's time grows with the square of the
 * depth, so a deeper file is refused at the first collection past the limit,
 * before the parser has read the rest.
 */
#define YTREE_MAX_DEPTH 8

/* No node: the root of an empty document. */
#define YTREE_NONE UINT32_MAX

/*
 * One scalar or collection. TYPE holds libyaml's yaml_node_type_t values
 * (YAML_SCALAR_NODE, YAML_SEQUENCE_NODE, YAML_MAPPING_NODE), so that a reader
 * compares it without a second set of names.
 */
struct ynode {
	const char *value;	/* scalars: the bytes, NUL-terminated */
	uint32_t length;	/* scalars: byte count (a NUL inside is detected) */
	uint32_t first, n;	/* collections: kids[first .. first + n); mappings alternate key, value */
	int line, col;		/* 1-based start */
	unsigned char type;	/* YAML_SCALAR_NODE, YAML_SEQUENCE_NODE or YAML_MAPPING_NODE */
	bool plain;		/* an unquoted scalar */
};

/*
 * The YAML file as a compact tree, built from libyaml's event stream rather
 * than its document API: one small node per scalar or collection, child
 * indexes in one shared array and scalar bytes in a chunked arena. For large
 * multi-tenant files this needs about a third of the memory and time of
 * yaml_parser_load (which allocates nodes, marks, tags and values one by one).
 * An alias is the index of its anchor's node, so a node can be the child of
 * several collections. Initialise with {0}; release with ytree_clear.
 */
struct ytree {
	struct ynode *nodes;
	size_t n_nodes, cap_nodes;
	uint32_t *kids;
	size_t n_kids, cap_kids;
	struct ychunk *arena;
	struct yanchor *anchors;
	size_t n_anchors, cap_anchors;
	/*
	 * A tree read in pieces: NODES and KIDS lie in one mapping of REGION_LEN
	 * bytes at REGION (owned when set), each piece in a room of its own, so
	 * joining the pieces copies nothing. FIXED: the arrays cannot grow (a
	 * piece that outgrows its room fails) and are not the tree's to free.
	 */
	void *region;
	size_t region_len;
	bool fixed;
};

/*
 * Read the first YAML document of DATA (LEN bytes) into T. Returns 0 with
 * *ROOT set (YTREE_NONE for an empty stream), or -1 after adding an error to
 * DL at the problem's FILE:LINE:COL. A second document with content is
 * reported but does not discard the first (0 is returned). T is ytree_clear'd
 * by the caller either way.
 */
int ytree_load(struct ytree *t, const char *data, size_t len, struct diag_list *dl, uint32_t *root);

/*
 * ytree_load, reading a long block list under the top-level KEY on THREADS
 * threads: the list is cut at entries (yamlsplit), each piece and the text
 * around the list are read as documents of their own and the trees joined.
 * The tree is the one ytree_load makes, positions included; whenever the
 * pieces do not make the whole (a piece does not read on its own, an
 * anchor of the list is defined before it too), or with fewer than two
 * threads, the whole text is read at once, so errors are ytree_load's.
 * Returns ytree_load's result, or 1 when the tree was read in pieces.
 */
int ytree_load_split(struct ytree *t, const char *data, size_t len, const char *key, unsigned threads,
    struct diag_list *dl, uint32_t *root);

/* Release what T holds (T itself belongs to the caller) and reset it to {0}. */
void ytree_clear(struct ytree *t);

/* Node I of T. */
static inline struct ynode *
ytree_node(const struct ytree *t, uint32_t i)
{
	return &t->nodes[i];
}

/* Child I of collection N (for a mapping, keys are even and values odd). */
static inline struct ynode *
ytree_kid(const struct ytree *t, const struct ynode *n, size_t i)
{
	return &t->nodes[t->kids[n->first + i]];
}

/* A scalar's bytes, NUL-terminated (NULL for a collection). */
static inline const char *
ytree_sval(const struct ynode *n)
{
	return n->value;
}

/* An unquoted scalar. */
bool ytree_is_plain(const struct ynode *n);

/* An unquoted empty scalar, "~", "null", "Null" or "NULL". */
bool ytree_is_null(const struct ynode *n);

/* "nothing", "a mapping", "a list" or "a scalar", for messages. */
const char *ytree_type_name(const struct ynode *n);

#endif
