"""Platforms that run the stack: local processes (and, later, Docker containers)."""

from harness.platform.base import ComponentInfo, Platform, StackInfo
from harness.platform.local import LocalPlatform
from harness.platform.process import ResourceSample

__all__ = ["ComponentInfo", "LocalPlatform", "Platform", "ResourceSample", "StackInfo"]
