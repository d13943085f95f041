"""What a node needs before it can serve: its instance actor, a first organization, an admin."""

from __future__ import annotations

from dataclasses import dataclass

from actors import (
    admins,
    alert_relaying,
    announces,
    network_counts,
    participation,
    remote_events,
    remote_reports,
    remote_submissions,
)
from actors.mail.queue import MailQueue
from actors.organizations import all_organizations, create_organization
from federation import follows
from federation.handlers import HandlerRegistry
from federation.node import Federation


def register_handlers(registry: HandlerRegistry, *, mail: MailQueue | None = None) -> None:
    """Everything the domain does with incoming activities is wired here; `mail` is how a
    handler tells people (the moderators of a plan sent from the fediverse)."""
    follows.register(registry)
    remote_events.register(registry)
    remote_submissions.register(registry, mail=mail)
    remote_reports.register(registry)
    alert_relaying.register(registry)
    announces.register(registry)
    participation.register(registry)
    network_counts.register(registry)


@dataclass(frozen=True)
class BootstrapResult:
    created_organization: str | None
    setup_token: str | None


async def bootstrap(federation: Federation, org_name: str) -> BootstrapResult:
    await federation.ensure_instance_actor()
    created = None
    async with federation.db.read() as session:
        has_organization = bool(await all_organizations(session))
    if not has_organization:
        await create_organization(federation, org_name)
        created = org_name
    token = None
    if await admins.count(federation.db) == 0:
        token = await admins.issue_setup_token(federation.db)
    return BootstrapResult(created, token)
