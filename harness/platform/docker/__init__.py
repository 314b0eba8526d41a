"""The Docker platform: the stack as containers started with testcontainers.

    from harness.platform.docker import DockerPlatform
    with DockerPlatform() as stack: ...

Images come from compose/offline/images.env when compose/offline/build made
them, else from the registry names compose/docker-compose.yml uses.
"""

from harness.platform.docker.engine import engine_available, leftovers, sweep
from harness.platform.docker.images import ImageSet
from harness.platform.docker.platform import DockerPlatform
from harness.platform.docker.resources import ContainerSample

__all__ = [
    "ContainerSample",
    "DockerPlatform",
    "ImageSet",
    "engine_available",
    "leftovers",
    "sweep",
]
