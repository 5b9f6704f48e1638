-- Tenants: one customer organisation each. The id is the opaque part of the SCIM link.
CREATE TABLE tenants (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    entra_tenant_id TEXT COLLATE "C",
    provisioning_enabled BIGINT NOT NULL DEFAULT 1,
    created_at TEXT COLLATE "C" NOT NULL
);

-- Secret tokens: only the SHA-256 digest of the secret is stored.
CREATE TABLE tokens (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    name TEXT COLLATE "C" NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_by TEXT COLLATE "C",
    created_at TEXT COLLATE "C" NOT NULL,
    last_used_at TEXT COLLATE "C",
    expires_at TEXT COLLATE "C",
    revoked_at TEXT COLLATE "C"
);
CREATE INDEX tokens_by_tenant ON tokens (tenant_id, created_at);

-- Users and Groups. `doc` is the SCIM document (without id/meta/members/groups);
-- `search_doc` the same with every caseExact=false string folded, for filters.
CREATE TABLE resources (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    id TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    unique_name TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C",
    external_id TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL,
    last_modified TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    doc TEXT COLLATE "C" NOT NULL,
    search_doc TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX resources_unique_name ON resources (tenant_id, resource_type, unique_name);
CREATE INDEX resources_external_id ON resources (tenant_id, resource_type, external_id);
CREATE INDEX resources_created ON resources (tenant_id, resource_type, created, id);
CREATE INDEX resources_last_modified ON resources (tenant_id, resource_type, last_modified);

-- Indexed copies of multi-valued values that lookups need (emails), folded.
CREATE TABLE resource_values (
    tenant_id TEXT COLLATE "C" NOT NULL,
    resource_id TEXT COLLATE "C" NOT NULL,
    attribute TEXT COLLATE "C" NOT NULL,
    value_type TEXT COLLATE "C",
    value TEXT COLLATE "C",
    is_primary BIGINT NOT NULL DEFAULT 0,
    FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX resource_values_by_value ON resource_values (tenant_id, attribute, value);
CREATE INDEX resource_values_by_resource ON resource_values (tenant_id, resource_id);

-- Group membership, indexed both ways.
CREATE TABLE members (
    tenant_id TEXT COLLATE "C" NOT NULL,
    group_id TEXT COLLATE "C" NOT NULL,
    member_id TEXT COLLATE "C" NOT NULL,
    member_type TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, member_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX members_by_member ON members (tenant_id, member_id);
