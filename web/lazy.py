"""Modules imported when first used, so that `iwsn --help` does not load the whole node."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy(name: str) -> ModuleType:
    """`name`, imported on first attribute access (the standard library's LazyLoader).

    Each `iwsn` command needs a few of the node's modules; importing them all up front
    (SQLAlchemy, aiohttp, Alembic, argon2, the templates' Markdown) cost a second or more
    before even `--help` could answer. Only for this project's modules: third-party packages
    such as SQLAlchemy reach into their own half-imported submodules and break when loaded
    this way, so commands import those inside the functions that use them.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
