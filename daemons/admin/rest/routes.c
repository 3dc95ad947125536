/*
 * routes.c - the admin node's one REST route table, grouped by resource; each
 * group's handlers live in the file named after the resource (rest/mocks.c,
 * namespaces.c, stores.c, undefined.c, tags_folders.c, tokens.c, users.c, integrations.c,
 * apitest.c, perf.c, webhooks.c, imports.c, grpc_descriptors.c, generated_servers.c; health and
 * metrics in health.c).
 *
 * The server's router (server.c, route_find) takes the match with the most
 * literal segments, so "/api/v1/mocks/batch" beats "/api/v1/mocks/:id" wherever
 * either is listed. On equal scores the first entry wins; that is why, within a
 * group, the more literal pattern of each pair comes first.
 */
#include "coordinator/coordinator.h"
#include "delivery/webhooks.h"
#include "rest/apitest.h"
#include "rest/handlers.h"

/* one route per line */
/* clang-format off */
const api_route api_routes[] = {
	/* health and metrics: public */
	{"GET", "/health", rest_health, true},
	{"GET", "/health/live", rest_live, true},
	{"GET", "/health/ready", rest_ready, true},
	{"GET", "/metrics", rest_metrics, true},

	/* mocks: one mock (create doubles as upsert) */
	{"POST", "/api/v1/mocks", rest_mock_create, false},
	{"POST", "/mock/create", rest_mock_create, false},
	{"GET", "/api/v1/mocks", rest_mock_list, false},
	{"GET", "/api/v1/mocks/:id", rest_mock_get, false},
	{"PATCH", "/api/v1/mocks/:id", rest_mock_patch, false},
	{"DELETE", "/api/v1/mocks/:id", rest_mock_delete, false},
	{"POST", "/api/v1/mocks/:id/restore", rest_mock_restore, false},
	{"DELETE", "/api/v1/mocks/:id/purge", rest_mock_purge, false},
	/* mocks: batches, copies, chains, logs, versions */
	{"POST", "/api/v1/mocks/batch/restore", rest_mocks_batch_restore, false},
	{"PATCH", "/api/v1/mocks/batch/move", rest_mocks_batch_move, false},
	{"PATCH", "/api/v1/mocks/batch/tags", rest_mocks_batch_tags, false},
	{"POST", "/api/v1/mocks/batch", rest_mocks_batch_save, false},
	{"DELETE", "/api/v1/mocks/batch", rest_mocks_batch_delete, false},
	{"POST", "/api/v1/mocks/copy-to-namespace", rest_mocks_copy_to_namespace, false},
	{"GET", "/api/v1/mocks/chains/:chainId", rest_mock_chain_get, false},
	{"DELETE", "/api/v1/mocks/chains/:chainId", rest_mock_chain_delete, false},
	{"GET", "/api/v1/mocks/:id/logs", rest_mock_logs_get, false},
	{"DELETE", "/api/v1/mocks/:id/logs", rest_mock_logs_clear, false},
	{"GET", "/api/v1/mocks/:id/versions", rest_mock_versions, false},
	{"GET", "/api/v1/mocks/:id/versions/:version", rest_mock_version_get, false},
	{"POST", "/api/v1/mocks/:id/versions/:version/restore", rest_mock_version_restore, false},
	{"POST", "/api/v1/namespaces/copy-mocks", rest_namespaces_copy_mocks, false},

	/* namespaces */
	{"POST", "/api/v1/namespaces", rest_namespace_create, false},
	{"GET", "/api/v1/namespaces", rest_namespace_list, false},

	/* stores */
	{"GET", "/api/v1/stores/global", rest_store_global_get, false},
	{"POST", "/api/v1/stores/global", rest_store_global_set, false},
	{"DELETE", "/api/v1/stores/global/:key", rest_store_global_delete, false},
	{"GET", "/api/v1/stores/chain/:chainId", rest_store_chain_get, false},
	{"POST", "/api/v1/stores/chain/:chainId", rest_store_chain_set, false},
	{"DELETE", "/api/v1/stores/chain/:chainId/:key", rest_store_chain_delete, false},

	/* undefined requests */
	{"GET", "/api/v1/undefined-requests", rest_undefined_list, false},
	{"DELETE", "/api/v1/undefined-requests/all", rest_undefined_delete_all, false},
	{"DELETE", "/api/v1/undefined-requests", rest_undefined_delete, false},
	{"PATCH", "/api/v1/undefined-requests/:id/ignore", rest_undefined_ignore, false},
	{"POST", "/api/v1/undefined-requests/:id/create-mock", rest_undefined_create_mock, false},

	/* tags and folders */
	{"GET", "/api/v1/tags", rest_tag_list, false},
	{"POST", "/api/v1/tags", rest_tag_create, false},
	{"GET", "/api/v1/mock-folders", rest_folder_list, false},
	{"POST", "/api/v1/mock-folders", rest_folder_create, false},
	{"PATCH", "/api/v1/mock-folders/:id/move", rest_folder_move, false},
	{"PUT", "/api/v1/mock-folders/:id", rest_folder_update, false},
	{"DELETE", "/api/v1/mock-folders/:id", rest_folder_delete, false},

	/* imports: WireMock, Mockoon, HAR, OpenAPI (rest/imports.c) */
	{"POST", "/api/v1/import/wiremock", rest_import_wiremock, false},
	{"POST", "/api/v1/import/mockoon", rest_import_mockoon, false},
	{"POST", "/api/v1/import/har", rest_import_har, false},
	{"POST", "/api/v1/generators/har/preview", rest_generator_har_preview, false},
	{"POST", "/api/v1/generators/har", rest_generator_har, false},
	/* imports: OpenAPI / Swagger (multipart as the guide's CI example, or spec / url) */
	{"POST", "/ui/api/openapi/import", rest_openapi_import_form, false},
	{"POST", "/api/v1/generators/openapi/preview", rest_generator_openapi_preview, false},
	{"POST", "/api/v1/generators/openapi", rest_generator_openapi, false},
	/* the orchestrator's generated servers */
	{"GET", "/api/v1/generated-servers", rest_generated_server_list, false},
	{"GET", "/api/v1/generated-servers/:name", rest_generated_server_get, false},
	{"PUT", "/api/v1/generated-servers/:name", rest_generated_server_put, false},
	{"DELETE", "/api/v1/generated-servers/:name", rest_generated_server_delete, false},
	/* gRPC descriptor sets and the gRPC generator */
	{"POST", "/api/v1/grpc/descriptors", rest_grpc_descriptor_upload, false},
	{"GET", "/api/v1/grpc/descriptors", rest_grpc_descriptor_list, false},
	{"GET", "/api/v1/grpc/descriptors/:serverName/versions", rest_grpc_descriptor_versions, false},
	{"GET", "/api/v1/grpc/descriptors/:serverName", rest_grpc_descriptor_get, false},
	{"DELETE", "/api/v1/grpc/descriptors/:serverName", rest_grpc_descriptor_delete, false},
	{"POST", "/api/v1/generators/grpc/preview", rest_generator_grpc_preview, false},
	{"POST", "/api/v1/generators/grpc", rest_generator_grpc, false},
	/* imports: the WireMock-compatible admin surface */
	{"POST", "/__admin/mappings/import", rest_wiremock_mappings_import, false},
	{"POST", "/__admin/mappings", rest_wiremock_mapping_create, false},
	{"GET", "/__admin/mappings", rest_wiremock_mappings_list, false},
	{"DELETE", "/__admin/mappings", rest_wiremock_reset, false},
	{"GET", "/__admin/mappings/:id", rest_wiremock_mapping_get, false},
	{"DELETE", "/__admin/mappings/:id", rest_wiremock_mapping_delete, false},
	{"POST", "/__admin/reset", rest_wiremock_reset, false},

	/* status objects */
	{"GET", "/api/v1/stats", rest_stats, false},
	{"GET", "/api/v1/counts", rest_counts, false},
	{"GET", "/api/v1/status", rest_status, false},
	{"GET", "/api/v1/features", rest_features, false},

	/* API (mk_) tokens (rest/tokens.c) */
	{"POST", "/api/v1/auth/tokens", rest_token_create, false},
	{"GET", "/api/v1/auth/tokens", rest_token_list, false},
	{"PATCH", "/api/v1/auth/tokens/:id", rest_token_update, false},
	{"PUT", "/api/v1/auth/tokens/:id", rest_token_update, false},
	{"POST", "/api/v1/auth/tokens/:id/disable", rest_token_disable, false},
	{"POST", "/api/v1/auth/tokens/:id/enable", rest_token_enable, false},
	{"DELETE", "/api/v1/auth/tokens/:id", rest_token_delete, false},
	/* sign-in, sessions and users (rest/users.c); login is public, the rest need a session or token */
	{"POST", "/api/v1/auth/login", rest_auth_login, true},
	{"POST", "/api/v1/auth/logout", rest_auth_logout, false},
	{"GET", "/api/v1/auth/me", rest_auth_me, false},
	{"POST", "/api/v1/auth/password", rest_auth_password, false},
	{"GET", "/api/v1/admin/users", rest_user_list, false},
	{"POST", "/api/v1/admin/users", rest_user_create, false},
	{"GET", "/api/v1/admin/users/:id", rest_user_get, false},
	{"PUT", "/api/v1/admin/users/:id", rest_user_update, false},
	{"DELETE", "/api/v1/admin/users/:id", rest_user_delete, false},
	{"POST", "/api/v1/admin/users/:id/password", rest_user_password, false},
	{"POST", "/api/v1/admin/users/:id/disable", rest_user_disable, false},
	{"POST", "/api/v1/admin/users/:id/enable", rest_user_enable, false},
	{"PUT", "/api/v1/admin/users/:id/namespaces", rest_user_namespaces, false},
	/* integration tokens and connected nodes (rest/integrations.c) */
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

	/* API tester: collections, imports, runs, environments, test runs (rest/apitest.c) */
	{"GET", "/api/v1/api-tester/collections", apitest_collection_list, false},
	{"POST", "/api/v1/api-tester/collections", apitest_collection_create, false},
	{"DELETE", "/api/v1/api-tester/collections/batch", apitest_collection_batch_delete, false},
	{"POST", "/api/v1/api-tester/collections/run-multiple", apitest_collection_run_multiple, false},
	{"POST", "/api/v1/api-tester/collections/execute-multiple", apitest_collection_run_multiple, false},
	{"GET", "/api/v1/api-tester/collections/:id", apitest_collection_get, false},
	{"PUT", "/api/v1/api-tester/collections/:id", apitest_collection_update, false},
	{"DELETE", "/api/v1/api-tester/collections/:id", apitest_collection_delete, false},
	{"GET", "/api/v1/api-tester/collections/:id/export", apitest_collection_export, false},
	{"POST", "/api/v1/api-tester/collections/:id/duplicate", apitest_collection_duplicate, false},
	{"POST", "/api/v1/api-tester/collections/:id/run", apitest_collection_run, false},
	{"POST", "/api/v1/api-tester/collections/:id/execute", apitest_collection_run, false},
	{"POST", "/api/v1/api-tester/import/postman", apitest_import_postman, false},
	{"POST", "/api/v1/api-tester/import/:kind", apitest_import_other, false},
	{"GET", "/api/v1/api-tester/environments", apitest_env_list, false},
	{"POST", "/api/v1/api-tester/environments", apitest_env_create, false},
	{"GET", "/api/v1/api-tester/environments/active", apitest_env_active, false},
	{"GET", "/api/v1/api-tester/environments/:id", apitest_env_get, false},
	{"PUT", "/api/v1/api-tester/environments/:id", apitest_env_update, false},
	{"DELETE", "/api/v1/api-tester/environments/:id", apitest_env_delete, false},
	{"POST", "/api/v1/api-tester/environments/:id/activate", apitest_env_activate, false},
	{"GET", "/api/v1/api-tester/test-runs", apitest_run_list, false},
	{"GET", "/api/v1/api-tester/test-runs/:id", apitest_run_get, false},
	{"DELETE", "/api/v1/api-tester/test-runs/:id", apitest_run_delete, false},
	{"POST", "/api/v1/api-tester/test-runs/:id/cancel", apitest_run_cancel, false},
	{"GET", "/api/v1/api-tester/test-runs/:id/export", apitest_run_export, false},
	{"GET", "/api/v1/api-tester/test-runs/:id/report", apitest_run_report, false},
	{"GET", "/api/v1/test-runs/active", apitest_runs_active, false},
	{"POST", "/ui/api/test-runs/run", apitest_ui_test_run_start, false},
	{"GET", "/ui/api/test-runs/:id", apitest_run_get, false},

	/* load tests (rest/perf.c) */
	{"POST", "/ui/api/perf/run", perf_run_start_h, false},
	{"POST", "/api/v1/perf/run", perf_run_start_h, false},
	{"POST", "/api/v1/perf/run-collection", perf_run_start_h, false},
	{"POST", "/api/v1/perf/stop/:id", perf_run_stop_h, false},
	{"GET", "/api/v1/perf-results", perf_result_list, false},
	{"GET", "/api/v1/perf-results/compare", perf_result_compare, false},
	{"GET", "/api/v1/perf-results/:id", perf_result_get, false},
	{"DELETE", "/api/v1/perf-results/:id", perf_result_delete, false},

	/* webhooks, delivery history, settings (rest/webhooks.c) */
	{"GET", "/api/v1/webhooks/deliveries", rest_webhook_delivery_list, false},
	{"GET", "/api/v1/webhooks/deliveries/:id", rest_webhook_delivery_get, false},
	{"POST", "/api/v1/webhooks/deliveries/:id/retry", rest_webhook_delivery_retry, false},
	{"GET", "/api/v1/webhooks", rest_webhook_list, false},
	{"POST", "/api/v1/webhooks", rest_webhook_create, false},
	{"GET", "/api/v1/webhooks/:id", rest_webhook_get, false},
	{"PUT", "/api/v1/webhooks/:id", rest_webhook_update, false},
	{"PATCH", "/api/v1/webhooks/:id", rest_webhook_update, false},
	{"DELETE", "/api/v1/webhooks/:id", rest_webhook_delete, false},
	{"POST", "/api/v1/webhooks/:id/enable", rest_webhook_enable, false},
	{"POST", "/api/v1/webhooks/:id/disable", rest_webhook_disable, false},
	{"GET", "/api/v1/webhooks/:id/deliveries", rest_webhook_deliveries, false},
	{"GET", "/api/v1/webhooks/:id/deliveries/:deliveryId", rest_webhook_delivery_get, false},
	{"POST", "/api/v1/webhooks/:id/deliveries/:deliveryId/retry", rest_webhook_delivery_retry, false},
	{"GET", "/ui/api/webhooks/deliveries/:id", rest_webhook_delivery_get, false},
	{"POST", "/ui/api/webhooks/deliveries/:id/retry", rest_webhook_delivery_retry, false},
	{"GET", "/ui/api/webhooks", rest_webhook_list, false},
	{"POST", "/ui/api/webhooks", rest_webhook_create, false},
	{"GET", "/ui/api/webhooks/:id", rest_webhook_get, false},
	{"PUT", "/ui/api/webhooks/:id", rest_webhook_update, false},
	{"DELETE", "/ui/api/webhooks/:id", rest_webhook_delete, false},
	{"POST", "/ui/api/webhooks/:id/enable", rest_webhook_enable, false},
	{"POST", "/ui/api/webhooks/:id/disable", rest_webhook_disable, false},
	{"GET", "/ui/api/webhooks/:id/deliveries", rest_webhook_deliveries, false},
	{"GET", "/api/v1/namespaces/:ns/webhooks", rest_ns_webhook_list, false},
	{"POST", "/api/v1/namespaces/:ns/webhooks", rest_ns_webhook_create, false},
	{"PUT", "/api/v1/namespaces/:ns/webhooks/:id", rest_ns_webhook_update, false},
	{"DELETE", "/api/v1/namespaces/:ns/webhooks/:id", rest_ns_webhook_delete, false},
	{"GET", "/api/v1/settings", rest_webhook_settings_get, false},
	{"PUT", "/api/v1/settings/:key", rest_webhook_settings_put, false},
	{NULL, NULL, NULL, false},
};
/* clang-format on */
