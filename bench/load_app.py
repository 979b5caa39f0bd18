"""Load test of the server: concurrent clients of the chat's `/ask` (`gradio_client`) and of the
REST API's `POST /api/v1/ask` (plain HTTP), each client asking its own question.

Not a unit test: run it by hand and read the figures.

    python bench/load_app.py                      # starts `qa serve` on a fresh seeds index, 20 clients per API
    python bench/load_app.py --url http://127.0.0.1:7860/ --rounds 3 --api rest

Every client asks a different question (Arabic and English, about the seeds or about topics they do
not cover) and checks the JSON: an answer must quote the expected article and contain the expected
words; a question about an absent topic must be abstained. The chat's clients go first, then the REST
API's, never both at once. The server it starts has no rate limit to speak of (the limiter would
refuse 20 clients from one address by design); a `--url` server keeps its own.
Prints one JSON object, {"chat": {...}, "rest": {...}}, each with clients, requests, errors, wrong,
p50_ms, p95_ms, max_ms, wall_s, rps. Exits 1 if any request failed or any answer was wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    """A question and what a correct answer looks like (doc id prefixes; words in a quote), or an
    expected abstention when `docs` is empty."""

    question: str
    docs: tuple[str, ...] = ()
    words: str = ""


TERRORISM = "000_"  # seeds/000_...: Bourita, Sales, the three initiatives, resolution 2396
HAMMOUCHI = "002_"  # seeds/002_...: Hammouchi receives Greenway; David Fischer; the Sahel
CASES = [
    Case("ما هي المبادرات الثلاث التي يشرف عليها المغرب في المنتدى العالمي لمكافحة الإرهاب؟", (TERRORISM,), "ثلاث مبادرات"),
    Case("مع من التقى وزير الخارجية المغربي ناصر بوريطة؟", (TERRORISM,), "نايثن سايلس"),
    Case("ما هو قرار مجلس الأمن رقم 2396؟", (TERRORISM,), "2396"),
    Case("متى سيتم إطلاق المبادرة الأخيرة في نيويورك؟", (TERRORISM,), "27 شتنبر"),
    Case("من استقبل المدير العام للأمن الوطني عبد اللطيف حموشي؟", (HAMMOUCHI,), "روبير غرينواي"),
    Case("من هو سفير الولايات المتحدة لدى المغرب؟", (HAMMOUCHI,), "دافيد فيشر"),
    Case("ما هي الدول التي زارها المنسق الأميركي لمكافحة الإرهاب في جولته؟", (TERRORISM,), "الجزائر وتونس"),
    Case("ما هي التهديدات الإرهابية في منطقة الساحل وجنوب الصحراء؟", (HAMMOUCHI,), "الساحل"),
    Case("ماذا قال سايلس عن تنظيم داعش والقاعدة؟", (TERRORISM,), "داعش"),
    Case("ما هو القرار الأمريكي بشأن الصحراء المغربية؟", (HAMMOUCHI,), "الصحراء المغربية"),
    Case("ما هي مجالات التعاون الأمني بين المغرب والولايات المتحدة؟", (TERRORISM, HAMMOUCHI), "التعاون"),
    Case("أين التقى بوريطة والمنسق الأميركي؟", (TERRORISM,), "الرباط"),
    Case("ما هي عاصمة اليابان؟"),
    Case("كم عدد سكان البرازيل؟"),
    Case("من فاز بكأس العالم لكرة القدم 2018؟"),
    Case("How do Morocco and the United States cooperate against terrorism?", (TERRORISM,), "مكافحة الإرهاب"),
    Case("What is the Moroccan American partnership in counterterrorism?", (TERRORISM,), "لمكافحة الإرهاب"),  # the headline (بمكافحة) is never quoted
    Case("What is the capital of Japan?"),
    Case("Who won the 2018 FIFA World Cup?"),
    Case("What is the recipe for chocolate cake?"),
]


def check(case: Case, answer: dict) -> str | None:
    """None if `answer` (the `/ask` JSON) is what `case` expects, else what is wrong."""
    if not case.docs:
        return None if answer.get("abstained") else f"expected an abstention, got {answer.get('quotes', [{}])[0].get('text', '')[:60]!r}"
    if answer.get("abstained") or not answer.get("quotes"):
        return "abstained"
    first = answer["quotes"][0]["doc_id"]
    if not first.startswith(case.docs):
        return f"first quote from {first}, expected {case.docs}"
    if case.words and not any(case.words in q["text"] for q in answer["quotes"]):
        return f"no quote contains {case.words!r}"
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q / 100 * (len(ordered) - 1)
    lo, hi = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def start_app(index_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`qa serve` on a free loopback port (it builds the seeds' index first if absent)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--index-dir", str(index_dir), "--port", str(port), "--asks-per-minute", "1000000"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"app exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"app did not start within 600 s; see {log}")


def rest_ask(url: str, question: str) -> dict:
    """`POST /api/v1/ask`: the answer's JSON, or an exception naming the status and message."""
    body = json.dumps({"question": question}, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url.rstrip("/") + "/api/v1/ask", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"HTTP {exc.code}: {exc.read()[:200]!r}") from None


def run(url: str, clients: int, rounds: int, api: str = "chat") -> dict:
    cases = [CASES[i % len(CASES)] for i in range(clients)]
    if api == "chat":
        from gradio_client import Client

        connected = [Client(url, verbose=False) for _ in cases]  # connecting is not part of the timing
        asks = [lambda question, c=c: c.predict(question, api_name="/ask") for c in connected]
    else:
        asks = [lambda question: rest_ask(url, question) for _ in cases]
    barrier = threading.Barrier(clients)
    latencies: list[float] = []
    errors: list[str] = []
    wrong: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        case, ask = cases[number], asks[number]
        barrier.wait()
        for _ in range(rounds):
            started = time.perf_counter()
            try:
                answer = ask(case.question)
            except Exception as exc:  # every failure is counted and reported, none stops the run
                with lock:
                    errors.append(f"{case.question}: {type(exc).__name__}: {exc}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            problem = check(case, answer)
            with lock:
                latencies.append(elapsed)
                if problem:
                    wrong.append(f"{case.question}: {problem}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    requests = clients * rounds
    return {
        "url": url,
        "api": "POST /api/v1/ask" if api == "rest" else "gradio /ask",
        "clients": clients,
        "rounds": rounds,
        "requests": requests,
        "ok": requests - len(errors) - len(wrong),
        "errors": len(errors),
        "wrong": len(wrong),
        "abstain_cases": sum(1 for c in cases if not c.docs),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "wall_s": round(wall, 2),
        "rps": round(requests / wall, 2) if wall else None,
        "cpus": os.cpu_count(),
        "details": (errors + wrong)[:20],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app; default: start app.py on a fresh seeds index")
    parser.add_argument("--index-dir", type=Path, help="index for the started app (default: a temporary one built from seeds/)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1, help="questions per client, asked one after another")
    parser.add_argument("--api", choices=["chat", "rest", "both"], default="both", help="which door the clients use")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.rounds < 1:
        parser.error("--clients and --rounds must be positive")

    proc = None
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        url = args.url
        if not url:
            proc, url = start_app(args.index_dir or Path(tmp) / "index", Path(tmp) / "app.log")
        try:
            apis = ["chat", "rest"] if args.api == "both" else [args.api]
            report = {api: run(url, args.clients, args.rounds, api) for api in apis}
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0 if all(r["errors"] == 0 and r["wrong"] == 0 for r in report.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
