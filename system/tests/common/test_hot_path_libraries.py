"""The C parser redis-py was measured with is installed (benchmarks/README.md):
without it everything still works, only slower, so nothing else would notice."""

from __future__ import annotations

import redis.utils


def test_redis_replies_are_parsed_by_hiredis():
    # A quarter of redis-py's CPU per command: auth's revocation check on every request.
    assert redis.utils.HIREDIS_AVAILABLE
