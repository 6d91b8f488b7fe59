-- compose.yaml only: the postgres image creates role lis and database lis from its env;
-- this adds the test database and the schema registry's storage (as `lis stack up` does).
CREATE DATABASE lis_test OWNER lis;
CREATE DATABASE registry OWNER lis;
