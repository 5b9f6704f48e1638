-- Memberships and the provisioning log as WITHOUT ROWID tables, clustered on their primary
-- keys: a rowid table keeps its primary key as a separate B-tree, so every member add and
-- every log row wrote pages it did not need to (a member PATCH dirtied 8 pages per commit:
-- 3 for `members`, 2 for the group's row, 3 for the log; now 5). The log is clustered in
-- the order it is read and pruned, (tenant_id, at, id), which replaces its `at` index; its
-- ids are time-ordered (UUIDv7) from this version on. New rows of both tables go to the
-- end of their tenant's range. SQLite only: PostgreSQL tables are heaps with separate
-- indexes either way.

CREATE TABLE members_clustered (
    tenant_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, member_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO members_clustered (tenant_id, group_id, member_id, member_type)
    SELECT tenant_id, group_id, member_id, member_type FROM members;
DROP TABLE members;
ALTER TABLE members_clustered RENAME TO members;
CREATE INDEX members_by_member_group ON members (tenant_id, member_id, group_id);

CREATE TABLE provisioning_log_clustered (
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
    PRIMARY KEY (tenant_id, at, id)
) WITHOUT ROWID;
INSERT INTO provisioning_log_clustered
    SELECT tenant_id, id, at, token_id, token_name, method, resource_type, resource_id,
           resource_name, outcome, status, detail FROM provisioning_log;
DROP TABLE provisioning_log;
ALTER TABLE provisioning_log_clustered RENAME TO provisioning_log;
