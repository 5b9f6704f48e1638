DROP TABLE members;
DROP TABLE resource_values;
DROP TABLE resources;
DROP TABLE tokens;
DROP TABLE tenants;
