"""The production recipe without Docker (deploy/): systemd units, Caddy and nginx in front.

Each file is checked by the tool that will read it on the server: `systemd-analyze verify`,
`caddy validate`, `nginx -t` (scripts/test installs them from Debian's packages), and the
commands the units run are parsed by the `iwsn` command line itself.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from web.cli import parser
from web.settings import load

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ("iwsn-web.service", "iwsn-worker.service")
INSTALLED = "/opt/iwsn"  # where the units expect the checkout
IWSN = Path(sys.executable).parent / "iwsn"


def unit_values(name: str, key: str) -> list[str]:
    text = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
    return re.findall(rf"^{key}=(.*)$", text, flags=re.MULTILINE)


def run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, env=env, check=False, timeout=120
    )


def env_example() -> dict[str, str]:
    lines = (DEPLOY / "iwsn.env.example").read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {key: value for key, value in pairs}


# systemd


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that every Exec command exists: point the copies at this checkout.
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
        text = text.replace(f"{INSTALLED}/.venv/bin/iwsn", str(IWSN))
        text = text.replace(f"WorkingDirectory={INSTALLED}", f"WorkingDirectory={ROOT}")
        (tmp_path / name).write_text(text)
    result = run("systemd-analyze", "verify", *(str(tmp_path / name) for name in UNITS))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_units_run_commands_the_iwsn_cli_accepts() -> None:
    commands = [
        *unit_values("iwsn-web.service", "ExecStartPre"),
        *unit_values("iwsn-web.service", "ExecStart"),
        *unit_values("iwsn-worker.service", "ExecStart"),
    ]
    parsed = []
    for line in commands:
        program, *args = shlex.split(line)
        assert program == f"{INSTALLED}/.venv/bin/iwsn", line
        parsed.append(parser().parse_args(args))
    setup, serve, worker = parsed
    assert setup.command == "setup"
    # The web listens on loopback only (the proxy is the door) and leaves delivery to the worker.
    assert (serve.command, serve.host, serve.no_workers) == ("serve", "127.0.0.1", True)
    assert serve.processes >= 2
    assert worker.command == "worker"


def test_worker_starts_after_the_web_has_set_up_the_database() -> None:
    (after,) = unit_values("iwsn-worker.service", "After")
    assert "iwsn-web.service" in after.split()
    assert unit_values("iwsn-worker.service", "ExecStartPre") == []


def test_units_share_settings_and_a_private_data_directory() -> None:
    for name in UNITS:
        assert unit_values(name, "EnvironmentFile") == ["/etc/iwsn/iwsn.env"], name
        assert unit_values(name, "StateDirectory") == ["iwsn"], name
        assert unit_values(name, "StateDirectoryMode") == ["0700"], name
        assert unit_values(name, "User") == ["iwsn"], name
    settings = load(env_example())
    assert str(settings.data_dir) == "/var/lib/iwsn"
    assert settings.base_url.startswith("https://") and not settings.local_dev
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.trusted_proxies == ("127.0.0.1/32",)


def web_port() -> int:
    (serve,) = unit_values("iwsn-web.service", "ExecStart")
    return parser().parse_args(shlex.split(serve)[1:]).port


# Caddy


def caddy(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # Its own config and data directories: nothing of the machine's Caddy is read or written.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IWSN_")}
    clean.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    return run("caddy", *args, env={**clean, **env})


def test_caddyfile_validates_and_proxies_the_domain_to_the_web(tmp_path: Path) -> None:
    config = str(DEPLOY / "Caddyfile")
    checked = caddy(
        "validate", "--config", config, "--adapter", "caddyfile",
        tmp_path=tmp_path, IWSN_DOMAIN="iwsn.example.org",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    for upstream_env, dial in (
        ({}, f"127.0.0.1:{web_port()}"),
        ({"IWSN_UPSTREAM": "web:8000"}, "web:8000"),
    ):
        adapted = caddy(
            "adapt", "--config", config, "--adapter", "caddyfile",
            tmp_path=tmp_path, IWSN_DOMAIN="iwsn.example.org", **upstream_env,
        )  # fmt: skip
        assert adapted.returncode == 0, adapted.stderr
        (server,) = json.loads(adapted.stdout)["apps"]["http"]["servers"].values()
        assert server["listen"] == [":443"]
        (route,) = server["routes"]
        assert route["match"] == [{"host": ["iwsn.example.org"]}]
        handlers = json.dumps(route["handle"])
        assert '"handler": "reverse_proxy"' in handlers
        assert f'"dial": "{dial}"' in handlers


# nginx


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iwsn.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    # nginx -t opens the certificates: the site points at a throwaway pair instead of certbot's.
    site = (DEPLOY / "nginx" / "iwsn.conf").read_text(encoding="utf-8")
    cert, key = self_signed(tmp_path)
    live = "/etc/letsencrypt/live/iwsn.example.org"
    assert f"{live}/fullchain.pem" in site and f"{live}/privkey.pem" in site
    site = site.replace(f"{live}/fullchain.pem", str(cert)).replace(f"{live}/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    # As Debian's nginx.conf includes sites-enabled: inside http {}.
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    result = run("/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_passes_host_and_replaces_forwarded_for() -> None:
    site = (DEPLOY / "nginx" / "iwsn.conf").read_text(encoding="utf-8")
    assert f"proxy_pass http://127.0.0.1:{web_port()};" in site
    assert "proxy_set_header Host $host;" in site
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "$proxy_add_x_forwarded_for" not in site


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nginx_limits_posts_to_the_public_forms_per_address(tmp_path: Path) -> None:
    """The site's own lines for the forms (map, zone, limit_req), in an nginx on loopback in
    front of a stand-in for the node: a flood of posts stops at the proxy, nothing else does."""
    site = (DEPLOY / "nginx" / "iwsn.conf").read_text(encoding="utf-8")
    http_part = site.split("server {", 1)[0]
    (limit,) = re.findall(r"^\s*limit_req zone=iwsn_forms[^;]*;", site, re.MULTILINE)
    front, back = _free_port(), _free_port()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "daemon off;\n"
        "events {}\n"
        "http {\n"
        f"  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n  fastcgi_temp_path {tmp_path}/fcgi;\n"
        f"  uwsgi_temp_path {tmp_path}/uwsgi;\n  scgi_temp_path {tmp_path}/scgi;\n"
        f"{http_part}\n"
        f"  server {{ listen 127.0.0.1:{back}; location / {{ return 200 'node'; }} }}\n"
        f"  server {{ listen 127.0.0.1:{front};\n{limit}\n    limit_req_status 429;\n"
        f"    location / {{ proxy_pass http://127.0.0.1:{back}; }} }}\n"
        "}\n"
    )
    nginx = subprocess.Popen(
        ["/usr/sbin/nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # it logs to error.log
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{front}", timeout=10) as http:
            for _ in range(200):
                try:
                    http.get("/")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            submit = [http.post("/submit", data={"a": "b"}).status_code for _ in range(30)]
            # 20 at once beyond the first (a person correcting a form posts it again), then
            # 6 a minute: the rest of a quick flood is refused by nginx.
            assert submit[:21] == [200] * 21, submit
            assert submit[-5:] == [429] * 5, submit
            # Per address, for both forms together.
            assert http.post("/contact", data={"a": "b"}).status_code == 429
            # Nothing else is counted: the forms' pages, other pages, other posts.
            others = [http.get("/submit"), http.get("/contact"), http.get("/")]
            others += [http.post("/admin/login", data={"a": "b"}), http.get("/submit?x=1")]
            assert [r.status_code for r in others] == [200] * 5
        with httpx.Client(
            base_url=f"http://127.0.0.1:{front}",
            transport=httpx.HTTPTransport(local_address="127.0.0.2"),
            timeout=10,
        ) as other_visitor:
            assert other_visitor.post("/contact", data={"a": "b"}).status_code == 200
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
