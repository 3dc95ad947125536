/*
 * route_trie.c - the segment trie that finds the mocks whose route fits a
 * request path.
 *
 * The performance bar is that matching stays flat as the number of mocks grows
 * (peers fall 6-60x with 1,000 mocks because they scan linearly). Each node
 * keeps its literal children in a hash table, one child for any ":param" and
 * leaf lists for routes ending there or ending in "*", so a lookup touches only
 * the nodes along routes that fit the path. Parameter names are not stored in
 * the trie: two mocks may name the same position differently, so each mock's
 * own route supplies the names when its parameters are captured.
 */
#include "match_internal.h"

#include <stdlib.h>
#include <string.h>

struct mc_trie_node {
	mc_strmap lit;       /* segment text -> mc_trie_node */
	mc_trie_node *param; /* child for any single segment */
	mc_ptrlist exact;    /* items whose route ends at this node */
	mc_ptrlist star;     /* items whose route ends with "*" after this node */
};

/* ---------------------------------------------------------------- ptrlist */

mc_status
mc_ptrlist_push(mc_ptrlist *l, void *item)
{
	if (l->len == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4;
		void **n = realloc(l->items, ncap * sizeof(void *));

		if (n == NULL)
			return MC_ENOMEM;
		l->items = n;
		l->cap = ncap;
	}
	l->items[l->len++] = item;
	return MC_OK;
}

bool
mc_ptrlist_remove(mc_ptrlist *l, void *item)
{
	for (size_t i = 0; i < l->len; i++) {
		if (l->items[i] == item) {
			memmove(&l->items[i], &l->items[i + 1], (l->len - i - 1) * sizeof(void *));
			l->len--;
			return true;
		}
	}
	return false;
}

void
mc_ptrlist_free(mc_ptrlist *l)
{
	free(l->items);
	l->items = NULL;
	l->len = l->cap = 0;
}

/* ------------------------------------------------------------------ routes */

mc_status
mc_route_parse(const char *prefix, const char *route, mc_route *r)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	size_t rlen = route ? strlen(route) : 0;
	size_t n = 0;
	char *p;

	memset(r, 0, sizeof(*r));
	r->buf = malloc(plen + rlen + 2);
	if (r->buf == NULL)
		return MC_ENOMEM;
	memcpy(r->buf, prefix ? prefix : "", plen);
	r->buf[plen] = '/';
	memcpy(r->buf + plen + 1, route ? route : "", rlen);
	r->buf[plen + 1 + rlen] = '\0';

	/* Count segments first so one allocation holds them. */
	for (p = r->buf; *p;) {
		size_t l;

		p += strspn(p, "/");
		l = strcspn(p, "/");
		if (l > 0)
			n++;
		p += l;
	}
	if (n > MC_MAX_ROUTE_SEGMENTS) {
		mc_route_free(r);
		return MC_ELIMIT;
	}
	r->segs = calloc(n ? n : 1, sizeof(mc_seg));
	if (r->segs == NULL) {
		mc_route_free(r);
		return MC_ENOMEM;
	}
	for (p = r->buf; *p;) {
		size_t l;
		mc_seg *s;

		p += strspn(p, "/");
		l = strcspn(p, "/");
		if (l == 0)
			break;
		s = &r->segs[r->nsegs++];
		if (l == 1 && p[0] == '*') {
			s->kind = MC_SEG_WILDCARD;
			s->text = p;
			s->len = 1;
		} else if (p[0] == ':' && l > 1) {
			s->kind = MC_SEG_PARAM;
			s->text = p + 1;
			s->len = l - 1;
		} else if (p[0] == '{' && p[l - 1] == '}' && l > 2) {
			s->kind = MC_SEG_PARAM;
			s->text = p + 1;
			s->len = l - 2;
		} else {
			s->kind = MC_SEG_LITERAL;
			s->text = p;
			s->len = l;
			r->literals++;
		}
		p += l;
		if (s->kind == MC_SEG_WILDCARD && r->nsegs != n) {
			mc_route_free(r);
			return MC_EINVAL;
		}
	}
	return MC_OK;
}

void
mc_route_free(mc_route *r)
{
	free(r->buf);
	free(r->segs);
	memset(r, 0, sizeof(*r));
}

void
mc_path_split(const char *path, mc_path *out)
{
	const char *p = path ? path : "";

	out->nsegs = 0;
	out->too_long = false;
	while (*p) {
		size_t l;

		p += strspn(p, "/");
		l = strcspn(p, "/");
		if (l == 0)
			break;
		if (out->nsegs == MC_MAX_PATH_SEGMENTS) {
			out->too_long = true;
			return;
		}
		out->segs[out->nsegs].p = p;
		out->segs[out->nsegs].len = l;
		out->nsegs++;
		p += l;
	}
}

/* ------------------------------------------------------------------- trie */

mc_trie_node *
mc_trie_new(void)
{
	mc_trie_node *n = calloc(1, sizeof(*n));

	if (n)
		mc_strmap_init(&n->lit);
	return n;
}

static void
free_child(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	mc_trie_free(value);
}

/* Frees the trie; depth is bounded by MC_MAX_ROUTE_SEGMENTS. */
void
mc_trie_free(mc_trie_node *n)
{
	if (n == NULL)
		return;
	mc_strmap_each(&n->lit, free_child, NULL);
	mc_strmap_destroy(&n->lit);
	mc_trie_free(n->param);
	mc_ptrlist_free(&n->exact);
	mc_ptrlist_free(&n->star);
	free(n);
}

mc_status
mc_trie_insert(mc_trie_node *root, const mc_route *route, void *item)
{
	mc_trie_node *n = root;

	for (size_t i = 0; i < route->nsegs; i++) {
		const mc_seg *s = &route->segs[i];
		mc_trie_node *child;

		if (s->kind == MC_SEG_WILDCARD)
			return mc_ptrlist_push(&n->star, item);
		if (s->kind == MC_SEG_PARAM) {
			if (n->param == NULL && (n->param = mc_trie_new()) == NULL)
				return MC_ENOMEM;
			n = n->param;
			continue;
		}
		child = mc_strmap_get(&n->lit, s->text, s->len);
		if (child == NULL) {
			child = mc_trie_new();
			if (child == NULL)
				return MC_ENOMEM;
			if (mc_strmap_put(&n->lit, s->text, s->len, child) != MC_OK) {
				mc_trie_free(child);
				return MC_ENOMEM;
			}
		}
		n = child;
	}
	return mc_ptrlist_push(&n->exact, item);
}

static bool
node_empty(const mc_trie_node *n)
{
	return n->lit.count == 0 && n->param == NULL && n->exact.len == 0 && n->star.len == 0;
}

/* Recursive removal below n starting at segment i; prunes emptied children. */
static bool
remove_at(mc_trie_node *n, const mc_route *route, size_t i, void *item)
{
	const mc_seg *s;
	mc_trie_node *child;
	bool found;

	if (i == route->nsegs)
		return mc_ptrlist_remove(&n->exact, item);
	s = &route->segs[i];
	if (s->kind == MC_SEG_WILDCARD)
		return mc_ptrlist_remove(&n->star, item);
	if (s->kind == MC_SEG_PARAM) {
		if (n->param == NULL)
			return false;
		found = remove_at(n->param, route, i + 1, item);
		if (found && node_empty(n->param)) {
			mc_trie_free(n->param);
			n->param = NULL;
		}
		return found;
	}
	child = mc_strmap_get(&n->lit, s->text, s->len);
	if (child == NULL)
		return false;
	found = remove_at(child, route, i + 1, item);
	if (found && node_empty(child)) {
		mc_strmap_del(&n->lit, s->text, s->len);
		mc_trie_free(child);
	}
	return found;
}

bool
mc_trie_remove(mc_trie_node *root, const mc_route *route, void *item)
{
	return remove_at(root, route, 0, item);
}

static mc_status
append_all(mc_ptrlist *out, const mc_ptrlist *from)
{
	for (size_t i = 0; i < from->len; i++)
		if (mc_ptrlist_push(out, from->items[i]) != MC_OK)
			return MC_ENOMEM;
	return MC_OK;
}

/*
 * Depth-first walk: literal child, then parameter child. The trie is a tree, so
 * every node is reached along exactly one path and visited at most once.
 */
static mc_status
collect_at(const mc_trie_node *n, const mc_path *path, size_t i, mc_ptrlist *out)
{
	const mc_trie_node *child;

	if (append_all(out, &n->star) != MC_OK)
		return MC_ENOMEM;
	if (i == path->nsegs)
		return append_all(out, &n->exact);
	if (i >= MC_MAX_ROUTE_SEGMENTS)
		return MC_OK;
	child = mc_strmap_get(&n->lit, path->segs[i].p, path->segs[i].len);
	if (child && collect_at(child, path, i + 1, out) != MC_OK)
		return MC_ENOMEM;
	if (n->param && collect_at(n->param, path, i + 1, out) != MC_OK)
		return MC_ENOMEM;
	return MC_OK;
}

mc_status
mc_trie_collect(const mc_trie_node *root, const mc_path *path, mc_ptrlist *out)
{
	if (path->too_long)
		return MC_OK;
	return collect_at(root, path, 0, out);
}
