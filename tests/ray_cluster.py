"""A real two-node Ray cluster for the tests, alone in network and process namespaces of its own.

`RayCluster.start()` runs, under `unshare --net --pid --fork --mount-proc` (root), a shell that brings
up loopback only (`ip link set lo up`), then `ray start --head` and a second node, `ray start
--address` in a session of its own (`setsid ... --block`), each with its own process and Raylet. Inside
such a namespace the only address is 127.0.0.1, so every Ray address is (outside it, Ray binds to
the machine's interface address); nothing outside can reach the cluster, nor can it reach out.

- Ray's temporary files and the cluster's auth token (`RAY_AUTH_MODE=token`) live in a temporary
  folder that `stop()` removes; object stores are small (`OBJECT_STORE_BYTES` each).
- Drivers run inside the same namespaces (`nsenter`, `RayCluster.run`): a test starts one as a
  subprocess and reads its JSON from stdout.
- `stop()` kills the namespace's first process, and the kernel kills every process in a PID
  namespace with it: only this cluster's processes ever receive a signal, and a test that dies
  leaves nothing behind (`unshare --kill-child`, and a parent-death signal on `unshare` itself).
- The second node can be stopped (`stop_second_node`, from inside, by a driver) to test node loss,
  and started again (`start_second_node`).
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OBJECT_STORE_BYTES = 120 * 2**20
PORT = 6380
ADDRESS = f"127.0.0.1:{PORT}"
HEALTH = {"RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "3"}
"""A lost node is declared dead after about 3 s instead of 15 (Ray's defaults: 3 s x 5)."""
SECOND_NODE = f"ray start --address 127.0.0.1:{PORT} --num-cpus 1 --object-store-memory {OBJECT_STORE_BYTES} --disable-usage-stats --block"

SCRIPT = """
set -e
ip link set lo up
ray start --head --port {port} --num-cpus 1 --object-store-memory {store} --temp-dir {tmp}/ray \
    --include-dashboard false --disable-usage-stats > {tmp}/head.log 2>&1
setsid {second_node} > {tmp}/node.log 2>&1 &
echo $! > {tmp}/second-node.pgid
for i in $(seq 120); do
    if ray status --address 127.0.0.1:{port} 2>/dev/null | grep -q "0.0/2.0 CPU"; then break; fi
    sleep 0.5
done
touch {tmp}/ready
exec sleep infinity
"""


def _die_with_parent() -> None:
    """In the child, before exec: receive SIGTERM when the test process dies (Linux prctl)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class RayCluster:
    """A head and a second node, one CPU and a small object store each, in namespaces of their own."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="qa-ray-"))
        self.process: subprocess.Popen | None = None
        self.namespace_pid: int | None = None

    @property
    def env(self) -> dict[str, str]:
        """What every process of the cluster and its drivers runs with."""
        bin_dir = str(Path(sys.executable).parent)
        return {
            **os.environ,
            **HEALTH,
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(self.tmp / "token"),
            "RAY_ADDRESS": ADDRESS,
            "PYTHONUNBUFFERED": "1",
            "QA_TEST_CLUSTER_TMP": str(self.tmp),
        }

    def start(self, timeout: float = 120) -> RayCluster:
        if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
            raise RuntimeError("the cluster tests need root, unshare and nsenter (util-linux) for a namespace of their own")
        (self.tmp / "token").write_text(secrets.token_hex(32))
        script = SCRIPT.format(port=PORT, store=OBJECT_STORE_BYTES, tmp=self.tmp, second_node=SECOND_NODE)
        self.process = subprocess.Popen(
            ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL", "bash", "-c", script],
            env=self.env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(self.tmp / "unshare.log", "wb"), preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while not (self.tmp / "ready").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                logs = "".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.tmp.glob("*.log")))
                self.stop()
                raise RuntimeError(f"the test cluster did not start:\n{logs}")
            time.sleep(0.2)
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        self.namespace_pid = int(children[0])
        return self

    def run(self, args: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
        """Run `args` inside the cluster's namespaces (a driver), from the repository root."""
        command = ["nsenter", "-t", str(self.namespace_pid), "-n", "-p", "-m", f"--wd={REPO}", "--", *args]
        return subprocess.run(command, env=self.env, timeout=timeout, capture_output=True, text=True, **kwargs)

    def python(self, module: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return self.run([sys.executable, "-m", module, *args], timeout=timeout)

    def stop(self) -> None:
        """Kill the namespace (every process of this cluster and only those) and remove its files."""
        if self.process is not None and self.process.poll() is None:
            if self.namespace_pid:
                try:
                    os.kill(self.namespace_pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def stop_second_node(tmp: Path) -> list[int]:
    """(Inside the namespace) SIGKILL the second node: its `ray start --block` session (Raylet and
    agents) and the workers its Raylet started, which Ray puts in sessions of their own. Returns
    the pids killed."""
    members = _group(int((tmp / "second-node.pgid").read_text()))
    raylets = [pid for pid in members if "raylet" in _cmdline(pid)]
    workers = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(int(p.name)) in raylets]
    for pid in members + workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return members + workers


def start_second_node(tmp: Path, timeout: float = 120) -> None:
    """(Inside the namespace) start the second node again, unless it runs, and wait until the
    cluster counts its CPU."""
    if any("raylet" in _cmdline(pid) for pid in _group(int((tmp / "second-node.pgid").read_text()))):
        return
    with open(tmp / "node.log", "ab") as log:
        node = subprocess.Popen(SECOND_NODE.split(), stdout=log, stderr=log, start_new_session=True)
    (tmp / "second-node.pgid").write_text(str(node.pid))
    deadline = time.monotonic() + timeout
    while "/2.0 CPU" not in subprocess.run(["ray", "status", "--address", ADDRESS], capture_output=True, text=True).stdout:
        if time.monotonic() > deadline:
            raise RuntimeError("the second node did not come back")
        time.sleep(0.5)


def _group(pgid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _pgid(int(p.name)) == pgid]


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _ppid(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def _pgid(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[2]) if fields else None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""
