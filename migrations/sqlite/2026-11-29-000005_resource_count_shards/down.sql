CREATE TABLE resource_counts_single (
    tenant_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, resource_type)
);
INSERT INTO resource_counts_single (tenant_id, resource_type, n)
    SELECT tenant_id, resource_type, SUM(n) FROM resource_counts GROUP BY tenant_id, resource_type;
DROP TABLE resource_counts;
ALTER TABLE resource_counts_single RENAME TO resource_counts;
