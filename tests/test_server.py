"""The newsroom server for real: `python -m qa serve --editors FILE` on a free loopback port, called
over HTTP the way another program would, plus the app in-process for a server without editors.

One server per module (the seeds, an editor, two readers; 25 questions a minute per client), so the
tests share its start-up; the tests that count rate-limit tokens spend those of their own keys.
The editor's login in Chromium is in tests/test_app_browser.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qa.faces.auth import add_user
from qa.records import Article
from tests.conftest import REPO, stop_server

pytestmark = pytest.mark.slow

ASKS_PER_MINUTE = 25
PASSWORD = "correct horse battery"
INITIATIVES = "ما هي المبادرات الثلاث التي يشرف عليها المغرب في المنتدى العالمي لمكافحة الإرهاب؟"
QUESTIONS = [  # (question, the seed its first quote must come from, words a quote must contain)
    (INITIATIVES, "000_", "ثلاث مبادرات"),
    ("مع من التقى وزير الخارجية المغربي ناصر بوريطة؟", "000_", "نايثن سايلس"),
    ("ما هو قرار مجلس الأمن رقم 2396؟", "000_", "2396"),
    ("من استقبل المدير العام للأمن الوطني عبد اللطيف حموشي؟", "002_", "روبير غرينواي"),
    ("من هو سفير الولايات المتحدة لدى المغرب؟", "002_", "دافيد فيشر"),
]
DESALINATION = {
    "id": "wire-desalination",
    "title": "افتتاح محطة تحلية مياه البحر في الداخلة",
    "text": "افتتحت السلطات المغربية محطة جديدة لتحلية مياه البحر في مدينة الداخلة بطاقة ثلاثين ألف متر مكعب يوميا. "
    "وتهدف المحطة إلى تأمين مياه الشرب وري الأراضي الفلاحية في المنطقة.",
    "date": "6 ديسمبر 2026",
    "source": "Test Wire",
}
DESALINATION_QUESTION = "ما هي طاقة محطة تحلية مياه البحر في الداخلة؟"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def files_on_disk(folder: Path) -> dict[str, str]:
    """Every file under `folder` and the SHA-256 of its bytes: two calls compare equal only when
    nothing was written, added or removed."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


class Server:
    """The running server: its URL, index folder, users and their keys."""

    def __init__(self, url: str, index_dir: Path, keys: dict[str, str]) -> None:
        self.url = url
        self.index_dir = index_dir
        self.keys = keys

    def call(
        self, method: str, path: str, body: Any = None, *, key: str | None = None, data: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON body, headers) of one request to the API."""
        headers = {}
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read()), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read()), dict(exc.headers)

    def ask(self, question: str, key: str | None = None) -> tuple[int, dict[str, Any]]:
        status, body, _ = self.call("POST", "/api/v1/ask", {"question": question}, key=key)
        return status, body


def multipart(files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = "qa-test-boundary-7d1f"
    parts = []
    for name, content in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seeds_index) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("server")
    index_dir = root / "index"
    shutil.copytree(seeds_index.index_dir, index_dir)
    users = root / "editors.json"
    keys = {name: add_user(users, name, PASSWORD, role=role) for name, role in [("amina", "editor"), ("rami", "reader"), ("sara", "reader")]}
    port = _free_port()
    log = root / "server.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "qa", "serve", "--index-dir", str(index_dir), "--editors", str(users)]
    command += ["--port", str(port), "--asks-per-minute", str(ASKS_PER_MINUTE)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/api/v1/stats", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        started = log.read_text()
        assert "Serving" not in started  # on 127.0.0.1 there is no "who can do what" line to print
        yield Server(url, index_dir, keys)
    finally:
        stop_server(proc)


def _is_error(body: dict[str, Any], *words: str) -> bool:
    message = body.get("error", "")
    return set(body) == {"error"} and "\n" not in message and all(w in message for w in words)


# ---------------------------------------------------------------------------- refusals


def test_refused_writes_get_their_codes_and_leave_the_index_folder_unchanged(server: Server) -> None:
    before = files_on_disk(server.index_dir)
    articles = {"articles": [DESALINATION]}
    body, kind = multipart({"note.txt": "خبر قصير عن الطقس في الرباط.".encode()})
    refused = [
        (server.call("POST", "/api/v1/documents", articles), 401, "editor's API key"),
        (server.call("POST", "/api/v1/documents", data=body, content_type=kind), 401, "editor's API key"),
        (server.call("POST", "/api/v1/documents", articles, key="qa_not-a-key"), 401, "unknown API key"),
        (server.call("POST", "/api/v1/documents", articles, key=server.keys["rami"]), 403, "rami is a reader"),
        (server.call("DELETE", "/api/v1/documents/000_9744522dcfbc0ba7.txt"), 401, "editor's API key"),
        (server.call("DELETE", "/api/v1/documents/000_9744522dcfbc0ba7.txt", key="qa_not-a-key"), 401, "unknown API key"),
        (server.call("DELETE", "/api/v1/documents/000_9744522dcfbc0ba7.txt", key=server.keys["sara"]), 403, "reader"),
        # an editor's request that is refused whole changes nothing either
        (server.call("DELETE", "/api/v1/documents/no-such-article", key=server.keys["amina"]), 404, "no such document"),
        (server.call("POST", "/api/v1/documents", {"articles": [{"id": "x"}]}, key=server.keys["amina"]), 400, "text"),
        (server.call("POST", "/api/v1/documents", data=b"{not json", content_type="application/json", key=server.keys["amina"]), 400, "not valid JSON"),
        (server.call("POST", "/api/v1/documents", {"articles": [{**DESALINATION, "id": f"a{i}"} for i in range(501)]}, key=server.keys["amina"]), 413, "at most 500"),
        (server.call("POST", "/api/v1/documents", data=multipart({"big.txt": b"a" * (5 * 1024 * 1024 + 1)})[0], content_type=kind, key=server.keys["amina"]), 413, "per file"),
        (server.call("POST", "/api/v1/documents", data=multipart({"virus.exe": b"MZ"})[0], content_type=kind, key=server.keys["amina"]), 400, "unsupported file type"),
    ]
    for (status, answer, headers), expected, words in refused:
        assert status == expected and _is_error(answer, words), (status, answer)
        if status == 401:
            assert headers.get("www-authenticate", headers.get("WWW-Authenticate")) == "Bearer"
    # Gradio's own upload route: refused on the readers' chat, behind the login on the editors'
    for path, expected in [("/gradio_api/upload", 403), ("/editor/gradio_api/upload", 401)]:
        request = urllib.request.Request(server.url + path, data=body, method="POST", headers={"Content-Type": kind})
        with pytest.raises(urllib.error.HTTPError) as refused_upload:
            urllib.request.urlopen(request, timeout=30)
        assert refused_upload.value.code == expected
    assert files_on_disk(server.index_dir) == before
    assert not (server.index_dir / "audit.jsonl").exists()


def test_a_body_over_the_limit_is_refused_before_it_is_read(server: Server) -> None:
    """Only the headers are sent: the 413 comes back before any of the 25 MB would be read."""
    import http.client

    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.putrequest("POST", "/api/v1/documents")
        for name, value in [
            ("Content-Type", "application/json"),
            ("Content-Length", str(25 * 1024 * 1024 + 1)),
            ("Authorization", f"Bearer {server.keys['amina']}"),
        ]:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413 and "limit" in json.loads(response.read())["error"]
    finally:
        connection.close()


def test_bad_questions_get_400_with_one_line(server: Server) -> None:
    assert server.call("POST", "/api/v1/ask", {"question": ""}, key=server.keys["rami"])[0] == 400
    status, body, _ = server.call("POST", "/api/v1/ask", {"question": INITIATIVES, "since": "2017-13-01"}, key=server.keys["rami"])
    assert status == 400 and _is_error(body, "since")
    status, body, _ = server.call("POST", "/api/v1/ask", {"query": INITIATIVES}, key=server.keys["rami"])
    assert status == 400 and _is_error(body)
    mangled = {"question": "ومتى سيتم إطلاقها؟", "previous_question": INITIATIVES, "previous_answer": {"quotes": "x"}}
    status, body, _ = server.call("POST", "/api/v1/ask", mangled, key=server.keys["rami"])
    assert status == 400 and _is_error(body, "previous_answer")


# ---------------------------------------------------------------------------- readers


@pytest.mark.quality
def test_twenty_concurrent_clients_all_get_their_answers(server: Server) -> None:
    results: list[tuple[int, str, dict[str, Any]] | None] = [None] * 20
    barrier = threading.Barrier(20)

    def client(number: int) -> None:
        question = QUESTIONS[number % len(QUESTIONS)][0]
        barrier.wait()
        status, answer = server.ask(question)
        results[number] = (status, question, answer)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    expected = {q: (doc, words) for q, doc, words in QUESTIONS}
    for result in results:
        assert result is not None
        status, question, answer = result
        assert status == 200, answer
        doc, words = expected[question]
        assert answer["question"] == question and not answer["abstained"]
        assert answer["quotes"][0]["doc_id"].startswith(doc)
        assert any(words in q["text"] for q in answer["quotes"])


@pytest.mark.quality
def test_a_burst_past_the_rate_limit_gets_429_while_other_clients_are_served(server: Server) -> None:
    burst = ASKS_PER_MINUTE + 10
    statuses: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(burst)

    def greedy() -> None:
        barrier.wait()
        result = server.call("POST", "/api/v1/ask", {"question": QUESTIONS[2][0]}, key=server.keys["sara"])
        with lock:
            statuses.append(result)

    threads = [threading.Thread(target=greedy) for _ in range(burst)]
    for thread in threads:
        thread.start()
    barrier_done = time.monotonic()
    while not any(s == 429 for s, _, _ in list(statuses)) and time.monotonic() - barrier_done < 60:
        time.sleep(0.05)
    # While sara's burst is being answered and refused, another reader is served, right.
    status, answer = server.ask(QUESTIONS[3][0], key=server.keys["rami"])
    for thread in threads:
        thread.join(timeout=300)
    assert status == 200 and any("روبير غرينواي" in q["text"] for q in answer["quotes"])
    refused = [(b, h) for s, b, h in statuses if s == 429]
    served = [b for s, b, _ in statuses if s == 200]
    assert len(statuses) == burst and len(refused) + len(served) == burst
    assert len(refused) >= 5 and len(served) >= ASKS_PER_MINUTE - 1  # a token or two may refill meanwhile
    assert all(_is_error(b, "too many questions", "sara") and int(h.get("retry-after", h.get("Retry-After"))) >= 1 for b, h in refused)
    assert all("2396" in b["quotes"][0]["text"] for b in served)


def test_search_stats_and_a_source(server: Server) -> None:
    status, body, _ = server.call("GET", "/api/v1/search?q=" + urllib.request.quote("نايثن سايلس") + "&k=2&mode=lexical", key=server.keys["rami"])
    assert status == 200 and len(body["hits"]) == 2
    hit = body["hits"][0]
    status, article, _ = server.call("GET", "/api/v1/documents/" + hit["doc_id"])
    assert status == 200 and article["text"][hit["start"] : hit["end"]] == hit["text"]
    status, stats, _ = server.call("GET", "/api/v1/stats")
    assert status == 200 and stats["documents"] >= 2 and stats["model"]
    status, spec, _ = server.call("GET", "/api/v1/openapi.json")
    assert {"/api/v1/ask", "/api/v1/search", "/api/v1/stats", "/api/v1/documents", "/api/v1/documents/{doc_id}"} <= set(spec["paths"])
    assert set(spec["paths"]["/api/v1/documents"]["post"]["requestBody"]["content"]) == {"application/json", "multipart/form-data"}


# ---------------------------------------------------------------------------- editors


@pytest.mark.quality
def test_an_editor_adds_updates_and_deletes_and_the_audit_log_says_who_and_what(server: Server) -> None:
    amina = server.keys["amina"]
    status, body, _ = server.call("POST", "/api/v1/documents", {"articles": [DESALINATION]}, key=amina)
    assert status == 200 and body["ids"]["added"] == [DESALINATION["id"]] and body["report"]["added"] == 1
    status, answer = server.ask(DESALINATION_QUESTION, key=amina)
    assert status == 200 and "ثلاثين ألف متر مكعب" in answer["quotes"][0]["text"]
    assert answer["citations"][0]["source"] == "Test Wire" and answer["citations"][0]["date"] == "2026-12-06"

    changed = {**DESALINATION, "text": DESALINATION["text"].replace("ثلاثين", "أربعين")}
    status, body, _ = server.call("POST", "/api/v1/documents", {"articles": [changed]}, key=amina)
    assert status == 200 and body["ids"]["updated"] == [DESALINATION["id"]]
    upload, kind = multipart({"weather.md": "# نشرة الطقس\n\nأمطار غزيرة منتظرة على مدينة طنجة يوم الأحد.".encode()})
    status, body, _ = server.call("POST", "/api/v1/documents", data=upload, content_type=kind, key=amina)
    assert status == 200 and body["ids"]["added"] == ["uploads/weather.md"] and body["accepted"] == ["weather.md"]
    status, body, _ = server.call("DELETE", "/api/v1/documents/" + DESALINATION["id"], key=amina)
    assert status == 200 and body["ids"]["deleted"] == [DESALINATION["id"]]
    assert server.call("GET", "/api/v1/documents/" + DESALINATION["id"])[0] == 404

    def content_hash(record: dict[str, Any]) -> str:
        return Article(**{**record, "date": "2026-12-06"}).content_hash

    from qa.faces.cli import main

    result = CliRunner().invoke(main, ["log", "--index-dir", str(server.index_dir), "--json"])
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    mine = [e for e in entries if e["user"] == "amina" and e["via"] == "api"]
    assert [(e["action"], [d["id"] for d in e["documents"]]) for e in mine] == [
        ("add", [DESALINATION["id"]]),
        ("update", [DESALINATION["id"]]),
        ("add", ["uploads/weather.md"]),
        ("delete", [DESALINATION["id"]]),
    ]
    assert mine[0]["documents"][0]["hash"] == content_hash(DESALINATION)
    assert mine[1]["documents"][0]["hash"] == content_hash(changed) == mine[3]["documents"][0]["hash"]
    assert all(e["client"] == "127.0.0.1" and e["time"].endswith("Z") for e in mine)
    text = CliRunner().invoke(main, ["log", "--index-dir", str(server.index_dir), "-n", "1"]).output
    assert "amina (api 127.0.0.1)  delete 1: wire-desalination (" in text


# ---------------------------------------------------------------------------- without editors


def test_without_editors_nobody_can_add_articles(tmp_path: Path, seeds_index) -> None:
    """The app as `qa serve` builds it with no users file, in-process: no upload button and no
    /add_files in the chat, writes refused with 403 whatever the key, the index folder untouched."""
    from fastapi.testclient import TestClient

    from qa.answer.assistant import Assistant
    from qa.faces.auth import Policy
    from qa.faces.server import build_app
    from qa.index import Index
    from qa.retrieve import Retriever

    shutil.copytree(seeds_index.index_dir, tmp_path / "index")
    index = Index.load(tmp_path / "index")
    before = files_on_disk(tmp_path / "index")
    app = build_app(index, Assistant(Retriever(index)), Policy(), examples=[])
    with TestClient(app) as client:
        config = client.get("/config").json()
        assert not [c for c in config["components"] if c.get("props", {}).get("elem_id") == "qa-upload"]
        assert "add_files" not in {d.get("api_name") for d in config["dependencies"]}
        assert "/editor" not in json.dumps(config)
        for key in (None, "qa_anything"):
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            refused = client.post("/api/v1/documents", json={"articles": [DESALINATION]}, headers=headers)
            assert refused.status_code == 403 and "without editors" in refused.json()["error"]
        assert client.delete("/api/v1/documents/000_9744522dcfbc0ba7.txt").status_code == 403
        assert client.get("/editor/").status_code == 404 or "qa-upload" not in client.get("/editor/").text
        assert client.get("/api/v1/stats").json()["documents"] == 2
    assert files_on_disk(tmp_path / "index") == before


def test_with_readers_login_every_call_needs_a_key(tmp_path: Path, seeds_index) -> None:
    from fastapi.testclient import TestClient

    from qa.answer.assistant import Assistant
    from qa.faces.auth import Policy, Users
    from qa.faces.server import build_app
    from qa.retrieve import Retriever

    key = add_user(tmp_path / "users.json", "rami", PASSWORD, role="reader")
    policy = Policy(users=Users.load(tmp_path / "users.json"), readers_login=True)
    app = build_app(seeds_index, Assistant(Retriever(seeds_index)), policy, examples=[])
    with TestClient(app) as client:
        refused = client.get("/api/v1/stats")
        assert refused.status_code == 401 and "API key" in refused.json()["error"]
        assert client.get("/api/v1/stats", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/config").status_code == 401  # the chat asks for Gradio's login
        assert client.post("/login", data={"username": "rami", "password": "wrong password"}).status_code == 400
        assert client.post("/login", data={"username": "rami", "password": PASSWORD}).status_code == 200
        assert client.get("/config").status_code == 200


def test_serving_beyond_this_machine_prints_who_can_do_what(tmp_path: Path, seeds_index, monkeypatch, capsys) -> None:
    """`serve` up to the point where uvicorn would take over: one line on who can do what, printed
    only when the address is reachable from other machines."""
    import uvicorn

    from qa.faces.server import serve

    shutil.copytree(seeds_index.index_dir, tmp_path / "index")
    add_user(tmp_path / "editors.json", "amina", PASSWORD)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *args, **kwargs: None)
    serve(tmp_path / "index", host="0.0.0.0", port=7999, editors=tmp_path / "editors.json")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Serving")]
    assert lines == [
        "Serving on 0.0.0.0:7999, reachable from other machines: anyone can ask, search and read; "
        "1 editor (amina) can add and delete articles with a password or API key; 60 questions a minute per client."
    ]
    serve(tmp_path / "index", host="127.0.0.1", port=7999)
    assert "Serving" not in capsys.readouterr().out
