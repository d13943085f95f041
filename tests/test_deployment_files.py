"""Static checks of the container deployment: Dockerfile, docker-compose.yml, .dockerignore.

They read the files only; nothing here needs Docker. The compose keys are checked against
the service and top-level properties of the Compose specification (compose-spec.json), so a
misspelt key fails here instead of being ignored or rejected on the server.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

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


def test_compose_has_db_web_and_worker() -> None:
    assert {"db", "web", "worker"} <= set(services())


def test_web_and_worker_share_one_build_and_run_iwsn() -> None:
    svc = services()
    assert build_context(svc["web"]) == build_context(svc["worker"]) == ROOT
    assert command_of(svc["web"])[:2] == ["iwsn", "serve"]
    assert command_of(svc["worker"])[:2] == ["iwsn", "worker"]


def test_web_publishes_port_8000() -> None:
    web = services()["web"]
    assert "--port" in command_of(web)
    port = command_of(web)[command_of(web).index("--port") + 1]
    assert port == "8000"
    assert any(str(p).split(":")[-1] == "8000" for p in web["ports"])


def test_web_and_worker_use_postgresql_on_db() -> None:
    svc = services()
    for name in ("web", "worker"):
        url = urlsplit(environment_of(svc[name])["IWSN_DATABASE_URL"])
        assert url.scheme == "postgresql+asyncpg", name
        assert url.hostname == "db", name


def test_web_and_worker_agree_on_settings() -> None:
    svc = services()
    web, worker = environment_of(svc["web"]), environment_of(svc["worker"])
    for key in ("IWSN_DOMAIN", "IWSN_DATABASE_URL", "IWSN_DATA_DIR", "IWSN_ORG_NAME"):
        assert key in web and web[key] == worker.get(key), key
    # The domain has no usable default: compose must refuse to start without it.
    assert web["IWSN_DOMAIN"].startswith("${IWSN_DOMAIN:?")
    assert web["IWSN_DATA_DIR"] == "/data"


def test_web_and_worker_mount_the_same_declared_data_volume() -> None:
    compose = load_compose()
    web = named_volume_mounts(compose["services"]["web"])
    worker = named_volume_mounts(compose["services"]["worker"])
    data_volumes = {source for source, target in web.items() if target == "/data"}
    assert len(data_volumes) == 1
    (volume,) = data_volumes
    assert worker.get(volume) == "/data"
    assert volume in (compose.get("volumes") or {})


def test_every_named_volume_is_declared() -> None:
    compose = load_compose()
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        missing = set(named_volume_mounts(service)) - declared
        assert not missing, f"{name} uses undeclared volumes {missing}"
    assert "pgdata" in named_volume_mounts(compose["services"]["db"])


def test_db_is_healthchecked_and_awaited() -> None:
    svc = services()
    test = svc["db"]["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    for name in ("web", "worker"):
        assert depends_on(svc[name]).get("db") == "service_healthy", name


def test_worker_does_not_inherit_the_http_healthcheck() -> None:
    # The image's HEALTHCHECK probes HTTP; the worker serves none.
    assert services()["worker"]["healthcheck"].get("disable") is True


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
    assert {".venv", ".git", "data", "data-*", "*.sqlite3", "tests"} <= patterns


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
