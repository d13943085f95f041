"""Fixtures live in support.py, beside the helpers tests import from it."""

from support import sink_factory, smtp_catcher, start_node  # noqa: F401


def pytest_configure(config):
    from support import use_pooled_actor_keys

    use_pooled_actor_keys()


def pytest_sessionfinish(session, exitstatus):
    from support import AHEAD, FORKS

    FORKS.stop()
    AHEAD.finish()
