from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.zendesk.fake import FakeZendesk


@pytest.fixture
def zendesk() -> Iterator[FakeZendesk]:
    fake = FakeZendesk()
    try:
        yield fake
    finally:
        fake.close()
