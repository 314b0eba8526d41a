"""Download links: signed, bound to one file, expiring by the clock."""

from __future__ import annotations

import uuid

import pytest
from secureconnect.common.clock import ManualClock
from secureconnect.common.errors import DomainError
from secureconnect.storage.links import LinkSigner
from secureconnect.storage.service import DOWNLOAD_URL_TTL_S


def test_a_link_works_until_it_expires() -> None:
    clock, file_id = ManualClock(), uuid.uuid4()
    signer = LinkSigner(b"k" * 32, clock)
    expires, signature = signer.sign(file_id, DOWNLOAD_URL_TTL_S)
    signer.verify(file_id, expires, signature)
    clock.advance(DOWNLOAD_URL_TTL_S)
    with pytest.raises(DomainError) as caught:
        signer.verify(file_id, expires, signature)
    assert (caught.value.status, caught.value.code) == (403, "link_expired")


@pytest.mark.parametrize("change", ["file", "expires", "signature", "key"])
def test_any_change_breaks_the_signature(change: str) -> None:
    clock, file_id = ManualClock(), uuid.uuid4()
    signer = LinkSigner(b"k" * 32, clock)
    expires, signature = signer.sign(file_id, DOWNLOAD_URL_TTL_S)
    if change == "file":
        file_id = uuid.uuid4()
    elif change == "expires":
        expires += 3600
    elif change == "signature":
        signature = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    else:
        signer = LinkSigner(b"x" * 32, clock)
    with pytest.raises(DomainError) as caught:
        signer.verify(file_id, expires, signature)
    assert (caught.value.status, caught.value.code) == (403, "invalid_signature")
