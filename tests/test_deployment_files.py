"""Checks of the container deployment: Dockerfile, docker-compose.yml, .env.example, .dockerignore.

Nothing here needs a Docker engine: the files are parsed, and Debian's docker-compose
interpolates and validates the compose file (`docker-compose config` runs without one). The
compose keys are checked against the service and top-level properties of the Compose
specification (compose-spec.json), so a misspelt key fails here instead of being ignored or
rejected on the server.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"

# From compose-spec.json: top-level and service properties, healthcheck properties,
# depends_on conditions. Extension fields (x-*) are allowed anywhere.
SPEC_TOP_LEVEL = {"version", "name", "services", "networks", "volumes", "secrets", "configs"}
SPEC_SERVICE = {
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "privileged",
    "profiles",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "volumes",
    "volumes_from",
    "working_dir",
}
SPEC_HEALTHCHECK = {"disable", "interval", "retries", "start_period", "test", "timeout"}
SPEC_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    return load_compose()["services"]


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def build_context(service: dict[str, Any]) -> Path:
    build = service["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    return (COMPOSE_FILE.parent / context).resolve()


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: spec["condition"] for name, spec in deps.items()}


def named_volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Named-volume source -> container target; bind mounts (paths) are left out."""
    mounts: dict[str, str] = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, _, rest = entry.partition(":")
            target = rest.split(":", 1)[0]
            kind = "volume" if rest and not source.startswith((".", "/", "~")) else "other"
        else:
            source, target = entry.get("source", ""), entry["target"]
            kind = entry.get("type", "volume")
        if kind == "volume" and source:
            mounts[source] = target
    return mounts


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def exec_or_shell(args: str) -> list[str]:
    return json.loads(args) if args.startswith("[") else shlex.split(args)


# docker-compose.yml


def test_compose_keys_follow_the_compose_spec() -> None:
    compose = load_compose()
    unknown = {k for k in compose if not k.startswith("x-")} - SPEC_TOP_LEVEL
    assert not unknown, f"unknown top-level keys: {unknown}"
    for name, service in compose["services"].items():
        unknown = {k for k in service if not k.startswith("x-")} - SPEC_SERVICE
        assert not unknown, f"{name}: unknown service keys: {unknown}"
        assert set(service.get("healthcheck", {})) <= SPEC_HEALTHCHECK, name
        assert set(depends_on(service).values()) <= SPEC_CONDITIONS, name
        for dependency in depends_on(service):
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"


def test_compose_has_proxy_setup_db_web_and_worker() -> None:
    assert {"caddy", "setup", "db", "web", "worker"} <= set(services())


def test_setup_web_and_worker_run_one_image_of_one_build() -> None:
    svc = services()
    images = {svc[name]["image"] for name in ("setup", "web", "worker")}
    assert len(images) == 1
    assert {build_context(svc[name]) for name in ("setup", "web", "worker")} == {ROOT}
    assert command_of(svc["setup"]) == ["iwsn", "setup"]
    assert command_of(svc["web"])[:2] == ["iwsn", "serve"]
    assert command_of(svc["worker"])[:2] == ["iwsn", "worker"]


def test_setup_runs_once_before_web_and_worker() -> None:
    # Migrations and the first organization are made by setup alone; web and worker start
    # only once it has exited successfully, and neither waits on (or races) the other.
    svc = services()
    assert svc["setup"]["restart"] == "no"
    assert depends_on(svc["setup"]) == {"db": "service_healthy"}
    for name in ("web", "worker"):
        assert depends_on(svc[name]) == {"setup": "service_completed_successfully"}, name


def uninterpolated(value: str) -> str:
    """`value` with each ${VARIABLE...} replaced by a plain word, so that it parses."""
    return re.sub(r"\$\{[^}]*\}", "variable", value)


def networks_of(service: dict[str, Any]) -> set[str]:
    # A list of names or a mapping of name -> options: both iterate as the names.
    return set(service.get("networks", []))


def test_only_caddy_publishes_ports_and_it_reaches_the_web() -> None:
    svc = services()
    published = {name for name, service in svc.items() if service.get("ports")}
    assert published == {"caddy"}
    targets = {str(port).split(":")[-1] for port in svc["caddy"]["ports"]}
    assert {"80", "443"} <= targets
    web_port = command_of(svc["web"])[command_of(svc["web"]).index("--port") + 1]
    assert [str(port) for port in svc["web"]["expose"]] == [web_port]
    assert environment_of(svc["caddy"])["IWSN_UPSTREAM"] == f"web:{web_port}"
    # The node's port is on the proxy network, which only Caddy shares with it.
    on_proxy = {name for name, service in svc.items() if "proxy" in networks_of(service)}
    assert on_proxy == {"caddy", "web"}


def test_database_network_has_no_way_out_and_only_the_node_on_it() -> None:
    compose = load_compose()
    (db_network,) = networks_of(compose["services"]["db"])
    assert compose["networks"][db_network]["internal"] is True
    on_db = {n for n, s in compose["services"].items() if db_network in networks_of(s)}
    assert on_db == {"db", "setup", "web", "worker"}
    # The worker delivers to other servers: it needs a network that is not internal.
    assert any(
        not (compose["networks"].get(net) or {}).get("internal")
        for net in networks_of(compose["services"]["worker"])
    )


def test_the_trusted_proxy_is_caddy_alone() -> None:
    compose = load_compose()
    caddy_address = compose["services"]["caddy"]["networks"]["proxy"]["ipv4_address"]
    for name in ("setup", "web", "worker"):
        env = environment_of(compose["services"][name])
        assert env["IWSN_TRUSTED_PROXIES"] == caddy_address, name
    defaults = env_example()
    subnet = ipaddress.ip_network(defaults["IWSN_PROXY_SUBNET"])
    address = ipaddress.ip_address(defaults["IWSN_PROXY_ADDRESS"])
    assert address in subnet and subnet.num_addresses > 4
    assert compose["networks"]["proxy"]["ipam"]["config"][0]["subnet"].startswith(
        "${IWSN_PROXY_SUBNET"
    )


def test_web_and_worker_use_postgresql_on_db() -> None:
    svc = services()
    for name in ("setup", "web", "worker"):
        url = urlsplit(uninterpolated(environment_of(svc[name])["IWSN_DATABASE_URL"]))
        assert url.scheme == "postgresql+asyncpg", name
        assert url.hostname == "db", name


def test_no_password_is_written_in_the_compose_file() -> None:
    svc = services()
    assert environment_of(svc["db"])["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    url = environment_of(svc["web"])["IWSN_DATABASE_URL"]
    password = r"\$\{POSTGRES_PASSWORD:\?[^}]*\}"
    assert re.fullmatch(rf"postgresql\+asyncpg://iwsn:{password}@db:5432/iwsn", url)


def test_setup_web_and_worker_agree_on_settings() -> None:
    svc = services()
    envs = [environment_of(svc[name]) for name in ("setup", "web", "worker")]
    assert envs[0] == envs[1] == envs[2]
    # The domain has no usable default: compose must refuse to start without it.
    assert envs[0]["IWSN_DOMAIN"].startswith("${IWSN_DOMAIN:?")
    assert environment_of(svc["caddy"])["IWSN_DOMAIN"] == envs[0]["IWSN_DOMAIN"]
    assert envs[0]["IWSN_DATA_DIR"] == "/data"
    # Production: https (the default) and never the development switch.
    assert "IWSN_SCHEME" not in envs[0] and "IWSN_LOCAL_DEV" not in envs[0]


def test_setup_web_and_worker_mount_the_same_declared_data_volume() -> None:
    compose = load_compose()
    web = named_volume_mounts(compose["services"]["web"])
    data_volumes = {source for source, target in web.items() if target == "/data"}
    assert len(data_volumes) == 1
    (volume,) = data_volumes
    for name in ("setup", "worker"):
        assert named_volume_mounts(compose["services"][name]).get(volume) == "/data", name
    assert volume in (compose.get("volumes") or {})


def test_every_named_volume_is_declared() -> None:
    compose = load_compose()
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        missing = set(named_volume_mounts(service)) - declared
        assert not missing, f"{name} uses undeclared volumes {missing}"
    assert "pgdata" in named_volume_mounts(compose["services"]["db"])
    # Caddy keeps its certificates and ACME account across restarts.
    assert named_volume_mounts(compose["services"]["caddy"]).get("caddy-data") == "/data"


def test_db_is_healthchecked_and_awaited() -> None:
    svc = services()
    test = svc["db"]["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    assert depends_on(svc["setup"]).get("db") == "service_healthy"


def test_worker_and_setup_do_not_inherit_the_http_healthcheck() -> None:
    # The image's HEALTHCHECK probes HTTP; neither serves any.
    for name in ("setup", "worker"):
        assert services()[name]["healthcheck"].get("disable") is True, name


def test_caddy_mounts_the_repository_caddyfile() -> None:
    mounts = [m for m in services()["caddy"]["volumes"] if isinstance(m, str)]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in mounts


# .env.example


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, separator, value = line.partition("=")
            assert separator, f".env.example: {line!r} is not NAME=value"
            values[name.strip()] = value.strip()
    return values


def test_env_example_names_every_variable_the_compose_file_reads() -> None:
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_FILE.read_text(encoding="utf-8")))
    assert used - set(env_example()) == set()


def test_env_example_leaves_the_secrets_empty() -> None:
    values = env_example()
    assert values["IWSN_DOMAIN"] == "" and values["POSTGRES_PASSWORD"] == ""


def test_env_example_mentions_every_node_setting() -> None:
    read = set(re.findall(r"\b(IWSN_[A-Z_]+)\b", (ROOT / "web" / "settings.py").read_text()))
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    missing = {name for name in read if name != "IWSN_" and name not in text}
    assert not missing


def test_compose_config_accepts_the_example_filled_in(tmp_path: Path) -> None:
    env_file = tmp_path / "filled.env"
    filled = {**env_example(), "IWSN_DOMAIN": "iwsn.example.org", "POSTGRES_PASSWORD": "abc123"}
    env_file.write_text("".join(f"{key}={value}\n" for key, value in filled.items()))
    config = compose_config(env_file)
    assert config.returncode == 0, config.stderr
    resolved = yaml.safe_load(config.stdout)["services"]
    assert resolved["web"]["environment"]["IWSN_DATABASE_URL"] == (
        "postgresql+asyncpg://iwsn:abc123@db:5432/iwsn"
    )
    assert resolved["web"]["command"][resolved["web"]["command"].index("--processes") + 1] == "2"


def test_compose_config_refuses_to_run_without_domain_or_password(tmp_path: Path) -> None:
    for missing in ("IWSN_DOMAIN", "POSTGRES_PASSWORD"):
        env_file = tmp_path / f"without-{missing}.env"
        filled = {**env_example(), "IWSN_DOMAIN": "iwsn.example.org", "POSTGRES_PASSWORD": "x1"}
        filled[missing] = ""
        env_file.write_text("".join(f"{key}={value}\n" for key, value in filled.items()))
        config = compose_config(env_file)
        assert config.returncode != 0 and missing in config.stderr, missing


def compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    # Debian's docker-compose reads and interpolates the file without a Docker engine.
    # Variables of the environment running the tests must not leak into it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IWSN_", "POSTGRES_"))}
    return subprocess.run(
        ["docker-compose", "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )


# Dockerfile


def test_dockerfile_runs_as_non_root_before_cmd() -> None:
    instructions = dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    assert keywords.count("CMD") == 1
    cmd_at = keywords.index("CMD")
    users = [args for keyword, args in instructions[:cmd_at] if keyword == "USER"]
    assert users, "no USER before CMD"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_exposes_8000_and_serves_iwsn() -> None:
    instructions = dockerfile_instructions()
    exposed = {
        port for keyword, args in instructions if keyword == "EXPOSE" for port in args.split()
    }
    assert "8000" in exposed or "8000/tcp" in exposed
    (cmd,) = [exec_or_shell(args) for keyword, args in instructions if keyword == "CMD"]
    assert cmd[:2] == ["iwsn", "serve"]
    assert cmd[cmd.index("--port") + 1] == "8000"


def test_dockerfile_healthcheck_probes_nodeinfo() -> None:
    instructions = dockerfile_instructions()
    (healthcheck,) = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert " CMD " in f" {healthcheck} "
    assert "127.0.0.1:8000/.well-known/nodeinfo" in healthcheck
    assert "urllib" in healthcheck


def test_dockerfile_data_volume_and_workdir() -> None:
    instructions = dockerfile_instructions()
    volumes = [exec_or_shell(args) for keyword, args in instructions if keyword == "VOLUME"]
    assert ["/data"] in volumes
    workdirs = [args for keyword, args in instructions if keyword == "WORKDIR"]
    assert workdirs[-1] == "/app"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "data", "data-*", "*.sqlite3", "tests", ".env", "*.pem"} <= patterns


# Reproducible installs


def constrained_versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, separator, version = line.partition("==")
            assert separator and version, f"constraints.txt: {line!r} is not pinned with =="
            pins[canonical(name)] = version
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_dependency_is_pinned_in_constraints() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        wanted += extra
    pins = constrained_versions()
    names = {canonical(re.match(r"[A-Za-z0-9_.-]+", spec).group(0)) for spec in wanted}
    assert names - pins.keys() == set()


def test_installs_use_the_constraints() -> None:
    bootstrap = (ROOT / "scripts" / "bootstrap").read_text(encoding="utf-8")
    installs = [line for line in bootstrap.splitlines() if "pip install" in line and "-e" in line]
    assert installs and all("-c constraints.txt" in line for line in installs)
    runs = [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]
    (image_install,) = [args for args in runs if "pip install" in args]
    assert "-c /app/constraints.txt" in image_install
