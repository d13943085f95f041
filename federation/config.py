"""What the protocol layer needs to know about the node it runs in."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FederationConfig:
    domain: str
    scheme: str = "https"
    # Development and tests only: plain http and loopback/private peers are allowed.
    allow_local: bool = False
    # Addresses or networks the SSRF guard lets through although they are private or loopback
    # (a peer on the same private network, the TLS test's proxy); everything else stays refused.
    allowed_private: tuple[str, ...] = ()
    # A PEM file of certificate authorities trusted for outbound HTTPS besides the system's.
    ca_file: str | None = None
    software_name: str = "iwsn-node"
    software_version: str = "0.1.0"
    max_inbox_bytes: int = 1024 * 1024
    max_fetch_bytes: int = 2 * 1024 * 1024
    # The whole of one fetch, redirects included, not each read.
    fetch_timeout: float = 10.0
    # How long a sender's request waits for its key to be fetched: an inbox request must not
    # be held by a slow key server. The fetch goes on (up to fetch_timeout) for its retry.
    key_fetch_timeout: float = 3.0
    delivery_timeout: float = 15.0
    # How long a claimed delivery or inbox activity stays leased without a heartbeat: the
    # holder renews it every third of this while it works, so this is how soon the rows of a
    # process that died go to another (federation/leases.py).
    lease_seconds: float = 30.0
    max_redirects: int = 3
    # A cached remote actor older than this is re-fetched before use.
    actor_cache_seconds: int = 24 * 3600

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def user_agent(self) -> str:
        return f"{self.software_name}/{self.software_version} (+{self.base_url}/)"
