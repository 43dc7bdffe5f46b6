"""Celery tasks around the framework-free pipeline in `worker.pipeline`."""
