-- Tenants: one customer organisation each. The id is the opaque part of the SCIM link.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    entra_tenant_id TEXT,
    provisioning_enabled BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

-- Secret tokens: only the SHA-256 digest of the secret is stored.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    expires_at TEXT,
    revoked_at TEXT
);
CREATE INDEX tokens_by_tenant ON tokens (tenant_id, created_at);

-- Users and Groups. `doc` is the SCIM document (without id/meta/members/groups);
-- `search_doc` the same with every caseExact=false string folded, for filters.
CREATE TABLE resources (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    unique_name TEXT NOT NULL,
    display_name TEXT,
    external_id TEXT,
    created TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    version BIGINT NOT NULL,
    doc TEXT NOT NULL,
    search_doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX resources_unique_name ON resources (tenant_id, resource_type, unique_name);
CREATE INDEX resources_external_id ON resources (tenant_id, resource_type, external_id);
CREATE INDEX resources_created ON resources (tenant_id, resource_type, created, id);
CREATE INDEX resources_last_modified ON resources (tenant_id, resource_type, last_modified);

-- Indexed copies of multi-valued values that lookups need (emails), folded.
CREATE TABLE resource_values (
    tenant_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value_type TEXT,
    value TEXT,
    is_primary BIGINT NOT NULL DEFAULT 0,
    FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX resource_values_by_value ON resource_values (tenant_id, attribute, value);
CREATE INDEX resource_values_by_resource ON resource_values (tenant_id, resource_id);

-- Group membership, indexed both ways.
CREATE TABLE members (
    tenant_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, member_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX members_by_member ON members (tenant_id, member_id);
