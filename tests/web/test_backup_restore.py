"""`iwsn backup` of a running node, and `iwsn restore` of it into a new database and data dir."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

from support import create_database, drop_database, run_iwsn

from actors import admins

PASSWORD = "a long password to back up"


def contents(backup: Path) -> dict[str, bytes]:
    """Every member but the manifest (which carries the time it was made)."""
    with tarfile.open(backup, "r:gz") as archive:
        return {
            member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile() and member.name != "manifest.json"
        }


async def test_a_restored_node_is_the_node_that_was_backed_up(start_node, tmp_path):
    node = await start_node("alpha")
    await admins.create_admin(node.db, "admin", PASSWORD)
    action = await run_iwsn(
        node.env, "action", "create", "--title", "Backed-up picket", "--kind", "strike",
        "--starts", "2031-05-01T10:00", "--ends", "2031-05-01T13:00",
        "--timezone", "Europe/Lisbon", "--place", "Cais", "--city", "Lisboa",
    )  # fmt: skip
    # Made while the node runs, as a nightly backup would be.
    saved = tmp_path / "alpha.tar.gz"
    made = await run_iwsn(node.env, "backup", str(saved))
    assert "Backed up" in made.stderr
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600  # it holds the keys
    original = contents(saved)
    assert "data/secret_key" in original
    assert b"BEGIN PRIVATE KEY" in original["database/local_actors.jsonl"]

    # A new server: same domain, empty data directory, new empty database.
    new_env = {**node.env, "IWSN_DATA_DIR": str(tmp_path / "new-server")}
    new_database = await create_database()
    if new_database:
        new_env["IWSN_DATABASE_URL"] = new_database
    else:
        new_env.pop("IWSN_DATABASE_URL", None)
    try:
        restored = await run_iwsn(new_env, "restore", str(saved))
        assert "Restored" in restored.stderr
        listed = await run_iwsn(new_env, "action", "list")
        assert action.stdout.strip() in listed.stdout
        orgs = await run_iwsn(new_env, "org", "list")
        assert orgs.stdout == (await run_iwsn(node.env, "org", "list")).stdout
        # Row for row and file for file the same node: keys, admin, session secret, all.
        again = tmp_path / "again.tar.gz"
        await run_iwsn(new_env, "backup", str(again))
        assert contents(again) == original

        # Restore never overwrites a node: a database in use is refused.
        refused = await run_iwsn(new_env, "restore", str(saved), check=False)
        assert refused.returncode == 1 and "not empty" in refused.stderr
    finally:
        if new_database:
            await drop_database(new_database)


async def test_restore_refuses_another_domain_and_a_file_that_is_no_backup(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IWSN_")}
    env.update(IWSN_DOMAIN="other.example.org", IWSN_DATA_DIR=str(tmp_path / "data"))
    # What is refused here is the domain: no place table to fill, back up and restore.
    env["IWSN_PLACES_AT_START"] = "0"
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("shopping list")
    result = await run_iwsn(env, "restore", str(not_a_backup), check=False)
    assert result.returncode == 1 and "not a readable iwsn backup" in result.stderr

    source = {**env, "IWSN_DOMAIN": "iwsn.example.org", "IWSN_DATA_DIR": str(tmp_path / "src")}
    await run_iwsn(source, "setup")
    saved = tmp_path / "src.tar.gz"
    await run_iwsn(source, "backup", str(saved))
    result = await run_iwsn(env, "restore", str(saved), check=False)
    assert result.returncode == 1 and "keeps its domain" in result.stderr
    assert Path(saved).exists()
