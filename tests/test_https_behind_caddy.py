"""Two nodes as they run in production: behind Caddy, over HTTPS, without IWSN_LOCAL_DEV.

Caddy (Debian's package) serves a.iwsn.test and b.iwsn.test with certificates from its own
local CA (`tls internal`) on two loopback addresses chosen for this run, port 443. Each node is
a real `iwsn serve` process configured as in production (https, a bare domain, no
development switch) plus two explicit settings: IWSN_CA_FILE trusts Caddy's CA besides the
system's, and IWSN_ALLOWED_PRIVATE_ADDRESSES lets exactly those two addresses through the SSRF
guard. The host names resolve through /etc/hosts, as on a server: each node process (and each
`iwsn` command) runs in a mount namespace of its own where /etc/hosts has the two names added,
so the machine's own file is never touched. The test's HTTP client connects to the same
addresses and checks the same certificates.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import signal
import ssl
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from support import create_database, drop_database, eventually, free_socket

IWSN = str(Path(sys.executable).parent / "iwsn")
NAMES = ("a.iwsn.test", "b.iwsn.test")
PASSWORD = "a long admin password for the TLS test"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def loopback_pair() -> tuple[str, str]:
    # Random addresses in 127/8: port 443 on them is free even while another run of the suite
    # (or another worktree's) has its own Caddy up on the machine.
    base = [127, random.randint(1, 254), random.randint(1, 254), random.randrange(2, 250, 2)]
    first = ".".join(map(str, base))
    second = ".".join(map(str, [*base[:3], base[3] + 1]))
    return first, second


class HostsBackend(httpcore.AsyncNetworkBackend):
    """Connects to the test's addresses for its host names; TLS still checks the names."""

    def __init__(self, hosts: dict[str, str]) -> None:
        self.hosts = hosts
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self.inner.connect_tcp(
            self.hosts[host], port, timeout, local_address, socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class HostsTransport(httpx.AsyncHTTPTransport):
    def __init__(self, hosts: dict[str, str], context: ssl.SSLContext) -> None:
        super().__init__(verify=context)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context, network_backend=HostsBackend(hosts)
        )


@dataclass
class Site:
    name: str
    address: str
    port: int  # the node's own, on 127.0.0.1, behind Caddy
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None

    def url(self, path: str) -> str:
        return f"https://{self.name}{path}"


@dataclass
class Deployment:
    a: Site
    b: Site
    hosts_file: Path
    ca_file: Path

    def client(self) -> httpx.AsyncClient:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        hosts = {self.a.name: self.a.address, self.b.name: self.b.address}
        return httpx.AsyncClient(transport=HostsTransport(hosts, context), timeout=30)

    def command(self, *argv: str) -> list[str]:
        """`argv` run where the two names resolve: its own mount namespace, private /etc/hosts."""
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        return ["unshare", "--mount", "--", "sh", "-c", script, str(self.hosts_file), *argv]

    async def iwsn(
        self, site: Site, *args: str, stdin: str | None = None, check: bool = True
    ) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            *self.command(IWSN, *args),
            env=site.env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else None,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), 120
        )
        result = (process.returncode or 0, out.decode(), err.decode())
        if check:
            assert result[0] == 0, result[2]
        return result


def caddyfile(a: Site, b: Site, storage: Path) -> str:
    sites = "".join(
        f"{site.name} {{\n"
        f"\tbind {site.address}\n"
        "\ttls internal\n"
        f"\treverse_proxy 127.0.0.1:{site.port}\n"
        "}\n"
        for site in (a, b)
    )
    # No admin endpoint, no redirect listener on :80, no change to the machine's trust store:
    # only the two HTTPS sites, on their own addresses.
    return (
        "{\n"
        "\tadmin off\n"
        "\tauto_https disable_redirects\n"
        "\tskip_install_trust\n"
        f"\tstorage file_system {storage}\n"
        "}\n" + sites
    )


def node_env(site: Site, data: Path, ca_file: Path, allowed: str, database: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IWSN_")}
    env.update(
        {
            "IWSN_DOMAIN": site.name,
            "IWSN_DATA_DIR": str(data),
            "IWSN_ORG_NAME": "workers",
            "IWSN_LOG_LEVEL": "warning",
            "IWSN_CA_FILE": str(ca_file),
            "IWSN_ALLOWED_PRIVATE_ADDRESSES": allowed,
            # Caddy connects from 127.0.0.1: only it is believed about visitors' addresses.
            "IWSN_TRUSTED_PROXIES": "127.0.0.1",
        }
    )
    if database:
        env["IWSN_DATABASE_URL"] = database
    site.env = env


async def stop(process: asyncio.subprocess.Process | None) -> None:
    if process is not None and process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    addresses = loopback_pair()
    ports = []
    for _ in NAMES:
        sock = free_socket()
        ports.append(sock.getsockname()[1])
        sock.close()
    a, b = (
        Site(name, addr, port, {}) for name, addr, port in zip(NAMES, addresses, ports, strict=True)
    )

    hosts_file = tmp_path / "hosts"
    own = Path("/etc/hosts").read_text(encoding="utf-8")
    hosts_file.write_text(own + "".join(f"{s.address} {s.name}\n" for s in (a, b)))

    storage = tmp_path / "caddy"
    (tmp_path / "Caddyfile").write_text(caddyfile(a, b, storage))
    caddy_env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    log = (tmp_path / "caddy.log").open("wb")
    caddy = await asyncio.create_subprocess_exec(
        shutil.which("caddy") or "caddy",
        "run",
        "--config",
        str(tmp_path / "Caddyfile"),
        "--adapter",
        "caddyfile",
        env=caddy_env,
        stdout=log,
        stderr=log,
    )
    databases: list[str] = []
    logs = [log]
    try:
        ca_file = storage / "pki" / "authorities" / "local" / "root.crt"

        async def ca_ready() -> bool:
            if caddy.returncode is not None:
                raise AssertionError((tmp_path / "caddy.log").read_text())
            return ca_file.exists() and b"END CERTIFICATE" in ca_file.read_bytes()

        await eventually(ca_ready, timeout=60)
        deployed = Deployment(a, b, hosts_file, ca_file)
        allowed = ",".join(addresses)
        for site in (a, b):
            database = await create_database()
            if database:
                databases.append(database)
            node_env(site, tmp_path / site.name, ca_file, allowed, database)
            logs.append((tmp_path / f"{site.name}.log").open("wb"))
            site.process = await asyncio.create_subprocess_exec(
                *deployed.command(IWSN, "serve", "--host", "127.0.0.1", "--port", str(site.port)),
                env=site.env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=logs[-1],
            )
        async with deployed.client() as http:
            for site in (a, b):

                async def answers(site: Site = site) -> bool:
                    assert site.process is not None and site.process.returncode is None, (
                        tmp_path / f"{site.name}.log"
                    ).read_text()
                    try:
                        response = await http.get(site.url("/.well-known/nodeinfo"))
                    except httpx.TransportError:
                        return False
                    return response.status_code == 200

                await eventually(answers, timeout=60, interval=0.2)
        yield deployed
    finally:
        await stop(a.process)
        await stop(b.process)
        await stop(caddy)
        for file in logs:
            file.close()
        for database in databases:
            await drop_database(database)


async def test_two_nodes_federate_over_https_behind_caddy(deployment: Deployment) -> None:
    a, b = deployment.a, deployment.b
    # Certificates are verified: without the CA setting, Caddy's certificate is refused.
    no_ca = {k: v for k, v in a.env.items() if k != "IWSN_CA_FILE"}
    code, _out, err = await deployment.iwsn(
        Site(a.name, a.address, a.port, no_ca), "follow", f"@workers@{b.name}", check=False
    )
    assert code == 1 and "CERTIFICATE_VERIFY_FAILED" in err, err
    # The SSRF guard is still on for every address the setting does not name.
    code, _out, err = await deployment.iwsn(
        a, "follow", f"https://127.0.0.1:{b.port}/actors/workers", check=False
    )
    assert code == 1 and "not a public address" in err, err

    # Each organization follows the other, through the proxy, signed, over https.
    _, out, _ = await deployment.iwsn(a, "follow", f"@workers@{b.name}", "--org", "workers")
    assert out.startswith(f"https://{b.name}/actors/workers\t")
    await deployment.iwsn(b, "follow", f"@workers@{a.name}", "--org", "workers")
    async with deployment.client() as http:
        for site, other in ((a, b), (b, a)):
            # Public, from outside the proxy: each lists the other once its Accept arrived.
            async def accepted(site: Site = site, other: Site = other) -> bool:
                response = await http.get(
                    site.url("/actors/workers/following?page=1"),
                    headers={"Accept": "application/activity+json"},
                )
                items = response.json().get("orderedItems", [])
                return f"https://{other.name}/actors/workers" in items

            await eventually(accepted, timeout=60, interval=0.2)

    # An action crosses from a to b, an alert from b to a: each receiver verified the
    # signature of a POST made to https://its-name/inbox (unsigned or mis-signed ones get 401).
    title = f"Picket at the port {uuid.uuid4().hex[:8]}"
    await deployment.iwsn(
        a, "action", "create", "--org", "workers", "--title", title, "--kind", "strike",
        "--starts", "2031-05-01T10:00", "--ends", "2031-05-01T13:00",
        "--timezone", "Europe/Lisbon", "--place", "Cais", "--city", "Lisboa",
    )  # fmt: skip
    alert = f"Dockers locked out {uuid.uuid4().hex[:8]}"
    await deployment.iwsn(
        b, "alert", "raise", "--org", "workers", "--title", alert,
        "--text", "Stand with the dockers.", "--country", "PT",
    )  # fmt: skip
    async with deployment.client() as http:

        async def shown(url: str, text: str) -> bool:
            response = await http.get(url)
            return response.status_code == 200 and text in response.text

        await eventually(lambda: shown(b.url("/actions"), title), timeout=60, interval=0.5)
        await eventually(lambda: shown(a.url("/alerts"), alert), timeout=60, interval=0.5)

    # The admin logs in over https: the session cookie is Secure and pages carry HSTS.
    await deployment.iwsn(a, "admin", "create", "--password-stdin", stdin=PASSWORD + "\n")
    async with deployment.client() as http:
        page = await http.get(a.url("/admin/login"))
        assert "max-age=" in page.headers["strict-transport-security"]
        csrf = CSRF.search(page.text)
        assert csrf is not None
        login = await http.post(
            a.url("/admin/login"),
            data={
                "csrf_token": csrf.group(1),
                "username": "admin",
                "password": PASSWORD,
                "next": "/admin",
            },
        )
        assert login.status_code == 303, login.text
        cookies = login.headers.get_list("set-cookie")
        session = [c for c in cookies if c.startswith("iwsn_session=")]
        assert session and all("secure" in c.lower().split("; ") for c in session), cookies
        dashboard = await http.get(a.url("/admin"))
        assert dashboard.status_code == 200
        assert dashboard.url == httpx.URL(a.url("/admin"))

    # The admin's check-up of a node in production finds nothing wrong.
    _, report, _ = await deployment.iwsn(a, "doctor")
    for check in ("settings", "database", "workers", "nodeinfo", "webfinger", "certificate"):
        assert f"ok    {check}: " in report, report
    # The clock is compared with the server a follows, b.
    assert "ok    clock: " in report and f"{b.name}'s" in report, report
