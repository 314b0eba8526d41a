"""Fixtures of the Docker platform's tests: an engine and the stack's images, or a skip.

The images come from compose/offline/build (`make test` runs it first when an
engine is reachable); without an engine, or without the images, these tests
are skipped with the reason, never failed.
"""

from __future__ import annotations

import pytest

from harness.platform.docker import ImageSet, engine_available
from harness.platform.docker.engine import client

#: The images the stack starts from (SECURECONNECT_IMAGE... in images.env).
STACK_IMAGES = (
    "postgres",
    "redis",
    "s3",
    "toxiproxy",
    "capture",
    "coturn",
    "alertmanager",
    "prometheus",
    "secureconnect",
)


@pytest.fixture(scope="session")
def images() -> ImageSet:
    if not engine_available():
        pytest.skip("no Docker engine reachable")
    image_set = ImageSet.load()
    engine = client()
    try:
        missing = [n for n in STACK_IMAGES if not engine.images.list(name=image_set.image(n))]
    finally:
        engine.close()
    if missing:
        pytest.skip(
            f"images not built ({', '.join(missing)}); run compose/offline/build "
            f"(images from {image_set.source})"
        )
    return image_set
