/*
 * strmap.c - a small string-keyed hash map of pointers.
 *
 * The route trie needs O(1) literal-child lookup so that matching cost does not
 * grow with the number of mocks on other routes; the index needs the same for
 * ids, namespaces and compiled regexes. Open addressing with linear probing and
 * backward-shift deletion keeps it tombstone-free, so a long-lived index that
 * sees many puts and removes never degrades.
 */
#include "match_internal.h"

#include <stdlib.h>
#include <string.h>

struct mc_strmap_slot {
	char *key; /* NULL = empty */
	size_t len;
	uint64_t hash;
	void *value;
};

static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

void
mc_strmap_init(mc_strmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

void
mc_strmap_destroy(mc_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	mc_strmap_init(m);
}

static struct mc_strmap_slot *
find_slot(const mc_strmap *m, const char *key, size_t len, uint64_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct mc_strmap_slot *s = &m->slots[i];

		if (s->key == NULL)
			return s;
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
			return s;
	}
}

void *
mc_strmap_get(const mc_strmap *m, const char *key, size_t len)
{
	struct mc_strmap_slot *s;

	if (m->count == 0)
		return NULL;
	s = find_slot(m, key, len, hash_bytes(key, len));
	return s->key ? s->value : NULL;
}

/* Doubles the table; returns false when out of memory (table unchanged). */
static bool
grow(mc_strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 8;
	struct mc_strmap_slot *old = m->slots;
	size_t ocap = m->cap;

	m->slots = calloc(ncap, sizeof(*m->slots));
	if (m->slots == NULL) {
		m->slots = old;
		return false;
	}
	m->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			*find_slot(m, old[i].key, old[i].len, old[i].hash) = old[i];
	free(old);
	return true;
}

mc_status
mc_strmap_put(mc_strmap *m, const char *key, size_t len, void *value)
{
	uint64_t h = hash_bytes(key, len);
	struct mc_strmap_slot *s;

	if ((m->count + 1) * 4 > m->cap * 3 && !grow(m))
		return MC_ENOMEM;
	s = find_slot(m, key, len, h);
	if (s->key == NULL) {
		s->key = malloc(len + 1);
		if (s->key == NULL)
			return MC_ENOMEM;
		memcpy(s->key, key, len);
		s->key[len] = '\0';
		s->len = len;
		s->hash = h;
		m->count++;
	}
	s->value = value;
	return MC_OK;
}

void *
mc_strmap_del(mc_strmap *m, const char *key, size_t len)
{
	size_t mask, i, j;
	void *value;
	struct mc_strmap_slot *s;

	if (m->count == 0)
		return NULL;
	s = find_slot(m, key, len, hash_bytes(key, len));
	if (s->key == NULL)
		return NULL;
	value = s->value;
	free(s->key);
	s->key = NULL;
	m->count--;

	/* Backward shift: move later members of the probe run into the hole. */
	mask = m->cap - 1;
	i = (size_t)(s - m->slots);
	for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;

		/* Entry at j may move to i only if its home is not in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = NULL;
			i = j;
		}
	}
	return value;
}

void
mc_strmap_each(const mc_strmap *m, void (*fn)(void *ctx, const char *key, void *value), void *ctx)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			fn(ctx, m->slots[i].key, m->slots[i].value);
}
