"""What a stack file grants, and the reason given when it does not: the field it would need;
that a pid is only signalled while it is the process the file names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness.checks.evidence import EvidenceLog
from harness.errors import ComponentError, NotGranted
from harness.platform.attach import AttachPlatform, Control, Grants
from harness.platform.stackfile import ComponentInfo, StackInfo


def _grants(**stack: object) -> Grants:
    components = {
        "auth": ComponentInfo(name="auth", address="127.0.0.1:1", pid=10),
        "chat-1": ComponentInfo(name="chat-1", address="127.0.0.1:2", container="sc_chat_1"),
        "redis": ComponentInfo(name="redis", address="127.0.0.1:3", pid=11, container="sc_redis"),
        "video": ComponentInfo(name="video", address="127.0.0.1:4", log_file="/logs/video.log"),
    }
    return Grants(StackInfo(components=components, **stack))  # type: ignore[arg-type]


def test_a_container_wins_over_a_pid_and_nothing_grants_nothing() -> None:
    grants = _grants()
    assert grants.control("auth") is Control.PID
    assert grants.control("chat-1") is Control.CONTAINER
    assert grants.control("redis") is Control.CONTAINER
    assert grants.control("video") is None


def test_a_process_action_without_a_pid_or_container_names_both_fields() -> None:
    with pytest.raises(NotGranted) as refused:
        _grants().require_control("video", "killing")
    assert str(refused.value) == (
        "not granted: killing video needs components.video.pid or components.video.container "
        "in the stack file"
    )


def test_stopping_on_purpose_needs_a_container() -> None:
    grants = _grants()
    grants.require_stop("chat-1")
    with pytest.raises(NotGranted, match=r"components\.auth\.container \(a pid grants kill"):
        grants.require_stop("auth")


def test_network_faults_need_the_toxiproxy_api() -> None:
    with pytest.raises(NotGranted, match="a network fault needs toxiproxy_api"):
        _grants().require_toxiproxy()
    assert _grants(toxiproxy_api="http://h:8474").require_toxiproxy() == "http://h:8474"


def test_secrets_come_from_the_secrets_folder_by_name_or_name_txt(tmp_path: Path) -> None:
    (tmp_path / "db_password").write_text("compose style\n")
    (tmp_path / "redis_password.txt").write_text("local style\n")
    grants = _grants(secrets_dir=str(tmp_path))
    assert grants.require_secret("db_password") == tmp_path / "db_password"
    assert grants.require_secret("redis_password") == tmp_path / "redis_password.txt"
    with pytest.raises(NotGranted, match=f"a file jwt_secret or jwt_secret.txt in {tmp_path}"):
        grants.require_secret("jwt_secret")
    with pytest.raises(NotGranted, match="the secret db_password needs secrets_dir"):
        _grants().require_secret("db_password")


def test_the_ca_must_be_named_and_readable(tmp_path: Path) -> None:
    with pytest.raises(NotGranted, match="the CA certificate needs ca_certificate"):
        _grants().require_ca()
    with pytest.raises(NotGranted, match="a readable ca_certificate"):
        _grants(ca_certificate=str(tmp_path / "missing.crt")).require_ca()
    (tmp_path / "ca.crt").write_text("PEM")
    assert _grants(ca_certificate=str(tmp_path / "ca.crt")).require_ca() == tmp_path / "ca.crt"


def test_a_log_is_its_file_or_its_containers() -> None:
    grants = _grants()
    assert grants.require_log("video") == Path("/logs/video.log")
    assert grants.require_log("chat-1") is None  # read through the Docker engine
    with pytest.raises(NotGranted, match="components.auth.log_file or components.auth.container"):
        grants.require_log("auth")


def test_a_log_not_granted_leaves_a_note_in_the_evidence_and_takes_no_verdict(
    tmp_path: Path,
) -> None:
    (tmp_path / "video.log").write_text("started\nready\n")
    components = {
        "auth": {"address": "127.0.0.1:1"},
        "video": {"address": "127.0.0.1:2", "log_file": "video.log"},
    }
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"components": components}))
    evidence = EvidenceLog()
    with AttachPlatform(path) as stack:
        evidence.component_log(stack, "video")
        evidence.component_log(stack, "auth")
    video, auth = evidence.items
    assert (video.kind, video.value) == ("log", "started\nready")
    assert auth.kind == "text" and "components.auth.log_file" in auth.value


def test_a_pid_newer_than_the_stack_file_is_never_signalled(tmp_path: Path) -> None:
    """The component died, its pid went to another process, nobody rewrote the file."""
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        path = tmp_path / "stack.json"
        redis = {"address": "127.0.0.1:1", "pid": process.pid}
        path.write_text(json.dumps({"components": {"redis": redis}}))
        an_hour_ago = time.time() - 3600
        os.utime(path, (an_hour_ago, an_hour_ago))
        with AttachPlatform(path) as stack, pytest.raises(ComponentError, match="pid was reused"):
            stack.kill("redis")
        assert process.poll() is None
        path.touch()  # a file written after the process started names it
        with AttachPlatform(path) as stack:
            stack.pause("redis")
            stack.resume("redis")
            stack.kill("redis")
        assert process.wait(timeout=5) == -signal.SIGKILL
    finally:
        process.kill()
        process.wait()
