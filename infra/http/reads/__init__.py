"""The API's reads: a port (``ports.ReadModels``), a Postgres adapter on the aggregate tables
and a Redis adapter on the read models the cache processor keeps, falling back to Postgres."""
