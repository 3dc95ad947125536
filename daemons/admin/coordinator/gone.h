/*
 * gone.h - nodes that left the coordinator recently (resolvers and runner agents), so the
 * nodes view (GET /ui/api/nodes) can show them as "disconnected" for a while instead of
 * letting them vanish: a person watching the console sees the node go away and when.
 */
#ifndef MOCKARTY_COORD_GONE_H
#define MOCKARTY_COORD_GONE_H

#include <jansson.h>
#include <stdbool.h>

/* How long a disconnected node stays listed, and how many are kept at most. */
#define COORD_GONE_KEEP_MS (10 * 60 * 1000)
#define COORD_GONE_MAX 64

/*
 * Records a node that just disconnected. entry is its last nodes-view object (reference
 * stolen); "status" becomes "disconnected" and "disconnectedAt" the current time. key names
 * the node across reconnects (e.g. "resolver:<ns>/<name>"): a newer record of the same key
 * replaces the older one. Thread-safe.
 */
void coord_gone_add(const char *key, json_t *entry);

/*
 * Appends to arr a copy of each node recorded in the last COORD_GONE_KEEP_MS whose key is
 * not live (live(key, arg) false: the node has not come back). Thread-safe; live is called
 * without the ring's lock held by the caller's own locks.
 */
void coord_gone_append(json_t *arr, bool (*live)(const char *key, void *arg), void *arg);

/* Forgets every record (tests, shutdown). */
void coord_gone_clear(void);

#endif
