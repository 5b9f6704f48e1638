DROP TABLE resource_count_shards;
