"""The shared time-to-live cache of API reads (issue 16): `cache_ttl=SECONDS` in connect() and
the URL. Calls are counted by the emulator, so every claim here is about HTTP calls the API
really received.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from sqlalchemy import text
from support.dialect import LOCATION, PROJECT, Demo

import runs_dbapi
from runs_dbapi.cache import SharedCache, _related, identity_fingerprint

# What a dashboard chart sends: the same aggregate over the same dataset.
CHART = ("SELECT experimentsId, labels ->> '$.status' AS status, count(*) AS runs FROM runs "
         "GROUP BY 1, 2 ORDER BY 1, 2")


def total_calls(demo: Demo) -> int:
    return sum(demo.emulator.stats()["calls"].values())


def chart(engine: Any, sql: str = CHART) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


def test_eight_identical_dashboard_queries_make_the_calls_of_one(demo: Demo) -> None:
    uncached = demo.engine()
    demo.emulator.reset_stats()
    expected = chart(uncached)
    one = total_calls(demo)
    assert one >= 7  # tensorboards, experiments, and runs of each of the six experiments

    cached = demo_engine(demo, cache_ttl=60)
    demo.emulator.reset_stats()
    answers = [chart(cached) for _ in range(8)]
    assert total_calls(demo) == one
    assert all(a == expected for a in answers)

    # Eight charts over eight connections of the engine's pool (open at once): one store.
    fresh = demo_engine(demo, cache_ttl=60, pool_size=8, extra="fresh")
    connections = [fresh.connect() for _ in range(8)]
    raw = {id(c.connection.dbapi_connection) for c in connections}
    assert len(raw) == 8
    demo.emulator.reset_stats()
    try:
        results = [[tuple(r) for r in c.execute(text(CHART))] for c in connections]
    finally:
        for connection in connections:
            connection.close()
    assert all(r == expected for r in results)
    assert total_calls(demo) == one


def demo_engine(demo: Demo, *, extra: str = "", **options: Any) -> Any:
    """An engine over the demo with URL options (cache_ttl=... goes in the URL)."""
    from sqlalchemy import create_engine

    pool = {k: options.pop(k) for k in ("pool_size",) if k in options}
    url = demo.url(None, None, **options)
    if extra:  # a distinct quota project would change the answer's key; a fragment does not
        url += f"&cache_max_bytes={64 * 1024 * 1024 + len(extra)}"
    return create_engine(url, **pool)


def test_a_write_in_between_sends_the_next_read_to_the_api(demo: Demo) -> None:
    experiment = demo.new_experiment("cache")
    engine = demo_engine(demo, cache_ttl=60, extra="write")
    sql = f"SELECT runsId, description FROM runs WHERE experimentsId = '{experiment}'"
    with engine.connect() as connection:
        connection.execute(text(f"INSERT INTO runs (tensorboardsId, experimentsId, runsId, "
                                f"displayName) VALUES ('{demo.tensorboard}', '{experiment}', "
                                "'r1', 'one')"))
    assert chart(engine, sql) == [("r1", "")]
    demo.emulator.reset_stats()
    assert chart(engine, sql) == [("r1", "")]
    assert total_calls(demo) == 0  # cached
    with engine.connect() as connection:  # a patch, by the name the API gave (project number)
        connection.execute(text(f"UPDATE runs SET description = 'changed' "
                                f"WHERE experimentsId = '{experiment}' AND runsId = 'r1'"))
    demo.emulator.reset_stats()
    assert chart(engine, sql) == [("r1", "changed")]
    assert demo.calls("runs.list") + demo.calls("runs.get") >= 1
    # A create, then a delete (its operation waited for): each read after it is the API's.
    with engine.connect() as connection:
        connection.execute(text(f"INSERT INTO runs (tensorboardsId, experimentsId, runsId, "
                                f"displayName) VALUES ('{demo.tensorboard}', '{experiment}', "
                                "'r2', 'two')"))
    assert sorted(chart(engine, sql)) == [("r1", "changed"), ("r2", "")]
    with engine.connect() as connection:
        connection.execute(text(f"DELETE FROM runs WHERE experimentsId = '{experiment}' "
                                "AND runsId = 'r1'"))
    assert chart(engine, sql) == [("r2", "")]
    # Another experiment's cached listing is not touched by these writes.
    other = "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue'"
    chart(engine, other)
    with engine.connect() as connection:
        connection.execute(text(f"UPDATE runs SET description = 'again' "
                                f"WHERE experimentsId = '{experiment}' AND runsId = 'r2'"))
    demo.emulator.reset_stats()
    assert chart(engine, other) == [(60,)]
    assert demo.calls("runs.list") == 0


def test_the_key_holds_what_changes_an_answer(demo: Demo) -> None:
    def connect(**options: Any) -> runs_dbapi.Connection:
        return runs_dbapi.connect(project=PROJECT, location=LOCATION, endpoint=demo.emulator.url,
                                  tensorboard=demo.tensorboard, experiment="bert-glue",
                                  cache_ttl=60, **options)

    with connect(anonymous=True) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT runsId FROM runs WHERE labels ->> '$.status' = 'failed'")
        failed = cursor.fetchall()
        demo.emulator.reset_stats()
        # Another filter, another order, a readMask (fewer columns), a page size: each is sent.
        for sql in ("SELECT runsId FROM runs WHERE labels ->> '$.status' = 'succeeded'",
                    "SELECT runsId FROM runs ORDER BY displayName DESC",
                    "SELECT runsId FROM runs WHERE labels ->> '$.status' = 'failed' LIMIT 2"):
            before = demo.calls("runs.list")
            cursor.execute(sql)
            cursor.fetchall()
            assert demo.calls("runs.list") > before, sql
        cursor.execute("SELECT runsId FROM runs WHERE labels ->> '$.status' = 'failed'")
        assert cursor.fetchall() == failed
        stats = conn.cache_stats()
        assert stats is not None and stats.hits >= 1 and stats.misses >= 4
    # Another identity does not see these answers (a token passed by value: its fingerprint).
    demo.emulator.reset_stats()
    with connect(access_token="token-of-someone-else") as conn:
        conn.cursor().execute("SELECT runsId FROM runs WHERE labels ->> '$.status' = 'failed'"
                              ).fetchall()
    assert demo.calls("runs.list") >= 1
    # Nor another quota project.
    demo.emulator.reset_stats()
    with connect(anonymous=True, quota_project="other-billing") as conn:
        conn.cursor().execute("SELECT runsId FROM runs WHERE labels ->> '$.status' = 'failed'"
                              ).fetchall()
    assert demo.calls("runs.list") >= 1


def test_entries_expire(demo: Demo) -> None:
    url_engine = demo_engine(demo, cache_ttl=0.3, extra="expire")
    chart(url_engine)
    demo.emulator.reset_stats()
    chart(url_engine)
    assert total_calls(demo) == 0
    time.sleep(0.35)
    chart(url_engine)
    assert demo.calls("runs.list") >= 6


def test_off_by_default(demo: Demo) -> None:
    with runs_dbapi.connect(project=PROJECT, location=LOCATION, endpoint=demo.emulator.url,
                            anonymous=True) as conn:
        assert conn.cache_stats() is None
        conn.cursor().execute(CHART).fetchall()
        demo.emulator.reset_stats()
        conn.cursor().execute(CHART).fetchall()
        assert demo.calls("runs.list") >= 6


def test_bounded_in_memory() -> None:
    cache = SharedCache(ttl=60, max_bytes=1000)
    page = {"tensorboardRuns": [{"name": "x" * 100}]}
    for i in range(50):
        cache.store(("list", "e", "i", "", f"p/{i}", ()), page)
    stats = cache.stats()
    assert stats.bytes <= 1000 and 0 < stats.entries < 50
    hit, _ = cache.lookup(("list", "e", "i", "", "p/49", ()))  # the newest stays
    assert hit
    hit, _ = cache.lookup(("list", "e", "i", "", "p/0", ()))  # the oldest went first
    assert not hit
    cache.store(("list", "e", "i", "", "huge", ()), {"x": "y" * 2000})  # larger than the bound
    assert cache.stats().bytes <= 1000


def test_answers_are_copies() -> None:
    cache = SharedCache(ttl=60)
    key = ("get", "e", "i", "", "projects/p/locations/l/tensorboards/t", ())
    cache.store(key, {"labels": {"a": "1"}})
    _, first = cache.lookup(key)
    first["labels"]["a"] = "changed by a caller"
    _, second = cache.lookup(key)
    assert second == {"labels": {"a": "1"}}


def test_invalidation_follows_the_written_path() -> None:
    run = "projects/123/locations/l/tensorboards/t/experiments/e/runs/r"
    assert _related("projects/p/locations/l/tensorboards/t/experiments/e/runs", run)
    assert _related("projects/p/locations/l/tensorboards", run)  # runCount of the tensorboard
    assert _related(run + "/timeSeries", run)
    assert not _related("projects/p/locations/l/tensorboards/t/experiments/e2/runs", run)
    assert not _related("projects/p/locations/l2/tensorboards", run)


def test_no_token_in_keys_or_logs(demo: Demo, caplog: pytest.LogCaptureFixture) -> None:
    token = "ya29.secret-token-value"
    assert token not in identity_fingerprint(access_token=token)
    assert identity_fingerprint(access_token=token) != identity_fingerprint(access_token="x")
    caplog.set_level(logging.DEBUG, logger="runs_dbapi.cache")
    with runs_dbapi.connect(project=PROJECT, location=LOCATION, endpoint=demo.emulator.url,
                            access_token=token, cache_ttl=60,
                            credentials_hosts=demo.emulator.url) as conn:
        cursor = conn.cursor()
        for _ in range(2):
            cursor.execute("SELECT displayName FROM tensorboards").fetchall()
        store = conn.client.cache  # type: ignore[attr-defined]
        assert token not in repr(list(store._entries))
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("cache hit: GET ") for m in messages)
    assert any(m.startswith("cache miss: GET ") for m in messages)
    assert not any(token in m for m in messages)


def test_explain_analyze_shows_hits_and_misses(demo: Demo) -> None:
    with runs_dbapi.connect(project=PROJECT, location=LOCATION, endpoint=demo.emulator.url,
                            anonymous=True, cache_ttl=60, cache_max_bytes=12345678) as conn:
        cursor = conn.cursor()
        cursor.execute("EXPLAIN ANALYZE " + CHART)
        first = " ".join(str(v) for row in cursor.fetchall() for v in row)
        cursor.execute("EXPLAIN ANALYZE " + CHART)
        second = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert "cache: 0 hits" in first and "misses" in first, first
    assert "0 HTTP requests" in second and " 0 misses" in second, second
