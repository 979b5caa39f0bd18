"""Who may do what, and how much: the users file, passwords, keys, limits, the audit log, and the
CLI commands that manage them (`qa user add`, `qa log`). No server here (tests/test_server.py)."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.errors import InputError
from qa.faces.audit import entry_text, read_log, record_changes
from qa.faces.auth import (
    LOGIN_FAILURES,
    AskQueue,
    Busy,
    Limits,
    Policy,
    RateLimiter,
    Users,
    add_user,
    hash_password,
    key_digest,
    verify_password,
)
from qa.faces.cli import main

PASSWORD = "correct horse battery"


def test_passwords_are_salted_scrypt_hashes() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$16384$8$1$") and first != second  # a new salt each time
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password("correct horse batterY", first)
    assert not verify_password(PASSWORD, "plain text") and not verify_password(PASSWORD, "scrypt$1$2$3$x$y")


def test_the_users_file_holds_no_secret_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "editors.json"
    key = add_user(path, "amina", PASSWORD)
    reader_key = add_user(path, "rami", PASSWORD + "!", role="reader")
    text = path.read_text()
    assert key.startswith("qa_") and len(key) > 40 and key not in text and reader_key not in text and PASSWORD not in text
    assert key_digest(key) in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = Users.load(path)
    assert users.names() == ["amina", "rami"] and users.names("editor") == ["amina"]
    assert users.by_key(key).name == "amina" and users.by_key(key).editor
    assert users.by_key(reader_key).role == "reader" and users.by_key("qa_wrong") is None
    assert users.login("amina", PASSWORD).editor and users.login("amina", "wrong password") is None
    assert users.login("nobody", PASSWORD) is None


def test_adding_a_user_again_rotates_the_key_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "editors.json"
    old = add_user(path, "amina", PASSWORD)
    add_user(path, "rami", PASSWORD, role="reader")
    created = json.loads(path.read_text())["users"]["amina"]["created_at"]
    new = add_user(path, "amina", "a new password", role="reader")
    users = Users.load(path)
    assert users.by_key(old) is None and users.by_key(new).role == "reader" and users.user("rami") is not None
    assert users.login("amina", PASSWORD) is None and users.login("amina", "a new password") is not None
    assert json.loads(path.read_text())["users"]["amina"]["created_at"] == created


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("../etc", PASSWORD, "editor", "user name"),
        ("", PASSWORD, "editor", "user name"),
        ("amina", "short", "editor", "at least 8"),
        ("amina", PASSWORD, "admin", "role must be one of reader, editor"),
    ],
)
def test_bad_users_are_refused(tmp_path: Path, name: str, password: str, role: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        add_user(tmp_path / "u.json", name, password, role=role)
    assert not (tmp_path / "u.json").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a users file"),
        ('{"users": {}}', "qa-users/1"),
        ('{"format": "qa-users/1", "users": {"a": {"role": "editor", "password": "hunter22"}}}', "not a scrypt hash"),
        ('{"format": "qa-users/1", "users": {"a": {"role": "editor", "key": "qa_x"}}}', "in plain text"),
        ('{"format": "qa-users/1", "users": {"a": {}}}', "no role"),
    ],
)
def test_a_bad_users_file_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "u.json").write_text(content)
    with pytest.raises(InputError, match=message):
        Users.load(tmp_path / "u.json")
    with pytest.raises(InputError, match="no such users file"):
        Users.load(tmp_path / "absent.json")


def test_guessing_a_password_is_braked(tmp_path: Path) -> None:
    add_user(tmp_path / "u.json", "amina", PASSWORD)
    users = Users.load(tmp_path / "u.json")
    for _ in range(LOGIN_FAILURES):
        assert users.login("amina", "a guess 123") is None
    assert users.login("amina", PASSWORD) is None  # even the right one, for the rest of the minute
    assert Users.load(tmp_path / "u.json").login("amina", PASSWORD) is not None


def test_the_rate_limiter_is_a_bucket_per_client() -> None:
    now = [0.0]
    limiter = RateLimiter(6, clock=lambda: now[0])  # a burst of 6, then one every 10 s
    assert [limiter.take("a") for _ in range(6)] == [0.0] * 6
    assert limiter.take("a") == pytest.approx(10.0)
    assert limiter.take("b") == 0.0  # another client is not held back
    now[0] = 5.0
    assert limiter.take("a") == pytest.approx(5.0)
    now[0] = 10.0
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0


def test_the_ask_queue_refuses_beyond_workers_and_waiting() -> None:
    async def main() -> tuple[list[str], int]:
        queue = AskQueue(workers=1, waiting=1)
        results = await asyncio.gather(*(queue.run(time.sleep, 0.3) for _ in range(3)), return_exceptions=True)
        return [type(r).__name__ for r in results], queue.inflight

    names, inflight = asyncio.run(main())
    assert sorted(names) == ["Busy", "NoneType", "NoneType"] and inflight == 0
    assert issubclass(Busy, Exception)


def test_limits_and_policy_are_checked_and_say_who_can_do_what(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="asks_per_minute must be at least 1"):
        Limits(asks_per_minute=0)
    with pytest.raises(InputError, match="--readers-login needs --editors"):
        Policy(readers_login=True)
    line = Policy().who_can_do_what("on 0.0.0.0:7860")
    assert line.startswith("Serving on 0.0.0.0:7860: anyone can ask") and "nobody can add or delete" in line
    add_user(tmp_path / "u.json", "amina", PASSWORD)
    add_user(tmp_path / "u.json", "rami", PASSWORD, role="reader")
    policy = Policy(users=Users.load(tmp_path / "u.json"), readers_login=True)
    line = policy.who_can_do_what("at https://x.gradio.live")
    assert "only the 2 users" in line and "1 editor (amina) can add and delete" in line and "\n" not in line
    assert policy.editor_may_log_in("amina", PASSWORD) and not policy.editor_may_log_in("rami", PASSWORD)
    assert policy.may_log_in("rami", PASSWORD) and policy.is_editor("amina") and not policy.is_editor("rami")


def test_the_audit_log_appends_one_line_per_action(tmp_path: Path) -> None:
    record_changes(tmp_path, user="amina", via="api", client="10.0.0.7", changes={"add": [("a", "f" * 64)], "update": [], "delete": [("b", "e" * 64)]})
    (tmp_path / "audit.jsonl").open("a").write("{cut short\n")
    entries = list(read_log(tmp_path))
    assert [(e["action"], e["user"], e["documents"]) for e in entries] == [
        ("add", "amina", [{"id": "a", "hash": "f" * 64}]),
        ("delete", "amina", [{"id": "b", "hash": "e" * 64}]),
    ]
    assert entry_text(entries[0]).endswith("amina (api 10.0.0.7)  add 1: a (ffffffffffff)")
    assert list(read_log(tmp_path / "elsewhere")) == []


def test_user_add_and_log_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    users = tmp_path / "editors.json"
    result = runner.invoke(main, ["user", "add", "amina", "--editors", str(users), "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("qa_") and Users.load(users).by_key(key).name == "amina"
    assert "shown once" in result.stderr
    result = runner.invoke(main, ["user", "add", "rami", "--role", "reader", "--editors", str(users), "--json"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["role"] == "reader" and Users.load(users).by_key(data["api_key"]).name == "rami"
    short = runner.invoke(main, ["user", "add", "x", "--editors", str(users), "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and short.output.count("\n") == 1 and "at least 8" in short.output

    empty = runner.invoke(main, ["log", "--index-dir", str(tmp_path), "--json"])
    assert empty.exit_code == 0 and empty.stdout == ""
    record_changes(tmp_path, user="amina", via="cli", changes={"add": [("a", "0" * 64)]})
    assert json.loads(runner.invoke(main, ["log", "--index-dir", str(tmp_path), "--json"]).stdout)["user"] == "amina"
