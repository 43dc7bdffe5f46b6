"""The HTTP service (FastAPI): `api.main.create_app`; routes per resource call `api.services`."""
