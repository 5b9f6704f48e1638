-- Resource counts in shards, as on PostgreSQL (where parallel creates would otherwise
-- queue on one row lock). SQLite writes one transaction at a time and uses shard 0 only.
-- A list's total is resource_counts.n (every count before this migration) plus the sum of
-- the shards.
CREATE TABLE resource_count_shards (
    tenant_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    shard BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, resource_type, shard)
);
