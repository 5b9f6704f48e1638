-- `members.value eq "<id>"` (which groups is this user in?) looks memberships up by member:
-- an index on (tenant_id, member_id) that also carries group_id answers it without reading
-- the table, so SQLite no longer prefers scanning the primary key (tenant_id, group_id, …).
CREATE INDEX members_by_member_group ON members (tenant_id, member_id, group_id);
DROP INDEX members_by_member;
