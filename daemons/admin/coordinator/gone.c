/*
 * gone.c - the short memory of disconnected nodes behind the "disconnected" status of the
 * nodes view (coordinator_nodes_json, GET /ui/api/nodes).
 *
 * Constraints that shaped it:
 *  - Bounded: at most COORD_GONE_MAX records, each kept COORD_GONE_KEEP_MS; a node that
 *    reconnects and leaves again replaces its record (one row per node, not per connection).
 *  - Cheap for the coordinator: a record is added once per closed stream, under its own
 *    mutex, never while a stream or session lock is needed by the reader.
 */
#include "coordinator/gone.h"

#include "grpc_wire.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gone {
	char key[320];
	int64_t at_mono; /* monotonic ms of the disconnect; 0 = empty slot */
	json_t *entry;
};

static struct {
	pthread_mutex_t mu;
	struct gone slots[COORD_GONE_MAX];
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void
now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Caller holds G.mu: empties slot g. */
static void
slot_clear(struct gone *g)
{
	json_decref(g->entry);
	g->entry = NULL;
	g->at_mono = 0;
	g->key[0] = '\0';
}

void
coord_gone_add(const char *key, json_t *entry)
{
	char at[32];
	int64_t now = mk_grpc_now_ms();
	struct gone *slot = NULL;

	if (entry == NULL || key == NULL || !json_is_object(entry)) {
		json_decref(entry);
		return;
	}
	now_rfc3339(at, sizeof(at));
	json_object_set_new(entry, "status", json_string("disconnected"));
	json_object_set_new(entry, "disconnectedAt", json_string(at));
	pthread_mutex_lock(&G.mu);
	/* the same node's older record, else an empty or expired slot, else the oldest */
	for (int i = 0; i < COORD_GONE_MAX && slot == NULL; i++)
		if (G.slots[i].at_mono != 0 && strcmp(G.slots[i].key, key) == 0)
			slot = &G.slots[i];
	for (int i = 0; i < COORD_GONE_MAX && slot == NULL; i++)
		if (G.slots[i].at_mono == 0 || now - G.slots[i].at_mono > COORD_GONE_KEEP_MS)
			slot = &G.slots[i];
	if (slot == NULL) {
		slot = &G.slots[0];
		for (int i = 1; i < COORD_GONE_MAX; i++)
			if (G.slots[i].at_mono < slot->at_mono)
				slot = &G.slots[i];
	}
	slot_clear(slot);
	strncpy(slot->key, key, sizeof(slot->key) - 1);
	slot->key[sizeof(slot->key) - 1] = '\0';
	slot->entry = entry;
	slot->at_mono = now;
	pthread_mutex_unlock(&G.mu);
}

void
coord_gone_append(json_t *arr, bool (*live)(const char *key, void *arg), void *arg)
{
	int64_t now = mk_grpc_now_ms();
	struct {
		char key[320];
		json_t *entry;
		int64_t at;
	} copy[COORD_GONE_MAX];
	int n = 0;

	pthread_mutex_lock(&G.mu);
	for (int i = 0; i < COORD_GONE_MAX; i++) {
		struct gone *g = &G.slots[i];

		if (g->at_mono == 0)
			continue;
		if (now - g->at_mono > COORD_GONE_KEEP_MS) {
			slot_clear(g);
			continue;
		}
		memcpy(copy[n].key, g->key, sizeof(copy[n].key));
		copy[n].entry = json_deep_copy(g->entry);
		copy[n].at = g->at_mono;
		n++;
	}
	pthread_mutex_unlock(&G.mu);
	/* newest disconnect first */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && copy[j].at > copy[j - 1].at; j--) {
			__typeof__(copy[0]) t = copy[j];

			copy[j] = copy[j - 1];
			copy[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		if (copy[i].entry != NULL && (live == NULL || !live(copy[i].key, arg)))
			json_array_append(arr, copy[i].entry);
		json_decref(copy[i].entry);
	}
}

void
coord_gone_clear(void)
{
	pthread_mutex_lock(&G.mu);
	for (int i = 0; i < COORD_GONE_MAX; i++)
		slot_clear(&G.slots[i]);
	pthread_mutex_unlock(&G.mu);
}
