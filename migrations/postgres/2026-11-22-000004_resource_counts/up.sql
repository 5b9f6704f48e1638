-- Number of resources per tenant and type, kept by every create and delete in the same
-- transaction, so that an unfiltered list answers totalResults without counting the tenant.
CREATE TABLE resource_counts (
    tenant_id TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, resource_type)
);
INSERT INTO resource_counts (tenant_id, resource_type, n)
    SELECT tenant_id, resource_type, COUNT(*) FROM resources GROUP BY tenant_id, resource_type;
