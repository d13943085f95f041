"""What the protocol layer needs to know about the node it runs in."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FederationConfig:
    domain: str
    scheme: str = "https"
    # Development and tests only: plain http and loopback/private peers are allowed.
    allow_local: bool = False
    software_name: str = "iwsn-node"
    software_version: str = "0.1.0"
    max_inbox_bytes: int = 1024 * 1024
    max_fetch_bytes: int = 2 * 1024 * 1024
    fetch_timeout: float = 10.0
    delivery_timeout: float = 15.0
    max_redirects: int = 3
    # A cached remote actor older than this is re-fetched before use.
    actor_cache_seconds: int = 24 * 3600

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def user_agent(self) -> str:
        return f"{self.software_name}/{self.software_version} (+{self.base_url}/)"
