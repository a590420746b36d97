"""A throwaway PostgreSQL server on loopback, for the tests and the benchmark.

`start_postgres()` runs the machine's PostgreSQL binaries (`initdb`, `postgres`; found on
PATH or under /usr/lib/postgresql/<version>/bin): a new cluster in a temporary folder,
listening on a free 127.0.0.1 port only, password (scram) authentication for a generated
superuser, durability switched off (a throwaway cluster need not survive a crash, and the
loads run faster). `initdb` refuses to run as root, so as root the cluster belongs to the
`postgres` user. The server is the postmaster process this module started, and `stop()`
stops that process by its id (a fast shutdown), then removes the folder. Nothing else on the
machine is touched.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

SEARCH_DIRS = ("/usr/lib/postgresql",)  # Debian's layout: /usr/lib/postgresql/<major>/bin
SUPERUSER = "lms"
# the wait for a new server ends when it answers or its process exits; this ceiling only ends a hung one
# (a loaded machine can take minutes to start a cluster, and a port taken meanwhile ends the process at once)
START_TIMEOUT = 600.0
PR_SET_PDEATHSIG = 1


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine, or the server would not start."""


def find_binaries() -> Path | None:
    """The folder holding `initdb` and `postgres`: PATH first, then the newest Debian install."""
    found = shutil.which("initdb")
    if found:
        folder = Path(os.path.realpath(found)).parent
        if (folder / "postgres").exists():
            return folder
        if shutil.which("postgres"):
            return Path(os.path.realpath(shutil.which("postgres"))).parent
    for root in SEARCH_DIRS:
        versions = sorted(Path(root).glob("*/bin/initdb"), key=lambda p: _major(p.parent.parent.name), reverse=True)
        for initdb in versions:
            if (initdb.parent / "postgres").exists():
                return initdb.parent
    return None


def _major(name: str) -> int:
    return int(name) if name.isdigit() else -1


@dataclass
class Server:
    """A running throwaway server: where it listens, who may log in, and how to stop it."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    data_dir: Path
    pid: int
    _process: subprocess.Popen | None = field(default=None, repr=False)

    def dsn(self, database: str = "postgres") -> str:
        """A libpq URL (what dlt's `credentials` and psycopg2 take) for one database."""
        return f"postgresql://{quote(self.user)}:{quote(self.password, safe='')}@{self.host}:{self.port}/{quote(database)}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg2

        con = psycopg2.connect(self.dsn(database))
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(sql)
        finally:
            con.close()

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its name."""
        name = name or f"db_{secrets.token_hex(6)}"
        self.execute(f'create database "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f'drop database if exists "{name}" with (force)')

    def stop(self) -> None:
        """Fast shutdown of this server's postmaster (SIGINT to its pid), then remove its folder."""
        self._halt()
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def _halt(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.kill(self.pid, signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGQUIT)  # immediate shutdown
                self._process.wait(timeout=30)
        self._process = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_owner(owner: pwd.struct_passwd | None) -> dict:
    """subprocess arguments that run a command as the cluster's owner (when we are root)."""
    if owner is None:
        return {}
    return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": [], "env": {**_base_env(), "HOME": owner.pw_dir}}


def _base_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


def _die_with_parent() -> None:
    """In the postmaster: if the process that started it dies (a killed test run), shut down at once."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGQUIT)
    except OSError:
        pass


def start_postgres(owner_name: str = "postgres", bin_dir: Path | None = None) -> Server:
    """Create and start a throwaway cluster; raises PostgresUnavailable if it cannot.

    Running as root, the cluster belongs to `owner_name` (initdb refuses root) and lives in a
    folder under the system's temporary directory that user can reach; otherwise it is ours.
    """
    bin_dir = bin_dir or find_binaries()
    if bin_dir is None:
        raise PostgresUnavailable(
            "no PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/<version>/bin"
        )
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(owner_name)
        except KeyError:
            raise PostgresUnavailable(f"running as root, and there is no {owner_name!r} user to own the cluster") from None
    root = Path(tempfile.mkdtemp(prefix="lms-postgres-"))
    data_dir = root / "data"
    password = secrets.token_urlsafe(18)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    os.chmod(pwfile, 0o600)
    try:
        init = subprocess.run(
            [
                str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
            ],
            capture_output=True, text=True, timeout=120, **({"env": _base_env()} | _as_owner(owner)),
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {(init.stderr or init.stdout).strip()[-500:]}")
    last_error = ""
    for _attempt in range(3):  # another process may take the free port between the check and the bind
        port = _free_port()
        log = open(root / "server.log", "ab")
        process = subprocess.Popen(
            [
                str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=40", "-c", "shared_buffers=64MB", "-c", "TimeZone=UTC",
            ],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent, **({"env": _base_env()} | _as_owner(owner)),
        )
        log.close()
        server = Server("127.0.0.1", port, SUPERUSER, password, data_dir, process.pid, process)
        if _wait_ready(server, process):
            return server
        server._halt()
        last_error = (root / "server.log").read_text(errors="replace").strip()[-500:]
    shutil.rmtree(root, ignore_errors=True)
    raise PostgresUnavailable(f"the PostgreSQL server did not start: {last_error}")


def _wait_ready(server: Server, process: subprocess.Popen) -> bool:
    import psycopg2

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            psycopg2.connect(server.dsn(), connect_timeout=2).close()
            return True
        except psycopg2.OperationalError:
            time.sleep(0.1)
    return False
