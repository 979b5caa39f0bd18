"""Who may do what on the server, and how much: the users file, passwords, API keys, roles, limits.

Security lives here, where requests enter, in one place: the REST routes (`qa.faces.server`) and the
chat's login ask this module who the caller is and whether they may go on; the library below trusts
its caller. Two roles, as Elasticsearch's and Open WebUI's servers separate them:

- a **reader** asks, searches, sees the statistics and opens sources (anonymous unless the server
  runs with `--readers-login`);
- an **editor** also adds, updates and deletes articles.

The users file (`qa user add NAME --editors FILE`) is JSON and holds no secret in plain text:

    {"format": "qa-users/1", "users": {"amina": {"role": "editor",
      "password": "scrypt$16384$8$1$<salt>$<hash>", "key_sha256": "<hex>", "key_hint": "qa_Xy12", ...}}}

Passwords are salted and stretched with scrypt (`hashlib.scrypt`, 16 MiB and about 40 ms per check,
so a stolen file is slow to attack); API keys are 256 random bits (`secrets`), so one SHA-256 of the
key is enough to store and look it up without keeping the key. Checks compare in constant time.

Limits per client (`RateLimiter`, a token bucket: `asks_per_minute`, a burst as large) and a bounded
queue (`AskQueue`: `workers` questions at once, `waiting` more at most) answer a burst with 429
instead of a hung server; body and file sizes are capped (`Limits`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from qa.errors import InputError

__all__ = [
    "ROLES",
    "AskQueue",
    "Busy",
    "Limits",
    "Policy",
    "RateLimiter",
    "User",
    "Users",
    "add_user",
    "hash_password",
    "key_digest",
    "new_api_key",
    "verify_password",
]

ROLES = ("reader", "editor")
FORMAT = "qa-users/1"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD = 8
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
"""OWASP's minimum for scrypt (N=2^14, r=8, p=1): 16 MiB and about 40 ms per check on one core."""
KEY_PREFIX = "qa_"
LOGIN_FAILURES = 5
"""Wrong passwords per user per minute before that user's logins are refused for the minute."""

T = TypeVar("T")


# ---------------------------------------------------------------------------- secrets


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash`: the password salted (16 random bytes) and stretched with scrypt."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` is the one `encoded` (from `hash_password`) was made from; constant time."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected), maxmem=2**26
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_api_key() -> str:
    """A new API key: `qa_` and 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """What the users file stores of a key: its SHA-256 (a 256-bit random key needs no stretching)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- users


@dataclass(frozen=True)
class User:
    """A user of the users file: a name and a role ("reader" or "editor")."""

    name: str
    role: str

    @property
    def editor(self) -> bool:
        return self.role == "editor"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such users file; create it with `qa user add NAME --editors {path}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a users file ({exc}); create one with `qa user add NAME --editors FILE`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("users"), dict):
        raise InputError(f"{path}: not a users file (expected \"format\": \"{FORMAT}\"); create one with `qa user add`")
    for name, entry in data["users"].items():
        if not isinstance(entry, dict) or entry.get("role") not in ROLES:
            raise InputError(f"{path}: user {name!r} has no role; give it one of {', '.join(ROLES)} with `qa user add`")
        if "password" in entry and not str(entry["password"]).startswith("scrypt$"):
            raise InputError(f"{path}: user {name!r} has a password that is not a scrypt hash; set it again with `qa user add`")
        if "key" in entry:
            raise InputError(f"{path}: user {name!r} has an API key in plain text; remove it and run `qa user add` again")
    return data


@functools.cache
def _decoy() -> str:
    return hash_password(secrets.token_urlsafe(16))


class Users:
    """The users file, read once when the server starts.

    Example:
        >>> users = Users.load("editors.json")            # doctest: +SKIP
        >>> users.login("amina", "correct horse")          # doctest: +SKIP
        User(name='amina', role='editor')
    """

    def __init__(self, path: Path, entries: dict[str, dict[str, Any]]) -> None:
        self.path = path
        self._entries = entries
        self._by_key = {e["key_sha256"]: name for name, e in entries.items() if e.get("key_sha256")}
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | os.PathLike) -> Users:
        """Read and check the users file.

        Raises:
            InputError: the file is missing or malformed, or holds a secret in plain text.
        """
        path = Path(path)
        return cls(path, _read_file(path)["users"])

    def __len__(self) -> int:
        return len(self._entries)

    def names(self, role: str | None = None) -> list[str]:
        """User names, sorted; only those of `role` when given."""
        return sorted(n for n, e in self._entries.items() if role is None or e["role"] == role)

    def user(self, name: str) -> User | None:
        entry = self._entries.get(name)
        return User(name, entry["role"]) if entry else None

    def by_key(self, key: str) -> User | None:
        """The user whose API key this is, else None."""
        name = self._by_key.get(key_digest(key))
        return self.user(name) if name else None

    def login(self, name: str, password: str) -> User | None:
        """The user, if `password` is theirs; None otherwise, and for the rest of the minute once a
        name has had `LOGIN_FAILURES` wrong passwords in it (a brake on guessing)."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if now - t < 60]
            self._failures[name] = recent
            if len(recent) >= LOGIN_FAILURES:
                return None
        entry = self._entries.get(name)
        if entry and entry.get("password") and verify_password(password, entry["password"]):
            return User(name, entry["role"])
        if not entry:  # spend the same time on an unknown name as on a wrong password
            verify_password(password, _decoy())
        with self._lock:
            self._failures.setdefault(name, []).append(now)
        return None


def add_user(path: str | os.PathLike, name: str, password: str, role: str = "editor") -> str:
    """Create or update `name` in the users file at `path` (created if absent) with a new password
    and a new API key; return the key, which is stored only as its SHA-256.

    The file is replaced atomically and readable by its owner only (mode 0600).

    Raises:
        InputError: a bad name, role or password, or a file that is not a users file.
    """
    path = Path(path)
    if not NAME.fullmatch(name or ""):
        raise InputError(f"user name {name!r} is not allowed; use 1-64 letters, digits, '.', '_', '-' or '@'")
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password has {len(password)} characters; use at least {MIN_PASSWORD}")
    data = _read_file(path) if path.exists() else {"format": FORMAT, "users": {}}
    key = new_api_key()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    old = data["users"].get(name, {})
    data["users"][name] = {
        "role": role,
        "password": hash_password(password),
        "key_sha256": key_digest(key),
        "key_hint": key[:7],
        "created_at": old.get("created_at", now),
        "updated_at": now,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
            out.write("\n")
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return key


# ---------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """How much one client may ask and send.

    Attributes:
        asks_per_minute: Questions and searches per client per minute (a client is an API key's
            user, else an address); a burst of as many is allowed, then one every 60/N seconds.
        workers: Questions answered at once by the REST API (more only queue behind the CPU).
        waiting: Questions that may wait for a worker; beyond them, 429.
        max_body_bytes: Largest request body of the REST API.
        max_file_bytes: Largest file (multipart part) in an upload.
        max_files: Files per upload.
        max_articles: Articles per write; at most one commit, so a failed write changes nothing.
    """

    asks_per_minute: int = 60
    workers: int = 4
    waiting: int = 64
    max_body_bytes: int = 25 * 1024 * 1024
    max_file_bytes: int = 5 * 1024 * 1024
    max_files: int = 20
    max_articles: int = 500

    def __post_init__(self) -> None:
        for name in ("asks_per_minute", "workers", "max_body_bytes", "max_file_bytes", "max_files", "max_articles"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.waiting < 0:
            raise InputError(f"waiting must be 0 or more, got {self.waiting}")


class RateLimiter:
    """A token bucket per client: `per_minute` tokens, refilled continuously; thread-safe."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Spend one token of `client`: 0.0 when allowed, else the seconds until one is free."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > 10_000:  # forget clients whose buckets are full again
                full = self.capacity / self.rate
                self._buckets = {c: (t, w) for c, (t, w) in self._buckets.items() if now - w < full}
            return (1.0 - tokens) / self.rate


class Busy(Exception):
    """The ask queue is full."""


class AskQueue:
    """At most `workers` questions run at once (in threads), at most `waiting` more wait; beyond
    that `run` raises `Busy` at once rather than letting requests pile up. Used from one event loop."""

    def __init__(self, workers: int, waiting: int) -> None:
        self.workers = workers
        self.waiting = waiting
        self.inflight = 0
        self._limiter: Any = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        import anyio.to_thread

        if self.inflight >= self.workers + self.waiting:
            raise Busy(f"{self.inflight} questions are being answered or waiting")
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.workers)
        self.inflight += 1
        try:
            return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=self._limiter)
        finally:
            self.inflight -= 1


# ---------------------------------------------------------------------------- the policy


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


@dataclass
class Policy:
    """What the server allows: its users (None: started without `--editors`), whether readers
    must log in, and the limits."""

    users: Users | None = None
    readers_login: bool = False
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.readers_login and self.users is None:
            raise InputError("--readers-login needs --editors FILE: the users who may log in")

    @property
    def editors(self) -> list[str]:
        return self.users.names("editor") if self.users else []

    def may_log_in(self, name: str, password: str) -> bool:
        """Whether `name` may log in to the readers' chat (with `--readers-login`): any user of the file."""
        return self.users is not None and self.users.login(name, password) is not None

    def editor_may_log_in(self, name: str, password: str) -> bool:
        """Whether `name` may log in to the editors' chat: editors only."""
        user = self.users.login(name, password) if self.users else None
        return user is not None and user.editor

    async def login(self, name: str, password: str) -> bool:
        """Gradio's `auth` for the readers' chat: `may_log_in` in a worker thread, so a flood of
        logins (40 ms of scrypt each) never stalls the event loop that serves everyone else."""
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.may_log_in, name, password)

    async def editor_login(self, name: str, password: str) -> bool:
        """Gradio's `auth` for the editors' chat: `editor_may_log_in` in a worker thread."""
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.editor_may_log_in, name, password)

    def is_editor(self, name: str | None) -> bool:
        """Whether `name` (a logged-in chat user) is an editor of the file; checked again on each write."""
        user = self.users.user(name) if self.users and name else None
        return user is not None and user.editor

    def who_can_do_what(self, where: str) -> str:
        """The line printed at start when the server is reachable from beyond this machine."""
        if self.readers_login:
            readers = f"only the {len(self.users or [])} users of {self.users.path} can ask, search and read (login or API key)"
        else:
            readers = "anyone can ask, search and read"
        editors = self.editors
        if editors:
            writers = f"{len(editors)} editor{'s' if len(editors) > 1 else ''} ({', '.join(editors)}) can add and delete articles with a password or API key"
        else:
            writers = "nobody can add or delete articles (no editors; start with --editors FILE)"
        limit = f"{self.limits.asks_per_minute} questions a minute per client"
        return f"Serving {where}: {readers}; {writers}; {limit}."
