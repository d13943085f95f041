"""Fixtures live in support.py, beside the helpers tests import from it."""

from support import sink_factory, smtp_catcher, start_node  # noqa: F401


def pytest_sessionfinish(session, exitstatus):
    from support import FORKS, MIGRATED, PLACES

    FORKS.stop()
    MIGRATED.remove()
    PLACES.remove()
