"""One running node: settings turned into a database, a federation stack and workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from actors import contact, places
from actors.bootstrap import BootstrapResult, bootstrap, register_handlers
from actors.mail import queue as mail_queue
from actors.mail.queue import MailQueue
from actors.mail.worker import MailWorker
from federation import content_version, heartbeats
from federation.content_version import ContentVersion
from federation.db import Database
from federation.delivery import DeliveryWorker
from federation.handlers import HandlerRegistry
from federation.inbox_queue import InboxProcessor
from federation.maintenance import prune
from federation.node import Federation
from web.mail import MailTemplates
from web.settings import Settings

log = logging.getLogger(__name__)


class Node:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(
            settings.database_url,
            content_version=ContentVersion(settings.data_dir / content_version.FILE_NAME),
        )
        self.mail = MailQueue(
            MailTemplates(settings.node_name, settings.base_url),
            sender=settings.mail_from,
            announce=self._mail_queued,
        )
        registry = HandlerRegistry()
        register_handlers(registry, mail=self.mail)
        self.federation = Federation(settings.federation_config(), self.db, registry)
        self.mail_wake = self.federation.wake_event(mail_queue.WAKE_KIND)
        self._stop = asyncio.Event()
        self._worker_tasks: list[asyncio.Task[None]] = []
        self._listening = False
        self._watching_blocks = False

    async def bootstrap(self) -> BootstrapResult:
        return await bootstrap(self.federation, self.settings.org_name)

    async def watch_blocks(self) -> None:
        """Every process that serves or works keeps the block list current: its inbox and its
        outbound client ask it. Loaded before this returns."""
        if self._watching_blocks:
            return
        self._watching_blocks = True
        self._stop.clear()
        await self.federation.blocks.refresh()
        self._listen_for_wakeups()
        watch = self.federation.blocks.watch(
            self._stop, self.federation.blocks_wake, self.settings.poll_seconds
        )
        self._worker_tasks.append(asyncio.create_task(watch, name="blocks"))

    def _mail_queued(self) -> None:
        self.mail_wake.set()
        self.federation.wakeups.after_commit(mail_queue.WAKE_KIND)

    def start_workers(self, count: int = 1) -> None:
        """Delivery workers, the inbox processor, the mail worker and housekeeping: the node's
        background work."""
        self._stop.clear()
        self._worker_tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))
        self._worker_tasks.append(
            asyncio.create_task(heartbeats.keep_beating(self.db, self._stop), name="heartbeat")
        )
        self.start_inbox_processor()
        self.start_mail_worker()
        if self.settings.places_at_start:
            self._worker_tasks.append(
                asyncio.create_task(self._fill_places(), name="places-at-start")
            )
        for index in range(count):
            worker = DeliveryWorker(self.federation, poll_interval=self.settings.poll_seconds)
            task = asyncio.create_task(
                worker.run(self._stop, self.federation.delivery_wake), name=f"delivery-{index}"
            )
            self._worker_tasks.append(task)

    def start_inbox_processor(self) -> None:
        self._stop.clear()
        self._listen_for_wakeups()
        processor = InboxProcessor(self.federation, poll_interval=self.settings.poll_seconds)
        self._worker_tasks.append(
            asyncio.create_task(
                processor.run(self._stop, self.federation.inbox_wake), name="inbox-processor"
            )
        )

    def start_mail_worker(self) -> None:
        """Without an SMTP server set, mail stays queued (and the admin sees it unsent)."""
        if self.settings.smtp is None:
            return
        self._stop.clear()
        self._listen_for_wakeups()
        worker = MailWorker(
            self.db,
            self.settings.smtp,
            sender=self.settings.mail_from,
            lease=timedelta(seconds=self.settings.lease_seconds),
            poll_interval=self.settings.poll_seconds,
        )
        self._worker_tasks.append(
            asyncio.create_task(worker.run(self._stop, self.mail_wake), name="mail")
        )

    def _listen_for_wakeups(self) -> None:
        """Work other processes commit (the CLI, a web process apart) starts ours at once."""
        if self._listening:
            return
        self._listening = True
        self._worker_tasks.append(
            asyncio.create_task(self.federation.wakeups.listen(self._stop), name="wakeups")
        )

    async def _fill_places(self) -> None:
        """So that the first visitor to search "near you" never waits for the place table."""
        try:
            if not await places.is_ready(self.db):
                log.info('filling the place table of "near you" in a process of its own')
                places.load_in_background(self.db)
        except Exception:
            log.exception("could not start filling the place table; the first search will")

    async def _housekeeping(self, every: float = 3600.0) -> None:
        while not self._stop.is_set():
            try:
                pruned = await prune(self.db)
                if pruned.received or pruned.delivered or pruned.dead:
                    log.info("pruned %s", pruned)
                await heartbeats.prune(self.db)
                mails = await mail_queue.prune(self.db)
                messages = await contact.prune(self.db)
                if mails or messages:
                    log.info("pruned %d sent or failed mails, %d contact messages", mails, messages)
            except Exception:
                log.exception("housekeeping failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=every)

    async def stop_workers(self) -> None:
        self._stop.set()
        self.federation.delivery_wake.set()
        self.federation.inbox_wake.set()
        self.federation.blocks_wake.set()
        self.mail_wake.set()
        for task in self._worker_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=30)
        self._worker_tasks.clear()
        self._listening = False
        self._watching_blocks = False

    async def aclose(self) -> None:
        await self.stop_workers()
        await self.federation.aclose()
        await self.db.dispose()
