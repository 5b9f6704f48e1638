-- resource_counts gets several rows per tenant and type (a shard each): concurrent creates
-- no longer queue on one row lock held until their commit. The count is the sum of the
-- shards; one shard may be negative (a resource counted in one shard, its delete in another).
ALTER TABLE resource_counts ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE resource_counts DROP CONSTRAINT resource_counts_pkey;
ALTER TABLE resource_counts ADD PRIMARY KEY (tenant_id, resource_type, shard);
