/*
 * grpc_internal.h - what grpc_health.c and grpc_reflection.c need from grpc_server.c that is
 * not public API: a per-server slot for their state, freed with the server.
 */
#ifndef MK_GRPC_INTERNAL_H
#define MK_GRPC_INTERNAL_H

#include "grpc_server.h"

enum mk_grpc_slot { MK_GRPC_SLOT_HEALTH, MK_GRPC_SLOT_REFLECTION, MK_GRPC_NSLOTS };

/* Returns the slot's state (NULL until set). */
void *mk_grpc_server_slot(mk_grpc_server *srv, enum mk_grpc_slot which);
/* Stores state in a slot; free_fn(state) runs in mk_grpc_server_free after the loop stopped. */
void mk_grpc_server_set_slot(mk_grpc_server *srv, enum mk_grpc_slot which, void *state,
			     void (*free_fn)(void *));
/* True when a router is set (mk_grpc_server_set_router): reflection then lists the services of
 * its set too, as they are routed rather than registered. */
bool mk_grpc_server_has_router(const mk_grpc_server *srv);
/* The server a stream belongs to. */
mk_grpc_server *mk_grpc_stream_server(mk_grpc_stream *st);

#endif
