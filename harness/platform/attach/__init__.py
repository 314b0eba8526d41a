"""A deployment the harness did not start, judged through what its stack file grants."""

from harness.platform.attach.grants import Control, Grants
from harness.platform.attach.platform import AttachPlatform, load_stack_file

__all__ = ["AttachPlatform", "Control", "Grants", "load_stack_file"]
