-- Resource counts in shards: creates and deletes now move one of 16 rows per tenant and
-- type (chosen by the resource id), so that parallel creates do not queue on one row lock
-- held until their commits. A list's total is resource_counts.n (what an older replica
-- still writes during a rolling upgrade, and every count before this one) plus the sum of
-- the shards; a shard may be negative (a resource counted in resource_counts, deleted now).
CREATE TABLE resource_count_shards (
    tenant_id TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    shard BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, resource_type, shard)
);
