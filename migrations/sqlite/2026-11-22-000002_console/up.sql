-- Console accounts of a tenant (argon2id password hashes).
CREATE TABLE accounts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX accounts_email ON accounts (tenant_id, email);

-- Console sessions; only the SHA-256 of the session id is stored.
CREATE TABLE sessions (
    id_sha256 TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    authenticated_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_by_account ON sessions (tenant_id, account_id);

-- One-time first-run setup links (digest only).
CREATE TABLE setup_links (
    id_sha256 TEXT PRIMARY KEY NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT
);

CREATE TABLE companies (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX companies_name ON companies (tenant_id, name_folded);

CREATE TABLE roles (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX roles_name ON roles (tenant_id, name_folded);

-- Default user configurations applied to users created through SCIM.
CREATE TABLE configurations (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    company_id TEXT NOT NULL,
    locale TEXT,
    language TEXT,
    time_zone TEXT,
    filter TEXT,
    filter_folded TEXT,
    is_default BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id)
);
CREATE UNIQUE INDEX configurations_name ON configurations (tenant_id, name);
CREATE INDEX configurations_filter ON configurations (tenant_id, filter_folded);

CREATE TABLE configuration_roles (
    tenant_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, configuration_id, role_id),
    FOREIGN KEY (tenant_id, configuration_id) REFERENCES configurations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id)
);

-- One row per SCIM request that changed or tried to change something.
CREATE TABLE provisioning_log (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    at TEXT NOT NULL,
    token_id TEXT,
    token_name TEXT,
    method TEXT NOT NULL,
    resource_type TEXT,
    resource_id TEXT,
    resource_name TEXT,
    outcome TEXT NOT NULL,
    status BIGINT NOT NULL,
    detail TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX provisioning_log_at ON provisioning_log (tenant_id, at);

-- Console audit log: sign-ins, token generate/revoke, settings and configuration changes.
CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at);
