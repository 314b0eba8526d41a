"""Root conftest: registers the readiness harness's pytest plugin and its options."""

pytest_plugins = ["harness.checks.plugin"]
