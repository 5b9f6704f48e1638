CREATE INDEX members_by_member ON members (tenant_id, member_id);
DROP INDEX members_by_member_group;
