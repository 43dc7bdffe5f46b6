# The service tests' fixtures: a migrated PostgreSQL database, the API over it, keys per role.
from tests.service.conftest import databases, pg_engine, pg_url, scans, service, session_factory  # noqa: F401
