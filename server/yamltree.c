/* SPDX-License-Identifier: MIT */
/* yamltree: reads one YAML document into a compact tree of nodes with their 1-based positions. */
#include "yamltree.h"
#include "util.h"
#include "vec.h"

#include <string.h>
#include <yaml.h>

/* A chunk of the arena holding the scalars' bytes. */
struct ychunk {
	struct ychunk *next;
	size_t used, cap;
	char data[];
};

/* An anchor ("&name") and the node it names, for the aliases ("*name") after it. */
struct yanchor {
	char *name;
	uint32_t node;
};

/*
 * A libyaml error at the problem's position. The context ("while scanning a
 * quoted scalar") names where the construct began, which is often the real
 * mistake (an unclosed quote is found only at the end of the file).
 */
static void
syntax_error(struct diag_list *dl, const yaml_parser_t *parser, const char *data, size_t len)
{
	const char *problem = parser->problem ? parser->problem : "unknown problem";

	if (parser->error == YAML_READER_ERROR) {
		/*
		 * The reader (a NUL or another control character, bad UTF-8) gives
		 * only a byte offset, not a mark: count the lines and characters
		 * up to it, as the marks of the other errors do.
		 */
		size_t end = parser->problem_offset < len ? parser->problem_offset : len;
		int line = 1, col = 1;

		for (size_t i = 0; i < end; i++) {
			if (data[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		diag_add(dl, DIAG_ERROR, line, col, "YAML syntax error: %s", problem);
		return;
	}
	if (parser->context && (parser->context_mark.line != parser->problem_mark.line ||
	    parser->context_mark.column != parser->problem_mark.column))
		diag_add(dl, DIAG_ERROR, (int)parser->problem_mark.line + 1, (int)parser->problem_mark.column + 1,
		    "YAML syntax error: %s %s started at line %d column %d", problem, parser->context,
		    (int)parser->context_mark.line + 1, (int)parser->context_mark.column + 1);
	else
		diag_add(dl, DIAG_ERROR, (int)parser->problem_mark.line + 1, (int)parser->problem_mark.column + 1,
		    "YAML syntax error: %s%s%s", problem, parser->context ? " " : "",
		    parser->context ? parser->context : "");
}

void
ytree_clear(struct ytree *t)
{
	while (t->arena) {
		struct ychunk *next = t->arena->next;
		free(t->arena);
		t->arena = next;
	}
	for (size_t i = 0; i < t->n_anchors; i++)
		free(t->anchors[i].name);
	free(t->anchors);
	free(t->nodes);
	free(t->kids);
	memset(t, 0, sizeof(*t));
}

static const char *
arena_dup(struct ytree *t, const unsigned char *s, size_t len)
{
	size_t need = len + 1;
	char *p;

	if (t->arena == NULL || t->arena->cap - t->arena->used < need) {
		size_t cap = need > 65536 ? need : 65536;
		struct ychunk *ch = xmalloc(sizeof(*ch) + cap);
		ch->next = t->arena;
		ch->used = 0;
		ch->cap = cap;
		t->arena = ch;
	}
	p = t->arena->data + t->arena->used;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	t->arena->used += need;
	return p;
}

static void
push_u32(uint32_t **a, size_t *n, size_t *cap, uint32_t v)
{
	VEC_RESERVE(*a, *cap, *n + 1, 64);
	(*a)[(*n)++] = v;
}

/* ytree_load with PARSER reading DATA. */
static int
build(struct ytree *t, yaml_parser_t *parser, const char *data, size_t len, struct diag_list *dl,
    uint32_t *root)
{
	uint32_t *open = NULL, *pending = NULL;	/* open collections; children not yet placed */
	size_t n_open = 0, cap_open = 0, n_pending = 0, cap_pending = 0;
	size_t *base = NULL, cap_base = 0;
	int documents = 0, rc = 0;
	yaml_mark_t second = {0};
	yaml_event_t ev;

	*root = YTREE_NONE;
	for (;;) {
		uint32_t idx = UINT32_MAX;
		const unsigned char *anchor = NULL;

		if (!yaml_parser_parse(parser, &ev)) {
			syntax_error(dl, parser, data, len);
			rc = -1;
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && ++documents >= 2)
			second = ev.start_mark;
		if (documents > 1 && ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0 &&
		    ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			/* an empty second document ("---" at the end) is harmless; content is not */
			yaml_event_delete(&ev);
			continue;
		}
		if (documents > 1 && (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_ALIAS_EVENT)) {
			diag_add(dl, DIAG_ERROR, (int)second.line + 1, (int)second.column + 1,
			    "only one YAML document is allowed in the configuration");
			yaml_event_delete(&ev);
			break;
		}
		switch (ev.type) {
		case YAML_ALIAS_EVENT:
			for (size_t i = t->n_anchors; i > 0; i--)
				if (strcmp(t->anchors[i - 1].name, (const char *)ev.data.alias.anchor) == 0) {
					idx = t->anchors[i - 1].node;
					break;
				}
			if (idx == UINT32_MAX) {
				diag_add(dl, DIAG_ERROR, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    "YAML syntax error: found undefined alias '%s'", ev.data.alias.anchor);
				rc = -1;
			}
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			struct ynode *n;

			if (ev.type != YAML_SCALAR_EVENT && n_open >= YTREE_MAX_DEPTH) {
				diag_add(dl, DIAG_ERROR, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    "lists and mappings are nested more than %d deep; the configuration needs 5",
				    YTREE_MAX_DEPTH);
				rc = -1;
				break;
			}
			if (t->n_nodes >= UINT32_MAX - 1) {
				diag_add(dl, DIAG_ERROR, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    "the configuration is too large");
				rc = -1;
				break;
			}
			VEC_RESERVE(t->nodes, t->cap_nodes, t->n_nodes + 1, 256);
			idx = (uint32_t)t->n_nodes++;
			n = &t->nodes[idx];
			memset(n, 0, sizeof(*n));
			n->line = (int)ev.start_mark.line + 1;
			n->col = (int)ev.start_mark.column + 1;
			if (ev.type == YAML_SCALAR_EVENT) {
				n->type = YAML_SCALAR_NODE;
				n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
				n->length = ev.data.scalar.length > UINT32_MAX ? UINT32_MAX : (uint32_t)ev.data.scalar.length;
				n->value = arena_dup(t, ev.data.scalar.value, ev.data.scalar.length);
				anchor = ev.data.scalar.anchor;
			} else if (ev.type == YAML_SEQUENCE_START_EVENT) {
				n->type = YAML_SEQUENCE_NODE;
				anchor = ev.data.sequence_start.anchor;
			} else {
				n->type = YAML_MAPPING_NODE;
				anchor = ev.data.mapping_start.anchor;
			}
			if (anchor) {
				VEC_RESERVE(t->anchors, t->cap_anchors, t->n_anchors + 1, 4);
				t->anchors[t->n_anchors].name = xstrdup((const char *)anchor);
				t->anchors[t->n_anchors++].node = idx;
			}
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: {
			struct ynode *n = &t->nodes[open[--n_open]];
			size_t b = base[n_open];

			n->first = (uint32_t)t->n_kids;
			n->n = (uint32_t)(n_pending - b);
			for (size_t i = b; i < n_pending; i++)
				push_u32(&t->kids, &t->n_kids, &t->cap_kids, pending[i]);
			n_pending = b;
			break;
		}
		default:
			break;
		}
		if (idx != UINT32_MAX) {
			/* a new node or an alias: the child of the innermost open collection, or the root */
			if (n_open > 0)
				push_u32(&pending, &n_pending, &cap_pending, idx);
			else if (*root == YTREE_NONE)
				*root = idx;
			if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
				push_u32(&open, &n_open, &cap_open, idx);
				if (n_open > cap_base) {
					cap_base = cap_open;
					/* not vec: a twin of open, sized to the capacity push_u32 just chose */
					base = xreallocarray(base, cap_base, sizeof(*base));
				}
				base[n_open - 1] = n_pending;
			}
		}
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	free(open);
	free(pending);
	free(base);
	return rc;
}


int
ytree_load(struct ytree *t, const char *data, size_t len, struct diag_list *dl, uint32_t *root)
{
	yaml_parser_t parser;
	int rc;

	*root = YTREE_NONE;
	if (!yaml_parser_initialize(&parser)) {
		diag_add(dl, DIAG_ERROR, 0, 0, "cannot initialise the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	rc = build(t, &parser, data, len, dl, root);
	yaml_parser_delete(&parser);
	return rc;
}

bool
ytree_is_plain(const struct ynode *n)
{
	return n->type == YAML_SCALAR_NODE && n->plain;
}

bool
ytree_is_null(const struct ynode *n)
{
	const char *v;

	if (!ytree_is_plain(n))
		return false;
	v = ytree_sval(n);
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

const char *
ytree_type_name(const struct ynode *n)
{
	if (ytree_is_null(n))
		return "nothing";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}
