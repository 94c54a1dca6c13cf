#!/usr/bin/env python3
"""Static checks of Cadena's deployment files.

Nothing here needs a Docker engine or a cluster:

* docker-compose.yml is read with PyYAML (anchors and ``<<`` merges
  resolved, ``${VAR:-default}`` interpolated with the defaults) and its
  wiring checked: every service has its own database, every web process a
  health check, start-up order by ``depends_on`` conditions, one image.
  When a Compose v2 CLI is installed, ``compose config`` must accept the
  file too (it needs no engine for that).
* every kustomize tree (deploy/base and each deploy/overlays/*) is rendered
  with ``kubectl kustomize`` and each document validated against the
  Kubernetes JSON schemas shipped by kubernetes-validate (strict: unknown
  fields are errors). RabbitmqCluster and CloudNativePG Cluster are custom
  resources the schemas don't know; their required fields are checked here.
  Then the rendered objects are checked as a whole: probes, autoscalers,
  disruption budgets, one database per service.

Usage:  python deploy/check.py [--kubernetes-version 1.32] [--compose-only]
Exit status 0 with a one-line summary, 1 with the list of problems, 2 when
a tool it needs is missing.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY_DIR = ROOT / "deploy"

# The processes and their HTTP ports (docs/CONTRACTS.md §1).
COMPONENTS: dict[str, int] = {
    "gateway": 8000,
    "accounts": 8001,
    "opportunities": 8002,
    "activities": 8003,
    "campaigns": 8004,
    "support": 8005,
}
IMAGE = "cadena:latest"
WORKER_METRICS_PORT = "9100"

# kubernetes-validate 1.37.0 ships schemas for 1.28 … 1.37; 1.32 is a
# release every supported managed Kubernetes offers.
KUBERNETES_VERSION = os.environ.get("CADENA_KUBERNETES_VERSION", "1.32.0")

CNPG = ("postgresql.cnpg.io/v1", "Cluster")
RABBITMQ = ("rabbitmq.com/v1beta1", "RabbitmqCluster")
CUSTOM_KINDS = {CNPG, RABBITMQ}
QUEUE_METRIC = "rabbitmq_queue_messages_ready"

# What the production overlay must give at least.
PRODUCTION = {"namespace": "cadena", "db_instances": 3, "web_min_replicas": 2}

QUANTITY = re.compile(r"^[+-]?[0-9.]+([eEinumkKMGTP]*[-+]?[0-9]*)$")
IMAGE_REF = re.compile(
    r"^(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
INSTALL_KUBECTL = (
    "kubectl was not found on PATH; it renders the kustomize trees "
    "(`kubectl kustomize`). Install it (https://kubernetes.io/docs/tasks/tools/, "
    "e.g. `apt-get install kubectl` from the Kubernetes apt repository) or put a "
    "standalone `kustomize` on PATH; `--compose-only` skips the Kubernetes checks."
)
INSTALL_VALIDATE = (
    "kubernetes-validate is not installed: `pip install kubernetes-validate==1.37.0` "
    "(it is in the project's dev extras: `pip install -e '.[dev]'`)."
)


class ToolMissing(Exception):
    """A command-line tool or package the checks need is not installed."""


class RenderError(Exception):
    """kustomize could not render a tree."""


def db_var(component: str) -> str:
    return f"CADENA_{component.upper()}_DATABASE_URL"


def url_var(component: str) -> str:
    return f"CADENA_{component.upper()}_URL"


# --------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """Substitute ``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``$$`` as
    Compose does, in every string of *value* (keys are left alone). Unset
    variables without a default become empty strings, as in Compose."""
    environ = environ or {}
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3) or ""
        current = environ.get(name)
        if operator == ":-":
            return current or argument
        if operator == "-":
            return argument if current is None else current
        return current or ""  # plain, or :? / ? (Compose would stop there)

    return _INTERPOLATION.sub(substitute, value)


def load_compose(path: Path = COMPOSE_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} is not a YAML mapping")
    return data


def service_env(service: Mapping) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {key: value for key, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def service_command(service: Mapping) -> list[str]:
    command = service.get("command") or []
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def service_depends(service: Mapping) -> dict[str, str]:
    """depends_on as {service: condition}; the short list form means
    ``service_started``."""
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in depends.items()}


def healthcheck_test(service: Mapping) -> str:
    check = service.get("healthcheck") or {}
    if check.get("disable"):
        return ""
    test = check.get("test") or ""
    if isinstance(test, list):
        if test and test[0] == "NONE":
            return ""
        test = " ".join(str(part) for part in test)
    return str(test)


def cadena_processes(services: Mapping[str, Mapping]) -> dict[str, tuple[str, str]]:
    """{compose service: (role, component)} for every Cadena process, by its
    command: serve|worker|migrate <component>, or `webhooks deliver` (the gateway's)."""
    found = {}
    for name, service in services.items():
        image = str(service.get("image", ""))
        if not (service.get("build") or image.split(":")[0] == IMAGE.split(":")[0]):
            continue
        command = service_command(service)
        if command[:1] == ["cadena"]:
            command = command[1:]
        if len(command) >= 2 and command[0] in ("serve", "worker", "migrate"):
            role = {"serve": "web"}.get(command[0], command[0])
            found[name] = (role, command[1])
        elif command[:2] == ["webhooks", "deliver"]:  # the gateway's webhook delivery worker
            found[name] = ("webhooks", "gateway")
        else:
            found[name] = ("?", "?")
    return found


def compose_databases(compose: Mapping, environ: Mapping[str, str] | None = None) -> dict[str, tuple[str, int, str]]:
    """{component: (host, port, database)} as its web process sees it."""
    services = interpolate(compose.get("services") or {}, environ)
    result = {}
    for name, (role, component) in cadena_processes(services).items():
        if role != "web":
            continue
        url = service_env(services[name]).get(db_var(component))
        if url:
            parts = urlsplit(url)
            result[component] = (parts.hostname or "", parts.port or 5432, parts.path.lstrip("/"))
    return result


def _check_build(name: str, service: Mapping, root: Path) -> list[str]:
    problems = []
    build = service.get("build")
    image = service.get("image")
    if not build and not image:
        return [f"compose: service {name} has neither image nor build"]
    if image and not IMAGE_REF.match(str(image)):
        problems.append(f"compose: service {name}: {image!r} is not a valid image reference")
    if build:
        spec = {"context": build} if isinstance(build, str) else dict(build)
        context = (root / str(spec.get("context", "."))).resolve()
        dockerfile = context / str(spec.get("dockerfile", "Dockerfile"))
        if not context.is_dir():
            problems.append(f"compose: service {name}: build context {spec.get('context')!r} is not a directory")
        elif not dockerfile.is_file():
            problems.append(f"compose: service {name}: no {dockerfile.relative_to(context)} in its build context")
    return problems


def check_compose(compose: Mapping, root: Path = ROOT, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every problem found in a parsed docker-compose.yml, as sentences."""
    problems: list[str] = []
    services: dict[str, dict] = interpolate(compose.get("services") or {}, environ)
    if not services:
        return ["compose: no services defined"]
    declared_volumes = set((compose.get("volumes") or {}).keys())

    for name, service in services.items():
        problems += _check_build(name, service, root)
        for target in service_depends(service):
            if target not in services:
                problems.append(f"compose: {name} depends on {target}, which is not defined")
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source", "")
            if source and not source.startswith((".", "/", "~")) and source not in declared_volumes:
                problems.append(f"compose: {name} mounts volume {source!r}, which is not declared under volumes:")

    processes = cadena_processes(services)
    by_component: dict[str, dict[str, str]] = {component: {} for component in COMPONENTS}
    for name, (role, component) in processes.items():
        if component not in COMPONENTS:
            problems.append(f"compose: {name} runs neither serve, worker nor migrate of a known service "
                            f"(command {service_command(services[name])})")
            continue
        if role in by_component[component]:
            problems.append(f"compose: {component} has two {role} services: {by_component[component][role]} and {name}")
        by_component[component][role] = name

    expected_names = {"web": "{c}", "worker": "{c}-worker", "migrate": "{c}-migrate"}
    for component, roles in by_component.items():
        for role, pattern in expected_names.items():
            if role not in roles:
                problems.append(f"compose: no {role} service for {component} (expected {pattern.format(c=component)})")
            elif roles[role] != pattern.format(c=component):
                problems.append(f"compose: the {role} service of {component} is named {roles[role]}, "
                                f"expected {pattern.format(c=component)}")

    # Cadena processes: one image, their own database, the broker.
    database_of: dict[str, tuple[str, int, str]] = {}
    brokers: set[str] = set()
    for name, (role, component) in processes.items():
        if component not in COMPONENTS:
            continue
        service = services[name]
        env = service_env(service)
        if service.get("image") != IMAGE:
            problems.append(f"compose: {name} should use image {IMAGE} (got {service.get('image')!r})")
        build = service.get("build")
        context = build if isinstance(build, str) else (build or {}).get("context")
        if context not in (".", "./"):
            problems.append(f"compose: {name} should be built from the root Dockerfile (build: .)")
        for other in COMPONENTS:
            if other != component and db_var(other) in env:
                problems.append(f"compose: {name} is given {db_var(other)}: a service reads only its own database")

        url = env.get(db_var(component))
        if not url:
            problems.append(f"compose: {name} has no {db_var(component)}")
        else:
            parts = urlsplit(url)
            if parts.scheme not in ("postgresql", "postgresql+psycopg", "postgres"):
                problems.append(f"compose: {name}: {db_var(component)} is not a Postgres URL ({parts.scheme}://)")
            where = (parts.hostname or "", parts.port or 5432, parts.path.lstrip("/"))
            host = where[0]
            if host not in services:
                problems.append(f"compose: {name}: database host {host!r} is not a service")
            elif not str(services[host].get("image", "")).startswith("postgres"):
                problems.append(f"compose: {name}: database host {host} does not run a postgres image")
            if not where[2]:
                problems.append(f"compose: {name}: {db_var(component)} names no database")
            previous = database_of.setdefault(component, where)
            if previous != where:
                problems.append(f"compose: the processes of {component} disagree on its database "
                                f"({previous[0]}/{previous[2]} vs {host}/{where[2]} in {name})")

        amqp = env.get("CADENA_AMQP_URL")
        if not amqp:
            problems.append(f"compose: {name} has no CADENA_AMQP_URL")
        else:
            broker = urlsplit(amqp).hostname or ""
            brokers.add(broker)
            if broker not in services:
                problems.append(f"compose: {name}: broker host {broker!r} is not a service")

        for target, port in COMPONENTS.items():
            value = env.get(url_var(target))
            if value:
                parts = urlsplit(value)
                if (parts.hostname, parts.port) != (target, port):
                    problems.append(f"compose: {name}: {url_var(target)}={value} should be http://{target}:{port}")

        restart = service.get("restart")
        depends = service_depends(service)
        if role == "migrate":
            if restart not in (None, "no", "on-failure"):
                problems.append(f"compose: {name} is a one-shot and must not restart ({restart!r}); use restart: \"no\"")
            db_host = database_of.get(component, ("",))[0]
            if db_host and depends.get(db_host) != "service_healthy":
                problems.append(f"compose: {name} must depend on {db_host} with condition service_healthy")
            continue

        migrate = f"{component}-migrate"
        if depends.get(migrate) != "service_completed_successfully":
            problems.append(f"compose: {name} must depend on {migrate} with condition service_completed_successfully")
        broker = urlsplit(amqp or "").hostname
        if broker and depends.get(broker) != "service_healthy":
            problems.append(f"compose: {name} must depend on {broker} with condition service_healthy")

        if role == "web":
            port = COMPONENTS[component]
            command = service_command(service)
            bind = command[command.index("--bind") + 1] if "--bind" in command[:-1] else ""
            if bind != f"0.0.0.0:{port}":
                problems.append(f"compose: {name} should serve with --bind 0.0.0.0:{port} (got {bind or 'none'})")
            test = healthcheck_test(service)
            if not test:
                problems.append(f"compose: web service {name} has no healthcheck")
            elif "/readyz" not in test or f":{port}/" not in test:
                problems.append(f"compose: the healthcheck of {name} should request :{port}/readyz")
            published = service.get("ports") or []
            if component == "gateway":
                targets = {str(p).rsplit(":", 1)[-1].split("/")[0] if not isinstance(p, dict) else str(p.get("target"))
                           for p in published}
                if str(port) not in targets:
                    problems.append(f"compose: {name} should publish port {port}")
            elif published:
                problems.append(f"compose: {name} publishes ports; only the gateway is reachable from outside")
        elif role in ("worker", "webhooks"):
            if env.get("CADENA_METRICS_PORT") != WORKER_METRICS_PORT:
                problems.append(f"compose: {name} should set CADENA_METRICS_PORT={WORKER_METRICS_PORT}")
            if service.get("ports"):
                problems.append(f"compose: {name} publishes ports; workers have no public port")

    # One database host (and so one database) per service.
    owners: dict[str, list[str]] = {}
    for component, (host, _port, database) in sorted(database_of.items()):
        owners.setdefault(host, []).append(component)
    for host, components in owners.items():
        if len(components) > 1:
            problems.append(f"compose: {' and '.join(components)} share the database host {host}; "
                            "each service needs its own Postgres")

    # The databases and the broker themselves.
    data_volumes: dict[str, str] = {}
    for component, (host, _port, database) in sorted(database_of.items()):
        service = services.get(host)
        if not service:
            continue
        if "pg_isready" not in healthcheck_test(service):
            problems.append(f"compose: database {host} needs a pg_isready healthcheck")
        db_name = service_env(service).get("POSTGRES_DB")
        if db_name and db_name != database:
            problems.append(f"compose: {component} connects to database {database!r} but {host} creates {db_name!r}")
        mounts = [m.split(":", 1) for m in service.get("volumes") or [] if isinstance(m, str) and ":" in m]
        data = [source for source, target in mounts if target.split(":")[0].startswith("/var/lib/postgresql")]
        if not data:
            problems.append(f"compose: database {host} keeps its data in no volume")
        for source in data:
            if source in data_volumes and data_volumes[source] != host:
                problems.append(f"compose: databases {data_volumes[source]} and {host} share volume {source}")
            data_volumes.setdefault(source, host)
    for broker in sorted(brokers):
        service = services.get(broker)
        if service and not healthcheck_test(service):
            problems.append(f"compose: broker {broker} needs a healthcheck (rabbitmq-diagnostics -q ping)")
    return problems


def compose_cli() -> list[str] | None:
    """A Compose that can parse files here, if any: `docker compose` (needs
    no engine for `config`) or a standalone `docker-compose` v2."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def compose_config_problems(path: Path = COMPOSE_FILE) -> list[str] | None:
    """Compose's own verdict on the file (schema, merges, interpolation), or
    None when no Compose is installed."""
    cli = compose_cli()
    if cli is None:
        return None
    result = subprocess.run(cli + ["-f", str(path), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60)
    # Some wrappers drop the exit status, so an error line counts as well.
    errors = [line for line in result.stderr.splitlines() if line.strip() and "warn" not in line.lower()]
    if result.returncode != 0 or errors:
        return [f"compose: `{' '.join(cli)} config` rejects {path.name}: {' '.join(errors) or result.stderr.strip()}"]
    return []


# --------------------------------------------------------------------------
# kustomize
# --------------------------------------------------------------------------

def kustomize_targets(deploy_dir: Path = DEPLOY_DIR) -> list[Path]:
    """deploy/base, then every overlay that has a kustomization."""
    overlays = sorted(p.parent for p in (deploy_dir / "overlays").glob("*/kustomization.yaml"))
    return [deploy_dir / "base", *overlays]


def kustomize_command() -> list[str]:
    """How to render a tree on this machine; raises ToolMissing."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    raise ToolMissing(INSTALL_KUBECTL)


def render(target: Path) -> list[dict]:
    command = kustomize_command() + [str(target)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RenderError(f"{' '.join(command[:2])} {_relative(target)} failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _name(doc: Mapping) -> str:
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def _quantity(value: Any) -> bool:
    return isinstance(value, (int, float)) or (isinstance(value, str) and bool(QUANTITY.match(value)))


def check_custom_resource(doc: Mapping) -> list[str]:
    """The fields the operators need, for the two kinds the Kubernetes
    schemas don't cover."""
    key = (doc.get("apiVersion"), doc.get("kind"))
    name = (doc.get("metadata") or {}).get("name")
    spec = doc.get("spec") or {}
    problems = []
    if not name:
        problems.append(f"{key[1]} without metadata.name")
    label = f"{key[1]}/{name}"
    if key == CNPG:
        instances = spec.get("instances")
        if not isinstance(instances, int) or instances < 1:
            problems.append(f"{label}: spec.instances must be a positive integer (got {instances!r})")
        size = (spec.get("storage") or {}).get("size")
        if not _quantity(size):
            problems.append(f"{label}: spec.storage.size must be a quantity such as 10Gi (got {size!r})")
        initdb = (spec.get("bootstrap") or {}).get("initdb") or {}
        if initdb and not (initdb.get("database") and initdb.get("owner")):
            problems.append(f"{label}: spec.bootstrap.initdb needs both database and owner")
    elif key == RABBITMQ:
        replicas = spec.get("replicas")
        if not isinstance(replicas, int) or replicas < 1:
            problems.append(f"{label}: spec.replicas must be a positive integer (got {replicas!r})")
        elif replicas % 2 == 0:
            problems.append(f"{label}: spec.replicas should be odd for quorum queues (got {replicas})")
        storage = (spec.get("persistence") or {}).get("storage")
        if not _quantity(storage):
            problems.append(f"{label}: spec.persistence.storage must be a quantity such as 10Gi (got {storage!r})")
    return problems


def validate_documents(docs: Iterable[Mapping], version: str = KUBERNETES_VERSION) -> list[str]:
    """Schema problems of rendered documents: built-in kinds against the
    Kubernetes JSON schema of *version* (strict), custom resources by
    check_custom_resource."""
    try:
        import kubernetes_validate
        from kubernetes_validate.utils import SchemaNotFoundError, VersionNotSupportedError, all_versions
    except ImportError as error:
        raise ToolMissing(INSTALL_VALIDATE) from error
    wanted = ".".join(version.lstrip("v").split(".")[:2])
    if not any(v.startswith(wanted + ".") or v == wanted for v in all_versions()):
        raise ToolMissing(f"kubernetes-validate {kubernetes_validate.__version__} has no schemas for Kubernetes "
                          f"{wanted}; it has {', '.join(all_versions())}")
    problems = []
    for doc in docs:
        if (doc.get("apiVersion"), doc.get("kind")) in CUSTOM_KINDS:
            problems += check_custom_resource(doc)
            continue
        try:
            kubernetes_validate.validate(dict(doc), version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path) or "(top)"
            problems.append(f"{_name(doc)}: {path}: {error.message}")
        except SchemaNotFoundError as error:
            problems.append(f"{_name(doc)}: {error.message}")
        except VersionNotSupportedError as error:
            raise ToolMissing(error.message) from error
    return problems


def _containers(deployment: Mapping, init: bool = False) -> list[dict]:
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    return list(spec.get("initContainers" if init else "containers") or [])


def _argv(container: Mapping) -> list[str]:
    argv = [str(part) for part in (container.get("command") or []) + (container.get("args") or [])]
    return argv[1:] if argv[:1] == ["cadena"] else argv


def _env(container: Mapping) -> dict[str, dict]:
    return {item["name"]: item for item in container.get("env") or []}


def _probe_path(container: Mapping, probe: str) -> str | None:
    return (((container.get(probe) or {}).get("httpGet")) or {}).get("path")


def _selects(selector: Mapping | None, labels: Mapping) -> bool:
    match = (selector or {}).get("matchLabels") or {}
    return bool(match) and all(labels.get(key) == value for key, value in match.items())


def _runs_as_non_root(deployment: Mapping, container: Mapping) -> bool:
    pod = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("securityContext") or {}
    own = container.get("securityContext") or {}
    return bool(own.get("runAsNonRoot", pod.get("runAsNonRoot")))


def _has_resources(container: Mapping) -> bool:
    resources = container.get("resources") or {}
    return all(key in (resources.get(kind) or {}) for kind in ("requests", "limits") for key in ("cpu", "memory"))


def _check_db_env(label: str, container: Mapping, component: str) -> tuple[list[str], str | None]:
    problems = []
    env = _env(container)
    for other in COMPONENTS:
        if other != component and db_var(other) in env:
            problems.append(f"{label}: is given {db_var(other)}: a service reads only its own database")
    item = env.get(db_var(component))
    if not item:
        return problems + [f"{label}: no {db_var(component)}"], None
    ref = ((item.get("valueFrom") or {}).get("secretKeyRef")) or {}
    if not ref:
        return problems + [f"{label}: {db_var(component)} should come from the CloudNativePG secret, not a literal"], None
    if ref.get("key") != "uri":
        problems.append(f"{label}: {db_var(component)} should read key 'uri' of {ref.get('name')}")
    return problems, ref.get("name")


def check_rendered(docs: list[Mapping], target: str = "base") -> list[str]:
    """Whole-system checks of one rendered kustomize tree."""
    problems: list[str] = []
    index: dict[tuple[str, str], Mapping] = {}
    for doc in docs:
        index[(doc.get("kind"), (doc.get("metadata") or {}).get("name"))] = doc
    of_kind = lambda kind: [d for d in docs if d.get("kind") == kind]  # noqa: E731
    deployments = of_kind("Deployment")
    hpas = of_kind("HorizontalPodAutoscaler")
    pdbs = of_kind("PodDisruptionBudget")
    config_maps = {d["metadata"]["name"] for d in of_kind("ConfigMap")}
    db_clusters = {d["metadata"]["name"]: d for d in docs if (d.get("apiVersion"), d.get("kind")) == CNPG}
    prefix = f"{target}: "

    if not [d for d in docs if (d.get("apiVersion"), d.get("kind")) == RABBITMQ]:
        problems.append(prefix + "no RabbitmqCluster")

    secret_owner: dict[str, str] = {}
    for component, port in COMPONENTS.items():
        cluster = f"{component}-db"
        if cluster not in db_clusters:
            problems.append(prefix + f"no CloudNativePG Cluster {cluster}")
        for role in ("web", "worker"):
            name = f"{component}-{role}"
            deployment = index.get(("Deployment", name))
            if not deployment:
                problems.append(prefix + f"no Deployment {name}")
                continue
            label = prefix + f"Deployment/{name}"
            template = (deployment.get("spec") or {}).get("template") or {}
            pod_labels = (template.get("metadata") or {}).get("labels") or {}
            if not _selects((deployment.get("spec") or {}).get("selector"), pod_labels):
                problems.append(label + ": its selector does not match its pod labels")

            expected = ["serve", component, "--bind", f"0.0.0.0:{port}"] if role == "web" else ["worker", component]
            main = [c for c in _containers(deployment) if _argv(c) == expected]
            if not main:
                problems.append(label + f": no container runs `cadena {' '.join(expected)}`")
                continue
            container = main[0]
            migrate = [c for c in _containers(deployment, init=True) if _argv(c) == ["migrate", component]]
            if not migrate:
                problems.append(label + f": no init container runs `cadena migrate {component}`")

            for checked, what in [(container, role), *((c, "migrate") for c in migrate)]:
                found, secret = _check_db_env(f"{label} ({what})", checked, component)
                problems += found
                if secret:
                    if secret != f"{cluster}-app":
                        problems.append(label + f": database secret {secret} is not {cluster}-app")
                    owner = secret_owner.setdefault(secret, component)
                    if owner != component:
                        problems.append(prefix + f"{owner} and {component} share database secret {secret}")
                if not _runs_as_non_root(deployment, checked):
                    problems.append(label + f" ({what}): not runAsNonRoot")
                if not _has_resources(checked):
                    problems.append(label + f" ({what}): needs cpu and memory requests and limits")
                for source in checked.get("envFrom") or []:
                    ref = (source.get("configMapRef") or {}).get("name")
                    if ref and ref not in config_maps:
                        problems.append(label + f" ({what}): ConfigMap {ref} is not in the rendered output")
            if "CADENA_AMQP_URL" not in _env(container):
                problems.append(label + ": no CADENA_AMQP_URL")

            if role == "web":
                ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
                if port not in ports.values():
                    problems.append(label + f": container port {port} is not declared")
                if _probe_path(container, "livenessProbe") != "/healthz":
                    problems.append(label + ": livenessProbe must GET /healthz")
                if _probe_path(container, "readinessProbe") != "/readyz":
                    problems.append(label + ": readinessProbe must GET /readyz")
                service = index.get(("Service", component))
                if not service:
                    problems.append(prefix + f"no Service {component}")
                else:
                    spec = service.get("spec") or {}
                    if spec.get("type", "ClusterIP") != "ClusterIP":
                        problems.append(prefix + f"Service/{component} should be ClusterIP")
                    if port not in [p.get("port") for p in spec.get("ports") or []]:
                        problems.append(prefix + f"Service/{component} does not serve port {port}")
                    if not _selects({"matchLabels": spec.get("selector")}, pod_labels):
                        problems.append(prefix + f"Service/{component} does not select {name}'s pods")
                budgets = [p for p in pdbs if _selects((p.get("spec") or {}).get("selector"), pod_labels)]
                if not budgets:
                    problems.append(prefix + f"no PodDisruptionBudget selects {name}'s pods")
                for budget in budgets:
                    spec = budget.get("spec") or {}
                    if "minAvailable" not in spec and "maxUnavailable" not in spec:
                        problems.append(prefix + f"{_name(budget)} sets neither minAvailable nor maxUnavailable")
            else:
                if _env(container).get("CADENA_METRICS_PORT", {}).get("value") != WORKER_METRICS_PORT:
                    problems.append(label + f": CADENA_METRICS_PORT should be {WORKER_METRICS_PORT}")
                if _probe_path(container, "livenessProbe") != "/healthz":
                    problems.append(label + ": livenessProbe must GET /healthz on the metrics port")

    # Every Deployment scaled by exactly one autoscaler of the right kind.
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        scalers = [h for h in hpas if ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name
                   and h["spec"]["scaleTargetRef"].get("kind") == "Deployment"]
        if len(scalers) != 1:
            problems.append(prefix + f"Deployment/{name} has {len(scalers)} HorizontalPodAutoscalers (want 1)")
            continue
        scaler = scalers[0]
        spec = scaler["spec"]
        if scaler.get("apiVersion") != "autoscaling/v2":
            problems.append(prefix + f"{_name(scaler)} should be autoscaling/v2")
        if spec.get("minReplicas", 1) > spec.get("maxReplicas", 0):
            problems.append(prefix + f"{_name(scaler)}: minReplicas exceeds maxReplicas")
        metrics = spec.get("metrics") or []
        if name.endswith("-web"):
            if not any(m.get("type") == "Resource" and m["resource"].get("name") == "cpu" for m in metrics):
                problems.append(prefix + f"{_name(scaler)} should scale on CPU")
            if target == "production" and spec.get("minReplicas", 1) < PRODUCTION["web_min_replicas"]:
                problems.append(prefix + f"{_name(scaler)}: production wants minReplicas >= {PRODUCTION['web_min_replicas']}")
        elif name.endswith("-worker"):
            external = [m["external"] for m in metrics if m.get("type") == "External"]
            if not any((e.get("metric") or {}).get("name") == QUEUE_METRIC and (e.get("metric") or {}).get("selector")
                       for e in external):
                problems.append(prefix + f"{_name(scaler)} should scale on External metric {QUEUE_METRIC} "
                                "with a selector for the service's queues")

    if target == "production":
        for name, cluster in db_clusters.items():
            if (cluster.get("spec") or {}).get("instances", 0) < PRODUCTION["db_instances"]:
                problems.append(prefix + f"Cluster/{name}: production wants {PRODUCTION['db_instances']} instances")
        namespace = PRODUCTION["namespace"]
        for doc in docs:
            if doc.get("kind") != "Namespace" and (doc.get("metadata") or {}).get("namespace") != namespace:
                problems.append(prefix + f"{_name(doc)} is not in namespace {namespace}")
    return problems


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------

def run(version: str = KUBERNETES_VERSION, compose_only: bool = False) -> tuple[list[str], str]:
    """All checks; returns (problems, summary). Raises ToolMissing."""
    problems: list[str] = []
    try:
        compose = load_compose()
    except (OSError, yaml.YAMLError, ValueError) as error:
        problems.append(f"compose: cannot read docker-compose.yml: {error}")
        compose = {}
    if compose:
        problems += check_compose(compose)
    verdict = compose_config_problems() if compose else None
    problems += verdict or []
    services = len((compose or {}).get("services") or {})
    summary = [f"docker-compose.yml ({services} services, {len(compose_databases(compose))} databases"
               + (", accepted by compose config)" if verdict == [] else ")")]
    if not compose_only:
        kustomize_command()  # fail early, with the install hint
        for target in kustomize_targets():
            try:
                docs = render(target)
            except RenderError as error:
                problems.append(str(error))
                continue
            problems += [f"{target.name}: {p}" for p in validate_documents(docs, version)]
            problems += check_rendered(docs, target.name)
            custom = sum((d.get("apiVersion"), d.get("kind")) in CUSTOM_KINDS for d in docs)
            summary.append(f"{_relative(target)} ({len(docs)} documents, {custom} custom resources checked by field)")
        summary[-1] += f" against Kubernetes {'.'.join(version.split('.')[:2])} schemas"
    return problems, "deploy check passed: " + "; ".join(summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION,
                        help=f"schema version to validate against (default {KUBERNETES_VERSION})")
    parser.add_argument("--compose-only", action="store_true", help="skip the kustomize renders")
    args = parser.parse_args(argv)
    try:
        problems, summary = run(args.kubernetes_version, args.compose_only)
    except ToolMissing as error:
        print(f"deploy/check.py: {error}", file=sys.stderr)
        return 2
    if problems:
        print(f"deploy/check.py: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
