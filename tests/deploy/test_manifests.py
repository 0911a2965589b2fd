"""deploy/: the Kubernetes manifests are valid, the compose files parse, and every sqlgate
setting they name exists and is wired where the issue says (Ray workers, the distributed
lane, the state store, results on S3).

Core kinds are validated against the Kubernetes OpenAPI schemas that `kubernetes-validate`
ships (offline). KubeRay's CRD schema is not published on a package registry, so the
RayCluster gets a structural check instead: its pod templates are validated as core
PodTemplateSpecs, and its own fields are checked against the names and types of KubeRay's
``ray.io/v1`` API (``RayClusterSpec``, ``HeadGroupSpec``, ``WorkerGroupSpec``).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from sqlgate.settings import Settings

kv = pytest.importorskip("kubernetes_validate", reason="needs kubernetes-validate (dev extra)")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = sorted((DEPLOY / "k8s").glob("*.yaml"))
COMPOSE = sorted(DEPLOY.glob("compose*.yaml"))
# Every setting's environment variable (field names are unique across the sections).
SETTING_ENV = {f"SQLGATE_{f.name.upper()}" for section in fields(Settings)
               for f in fields(getattr(Settings(), section.name))}

# KubeRay ray.io/v1 field names (ray-operator/apis/ray/v1/raycluster_types.go).
RAYCLUSTER_SPEC = {
    "upgradeStrategy", "authOptions", "suspend", "managedBy", "autoscalerOptions",
    "headServiceAnnotations", "enableInTreeAutoscaling", "gcsFaultToleranceOptions",
    "historyServerOptions", "networkPolicy", "tlsOptions", "headGroupSpec", "rayVersion",
    "workerGroupSpecs",
}
HEAD_GROUP = {"template", "headService", "enableIngress", "rayStartParams", "serviceType",
              "suspend"}
WORKER_GROUP = {"groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams",
                "template", "scaleStrategy", "numOfHosts", "idleTimeoutSeconds", "suspend"}
AUTOSCALER = {"resources", "image", "imagePullPolicy", "securityContext", "env", "envFrom",
              "volumeMounts", "upscalingMode", "idleTimeoutSeconds", "version"}
AUTH_OPTIONS = {"enableK8sTokenAuth", "secretName", "mode"}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _all_k8s() -> list[dict[str, Any]]:
    return [d for path in K8S for d in _docs(path)]


def _named(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _all_k8s() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"deploy/k8s defines {kind} {name} {len(found)} times"
    return found[0]


def _pod_template(template: dict[str, Any]) -> dict[str, Any]:
    """A pod template of a custom resource (or Sail's JSON) as a core PodTemplate."""
    return {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
            "template": template}


def _validate(doc: dict[str, Any]) -> None:
    kv.validate(doc, kv.latest_version(), strict=True)


def _core_docs() -> list[dict[str, Any]]:
    return [d for d in _all_k8s() if not d["apiVersion"].startswith("ray.io/")]


@pytest.mark.parametrize("doc", _core_docs(),
                         ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_core_kinds_are_valid_kubernetes(doc: dict[str, Any]) -> None:
    _validate(doc)


def test_the_validator_catches_a_broken_manifest() -> None:
    deployment = copy.deepcopy(_named("Deployment", "sqlgate"))
    deployment["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(kv.ValidationError):
        _validate(deployment)
    deployment = copy.deepcopy(_named("Deployment", "sqlgate"))
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kv.ValidationError):
        _validate(deployment)


def test_sails_worker_pod_template_is_a_pod_template() -> None:
    template = json.loads(_named("ConfigMap", "sail-worker-template")["data"]["worker.json"])
    _validate(_pod_template(template))
    sail = _named("Deployment", "sail")
    assert sail["metadata"]["namespace"] == _named("Namespace", "sqlgate-sail")["metadata"]["name"]
    account = sail["spec"]["template"]["spec"]["serviceAccountName"]
    assert _named("ServiceAccount", account)["metadata"]["namespace"] == "sqlgate-sail"
    binding = _named("RoleBinding", "sail-workers")
    assert binding["subjects"][0]["name"] == account
    env = {e["name"]: e for e in sail["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SAIL_MODE"]["value"] == "kubernetes-cluster"
    assert env["SAIL_KUBERNETES__WORKER_SERVICE_ACCOUNT_NAME"]["value"] == account


def _check_keys(where: str, got: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(got) - allowed)
    assert not unknown, f"{where}: not KubeRay v1 fields: {unknown}"


def _check_group(where: str, group: dict[str, Any]) -> None:
    params = group.get("rayStartParams", {})
    assert all(isinstance(v, str) for v in params.values()), (
        f"{where}.rayStartParams: KubeRay takes strings only (map[string]string)")
    _validate(_pod_template(group["template"]))


def test_raycluster_has_kuberays_shape_and_an_autoscaling_worker_group() -> None:
    (cluster,) = [d for d in _all_k8s() if d["kind"] == "RayCluster"]
    assert cluster["apiVersion"] == "ray.io/v1"
    spec = cluster["spec"]
    _check_keys("spec", spec, RAYCLUSTER_SPEC)
    _check_keys("spec.headGroupSpec", spec["headGroupSpec"], HEAD_GROUP)
    _check_keys("spec.autoscalerOptions", spec.get("autoscalerOptions", {}), AUTOSCALER)
    _check_keys("spec.authOptions", spec.get("authOptions", {}), AUTH_OPTIONS)
    _check_group("spec.headGroupSpec", spec["headGroupSpec"])
    assert spec["enableInTreeAutoscaling"] is True
    assert isinstance(spec["rayVersion"], str)
    (group,) = spec["workerGroupSpecs"]
    _check_keys("spec.workerGroupSpecs[0]", group, WORKER_GROUP)
    _check_group("spec.workerGroupSpecs[0]", group)
    assert isinstance(group["groupName"], str)
    # From zero: the autoscaler adds pods while actors wait for them.
    assert group["minReplicas"] == 0 <= group["replicas"] <= group["maxReplicas"]
    assert group["maxReplicas"] > 0
    # Token auth, with the token in a Secret the gateway reads too.
    auth = spec["authOptions"]
    assert auth["mode"] == "token"
    assert "auth_token" in _named("Secret", auth["secretName"])["stringData"]


def _env_names(text: str) -> set[str]:
    return set(re.findall(r"\bSQLGATE_[A-Z0-9_]+\b", text))


def _set_flags(text: str) -> set[str]:
    """Names given as ``--set name=value`` (the CLI's flag) anywhere in the text."""
    return set(re.findall(r"--set[ =]+([A-Za-z0-9_]+)=", text))


def test_every_setting_named_in_deploy_exists() -> None:
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix != ".md"]
    for path in files:
        text = path.read_text()
        unknown = sorted(_env_names(text) - SETTING_ENV)
        assert not unknown, f"{path.name}: not sqlgate settings: {unknown}"
        flags = {f"SQLGATE_{n.upper()}" for n in _set_flags(text)}
        assert flags <= SETTING_ENV, f"{path.name}: --set of unknown settings {flags}"
    assert _env_names("SQLGATE_NOT_A_SETTING") - SETTING_ENV  # the check can fail


def _settings(env: dict[str, Any]) -> Settings:
    """What a gateway with this environment runs with (every value must parse)."""
    return Settings.load(env={k: str(v) for k, v in env.items() if k.startswith("SQLGATE_")})


def _k8s_env(container: dict[str, Any]) -> dict[str, str]:
    """A container's environment from its envFrom and env, every reference resolved."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        kind, ref = (("ConfigMap", source["configMapRef"]) if "configMapRef" in source
                     else ("Secret", source["secretRef"]))
        obj = _named(kind, ref["name"])
        env.update(obj.get("data") or obj.get("stringData") or {})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]
        if "configMapKeyRef" in ref:
            key_ref = ref["configMapKeyRef"]
            env[item["name"]] = _named("ConfigMap", key_ref["name"])["data"][key_ref["key"]]
        elif "secretKeyRef" in ref:
            key_ref = ref["secretKeyRef"]
            env[item["name"]] = _named("Secret", key_ref["name"])["stringData"][key_ref["key"]]
    return env


def test_the_kubernetes_gateway_is_wired_to_ray_sail_postgres_and_s3() -> None:
    (container,) = _named("Deployment", "sqlgate")["spec"]["template"]["spec"]["containers"]
    env = _k8s_env(container)  # every ConfigMap and Secret it names exists, with its keys
    s = _settings(env)
    assert s.pool.worker_provider == "ray"
    host = s.pool.ray_address.split(":")[0]
    assert host == f"{_named('RayCluster', 'sqlgate-ray')['metadata']['name']}-head-svc"
    assert s.engine.distributed_engine == "sc://sail.sqlgate-sail.svc:50051"
    assert _named("Service", "sail")["spec"]["ports"][0]["port"] == 50051
    assert s.pool.distributed_min_bytes > 0
    assert s.gateway.state_store.startswith("postgresql://")
    assert s.fetch.results.startswith("s3://") and s.engine.lake.startswith("s3://")
    assert env["RAY_AUTH_MODE"] == "token" and env["RAY_AUTH_TOKEN"]


def _compose(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())  # anchors and `<<` merges resolved
    assert isinstance(data.get("services"), dict), f"{path.name}: no services"
    return data


@pytest.mark.parametrize("path", COMPOSE, ids=lambda p: p.name)
def test_compose_files_parse_and_publish_only_on_loopback(path: Path) -> None:
    services = _compose(path)["services"]
    for name, service in services.items():
        for dep in service.get("depends_on", []):
            assert dep in services, f"{path.name}: {name} depends on unknown {dep}"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{path.name}: {name} publishes {port}"
        _settings(service.get("environment") or {})  # values parse as their settings


def test_compose_scale_gateway_uses_ray_sail_and_s3() -> None:
    services = _compose(DEPLOY / "compose.scale.yaml")["services"]
    env = services["sqlgate"]["environment"]
    s = _settings(env)
    assert s.pool.worker_provider == "ray"
    assert s.pool.ray_address.split(":")[0] in services
    assert "--port=" + s.pool.ray_address.split(":")[1] in " ".join(
        services["ray-head"]["entrypoint"])
    lane = s.engine.distributed_engine or ""
    assert lane.startswith("sc://") and lane[5:].split(":")[0] in services
    assert s.fetch.results.startswith("s3://") and s.engine.lake.startswith("s3://")
    assert s.gateway.state_store
    assert env["RAY_AUTH_MODE"] == "token"
    assert services["ray-worker"]["environment"]["RAY_AUTH_MODE"] == "token"
