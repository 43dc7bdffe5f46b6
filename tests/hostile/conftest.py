from tests.faults.conftest import fault_databases  # noqa: F401 - the fixture, shared with the fault tests
