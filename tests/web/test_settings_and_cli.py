"""Settings validation, and the `iwsn` command run as a process of its own against SQLite:
forked from the tests' fork server (support.IwsnForks) or, where the test is about the
installed program itself, the real `iwsn` binary."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import CommandResult, run_iwsn, run_iwsn_sync

from actors import admins
from federation.db import Database
from web.settings import SettingsError, load

IWSN = Path(sys.executable).parent / "iwsn"
DOMAIN = "127.0.0.1:9"


# --- settings -------------------------------------------------------------------------------


def test_http_without_local_dev_names_both_settings():
    with pytest.raises(SettingsError) as error:
        load({"IWSN_SCHEME": "http", "IWSN_DOMAIN": "iwsn.example.org"})
    assert "IWSN_SCHEME" in str(error.value)
    assert "IWSN_LOCAL_DEV" in str(error.value)


def test_production_requires_a_domain():
    with pytest.raises(SettingsError) as error:
        load({})
    assert "IWSN_DOMAIN" in str(error.value)
    with pytest.raises(SettingsError):
        load({"IWSN_DOMAIN": "   "})


def test_domain_must_be_a_host_name():
    for bad in ("https://iwsn.example.org", "iwsn.example.org/path", "a b", "x@y"):
        with pytest.raises(SettingsError) as error:
            load({"IWSN_DOMAIN": bad})
        assert "IWSN_DOMAIN" in str(error.value), bad


def test_bad_database_url():
    for bad in ("mysql://db/iwsn", "sqlite:///plain-sync.db", "postgresql://u@h/db"):
        with pytest.raises(SettingsError) as error:
            load({"IWSN_DOMAIN": "iwsn.example.org", "IWSN_DATABASE_URL": bad})
        assert "IWSN_DATABASE_URL" in str(error.value), bad


def test_bad_local_dev_and_scheme_and_log_level_values():
    with pytest.raises(SettingsError) as error:
        load({"IWSN_LOCAL_DEV": "maybe"})
    assert "IWSN_LOCAL_DEV" in str(error.value)
    with pytest.raises(SettingsError) as error:
        load({"IWSN_DOMAIN": "iwsn.example.org", "IWSN_SCHEME": "ftp"})
    assert "IWSN_SCHEME" in str(error.value)
    with pytest.raises(SettingsError) as error:
        load({"IWSN_DOMAIN": "iwsn.example.org", "IWSN_LOG_LEVEL": "verbose"})
    assert "IWSN_LOG_LEVEL" in str(error.value)
    for bad in ("often", "0", "-5", "90000"):
        with pytest.raises(SettingsError) as error:
            load({"IWSN_DOMAIN": "iwsn.example.org", "IWSN_POLL_SECONDS": bad})
        assert "IWSN_POLL_SECONDS" in str(error.value), bad
    assert load({"IWSN_DOMAIN": "iwsn.example.org", "IWSN_POLL_SECONDS": "0.5"}).poll_seconds == 0.5
    for bad in ("soon", "0.5", "-5", "4000"):
        with pytest.raises(SettingsError) as error:
            load({"IWSN_DOMAIN": "iwsn.example.org", "IWSN_LEASE_SECONDS": bad})
        assert "IWSN_LEASE_SECONDS" in str(error.value), bad
    leased = load({"IWSN_DOMAIN": "iwsn.example.org", "IWSN_LEASE_SECONDS": "3"})
    assert leased.federation_config().lease_seconds == 3
    with pytest.raises(SettingsError) as error:
        load({"IWSN_DOMAIN": "iwsn.example.org", "IWSN_PLACES_AT_START": "later"})
    assert "IWSN_PLACES_AT_START" in str(error.value)
    assert load({"IWSN_DOMAIN": "iwsn.example.org"}).places_at_start
    off = load({"IWSN_DOMAIN": "iwsn.example.org", "IWSN_PLACES_AT_START": "0"})
    assert not off.places_at_start


def test_good_settings(tmp_path):
    production = load({"IWSN_DOMAIN": "IWSN.example.org", "IWSN_DATA_DIR": str(tmp_path)})
    assert production.scheme == "https"
    assert production.local_dev is False
    assert production.domain == "iwsn.example.org"
    assert production.base_url == "https://iwsn.example.org"
    assert production.database_url == f"sqlite+aiosqlite:///{tmp_path / 'iwsn.sqlite3'}"
    assert production.federation_config().allow_local is False
    dev = load({"IWSN_LOCAL_DEV": "1", "IWSN_SCHEME": "http", "IWSN_DATA_DIR": str(tmp_path)})
    assert dev.base_url == "http://127.0.0.1:8000"
    assert dev.federation_config().allow_local is True


# --- the iwsn command -----------------------------------------------------------------------


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IWSN_")}
    env.update(
        {
            "IWSN_LOCAL_DEV": "1",
            "IWSN_SCHEME": "http",
            "IWSN_DOMAIN": DOMAIN,
            "IWSN_DATA_DIR": str(data_dir),
            "IWSN_LOG_LEVEL": "warning",
        }
    )
    env.update(extra)
    return env


def iwsn(env: dict[str, str], *args: str, stdin: str | None = None) -> CommandResult:
    return run_iwsn_sync(env, *args, stdin=stdin)


def real_iwsn(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `iwsn` program itself, started as a user starts it."""
    return subprocess.run(
        [str(IWSN), *args],
        env=env,
        capture_output=True,
        text=True,
        # A guard against a hung process, not an assertion about speed.
        timeout=300,
        check=False,
    )


def test_cli_bad_configuration_exits_2(tmp_path):
    env = cli_env(tmp_path / "data")
    del env["IWSN_LOCAL_DEV"]
    result = real_iwsn(env, "org", "list")
    assert result.returncode == 2
    assert "configuration error" in result.stderr
    assert "IWSN_LOCAL_DEV" in result.stderr
    assert "Traceback" not in result.stderr
    bad_level = real_iwsn(cli_env(tmp_path / "data", IWSN_LOG_LEVEL="verbose"), "deliveries")
    assert bad_level.returncode == 2
    assert "configuration error" in bad_level.stderr
    assert "Traceback" not in bad_level.stderr


def test_cli_follow_with_a_broken_handle_fails_clearly(tmp_path):
    result = iwsn(cli_env(tmp_path / "data"), "follow", "not-a-handle@")
    assert result.returncode != 0
    assert "not a fediverse handle" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_org_create_and_list(tmp_path):
    env = cli_env(tmp_path / "data")
    bad = iwsn(env, "org", "create", "BAD!")
    assert bad.returncode == 1
    assert "iwsn: Invalid organization handle “BAD!”" in bad.stderr
    assert "Traceback" not in bad.stderr

    created = iwsn(env, "org", "create", "second", "--display-name", "Second Union")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"http://{DOMAIN}/actors/second"

    duplicate = iwsn(env, "org", "create", "second")
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr

    listed = iwsn(env, "org", "list")
    assert listed.returncode == 0, listed.stderr
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [f"@second@{DOMAIN}", "Second Union", f"http://{DOMAIN}/actors/second"] in lines


async def test_cli_admin_create_prints_a_working_setup_link(tmp_path):
    data = tmp_path / "data"
    result = iwsn(cli_env(data), "admin", "create")
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(rf"http://{re.escape(DOMAIN)}/admin/setup/(\S+)", result.stdout.strip())
    assert match, result.stdout
    db = Database(f"sqlite+aiosqlite:///{data / 'iwsn.sqlite3'}")
    try:
        assert await admins.setup_token_valid(db, match.group(1))
        assert not await admins.setup_token_valid(db, match.group(1) + "x")
    finally:
        await db.dispose()


async def test_cli_admin_create_with_password_on_stdin(tmp_path):
    data = tmp_path / "data"
    env = cli_env(data)
    short = iwsn(env, "admin", "create", "--username", "x", "--password-stdin", stdin="short\n")
    assert short.returncode == 1
    assert "at least 12 characters" in short.stderr
    assert "Traceback" not in short.stderr

    good = iwsn(
        env, "admin", "create", "--username", "x", "--password-stdin", stdin="long enough pw\n"
    )
    assert good.returncode == 0, good.stderr
    assert "Admin x created" in good.stdout
    db = Database(f"sqlite+aiosqlite:///{data / 'iwsn.sqlite3'}")
    try:
        assert await admins.count(db) == 1
        assert await admins.authenticate(db, "x", "long enough pw") is not None
    finally:
        await db.dispose()


def test_cli_deliveries_prints_totals(tmp_path):
    result = iwsn(cli_env(tmp_path / "data"), "deliveries")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "due 0\tretrying 0\tdead 0\tdelivered 0"


async def test_cli_follow_of_an_unknown_account_says_what_to_check(start_node, tmp_path):
    target = await start_node("dockers")
    env = cli_env(tmp_path / "follower")

    missing = await run_iwsn(env, "follow", f"@workers@{target.domain}", check=False)
    assert missing.returncode == 1
    assert f"@workers@{target.domain} was not found" in missing.stderr
    assert "iwsn org list" in missing.stderr
    assert "Traceback" not in missing.stderr

    # Nothing listens on port 9 of loopback (discard is not served here).
    down = await run_iwsn(env, "follow", "@dockers@127.0.0.1:9", check=False)
    assert down.returncode == 1
    assert "could not reach its server" in down.stderr
    assert "Traceback" not in down.stderr

    found = await run_iwsn(env, "follow", f"@dockers@{target.domain}")
    assert found.stdout.split("\t")[0] == target.url("/actors/dockers")


def test_the_data_directory_is_private_to_its_user(tmp_path):
    data = tmp_path / "data"
    result = real_iwsn(cli_env(data), "org", "list")
    assert result.returncode == 0, result.stderr
    assert data.stat().st_mode & 0o777 == 0o700
    files = [entry for entry in data.iterdir() if entry.is_file()]
    assert any(entry.suffix == ".sqlite3" for entry in files)
    for entry in files:
        assert entry.stat().st_mode & 0o077 == 0, entry.name

    # A data directory made readable by others (an older node, a careless copy) is closed again.
    data.chmod(0o755)
    (data / "secret_key").chmod(0o644)
    assert real_iwsn(cli_env(data), "org", "list").returncode == 0
    assert data.stat().st_mode & 0o777 == 0o700
    assert (data / "secret_key").stat().st_mode & 0o777 == 0o600


def test_help_answers_without_loading_the_node():
    # Each command loads what it uses; help and argument errors need none of the node's code.
    probe = (
        "import sys\n"
        "from web import cli\n"
        "for argv in (['--help'], ['action', 'create', '--help'], ['alert', 'raise', '--help']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('sqlalchemy.orm', 'aiohttp', 'alembic', 'argon2', 'uvicorn', 'starlette')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "demonstration,strike" in result.stdout  # the choices are still offered
    assert "solidarity_strikes" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
