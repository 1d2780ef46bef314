"""Fixtures for a real SMTP server and a real HTTP gateway; shared with checkins' tests."""

from __future__ import annotations

import pytest

from jikimi.notify.testing import GatewayStub, SmtpSink


@pytest.fixture
def smtp(settings):
    with SmtpSink() as sink:
        settings.JIKIMI_SMTP = {**settings.JIKIMI_SMTP, "host": "127.0.0.1", "port": sink.port}
        yield sink


@pytest.fixture
def gateway():
    with GatewayStub() as stub:
        yield stub
