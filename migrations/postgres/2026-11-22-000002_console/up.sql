-- Console accounts of a tenant (argon2id password hashes).
CREATE TABLE accounts (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    id TEXT COLLATE "C" NOT NULL,
    email TEXT COLLATE "C" NOT NULL,
    password_hash TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX accounts_email ON accounts (tenant_id, email);

-- Console sessions; only the SHA-256 of the session id is stored.
CREATE TABLE sessions (
    id_sha256 TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL,
    account_id TEXT COLLATE "C" NOT NULL,
    csrf_token TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    last_seen_at TEXT COLLATE "C" NOT NULL,
    authenticated_at TEXT COLLATE "C" NOT NULL,
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_by_account ON sessions (tenant_id, account_id);

-- One-time first-run setup links (digest only).
CREATE TABLE setup_links (
    id_sha256 TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    used_at TEXT COLLATE "C"
);

CREATE TABLE companies (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    name_folded TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX companies_name ON companies (tenant_id, name_folded);

CREATE TABLE roles (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    name_folded TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX roles_name ON roles (tenant_id, name_folded);

-- Default user configurations applied to users created through SCIM.
CREATE TABLE configurations (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    company_id TEXT COLLATE "C" NOT NULL,
    locale TEXT COLLATE "C",
    language TEXT COLLATE "C",
    time_zone TEXT COLLATE "C",
    filter TEXT COLLATE "C",
    filter_folded TEXT COLLATE "C",
    is_default BIGINT NOT NULL DEFAULT 0,
    created_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id)
);
CREATE UNIQUE INDEX configurations_name ON configurations (tenant_id, name);
CREATE INDEX configurations_filter ON configurations (tenant_id, filter_folded);

CREATE TABLE configuration_roles (
    tenant_id TEXT COLLATE "C" NOT NULL,
    configuration_id TEXT COLLATE "C" NOT NULL,
    role_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, configuration_id, role_id),
    FOREIGN KEY (tenant_id, configuration_id) REFERENCES configurations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id)
);

-- One row per SCIM request that changed or tried to change something.
CREATE TABLE provisioning_log (
    tenant_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    token_id TEXT COLLATE "C",
    token_name TEXT COLLATE "C",
    method TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C",
    resource_id TEXT COLLATE "C",
    resource_name TEXT COLLATE "C",
    outcome TEXT COLLATE "C" NOT NULL,
    status BIGINT NOT NULL,
    detail TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX provisioning_log_at ON provisioning_log (tenant_id, at);

-- Console audit log: sign-ins, token generate/revoke, settings and configuration changes.
CREATE TABLE audit_log (
    tenant_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    actor TEXT COLLATE "C",
    action TEXT COLLATE "C" NOT NULL,
    detail TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at);
