"""A stack started from a copy runs the copy: its code first on the path, rules and settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.platform.components.monitoring import Prometheus
from harness.platform.components.services import Migrations, Service
from harness.platform.local import default_components
from harness.platform.source import SourceTree
from harness.selftest.tree import apply_patch, copy_tree

#: A module that exists only in the patched copy.
MARKER_PATCH = """\
diff --git a/system/secureconnect/copy_marker.py b/system/secureconnect/copy_marker.py
new file mode 100644
--- /dev/null
+++ b/system/secureconnect/copy_marker.py
@@ -0,0 +1 @@
+FROM_THE_COPY = True
"""


def test_a_service_process_imports_the_copy_before_the_installed_package(tmp_path: Path) -> None:
    tree = SourceTree(copy_tree(tmp_path / "tree"))
    (tmp_path / "marker.patch").write_text(MARKER_PATCH)
    apply_patch(tree.root, tmp_path / "marker.patch")
    probe = "from secureconnect import copy_marker as m; print(m.__file__, m.FROM_THE_COPY)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": tree.environment("auth")["PYTHONPATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path, flag = result.stdout.split()
    assert Path(path).is_relative_to(tree.system_dir) and flag == "True"


def test_settings_reach_the_services_they_name(tmp_path: Path) -> None:
    source = SourceTree(
        tmp_path,
        {"*": {"SC_A": "all"}, "chat": {"SC_B": "chat"}, "chat-2": {"SC_B": "two"}},
    )
    components = {c.name: c for c in default_components(source=source)}
    services = {n: c for n, c in components.items() if isinstance(c, Service)}
    assert {s.extra_env["SC_A"] for s in services.values()} == {"all"}
    assert services["chat-1"].extra_env["SC_B"] == "chat"
    assert services["chat-2"].extra_env["SC_B"] == "two"
    assert "SC_B" not in services["auth"].extra_env
    for component in [*services.values(), components["migrations"]]:
        assert component.extra_env["PYTHONPATH"].startswith(str(tmp_path / "system"))  # type: ignore[attr-defined]
    assert "SC_A" not in components["migrations"].extra_env  # type: ignore[attr-defined]
    assert isinstance(components["migrations"], Migrations)
    prometheus = components["prometheus"]
    assert isinstance(prometheus, Prometheus)
    assert prometheus.rules_dir == tmp_path / "compose" / "prometheus" / "rules"


def test_without_a_source_the_stack_runs_this_checkout() -> None:
    components = {c.name: c for c in default_components()}
    assert "PYTHONPATH" not in components["auth"].extra_env  # type: ignore[attr-defined]
    prometheus = components["prometheus"]
    assert isinstance(prometheus, Prometheus)
    assert prometheus.rules_dir == Path(__file__).resolve().parents[3] / "compose/prometheus/rules"
