"""`iwsn action ...` as an organizer types it, against a node's database."""

from __future__ import annotations

from support import run_iwsn

run = run_iwsn


async def test_action_lifecycle_from_the_command_line(start_node):
    node = await start_node("alpha")
    env = node.env
    created = await run(
        env,
        "action",
        "create",
        "--title",
        "May Day march",
        "--kind",
        "demonstration",
        "--starts",
        "2027-05-01T10:00",
        "--ends",
        "2027-05-01T13:00",
        "--timezone",
        "Europe/Lisbon",
        "--place",
        "Praça do Comércio",
        "--city",
        "Lisboa",
        "--country",
        "PT",
        "--lat",
        "38.7077",
        "--lon",
        "-9.1365",
        "--tag",
        "MayDay",
        "--description",
        "Bring *banners*",
    )
    url = created.stdout.strip()
    assert url.startswith(node.url("/actions/")) and "\n" not in url  # the URL alone

    listed = (await run(env, "action", "list")).stdout
    assert "2027-05-01 10:00 Europe/Lisbon" in listed and "May Day march" in listed

    await run(env, "action", "edit", url, "--title", "May Day march (new route)")
    await run(env, "action", "cancel", url)
    listed = (await run(env, "action", "list")).stdout
    assert "CANCELLED" in listed and "new route" in listed

    bad = await run(
        env,
        "action",
        "create",
        "--title",
        "x",
        "--kind",
        "strike",
        "--starts",
        "2027-05-01T10:00",
        "--ends",
        "2027-05-01T09:00",
        "--timezone",
        "Europe/Lisbon",
        "--city",
        "Lisboa",
        "--place",
        "Port",
        check=False,
    )
    assert bad.returncode == 1
    assert "The end must be after the start." in bad.stderr

    wrong_kind = await run(env, "assembly", "cancel", url, check=False)
    assert wrong_kind.returncode == 1 and "no assembly" in wrong_kind.stderr

    await run(env, "action", "delete", url)
    assert "May Day march" not in (await run(env, "action", "list")).stdout
