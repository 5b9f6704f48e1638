CREATE TEMPORARY TABLE resource_counts_sum AS
    SELECT tenant_id, resource_type, SUM(n)::BIGINT AS n FROM resource_counts GROUP BY tenant_id, resource_type;
DELETE FROM resource_counts;
ALTER TABLE resource_counts DROP CONSTRAINT resource_counts_pkey;
ALTER TABLE resource_counts DROP COLUMN shard;
INSERT INTO resource_counts (tenant_id, resource_type, n) SELECT tenant_id, resource_type, n FROM resource_counts_sum;
ALTER TABLE resource_counts ADD PRIMARY KEY (tenant_id, resource_type);
DROP TABLE resource_counts_sum;
