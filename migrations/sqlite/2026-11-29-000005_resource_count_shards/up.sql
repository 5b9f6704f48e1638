-- resource_counts gets a shard column, as on PostgreSQL (where concurrent creates would
-- otherwise queue on one row lock). SQLite writes one transaction at a time and keeps
-- every count in shard 0. The count is the sum of the shards.
CREATE TABLE resource_counts_sharded (
    tenant_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    shard INTEGER NOT NULL DEFAULT 0,
    n BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, resource_type, shard)
);
INSERT INTO resource_counts_sharded (tenant_id, resource_type, shard, n)
    SELECT tenant_id, resource_type, 0, n FROM resource_counts;
DROP TABLE resource_counts;
ALTER TABLE resource_counts_sharded RENAME TO resource_counts;
