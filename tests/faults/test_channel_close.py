"""The kombu bug behind a worker that exited during a Redis restart, reproduced directly:
closing a channel whose broker connection is already gone must not raise AttributeError."""

from __future__ import annotations

import pytest
from kombu import Connection

from tests.service.conftest import REDIS_URL
from worker.celery_app import guard_redis_channel_close

pytestmark = pytest.mark.services


def test_closing_a_channel_after_the_connection_dropped_is_survivable():
    guard_redis_channel_close()  # done when worker.celery_app is imported; idempotent
    connection = Connection(REDIS_URL, transport_options={"global_keyprefix": "docextract-test-guard:"})
    try:
        channel = connection.default_channel
        channel.qos._delivered["unacked-tag"] = True  # a message it would put back on close
        channel.connection.client = None  # what kombu leaves after the socket dropped
        connection.maybe_close_channel(channel)  # swallows connection errors only
        assert channel.closed
    finally:
        connection.release()
