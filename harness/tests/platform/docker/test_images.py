"""Which image runs each component: registry defaults, the images file, the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.platform.docker.images import REGISTRY_IMAGES, ImageSet, parse_env_file


def test_env_file_lines(tmp_path: Path) -> None:
    path = tmp_path / "images.env"
    path.write_text(
        "# comment\n\nPOSTGRES_IMAGE=local/postgres:1\n"
        "S3_HEALTHCHECK=python -c \"print('x')\"\nQUOTED='a b'\n"
    )
    values = parse_env_file(path)
    assert values == {
        "POSTGRES_IMAGE": "local/postgres:1",
        "S3_HEALTHCHECK": "python -c \"print('x')\"",
        "QUOTED": "a b",
    }


def test_a_line_without_equals_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "images.env"
    path.write_text("POSTGRES_IMAGE\n")
    with pytest.raises(ConfigError, match="images.env:1"):
        parse_env_file(path)


def test_registry_defaults_then_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "images.env"
    path.write_text("POSTGRES_IMAGE=from/file:1\nREDIS_IMAGE=from/file:2\n")
    images = ImageSet.load(path, environ={"REDIS_IMAGE": "from/env:3", "HOME": "/root"})
    assert images.image("postgres") == "from/file:1"
    assert images.image("redis") == "from/env:3"
    assert images.image("s3") == REGISTRY_IMAGES["S3_IMAGE"]
    assert images.source == str(path)


def test_without_a_file_the_registry_images_of_compose(tmp_path: Path) -> None:
    images = ImageSet.load(tmp_path / "absent.env", environ={})
    assert images.image("postgres") == REGISTRY_IMAGES["POSTGRES_IMAGE"]
    compose = (Path(__file__).resolve().parents[4] / "compose" / "docker-compose.yml").read_text()
    for variable in ("POSTGRES_IMAGE", "REDIS_IMAGE", "S3_IMAGE", "COTURN_IMAGE"):
        assert f"${{{variable}:-{REGISTRY_IMAGES[variable]}}}" in compose, variable
