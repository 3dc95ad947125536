/*
 * routes_more.c - the REST routes beyond health and single-mock CRUD: batch and
 * bookkeeping calls on mocks, namespaces, stores, undefined requests, tags,
 * folders and the status objects.
 *
 * The server's router (server.c, route_find) tries api_routes and this table and
 * takes the match with the most literal segments, so "/api/v1/mocks/batch" here
 * beats "/api/v1/mocks/:id" there whichever table is read first. On equal scores
 * the first entry wins; that is why, within this table, the more literal pattern
 * of each pair comes first.
 */
#include "coordinator.h"
#include "rest_more.h"

/* one route per line, aligned like routes.c */
/* clang-format off */
const api_route api_routes_more[] = {
	/* mocks: batch and bookkeeping */
	{"POST", "/api/v1/mocks/batch/restore", more_mocks_batch_restore, false},
	{"PATCH", "/api/v1/mocks/batch/move", more_mocks_batch_move, false},
	{"PATCH", "/api/v1/mocks/batch/tags", more_mocks_batch_tags, false},
	{"POST", "/api/v1/mocks/batch", more_mocks_batch_save, false},
	{"DELETE", "/api/v1/mocks/batch", more_mocks_batch_delete, false},
	{"POST", "/api/v1/mocks/copy-to-namespace", more_mocks_copy_to_namespace, false},
	{"GET", "/api/v1/mocks/chains/:chainId", more_mock_chain_get, false},
	{"DELETE", "/api/v1/mocks/chains/:chainId", more_mock_chain_delete, false},
	{"GET", "/api/v1/mocks/:id/logs", more_mock_logs_get, false},
	{"DELETE", "/api/v1/mocks/:id/logs", more_mock_logs_clear, false},
	{"GET", "/api/v1/mocks/:id/versions", more_mock_versions, false},
	{"GET", "/api/v1/mocks/:id/versions/:version", more_mock_version_get, false},
	{"POST", "/api/v1/mocks/:id/versions/:version/restore", more_mock_version_restore, false},
	{"POST", "/api/v1/namespaces/copy-mocks", more_namespaces_copy_mocks, false},

	/* namespaces */
	{"POST", "/api/v1/namespaces", more_namespace_create, false},
	{"GET", "/api/v1/namespaces", more_namespace_list, false},

	/* stores */
	{"GET", "/api/v1/stores/global", more_store_global_get, false},
	{"POST", "/api/v1/stores/global", more_store_global_set, false},
	{"DELETE", "/api/v1/stores/global/:key", more_store_global_delete, false},
	{"GET", "/api/v1/stores/chain/:chainId", more_store_chain_get, false},
	{"POST", "/api/v1/stores/chain/:chainId", more_store_chain_set, false},
	{"DELETE", "/api/v1/stores/chain/:chainId/:key", more_store_chain_delete, false},

	/* undefined requests */
	{"GET", "/api/v1/undefined-requests", more_undefined_list, false},
	{"DELETE", "/api/v1/undefined-requests/all", more_undefined_delete_all, false},
	{"DELETE", "/api/v1/undefined-requests", more_undefined_delete, false},
	{"PATCH", "/api/v1/undefined-requests/:id/ignore", more_undefined_ignore, false},
	{"POST", "/api/v1/undefined-requests/:id/create-mock", more_undefined_create_mock, false},

	/* tags and folders */
	{"GET", "/api/v1/tags", more_tag_list, false},
	{"POST", "/api/v1/tags", more_tag_create, false},
	{"GET", "/api/v1/mock-folders", more_folder_list, false},
	{"POST", "/api/v1/mock-folders", more_folder_create, false},
	{"PATCH", "/api/v1/mock-folders/:id/move", more_folder_move, false},
	{"PUT", "/api/v1/mock-folders/:id", more_folder_update, false},
	{"DELETE", "/api/v1/mock-folders/:id", more_folder_delete, false},

	/* status objects */
	{"GET", "/api/v1/stats", more_stats, false},
	{"GET", "/api/v1/counts", more_counts, false},
	{"GET", "/api/v1/status", more_status, false},
	{"GET", "/api/v1/features", more_features, false},

	/* integration tokens and connected nodes (rest_integrations.c) */
	{"POST", "/ui/api/integrations", rest_integration_create, false},
	{"GET", "/ui/api/integrations", rest_integration_list, false},
	{"PUT", "/ui/api/integrations/:id", rest_integration_update, false},
	{"DELETE", "/ui/api/integrations/:id", rest_integration_delete, false},
	{"POST", "/api/v1/integrations", rest_integration_create, false},
	{"GET", "/api/v1/integrations", rest_integration_list, false},
	{"PUT", "/api/v1/integrations/:id", rest_integration_update, false},
	{"DELETE", "/api/v1/integrations/:id", rest_integration_delete, false},
	{"GET", "/ui/api/nodes", rest_nodes_list, false},
	{"GET", "/api/v1/nodes", rest_nodes_list, false},
	{0},
};
/* clang-format on */
