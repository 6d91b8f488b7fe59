"""The local stack without Docker: PostgreSQL, Redis, Kafka (KRaft) and the schema registry.

`lis stack up|down|status|logs` (infra/stack/cli.py) drives it; one module per service.
"""
