"""The plant's PostgreSQL settings (config/postgresql-plant.conf) and the benchmark's throwaway
cluster that runs them: a real PostgreSQL 15 accepts every line, and the cluster leaves nothing
behind, whatever ends its block."""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import nullcontext
from pathlib import Path

import psycopg
import pytest
from bench.pgcluster import BIN, ClusterError, conf_settings, throwaway_cluster

CONF = Path(__file__).resolve().parents[2] / "config" / "postgresql-plant.conf"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not (BIN / "initdb").exists(), reason=f"no PostgreSQL 15 in {BIN}"),
]


def leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("pgcluster-*")}


def test_the_plant_settings_are_accepted_and_in_effect() -> None:
    settings = conf_settings(CONF)
    assert {"shared_buffers", "max_wal_size", "synchronous_commit"} <= settings.keys()
    with throwaway_cluster(CONF) as cluster, psycopg.connect(cluster.url) as conn:
        errors = conn.execute(
            "SELECT name, error FROM pg_file_settings WHERE error IS NOT NULL"
        ).fetchall()
        assert errors == []
        for name, value in settings.items():
            shown, source = conn.execute(
                "SELECT current_setting(name), sourcefile FROM pg_settings WHERE name = %s",
                (name,),
            ).fetchone() or (None, None)
            assert (name, shown, source) == (name, value, str(CONF))


@pytest.mark.parametrize("ending", ["normal", "error", "interrupt"])
def test_the_cluster_is_stopped_and_removed(ending: str) -> None:
    before = leftovers()
    raises = pytest.raises((ValueError, KeyboardInterrupt))
    with raises if ending != "normal" else nullcontext(), throwaway_cluster(CONF) as cluster:
        home = cluster.data.parent
        assert home.name in leftovers() - before
        psycopg.connect(cluster.url).close()
        if ending == "error":
            raise ValueError("the benchmark failed")
        if ending == "interrupt":
            raise KeyboardInterrupt
    assert not home.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url, connect_timeout=2)


def test_a_setting_postgresql_refuses_is_a_clear_error_and_leaves_nothing() -> None:
    fd, name = tempfile.mkstemp(suffix=".conf")
    bad = Path(name)
    try:
        os.write(fd, b"shared_bufers = 1GB\n")
        os.close(fd)
        bad.chmod(0o644)  # the server's OS user reads it
        before = leftovers()
        with pytest.raises(ClusterError, match=re.escape("shared_bufers")), throwaway_cluster(bad):
            pass
        assert leftovers() - before == set()
    finally:
        bad.unlink()
