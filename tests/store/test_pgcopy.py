"""Arrow tables as binary COPY data: what the server reads back is what the table held."""

from __future__ import annotations

import datetime as dt
import random

import psycopg
import pyarrow as pa
import pytest

from factoryos.store.pgcopy import binary_copy
from tests.pg import PG_URL, pg_unavailable

pytestmark = pytest.mark.skipif(bool(pg_unavailable()), reason=pg_unavailable() or "")

UTC = dt.UTC


def round_trip(table: pa.Table, columns: str) -> list[tuple[object, ...]]:
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f"CREATE TEMP TABLE t (k serial, {columns})")
        names = ", ".join(table.column_names)
        with conn.cursor() as cur, cur.copy(f"COPY t ({names}) FROM STDIN (FORMAT binary)") as c:
            c.write(binary_copy(table))
        return conn.execute(f"SELECT {names} FROM t ORDER BY k").fetchall()


def test_every_type_with_nulls_empty_strings_and_unicode() -> None:
    table = pa.table(
        {
            "s": pa.array(["a", None, "", "héllo ✓", "x" * 300], pa.string()),
            "ts": pa.array([0, 1, None, 10**15, -5], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "i": pa.array([1, None, -3, 2**40, 0], pa.int64()),
            "f": pa.array([1.5, None, -0.0, 1e300, 2.25], pa.float64()),
            "n": pa.nulls(5, pa.string()),
        }
    )
    rows = round_trip(table, "s text, ts timestamptz, i int8, f float8, n text")
    assert rows == [tuple(r.values()) for r in table.to_pylist()]


def test_slices_of_chunked_columns_and_other_timestamp_units() -> None:
    # a batch is a slice of a bigger table: its arrays start at an offset, in several chunks
    words = pa.chunked_array([["skip", "one", None], ["three", "four"]])
    ms = pa.chunked_array([[0, 1_000, 2_000], [3_000, 4_000]], pa.timestamp("ms", tz="UTC"))
    table = pa.table({"s": words, "ts": ms}).slice(1, 3)
    rows = round_trip(table, "s text, ts timestamptz")
    assert rows == [
        ("one", dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)),
        (None, dt.datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC)),
        ("three", dt.datetime(1970, 1, 1, 0, 0, 3, tzinfo=UTC)),
    ]


def test_an_empty_table_and_an_unsupported_type() -> None:
    assert round_trip(pa.table({"s": pa.array([], pa.string())}), "s text") == []
    with pytest.raises(TypeError, match="bool"):
        binary_copy(pa.table({"b": [True]}))


SQL_TYPES = {"s": "text", "i": "int8", "f": "float8", "ts": "timestamptz"}


def random_column(kind: str, n: int, rng: random.Random) -> pa.Array:
    """``n`` values of ``kind``, about a third NULL (none, some or all, as the draw goes)."""
    share = rng.choice([0.0, 0.3, 1.0])
    values: list[object] = []
    for _ in range(n):
        if rng.random() < share:
            values.append(None)
        elif kind == "s":
            values.append("".join(rng.choice("ab✓é ") for _ in range(rng.randrange(0, 12))))
        elif kind == "f":
            values.append(rng.uniform(-1e9, 1e9))
        else:
            values.append(rng.randrange(-(2**50), 2**50))
    arrow = {"s": pa.string(), "i": pa.int64(), "f": pa.float64(), "ts": pa.int64()}[kind]
    array = pa.array(values, arrow)
    return array.cast(pa.timestamp("us", tz="UTC")) if kind == "ts" else array


@pytest.mark.parametrize("seed", range(12))
def test_random_column_orders_round_trip(seed: int) -> None:
    # texts next to texts, fixed-width runs of every length, nullable fixed-width fields
    # between them: every way a row's blocks and texts can follow each other
    rng = random.Random(seed)
    kinds = [rng.choice(list(SQL_TYPES)) for _ in range(rng.randrange(1, 7))]
    n = rng.randrange(1, 40)
    table = pa.table({f"c{i}": random_column(k, n, rng) for i, k in enumerate(kinds)})
    columns = ", ".join(f"c{i} {SQL_TYPES[k]}" for i, k in enumerate(kinds))
    assert round_trip(table, columns) == [tuple(r.values()) for r in table.to_pylist()]
