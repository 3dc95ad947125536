-- 15_grpc_descriptors: gRPC descriptor sets stored per namespace and server name, versioned
-- (mockarty.grpc_descriptor_store/list/get/versions/delete), and the gRPC generator
-- mockarty.generate_grpc: one mock per method with an example payload that core's codec
-- encodes for the output type; a re-run changes nothing; bad sets and the caller rule.
-- The set is regress/grpc-mocks/shop/v1/shop.proto compiled by
-- protoc --include_imports --descriptor_set_out (it imports types.proto and Timestamp).
CREATE TEMP TABLE ds AS SELECT decode('0aff010a1f676f6f676c652f70726f746f6275662f74696d657374616d702e70726f746f120f676f6f676c652e70726f746f627566223b0a0954696d657374616d7012180a077365636f6e647318012001280352077365636f6e647312140a056e616e6f7318022001280552056e616e6f734285010a13636f6d2e676f6f676c652e70726f746f627566420e54696d657374616d7050726f746f50015a32676f6f676c652e676f6c616e672e6f72672f70726f746f6275662f74797065732f6b6e6f776e2f74696d657374616d707062f80101a20203475042aa021e476f6f676c652e50726f746f6275662e57656c6c4b6e6f776e5479706573620670726f746f330a82060a1373686f702f76312f74797065732e70726f746f120773686f702e76311a1f676f6f676c652f70726f746f6275662f74696d657374616d702e70726f746f224f0a054d6f6e6579121a0a0863757272656e6379180120012809520863757272656e637912140a05756e6974731802200128035205756e69747312140a056e616e6f7318032001280552056e616e6f73226e0a044974656d12100a03736b751801200128095203736b7512120a046e616d6518022001280952046e616d65121a0a087175616e7469747918032001280d52087175616e7469747912240a05707269636518042001280b320e2e73686f702e76312e4d6f6e65795205707269636522ad030a054f72646572120e0a0269641801200128095202696412140a05656d61696c1802200128095205656d61696c12230a056974656d7318032003280b320d2e73686f702e76312e4974656d52056974656d7312270a0673746174757318042001280e320f2e73686f702e76312e537461747573520673746174757312390a0a637265617465645f617418052001280b321a2e676f6f676c652e70726f746f6275662e54696d657374616d70520963726561746564417412320a066c6162656c7318062003280b321a2e73686f702e76312e4f726465722e4c6162656c73456e74727952066c6162656c73121f0a0a636172645f746f6b656e1807200128094800520963617264546f6b656e121a0a07766f756368657218082001280948005207766f756368657212170a046e6f7465180920012809480152046e6f7465880101121c0a097369676e6174757265180a2001280c52097369676e61747572651a390a0b4c6162656c73456e74727912100a036b657918012001280952036b657912140a0576616c7565180220012809520576616c75653a02380142090a077061796d656e7442070a055f6e6f74652a480a0653746174757312160a125354415455535f554e535045434946494544100012120a0e5354415455535f50454e44494e47100112120a0e5354415455535f534849505045441002620670726f746f330ad2040a1273686f702f76312f73686f702e70726f746f120773686f702e76311a1373686f702f76312f74797065732e70726f746f1a1f676f6f676c652f70726f746f6275662f74696d657374616d702e70726f746f22210a0f4765744f7264657252657175657374120e0a02696418012001280952026964225c0a1257617463684f72646572735265717565737412140a05656d61696c1801200128095205656d61696c12300a0573696e636518022001280b321a2e676f6f676c652e70726f746f6275662e54696d657374616d70520573696e6365224b0a0d55706c6f616453756d6d61727912140a05636f756e7418012001280d5205636f756e7412240a05746f74616c18022001280b320e2e73686f702e76312e4d6f6e65795205746f74616c22330a0b436861744d65737361676512120a047465787418012001280952047465787412100a03736571180220012803520373657132f1010a0b53686f705365727669636512340a084765744f7264657212182e73686f702e76312e4765744f72646572526571756573741a0e2e73686f702e76312e4f72646572123c0a0b57617463684f7264657273121b2e73686f702e76312e57617463684f7264657273526571756573741a0e2e73686f702e76312e4f72646572300112360a0b55706c6f61644974656d73120d2e73686f702e76312e4974656d1a162e73686f702e76312e55706c6f616453756d6d617279280112360a044368617412142e73686f702e76312e436861744d6573736167651a142e73686f702e76312e436861744d65737361676528013001620670726f746f33', 'hex') AS b;
GRANT SELECT ON ds TO PUBLIC;

-- what core reads from the set
SELECT jsonb_array_elements(f) ->> 'name' AS file FROM (SELECT mockarty_private.pb_describe(b) -> 'files' f FROM ds) x;
SELECT jsonb_pretty(mockarty_private.pb_describe(b) -> 'services') FROM ds;

-- store: version 1, then an identical upload is not stored again
SELECT s - 'createdAt' - 'createdBy' - 'files' - 'services' - 'sha256' FROM ds, mockarty.grpc_descriptor_store('shopns', 'shop', ds.b) s;
SELECT s ->> 'version' AS version, s ->> 'unchanged' AS unchanged FROM ds, mockarty.grpc_descriptor_store('shopns', 'shop', ds.b) s;
-- a different set is version 2 (the same set with a trailing unknown field 15 of the FileDescriptorSet)
SELECT s ->> 'version' AS version, s ->> 'unchanged' AS unchanged
FROM ds, mockarty.grpc_descriptor_store('shopns', 'shop', ds.b || '\x7a00'::bytea) s;
SELECT jsonb_array_elements(l) - 'createdAt' - 'createdBy' - 'files' - 'services' - 'sha256' - 'size' FROM mockarty.grpc_descriptor_list() l;
SELECT v ->> 'version' FROM jsonb_array_elements(mockarty.grpc_descriptor_versions('shopns', 'shop')) v;
SELECT g ->> 'version' AS version, decode(g ->> 'descriptorSet', 'base64') = ds.b AS same_bytes
FROM ds, mockarty.grpc_descriptor_get('shopns', 'shop', 1) g;
SELECT (mockarty.grpc_descriptor_get('shopns', 'shop')) ->> 'version' AS latest;
SELECT mockarty.grpc_descriptor_get('shopns', 'shop', 9);
SELECT mockarty.grpc_descriptor_versions('shopns', 'nope');

-- bad input changes nothing
SELECT mockarty.grpc_descriptor_store('shopns', 'shop', '\x0a05ffff'::bytea);
SELECT mockarty.grpc_descriptor_store('shopns', '../x', (SELECT b FROM ds));
SELECT mockarty.grpc_descriptor_store('shopns', 'empty', '\x'::bytea);
SELECT count(*) FROM mockarty_private.grpc_descriptor_sets;

-- registered for pg_dump
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) AS t(cfg) JOIN pg_class c ON c.oid = t.cfg
WHERE e.extname = 'mockarty' AND c.relname = 'grpc_descriptor_sets';

-- the generator: one mock per method, each payload encodes for the method's output type
SELECT r ->> 'created' AS created, r ->> 'updated' AS updated, r ->> 'skipped' AS skipped, r -> 'errors' AS errors,
	r #>> '{descriptor,version}' AS version
FROM ds, mockarty.generate_grpc(ds.b, '{"namespace":"shopns","serverName":"shop"}') r;
SELECT m.doc -> 'grpc' AS grpc, jsonb_typeof(m.doc #> '{response,payload}') AS payload,
	jsonb_array_length(m.doc #> '{response,streamResponses}') AS stream
FROM mockarty_private.mocks m WHERE m.namespace = 'shopns' ORDER BY m.doc #>> '{grpc,method}';
SELECT m.doc #>> '{grpc,method}' AS method,
	octet_length(mockarty_private.pb_encode(ds.b, x.output, coalesce(m.doc #> '{response,payload}', m.doc #> '{response,streamResponses,0}'))) > 0 AS encodes
FROM ds, mockarty_private.mocks m
JOIN LATERAL (SELECT e ->> 'outputType' AS output
	FROM jsonb_array_elements(mockarty_private.pb_describe((SELECT b FROM ds)) #> '{services,shop.v1.ShopService}') e
	WHERE e ->> 'name' = m.doc #>> '{grpc,method}') x ON true
WHERE m.namespace = 'shopns' ORDER BY 1;
-- every stream message encodes too
SELECT count(*) AS stream_messages_encoded
FROM ds, mockarty_private.mocks m, jsonb_array_elements(m.doc #> '{response,streamResponses}') s
WHERE m.namespace = 'shopns' AND m.doc #>> '{grpc,method}' = 'WatchOrders'
	AND octet_length(mockarty_private.pb_encode(ds.b, 'shop.v1.Order', s)) > 0;
-- a re-run changes nothing (and stores no new version)
SELECT r ->> 'created' AS created, r ->> 'updated' AS updated, r ->> 'skipped' AS skipped,
	r #>> '{descriptor,unchanged}' AS unchanged
FROM ds, mockarty.generate_grpc(ds.b, '{"namespace":"shopns","serverName":"shop"}') r;
-- a preview persists nothing
SELECT r ->> 'created' AS created, r ->> 'dryRun' AS dry FROM ds, mockarty.generate_grpc(ds.b, '{"namespace":"other","serverName":"shop","dryRun":true}') r;
SELECT count(*) FROM mockarty_private.grpc_descriptor_sets WHERE namespace = 'other';
SELECT count(*) FROM mockarty_private.mocks WHERE namespace = 'other';
SELECT mockarty.generate_grpc((SELECT b FROM ds), '{"namespace":"shopns"}');
SELECT mockarty.generate_grpc((SELECT b FROM ds), '{"serverName":"shop","bogus":1}');
-- a value that does not fit the type names the path
SELECT mockarty_private.pb_encode(b, 'shop.v1.Order', '{"items":[{"quantity":"many"}]}') FROM ds;
SELECT mockarty_private.pb_encode(b, 'shop.v1.Nope', '{}') FROM ds;

-- the caller rule: viewers read only, bound callers only their namespace
BEGIN;
SELECT set_config('mockarty.caller_role', 'viewer', true);
SELECT jsonb_array_length(mockarty.grpc_descriptor_list());
SELECT mockarty.grpc_descriptor_store('shopns', 'shop2', (SELECT b FROM ds));
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_role', 'viewer', true);
SELECT mockarty.grpc_descriptor_delete('shopns', 'shop');
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_role', 'viewer', true);
SELECT mockarty.generate_grpc((SELECT b FROM ds), '{"namespace":"shopns","serverName":"shop"}');
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_namespace', 'elsewhere', true);
SELECT jsonb_array_length(mockarty.grpc_descriptor_list());
SELECT mockarty.grpc_descriptor_get('shopns', 'shop');
ROLLBACK;
BEGIN;
SELECT set_config('mockarty.caller_namespace', 'elsewhere', true);
SELECT mockarty.grpc_descriptor_store('shopns', 'shop', (SELECT b FROM ds));
ROLLBACK;

-- delete one version, then all
SELECT mockarty.grpc_descriptor_delete('shopns', 'shop', 1);
SELECT v ->> 'version' FROM jsonb_array_elements(mockarty.grpc_descriptor_versions('shopns', 'shop')) v;
SELECT mockarty.grpc_descriptor_delete('shopns', 'shop');
SELECT jsonb_array_length(mockarty.grpc_descriptor_list());
SELECT count(*) FROM mockarty_private.mocks WHERE namespace = 'shopns';
