"""The deployment files: docker-compose.yml and the kustomize trees.

Runs deploy/check.py's checks without a Docker engine or a cluster. The
kustomize tests need kubectl (or kustomize) to render and are skipped
without it; everything else always runs.
"""
from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_checker():
    spec = importlib.util.spec_from_file_location("deploy_check", ROOT / "deploy" / "check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check = _load_checker()
COMPONENTS = list(check.COMPONENTS)
HAS_KUSTOMIZE = bool(shutil.which("kubectl") or shutil.which("kustomize"))
needs_kustomize = pytest.mark.skipif(
    not HAS_KUSTOMIZE, reason="kubectl (or kustomize) is not installed: cannot render deploy/ offline")


# --- docker-compose.yml ----------------------------------------------------

@pytest.fixture(scope="module")
def compose():
    return check.load_compose()


def _problems(compose_dict):
    return check.check_compose(compose_dict, root=ROOT)


def test_compose_passes_every_check(compose):
    assert _problems(compose) == []


def test_each_service_has_its_own_database(compose):
    databases = check.compose_databases(compose)
    assert sorted(databases) == sorted(COMPONENTS)
    hosts = [host for host, _port, _db in databases.values()]
    assert len(set(hosts)) == len(hosts), databases
    for component, (host, _port, database) in databases.items():
        assert host == f"{component}-db"
        assert database == component


def test_every_process_reads_only_its_own_database(compose):
    services = check.interpolate(compose["services"])
    for name, (role, component) in check.cadena_processes(services).items():
        database_vars = {key for key in check.service_env(services[name]) if key.endswith("_DATABASE_URL")}
        assert database_vars == {check.db_var(component)}, name


def test_every_web_service_has_a_readiness_healthcheck(compose):
    services = check.interpolate(compose["services"])
    webs = [name for name, (role, _c) in check.cadena_processes(services).items() if role == "web"]
    assert sorted(webs) == sorted(COMPONENTS)
    for name in webs:
        assert "/readyz" in check.healthcheck_test(services[name]), name


def test_start_order_is_database_then_migrate_then_processes(compose):
    services = compose["services"]
    for component in COMPONENTS:
        assert check.service_depends(services[f"{component}-migrate"]) == {f"{component}-db": "service_healthy"}
        for name in (component, f"{component}-worker"):
            assert check.service_depends(services[name]) == {
                f"{component}-migrate": "service_completed_successfully",
                "rabbitmq": "service_healthy",
            }


def test_a_shared_database_is_reported(compose):
    broken = copy.deepcopy(compose)
    env = broken["services"]["accounts"]["environment"]
    env["CADENA_ACCOUNTS_DATABASE_URL"] = "postgresql+psycopg://cadena:cadena@gateway-db:5432/gateway"
    problems = _problems(broken)
    assert any("share the database host gateway-db" in p for p in problems), problems


def test_a_shared_database_is_reported_in_a_minimal_file():
    def process(command, url):
        return {"image": "cadena:latest", "build": ".", "command": command,
                "environment": {url[0]: url[1], "CADENA_AMQP_URL": "amqp://u:p@mq:5672/%2F"}}

    minimal = {"services": {
        "db": {"image": "postgres:16", "healthcheck": {"test": ["CMD", "pg_isready"]}},
        "mq": {"image": "rabbitmq:3.13-management", "healthcheck": {"test": ["CMD", "true"]}},
        "gateway": process(["serve", "gateway", "--bind", "0.0.0.0:8000"],
                           ("CADENA_GATEWAY_DATABASE_URL", "postgresql://c:c@db:5432/crm")),
        "accounts": process(["serve", "accounts", "--bind", "0.0.0.0:8001"],
                            ("CADENA_ACCOUNTS_DATABASE_URL", "postgresql://c:c@db:5432/crm")),
    }}
    problems = _problems(minimal)
    assert any("accounts and gateway share the database host db" in p for p in problems), problems


def test_a_web_without_healthcheck_is_reported(compose):
    broken = copy.deepcopy(compose)
    del broken["services"]["support"]["healthcheck"]
    assert "compose: web service support has no healthcheck" in _problems(broken)


def test_a_plain_depends_on_is_reported(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["campaigns"]["depends_on"] = ["campaigns-migrate", "rabbitmq"]
    problems = _problems(broken)
    assert any("campaigns must depend on campaigns-migrate with condition service_completed_successfully" in p
               for p in problems), problems


def test_another_services_database_url_is_reported(compose):
    broken = copy.deepcopy(compose)
    worker_env = dict(broken["services"]["support-worker"]["environment"])
    worker_env["CADENA_GATEWAY_DATABASE_URL"] = "postgresql://c:c@gateway-db:5432/gateway"
    broken["services"]["support-worker"]["environment"] = worker_env
    problems = _problems(broken)
    assert any("support-worker is given CADENA_GATEWAY_DATABASE_URL" in p for p in problems), problems


def test_a_missing_build_context_and_a_bad_image_are_reported(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["gateway"]["build"] = "no-such-dir"
    broken["services"]["mailpit"]["image"] = "Not An Image"
    problems = _problems(broken)
    assert any("build context 'no-such-dir' is not a directory" in p for p in problems), problems
    assert any("'Not An Image' is not a valid image reference" in p for p in problems), problems


def test_the_script_prints_one_line_on_success(capsys):
    assert check.main(["--compose-only"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("deploy check passed: docker-compose.yml") and out.count("\n") == 1


def test_interpolation_follows_compose():
    assert check.interpolate("${A:-x}/${B-y}/$$C/${D}", {"A": "", "B": ""}) == "x//$C/"


# --- kustomize -----------------------------------------------------------

TARGETS = [path.relative_to(ROOT).as_posix() for path in check.kustomize_targets()]


def test_base_and_production_overlay_exist():
    assert {"deploy/base", "deploy/overlays/production"} <= set(TARGETS)


@pytest.fixture(scope="module")
def rendered():
    if not HAS_KUSTOMIZE:
        pytest.skip("kubectl (or kustomize) is not installed: cannot render deploy/ offline")
    return {target: check.render(ROOT / target) for target in TARGETS}


def _of(docs, kind):
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@needs_kustomize
@pytest.mark.parametrize("target", TARGETS)
def test_every_rendered_document_validates(rendered, target):
    assert rendered[target], f"{target} rendered nothing"
    assert check.validate_documents(rendered[target]) == []


@needs_kustomize
@pytest.mark.parametrize("target", TARGETS)
def test_rendered_tree_passes_the_system_checks(rendered, target):
    assert check.check_rendered(rendered[target], Path(target).name) == []


@needs_kustomize
@pytest.mark.parametrize("target", TARGETS)
def test_every_web_deployment_probes_healthz_and_readyz(rendered, target):
    deployments = _of(rendered[target], "Deployment")
    for component in COMPONENTS:
        web = deployments[f"{component}-web"]["spec"]["template"]["spec"]
        container = next(c for c in web["containers"] if c["name"] == "web")
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert [c["args"] for c in web["initContainers"]] == [["migrate", component]]


@needs_kustomize
@pytest.mark.parametrize("target", TARGETS)
def test_an_autoscaler_targets_every_web_and_worker_deployment(rendered, target):
    targets = {h["spec"]["scaleTargetRef"]["name"]: h for h in _of(rendered[target], "HorizontalPodAutoscaler").values()}
    for component in COMPONENTS:
        web, worker = targets[f"{component}-web"], targets[f"{component}-worker"]
        assert {m["type"] for m in web["spec"]["metrics"]} == {"Resource"}
        external = [m["external"]["metric"] for m in worker["spec"]["metrics"] if m["type"] == "External"]
        assert external and external[0]["name"] == "rabbitmq_queue_messages_ready"
        assert external[0]["selector"]["matchLabels"] == {"cadena_service": component}


@needs_kustomize
@pytest.mark.parametrize("target", TARGETS)
def test_a_disruption_budget_per_web_deployment(rendered, target):
    budgets = _of(rendered[target], "PodDisruptionBudget")
    for component in COMPONENTS:
        budget = budgets[f"{component}-web"]["spec"]
        assert budget["minAvailable"] == 1
        assert budget["selector"]["matchLabels"]["app.kubernetes.io/name"] == component


@needs_kustomize
def test_production_overlay_sizes_and_namespace(rendered):
    docs = rendered["deploy/overlays/production"]
    assert {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} == {"cadena"}
    assert {c["spec"]["instances"] for c in _of(docs, "Cluster").values()} == {3}
    assert "cadena-secrets" not in _of(docs, "Secret"), "the placeholder secret must not reach production"
    images = {c["image"] for d in _of(docs, "Deployment").values() for c in d["spec"]["template"]["spec"]["containers"]}
    assert len(images) == 1 and not images.pop().endswith(":latest")


@needs_kustomize
def test_broken_manifests_are_reported(rendered):
    docs = copy.deepcopy(rendered["deploy/base"])
    deployments = _of(docs, "Deployment")
    web = deployments["accounts-web"]
    web["spec"]["replicaz"] = 3
    web["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe")
    for scaler in _of(docs, "HorizontalPodAutoscaler").values():
        if scaler["metadata"]["name"] == "support-worker":
            scaler["spec"]["scaleTargetRef"]["name"] = "someone-else"
    _of(docs, "PodDisruptionBudget")["gateway-web"]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "x"
    _of(docs, "Cluster")["campaigns-db"]["spec"]["storage"] = {}

    schema = check.validate_documents(docs)
    assert any("replicaz" in p for p in schema), schema
    assert any("Cluster/campaigns-db: spec.storage.size" in p for p in schema), schema
    system = check.check_rendered(docs, "base")
    for expected in ("Deployment/accounts-web: readinessProbe must GET /readyz",
                     "Deployment/support-worker has 0 HorizontalPodAutoscalers",
                     "no PodDisruptionBudget selects gateway-web's pods"):
        assert any(expected in p for p in system), (expected, system)


def test_missing_kubectl_is_reported_with_a_hint(monkeypatch):
    monkeypatch.setattr(check.shutil, "which", lambda name: None)
    with pytest.raises(check.ToolMissing, match="kubectl was not found"):
        check.kustomize_command()
