/* SPDX-License-Identifier: MIT */
/* yamltree: reads one YAML document into a compact tree of nodes with their 1-based positions. */
#include "yamltree.h"
#include "pool.h"
#include "util.h"
#include "vec.h"
#include "yamlsplit.h"

#include <string.h>
#include <sys/mman.h>
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
	if (t->region != NULL)
		munmap(t->region, t->region_len);
	if (!t->fixed) {
		free(t->nodes);
		free(t->kids);
	}
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

/* Room in T for COUNT more kids: false when T is fixed and its room is full. */
static bool
kids_room(struct ytree *t, size_t count)
{
	if (t->fixed)
		return t->cap_kids - t->n_kids >= count;
	VEC_RESERVE(t->kids, t->cap_kids, t->n_kids + count, 64);
	return true;
}

/*
 * ytree_load with PARSER reading DATA, whose first line is line LINE0 + 1 of
 * the file, and collections nested at most MAX_DEPTH deep in it.
 */
static int
build(struct ytree *t, yaml_parser_t *parser, const char *data, size_t len, int line0, size_t max_depth,
    struct diag_list *dl, uint32_t *root)
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

			if (ev.type != YAML_SCALAR_EVENT && n_open >= max_depth) {
				diag_add(dl, DIAG_ERROR, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    "lists and mappings are nested more than %d deep; the configuration needs 5",
				    YTREE_MAX_DEPTH);
				rc = -1;
				break;
			}
			/* a fixed tree is a piece, read again whole when it outgrows its room */
			if (t->fixed ? t->n_nodes >= t->cap_nodes : t->n_nodes >= UINT32_MAX - 1) {
				diag_add(dl, DIAG_ERROR, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    "the configuration is too large");
				rc = -1;
				break;
			}
			if (!t->fixed)
				VEC_RESERVE(t->nodes, t->cap_nodes, t->n_nodes + 1, 256);
			idx = (uint32_t)t->n_nodes++;
			n = &t->nodes[idx];
			memset(n, 0, sizeof(*n));
			n->line = line0 + (int)ev.start_mark.line + 1;
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

			if (!kids_room(t, n_pending - b)) {
				diag_add(dl, DIAG_ERROR, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    "the configuration is too large");
				rc = -1;
				break;
			}
			n->first = (uint32_t)t->n_kids;
			n->n = (uint32_t)(n_pending - b);
			if (n_pending > b)
				memcpy(t->kids + t->n_kids, pending + b, (n_pending - b) * sizeof(*pending));
			t->n_kids += n_pending - b;
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


/* ytree_load of a text whose first line is line LINE0 + 1, nested at most MAX_DEPTH deep. */
static int
load_at(struct ytree *t, const char *data, size_t len, int line0, size_t max_depth, struct diag_list *dl,
    uint32_t *root)
{
	yaml_parser_t parser;
	int rc;

	*root = YTREE_NONE;
	if (!yaml_parser_initialize(&parser)) {
		diag_add(dl, DIAG_ERROR, 0, 0, "cannot initialise the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	rc = build(t, &parser, data, len, line0, max_depth, dl, root);
	yaml_parser_delete(&parser);
	return rc;
}

int
ytree_load(struct ytree *t, const char *data, size_t len, struct diag_list *dl, uint32_t *root)
{
	return load_at(t, data, len, 0, YTREE_MAX_DEPTH, dl, root);
}

/* ----------------------------------------------------------- in pieces */

/* One piece of a split text read on its own (the last one: the text around the list). */
struct piece {
	struct ytree t;
	const char *data;
	size_t len;
	int line0;
	size_t max_depth;
	uint32_t root;
	int rc;
};

static void
read_piece(void *arg, size_t i)
{
	struct piece *p = &((struct piece *)arg)[i];
	struct diag_list dl;

	/* errors are found again, with their real positions, by reading the whole text */
	diag_init(&dl, "");
	p->rc = load_at(&p->t, p->data, p->len, p->line0, p->max_depth, &dl, &p->root);
	/* a second document is reported without failing: the whole text reports it too */
	if (dl.n > 0)
		p->rc = -1;
	diag_clear(&dl);
}

/* The value node of the top-level KEY at line KEY_LINE in HEAD, if it is empty (the list was cut out). */
static uint32_t
empty_value_of(const struct piece *head, const char *key, int key_line)
{
	const struct ynode *r;

	if (head->rc < 0 || head->root == YTREE_NONE)
		return YTREE_NONE;
	r = ytree_node(&head->t, head->root);
	if (r->type != YAML_MAPPING_NODE)
		return YTREE_NONE;
	for (size_t i = 0; i + 1 < r->n; i += 2) {
		const struct ynode *k = ytree_kid(&head->t, r, i), *v = ytree_kid(&head->t, r, i + 1);

		if (k->type == YAML_SCALAR_NODE && k->line == key_line && k->col == 1 && strcmp(k->value, key) == 0)
			return v->type == YAML_SCALAR_NODE && v->plain && v->length == 0 ?
			    head->t.kids[r->first + i + 1] : YTREE_NONE;
	}
	return YTREE_NONE;
}

/* Whether an anchor of a piece has a name the head defines too (an alias after the list would differ). */
static bool
anchors_clash(const struct piece *v, size_t n, const struct piece *head)
{
	for (size_t k = 0; k < n; k++)
		for (size_t a = 0; a < v[k].t.n_anchors; a++)
			for (size_t b = 0; b < head->t.n_anchors; b++)
				if (strcmp(v[k].t.anchors[a].name, head->t.anchors[b].name) == 0)
					return true;
	return false;
}

/*
 * A piece of LEN bytes gets this many node slots and as many kid slots: a
 * node or a kid takes a byte of the text or more, but for a few empty
 * scalars (the text "?" makes three nodes). A piece that still outgrows
 * its room fails, and the whole text is read at once.
 */
#define ROOM(len) ((len) + 64)

/*
 * The rooms of V[0..n] (the pieces and then the head) in one mapping: each
 * piece's tree is given its slots (absolute indexes: the joined tree is the
 * mapping itself) and the kid slots of the list's entries come after all of
 * them, at *ENTRIES_AT, *ENTRIES_ROOM of them. Returns the mapping's start,
 * or NULL when it cannot be made (too many slots, or no memory to map).
 */
static void *
map_rooms(struct piece *v, size_t n, size_t *len, size_t *entries_at, size_t *entries_room)
{
	size_t node_slots = 0, er = 0, nodes_bytes, huge = 1 << 21;
	struct ynode *nodes;
	uint32_t *kids;
	void *p;

	for (size_t k = 0; k <= n; k++) {
		node_slots += ROOM(v[k].len);
		/* a list entry takes "-" and a space or a newline */
		if (k < n)
			er += v[k].len / 2 + 1;
	}
	/* as many kid slots: every node but the root is a kid once, and an alias takes bytes of its own */
	if (node_slots >= UINT32_MAX - 1 || node_slots + er >= UINT32_MAX)
		return NULL;
	/* the kids begin on a huge page of their own */
	nodes_bytes = (node_slots * sizeof(*nodes) + huge - 1) / huge * huge;
	*len = nodes_bytes + (node_slots + er) * sizeof(*kids);
	/* most of it is never touched; what is, is faulted in huge pages where the kernel allows */
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, *len, MADV_HUGEPAGE);
#endif
	nodes = p;
	kids = (uint32_t *)((char *)p + nodes_bytes);
	node_slots = 0;
	for (size_t k = 0; k <= n; k++) {
		struct ytree *t = &v[k].t;

		t->fixed = true;
		t->nodes = nodes;
		t->kids = kids;
		t->n_nodes = t->n_kids = node_slots;
		node_slots += ROOM(v[k].len);
		t->cap_nodes = t->cap_kids = node_slots;
	}
	*entries_at = node_slots;
	*entries_room = er;
	return p;
}

/*
 * The pieces V[0..n) (the list's) and HEAD joined into T, which takes the
 * mapping REGION of LEN bytes: HEAD's tree with the empty value node D made
 * the list of every piece's entries, whose kids are copied to ENTRIES_AT.
 * Returns -1 (T untouched) when the entries outgrow ENTRIES_ROOM.
 */
static int
join(struct ytree *t, struct piece *v, size_t n, struct piece *head, uint32_t d, uint32_t *root, void *region,
    size_t len, size_t entries_at, size_t entries_room)
{
	uint32_t *kids = head->t.kids;
	size_t entries = 0;
	struct ynode *dn;

	for (size_t k = 0; k < n; k++) {
		const struct ynode *pr = ytree_node(&v[k].t, v[k].root);

		if (pr->n > entries_room - entries)
			return -1;
		memcpy(kids + entries_at + entries, kids + pr->first, pr->n * sizeof(*kids));
		entries += pr->n;
	}
	*t = head->t;
	memset(&head->t, 0, sizeof(head->t));
	*root = head->root;
	t->region = region;
	t->region_len = len;
	/* node slots end where the entries' kid slots begin */
	t->n_nodes = t->cap_nodes = entries_at;
	t->n_kids = t->cap_kids = entries_at + entries;
	/* the scalars' bytes move with their arenas */
	for (size_t k = 0; k < n; k++) {
		struct ytree *pt = &v[k].t;

		while (pt->arena) {
			struct ychunk *next = pt->arena->next;
			pt->arena->next = t->arena;
			t->arena = pt->arena;
			pt->arena = next;
		}
	}
	dn = &t->nodes[d];
	dn->type = YAML_SEQUENCE_NODE;
	dn->value = NULL;
	dn->length = 0;
	dn->plain = false;
	dn->first = (uint32_t)entries_at;
	dn->n = (uint32_t)entries;
	dn->line = ytree_node(&v[0].t, v[0].root)->line;
	dn->col = ytree_node(&v[0].t, v[0].root)->col;
	return 0;
}

/* ytree_load_split once S is found: -1 when the pieces do not make the whole (T is then untouched). */
static int
load_pieces(struct ytree *t, const char *data, size_t len, const char *key, const struct yamlsplit *s,
    unsigned threads, uint32_t *root)
{
	struct piece v[YAMLSPLIT_MAX + 1] = {0}, *head = &v[s->n];
	size_t blank = (size_t)(s->cut[s->n].line - s->cut[0].line), tail = len - s->cut[s->n].off;
	size_t region_len = 0, entries_at = 0, entries_room = 0;
	char *text = xmalloc(s->cut[0].off + blank + tail + 1);
	uint32_t d = YTREE_NONE;
	void *region = NULL;
	int rc = -1;

	for (size_t k = 0; k < s->n; k++) {
		v[k].data = data + s->cut[k].off;
		v[k].len = s->cut[k + 1].off - s->cut[k].off;
		v[k].line0 = s->cut[k].line - 1;
		/* a piece's list is one level deeper in the file */
		v[k].max_depth = YTREE_MAX_DEPTH - 1;
	}
	/* the text around the list, its lines left blank so that every position stays */
	memcpy(text, data, s->cut[0].off);
	memset(text + s->cut[0].off, '\n', blank);
	memcpy(text + s->cut[0].off + blank, data + s->cut[s->n].off, tail);
	head->data = text;
	head->len = s->cut[0].off + blank + tail;
	head->max_depth = YTREE_MAX_DEPTH;
	if ((region = map_rooms(v, s->n, &region_len, &entries_at, &entries_room)) == NULL)
		goto done;
	pool_run_each(s->n + 1, threads, read_piece, v);

	for (size_t k = 0; k < s->n; k++) {
		const struct ynode *r = v[k].rc == 0 && v[k].root != YTREE_NONE ? ytree_node(&v[k].t, v[k].root) : NULL;

		if (r == NULL || r->type != YAML_SEQUENCE_NODE || r->line != s->cut[k].line || r->col != s->indent + 1)
			goto done;
	}
	if ((d = empty_value_of(head, key, s->key_line)) == YTREE_NONE || anchors_clash(v, s->n, head) ||
	    join(t, v, s->n, head, d, root, region, region_len, entries_at, entries_room) < 0)
		goto done;
	region = NULL;
	rc = 0;
done:
	for (size_t k = 0; k <= s->n; k++)
		ytree_clear(&v[k].t);
	if (region != NULL)
		munmap(region, region_len);
	free(text);
	return rc;
}

int
ytree_load_split(struct ytree *t, const char *data, size_t len, const char *key, unsigned threads,
    struct diag_list *dl, uint32_t *root)
{
	struct yamlsplit s;
	size_t want = threads > YAMLSPLIT_MAX / 2 ? YAMLSPLIT_MAX : 2 * (size_t)threads;

	if (threads >= 2 && yamlsplit_find(data, len, key, want, &s) > 0 &&
	    load_pieces(t, data, len, key, &s, threads, root) == 0)
		return 1;
	return ytree_load(t, data, len, dl, root);
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
