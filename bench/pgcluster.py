"""A throwaway PostgreSQL cluster for a benchmark: a plant's settings on this machine.

``throwaway_cluster(conf)`` runs ``initdb`` in a fresh temporary directory, includes ``conf``
(``config/postgresql-plant.conf``) from the new cluster's ``postgresql.conf``, starts it on a
free loopback port and yields its URL; on the way out, a normal exit, an exception, Ctrl-C or
SIGTERM, it stops the server and removes the directory. Run as root, the server runs as the
``postgres`` OS user (PostgreSQL refuses to run as root), through ``runuser``.

    with throwaway_cluster(Path("config/postgresql-plant.conf")) as cluster:
        psycopg.connect(cluster.url)
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"


class ClusterError(RuntimeError):
    """The throwaway cluster could not be made or started; the message quotes its log."""


@dataclass(frozen=True, slots=True)
class Cluster:
    url: str
    port: int
    data: Path
    log: Path


def conf_settings(conf: Path) -> dict[str, str]:
    """The ``name = value`` lines of a PostgreSQL configuration file (comments dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in conf.read_text().splitlines())
    pairs = (line.split("=", 1) for line in lines if line)
    return {name.strip(): value.strip().strip("'") for name, value in pairs}


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user() -> list[str]:
    return ["runuser", "-u", OS_USER, "--"] if os.geteuid() == 0 else []


def _run(args: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run([*_as_server_user(), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise ClusterError(f"{what} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the clean-up, as Ctrl-C does


@contextmanager
def throwaway_cluster(
    conf: Path, *, parent: Path | None = None, bin_dir: Path = BIN
) -> Iterator[Cluster]:
    """A running cluster with ``conf``'s settings, stopped and deleted when the block ends."""
    conf = conf.resolve()
    if not conf.is_file():
        raise ClusterError(f"no configuration file {conf}")
    if not (bin_dir / "initdb").exists():
        raise ClusterError(f"no PostgreSQL binaries in {bin_dir}")
    home = Path(tempfile.mkdtemp(prefix="pgcluster-", dir=parent))
    data, log = home / "data", home / "server.log"
    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    started = False
    try:
        if os.geteuid() == 0:
            user = pwd.getpwnam(OS_USER)
            os.chown(home, user.pw_uid, user.pw_gid)
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
              "-E", "UTF8", "--locale", "C.UTF-8"], "initdb")  # fmt: skip
        port = free_port()
        with (data / "postgresql.conf").open("a") as out:
            # the plant's settings first; this machine's connection settings after them win
            out.write(
                f"\ninclude '{conf}'\n"
                f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                f"unix_socket_directories = '{home}'\n"
            )
        started = True  # from here a half-started server is stopped on the way out
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "120",
              "start"], f"starting the cluster in {data} with {conf}", log)  # fmt: skip
        yield Cluster(f"postgresql://postgres@127.0.0.1:{port}/postgres", port, data, log)
    finally:
        try:
            if started:
                # immediate: nothing in a throwaway cluster is worth a shutdown checkpoint
                subprocess.run(
                    [*_as_server_user(), str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                     "immediate", "-w", "stop"], capture_output=True, check=False
                )  # fmt: skip
        finally:
            shutil.rmtree(home, ignore_errors=True)
            signal.signal(signal.SIGTERM, previous)
