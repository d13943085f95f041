"""Settings from IWSN_* environment variables: the one place configuration is read."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from actors.mail import addresses
from actors.mail.smtp import SmtpServer
from federation.config import FederationConfig

DOMAIN = re.compile(r"^[a-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9a-f:]+\](:[0-9]{1,5})?$")
LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    domain: str
    scheme: str
    local_dev: bool
    data_dir: Path
    database_url: str
    org_name: str
    secret_key: str
    node_name: str
    log_level: str
    # Wake-ups start the workers when work is committed, in this process or another; the
    # poll finds what they could not announce (retries coming due, a lost wake-up).
    poll_seconds: float = 5.0
    # How soon the deliveries and inbox activities of a process that died go to another; live
    # processes renew their leases every third of this (federation/leases.py).
    lease_seconds: float = 30.0
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto we believe (addresses or
    # networks). None by default: anyone could otherwise claim any address and dodge the
    # login throttle.
    trusted_proxies: tuple[str, ...] = ()
    # Private or loopback addresses other servers may have (IWSN_ALLOWED_PRIVATE_ADDRESSES):
    # only these are let through the SSRF guard, which stays on for everything else.
    allowed_private: tuple[str, ...] = ()
    # Certificate authorities trusted besides the system's (IWSN_CA_FILE); never fewer.
    ca_file: str | None = None
    # Where mail goes out (IWSN_SMTP_URL); without one, mail waits in the queue, unsent.
    smtp: SmtpServer | None = None
    # The From of every mail (IWSN_MAIL_FROM), "Name <address>" or an address.
    mail_from: str = ""
    # Whether the background work fills the place table of "near you" at start, if it is
    # missing (IWSN_PLACES_AT_START); off, the first search does (tests turn it off).
    places_at_start: bool = True
    # The tile server of the map on /near (IWSN_MAP_TILE_URL, "https://host/{z}/{x}/{y}.png")
    # and its credit (IWSN_MAP_ATTRIBUTION). Empty: markers on a plain background, and no
    # request of the page leaves the node.
    map_tile_url: str = ""
    map_attribution: str = ""

    @property
    def map_tile_origin(self) -> str | None:
        """scheme://host[:port] of the tile server: what the Content-Security-Policy lets
        images come from besides the node."""
        if not self.map_tile_url:
            return None
        parts = urlsplit(self.map_tile_url)
        return f"{parts.scheme}://{parts.netloc.lower()}"

    # How long a reverse proxy or browser may reuse an anonymous public page or AS2 document
    # without asking again (IWSN_READ_CACHE_SECONDS, web/read_cache.py). Short: an edit, a
    # cancel or an alert shows everywhere within this time; asking again is cheap (304).
    read_cache_seconds: int = 10

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    def federation_config(self) -> FederationConfig:
        return FederationConfig(
            domain=self.domain,
            scheme=self.scheme,
            allow_local=self.local_dev,
            lease_seconds=self.lease_seconds,
            allowed_private=self.allowed_private,
            ca_file=self.ca_file,
        )


def _flag(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, not {value!r}")


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    local_dev = _flag(env.get("IWSN_LOCAL_DEV"), "IWSN_LOCAL_DEV")
    scheme = env.get("IWSN_SCHEME", "https").strip().lower()
    if scheme not in ("https", "http"):
        raise SettingsError(f"IWSN_SCHEME must be https or http, not {scheme!r}")
    if scheme == "http" and not local_dev:
        raise SettingsError(
            "IWSN_SCHEME=http is only allowed with IWSN_LOCAL_DEV=1 (development and tests); "
            "production nodes are served over https"
        )
    domain = env.get("IWSN_DOMAIN", "127.0.0.1:8000" if local_dev else "").strip().lower()
    if not domain:
        raise SettingsError(
            "IWSN_DOMAIN is not set: give the public host name of this node, e.g. iwsn.example.org"
        )
    if not DOMAIN.match(domain):
        raise SettingsError(f"IWSN_DOMAIN is not a host name: {domain!r}")
    if ":" in domain.rsplit("]", 1)[-1] and not local_dev:
        # Mastodon looks up handles on the bare host at port 443: a port breaks federation.
        raise SettingsError(
            "IWSN_DOMAIN may carry a port only with IWSN_LOCAL_DEV=1; in production the node "
            "is reached on port 443 behind a reverse proxy"
        )
    data_dir = Path(env.get("IWSN_DATA_DIR", "data")).expanduser().resolve()
    database_url = (
        env.get("IWSN_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'iwsn.sqlite3'}"
    )
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError(
            "IWSN_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    log_level = env.get("IWSN_LOG_LEVEL", "info").strip().lower()
    if log_level not in LOG_LEVELS:
        raise SettingsError(
            f"IWSN_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}"
        )
    org_name = env.get("IWSN_ORG_NAME", "workers").strip()
    secret_key = env.get("IWSN_SECRET_KEY") or ""
    poll_seconds = _seconds(env.get("IWSN_POLL_SECONDS"), "IWSN_POLL_SECONDS", default=5.0)
    lease_seconds = _seconds(env.get("IWSN_LEASE_SECONDS"), "IWSN_LEASE_SECONDS", default=30.0)
    if not 1 <= lease_seconds <= 3600:
        # Shorter, a heartbeat delayed by a busy database could lose a live process its rows.
        raise SettingsError(
            f"IWSN_LEASE_SECONDS must be between 1 and 3600 seconds, not {lease_seconds:g}"
        )
    trusted_proxies = _networks(env.get("IWSN_TRUSTED_PROXIES"), "IWSN_TRUSTED_PROXIES")
    allowed_private = _networks(
        env.get("IWSN_ALLOWED_PRIVATE_ADDRESSES"), "IWSN_ALLOWED_PRIVATE_ADDRESSES"
    )
    ca_file = _ca_file(env.get("IWSN_CA_FILE"))
    read_cache_seconds = _read_cache_seconds(env.get("IWSN_READ_CACHE_SECONDS"))
    smtp, mail_from = _mail(env, domain, ca_file)
    map_tile_url, map_attribution = _map(env, local_dev)
    return Settings(
        domain=domain,
        scheme=scheme,
        local_dev=local_dev,
        data_dir=data_dir,
        database_url=database_url,
        org_name=org_name,
        secret_key=secret_key,
        node_name=env.get("IWSN_NODE_NAME", "").strip() or domain,
        log_level=log_level,
        poll_seconds=poll_seconds,
        lease_seconds=lease_seconds,
        trusted_proxies=trusted_proxies,
        allowed_private=allowed_private,
        ca_file=ca_file,
        smtp=smtp,
        mail_from=mail_from,
        map_tile_url=map_tile_url,
        map_attribution=map_attribution,
        places_at_start=_flag(env.get("IWSN_PLACES_AT_START", "1"), "IWSN_PLACES_AT_START"),
        read_cache_seconds=read_cache_seconds,
    )


# A host the Content-Security-Policy can name as it is: letters, digits, dots and hyphens, or
# an IPv6 literal; a port. Nothing that could end the directive (";", ",", spaces, quotes).
_TILE_HOST = re.compile(r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
MAX_ATTRIBUTION = 300


def _map(env: Mapping[str, str], local_dev: bool) -> tuple[str, str]:
    """(tile URL template, credit) for the map on /near; both empty unless a tile URL is set."""
    url = (env.get("IWSN_MAP_TILE_URL") or "").strip()
    attribution = " ".join((env.get("IWSN_MAP_ATTRIBUTION") or "").split())
    if not url:
        return "", ""
    parts = urlsplit(url)
    schemes = ("https", "http") if local_dev else ("https",)
    if parts.scheme not in schemes:
        raise SettingsError(
            f"IWSN_MAP_TILE_URL must be an https:// URL (http:// only with IWSN_LOCAL_DEV=1), "
            f"not {url!r}"
        )
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = -1
    if "{" in parts.netloc or port == -1 or parts.username or parts.password:
        # {s} would spread the tiles over several hosts: the policy names exactly one.
        raise SettingsError(
            "IWSN_MAP_TILE_URL must name one host (no {s} subdomains, no user or password), "
            f"not {url!r}"
        )
    if not (_TILE_HOST.match(host) or _is_ip(host)):
        raise SettingsError(f"IWSN_MAP_TILE_URL does not name a host: {url!r}")
    if any(f"{{{part}}}" not in url for part in "zxy"):
        raise SettingsError(
            "IWSN_MAP_TILE_URL must hold {z}, {x} and {y} where the tile's zoom and position "
            f"go, e.g. https://tile.example.org/{{z}}/{{x}}/{{y}}.png, not {url!r}"
        )
    if any(c.isspace() or c in "\"'<>" for c in url):
        raise SettingsError(f"IWSN_MAP_TILE_URL must not hold spaces or quotes: {url!r}")
    if not attribution:
        raise SettingsError(
            "IWSN_MAP_ATTRIBUTION is required with IWSN_MAP_TILE_URL: tile servers and their "
            'map data ask to be credited, e.g. "© OpenStreetMap contributors"'
        )
    if len(attribution) > MAX_ATTRIBUTION:
        raise SettingsError(
            f"IWSN_MAP_ATTRIBUTION must be at most {MAX_ATTRIBUTION} characters long"
        )
    return url, attribution


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _read_cache_seconds(value: str | None) -> int:
    if value is None or value.strip() == "":
        return 10
    try:
        seconds = int(value)
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= 3600:
        raise SettingsError(
            f"IWSN_READ_CACHE_SECONDS must be a whole number of seconds from 0 to 3600, "
            f"not {value!r}"
        )
    return seconds


def _mail(
    env: Mapping[str, str], domain: str, ca_file: str | None
) -> tuple[SmtpServer | None, str]:
    host = domain.rsplit(":", 1)[0] if not domain.startswith("[") else domain.split("]")[0][1:]
    url = (env.get("IWSN_SMTP_URL") or "").strip()
    sender = (env.get("IWSN_MAIL_FROM") or "").strip()
    if sender:
        _name, address = parseaddr(sender)
        if "\n" in sender or "\r" in sender or addresses.normalized(address) is None:
            raise SettingsError(
                f"IWSN_MAIL_FROM must be an address, or a name and <address>, not {sender!r}"
            )
    if not url:
        # Nothing is sent; a From still names the node in the queued mail's Message-ID.
        return None, sender or f"noreply@{host}"
    if not sender:
        raise SettingsError(
            "IWSN_SMTP_URL is set but IWSN_MAIL_FROM is not: give the address mail comes from"
        )
    try:
        server = SmtpServer.from_url(url, local_hostname=host, ca_file=ca_file)
    except ValueError as exc:
        # The URL may hold a password: say what is wrong without repeating it.
        raise SettingsError(f"IWSN_SMTP_URL {exc}") from None
    return server, sender


def _networks(value: str | None, name: str) -> tuple[str, ...]:
    networks: list[str] = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SettingsError(
                f"{name} must list IP addresses or networks separated by commas "
                f"(e.g. 127.0.0.1,10.0.0.0/8), not {item!r}"
            ) from None
    return tuple(networks)


def _ca_file(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    path = Path(value.strip()).expanduser().resolve()
    if not path.is_file():
        raise SettingsError(f"IWSN_CA_FILE is not a readable file: {value!r}")
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError) as exc:
        raise SettingsError(f"IWSN_CA_FILE holds no usable PEM certificates: {exc}") from None
    return str(path)


def _seconds(value: str | None, name: str, *, default: float) -> float:
    if value is None or value.strip() == "":
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {value!r}") from None
    if not 0.05 <= seconds <= 86_400:
        raise SettingsError(f"{name} must be between 0.05 and 86400 seconds, not {value!r}")
    return seconds


def prepare_data_dir(settings: Settings) -> Settings:
    """Create the data directory and, unless given, a persistent session secret in it.

    The directory holds the session secret and, on SQLite, the organizations' private keys and
    the admins' password hashes: it is made private to the user running the node, as ssh and
    PostgreSQL make theirs, whatever the umask.
    """
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    for entry in settings.data_dir.iterdir():
        if entry.is_file() and not entry.is_symlink():
            entry.chmod(0o600)
    if settings.secret_key:
        return settings
    key_file = settings.data_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return Settings(**{**settings.__dict__, "secret_key": key_file.read_text().strip()})
