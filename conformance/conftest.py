"""Fixtures for the Java conformance harness.

conformance/ is a plain test directory (no package). Its helper module javapeer.py is made importable by
putting this directory on sys.path here, which works with both the default and --import-mode=importlib
(pyproject.toml uses importlib). Run from the repository root: ``python -m pytest conformance``.

A Java peer that cannot be built (no java/mvn, Maven error) FAILS the tests that need it; it never skips them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import javapeer  # noqa: E402


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (``-n 2``, the README's test command) every conformance test runs on one worker, one after
    the other and first of all: they start JVMs, time failure detection, and share loopback pod addresses and probe
    ports, so they must not overlap each other. The pure-Python tests go to the other worker, module by module (and
    to both once the conformance tests are done)."""
    if config.getoption("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class JavaApart(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "conformance" if nodeid.startswith("conformance/") else nodeid.split("::", 1)[0]

        def _assign_work_unit(self, node) -> None:
            if "conformance" in self.workqueue:  # the longest unit first: it sets the length of the run
                self.workqueue.move_to_end("conformance", last=False)
            super()._assign_work_unit(node)

    return JavaApart(config, log)


def _attempt(action) -> str | None:
    """Runs action; returns the JavaPeerError message instead of raising (pytest.fail outside the except
    block keeps the report free of chained tracebacks)."""
    try:
        action()
    except javapeer.JavaPeerError as e:
        return str(e)
    return None


@pytest.fixture(scope="session")
def java_peer():
    """The javapeer module, with the Java peer built (fails the test if it cannot be)."""
    problem = _attempt(javapeer.build)
    if problem:
        pytest.fail(problem, pytrace=False)
    return javapeer


@pytest.fixture(scope="session")
def java_decoder(java_peer):
    """One long-lived Java decoder JVM for the whole session."""
    decoder = java_peer.Decoder()
    problem = _attempt(decoder.start)
    if problem:
        pytest.fail(problem, pytrace=False)
    yield decoder
    decoder.close()


@pytest.fixture(scope="session")
def java_catalogue(java_peer):
    """The live catalogue (golden vectors serialized by the jar)."""
    result: list = []
    problem = _attempt(lambda: result.extend(java_peer.catalogue()))
    if problem:
        pytest.fail(problem, pytrace=False)
    return result


@pytest.fixture
def make_cluster(java_peer):
    """A factory of conformance/cluster.py clusters (the Java peer built first); every cluster is torn down
    after the test, whatever happened (no orphan processes)."""
    import cluster as cluster_mod

    made: list = []

    def make(config: str, **kwargs):
        c = cluster_mod.Cluster(config, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
