"""deploy/: the Kubernetes manifests and the Dockerfile users copy, checked without a cluster.

Every YAML document is deserialized into the official `kubernetes` client's typed model and
serialized back: a field the model does not know (a typo such as ``containerPorts``) is dropped on
the way and shows up as a difference. Then the semantics KUBE_PING and DNS_PING depend on: RBAC
(list pods in the core group, bound to the ServiceAccount the pods run as), the downward-API
namespace, ``KUBERNETES_LABELS`` selecting the pod template, the headless Service, the JGroups
port, and a default command the pygroups CLI accepts with a stock stack that resolves the pod's
environment to the right bind address and DNS name.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import kubernetes.client as kubernetes_client  # noqa: TID251 - the manifests are checked against the client's models
import pytest
import yaml  # PyYAML: a dependency of the kubernetes client, itself a pygroups dependency

from pygroups.cli import _parser
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.stack.config import load_stack_file, stock_stack_names
from pygroups.stack.registry import build_layers

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = ("rbac.yaml", "deployment.yaml", "service-headless.yaml")

# (apiVersion, kind) -> model class name; anything else is a test failure, not a silent skip
MODELS = {
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "Service"): "V1Service",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
}
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")  # Kubernetes' IsEnvVarName


def _documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for name in MANIFESTS:
        for doc in yaml.safe_load_all((DEPLOY / name).read_text()):
            if doc is not None:
                docs.append((name, doc))
    return docs


DOCS = _documents()


def _one(kind: str) -> dict[str, Any]:
    found = [d for _, d in DOCS if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _container() -> dict[str, Any]:
    containers = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _env() -> dict[str, dict[str, Any]]:
    env = _container()["env"]
    names = [e["name"] for e in env]
    assert len(names) == len(set(names)), f"duplicate env names: {names}"
    return {e["name"]: e for e in env}


def _selector(text: str) -> dict[str, str]:
    """An equality-only label selector (``a=b,c=d``) as a dict; other operators fail the test."""
    out = {}
    for term in text.split(","):
        key, eq, value = term.strip().partition("=")
        assert eq and key and "!" not in key and not value.startswith("="), f"not an equality term: {term!r}"
        out[key.strip()] = value.strip()
    return out


# ------------------------------------------------------------------------------------ schema

@pytest.mark.parametrize(("source", "doc"), DOCS, ids=[f"{s}:{d.get('kind')}" for s, d in DOCS])
def test_document_matches_the_kubernetes_model(source: str, doc: dict[str, Any]) -> None:
    key = (doc.get("apiVersion"), doc.get("kind"))
    assert key in MODELS, f"{source}: unexpected apiVersion/kind {key}"
    api = kubernetes_client.ApiClient()
    model = api._ApiClient__deserialize(doc, MODELS[key])
    assert type(model).__name__ == MODELS[key]
    # a field the model does not know is dropped by the round trip; json normalises int/str keys
    back = json.loads(json.dumps(api.sanitize_for_serialization(model)))
    assert back == json.loads(json.dumps(doc)), f"{source}: {key[1]} has fields the model does not know"
    assert doc["metadata"].get("name"), f"{source}: {key[1]} without a name"


def test_the_round_trip_catches_a_misspelt_field() -> None:
    doc = json.loads(json.dumps(_one("Deployment")))
    doc["spec"]["template"]["spec"]["containers"][0]["containerPorts"] = doc["spec"]["template"]["spec"][
        "containers"][0].pop("ports")
    api = kubernetes_client.ApiClient()
    back = api.sanitize_for_serialization(api._ApiClient__deserialize(doc, "V1Deployment"))
    assert back != doc


def test_every_object_is_in_one_namespace() -> None:
    namespaces = {d["metadata"].get("namespace") for _, d in DOCS}
    assert len(namespaces) == 1 and None not in namespaces, namespaces


# ------------------------------------------------------------------------------------ RBAC

def test_role_grants_exactly_get_and_list_on_core_pods() -> None:
    role = _one("Role")
    assert len(role["rules"]) == 1
    rule = role["rules"][0]
    assert rule["apiGroups"] == [""]
    assert rule["resources"] == ["pods"]
    assert sorted(rule["verbs"]) == ["get", "list"]
    assert set(rule) == {"apiGroups", "resources", "verbs"}  # no resourceNames etc. that would narrow it


def test_rolebinding_binds_the_role_to_the_deployments_service_account() -> None:
    role, binding, sa = _one("Role"), _one("RoleBinding"), _one("ServiceAccount")
    pod = _one("Deployment")["spec"]["template"]["spec"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                    "namespace": sa["metadata"]["namespace"]}]
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    assert pod.get("automountServiceAccountToken", True) is True  # KUBE_PING reads the mounted token
    assert binding["metadata"]["namespace"] == role["metadata"]["namespace"] == sa["metadata"]["namespace"]


# ------------------------------------------------------------------------------------ Deployment

def test_namespace_comes_from_the_downward_api() -> None:
    env = _env()["KUBERNETES_NAMESPACE"]
    assert "value" not in env
    assert env["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_kubernetes_labels_select_the_pod_template() -> None:
    deployment = _one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    wanted = _selector(_env()["KUBERNETES_LABELS"]["value"])
    assert wanted and wanted.items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_no_deprecated_or_misspelt_discovery_variables() -> None:
    names = set(_env())
    for bad in ("OPENSHIFT_KUBE_PING_NAMESPACE", "OPENSHIFT_KUBE_PING_LABELS", "SA_TOKEN_FILE",
                "KUBERNETES_LABEL", "KUBE_NAMESPACE", "KUBE_LABEL"):
        assert bad not in names
    for name in names:
        assert ENV_NAME.match(name), f"not a valid environment variable name: {name!r}"


def test_container_port_is_the_jgroups_bind_port() -> None:
    container = _container()
    ports = {p["name"]: p for p in container["ports"]}
    assert ports["jgroups"]["containerPort"] == 7800
    assert ports["jgroups"].get("protocol", "TCP") == "TCP"
    assert _env()["jgroups.bind_port"]["value"] == "7800"
    probe = container["readinessProbe"]
    assert probe["tcpSocket"]["port"] in ("jgroups", 7800)  # no HTTP endpoint in a pygroups node


def test_bind_addr_is_the_pod_ip() -> None:
    assert _env()["jgroups.bind_addr"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}


def test_container_runs_as_non_root() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert _container()["securityContext"]["allowPrivilegeEscalation"] is False


# ------------------------------------------------------------------------------------ headless Service

def test_headless_service_selects_the_cluster_pods() -> None:
    svc = _one("Service")
    labels = _one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["publishNotReadyAddresses"] is True
    assert svc["spec"]["selector"] == _selector(_env()["KUBERNETES_LABELS"]["value"])
    assert svc["spec"]["selector"].items() <= labels.items()
    ports = svc["spec"]["ports"]
    assert [(p["name"], p["port"], p["targetPort"], p.get("protocol", "TCP")) for p in ports] == [
        ("ping", 7800, 7800, "TCP")]


# ------------------------------------------------------------------------------------ commands and stacks

def _pod_environ() -> dict[str, str]:
    """The container's environment as the kubelet would set it, for a pod in the manifests'
    namespace with IP 10.1.2.3 (``$(VAR)`` references expanded, as Kubernetes does)."""
    field = {"metadata.namespace": _one("Deployment")["metadata"]["namespace"], "status.podIP": "10.1.2.3"}
    out: dict[str, str] = {}
    for name, e in _env().items():
        if "value" in e:
            out[name] = re.sub(r"\$\(([^)]+)\)", lambda m: out.get(m.group(1), m.group(0)), e["value"])
        else:
            out[name] = field[e["valueFrom"]["fieldRef"]["fieldPath"]]
    return out


def _dockerfile_exec_form(instruction: str) -> list[str]:
    lines = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith(instruction + " ")]
    assert len(lines) == 1, f"expected one {instruction}"
    value = json.loads(lines[0][len(instruction) + 1:])  # exec form: a JSON array
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def test_dockerfile_basics() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^RUN pip install /src\b", text, re.M)
    for copied in ("pyproject.toml", "README.md", "pygroups", "protocols"):  # what the hatch build needs
        assert re.search(rf"^COPY .*\b{re.escape(copied)}\b", text, re.M), copied
    assert _dockerfile_exec_form("ENTRYPOINT") == ["python3", "-m", "pygroups"]


@pytest.mark.parametrize("origin", ["Dockerfile", "deployment.yaml"])
def test_default_command_is_a_pygroups_subcommand(origin: str) -> None:
    argv = _dockerfile_exec_form("CMD") if origin == "Dockerfile" else _container()["args"]
    assert "command" not in _container()  # the image's ENTRYPOINT runs the args
    args = _parser().parse_args(argv)  # an unknown subcommand or option exits with status 2
    assert args.command == "chat"
    assert args.config in stock_stack_names(), shlex.join(argv)
    assert _container().get("stdin") is True  # chat leaves the cluster at end of input


def test_stack_resolves_the_pod_environment() -> None:
    environ = _pod_environ()
    args = _parser().parse_args(_container()["args"])
    tcp = load_stack_file(args.config, environ=environ).get("TCP")
    assert tcp is not None
    assert tcp.attributes["bind_addr"] == "10.1.2.3"
    assert tcp.attributes["bind_port"] == "7800"


def test_dns_ping_query_names_the_headless_service() -> None:
    svc = _one("Service")
    dns = load_stack_file("dns-ping-core.xml", environ=_pod_environ()).get("dns.DNS_PING")
    assert dns is not None
    assert dns.attributes["dns_query"] == f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local"


@pytest.mark.parametrize("config", ["kubernetes-core.xml", "dns-ping-core.xml"])
def test_pygroups_builds_the_stack_the_deployment_runs(config: str) -> None:
    """The stack files deploy/ names are ones pygroups implements completely (not only parses)."""
    environ = _pod_environ()
    layers = build_layers(load_stack_file(config, environ=environ), BUILTIN_PROTOCOLS, environ=environ)
    names = [getattr(layer, "name", "") for layer in layers]
    assert names[0] == "TCP" and names[-1] == "FRAG4", names
    assert any("PING" in n for n in names), names
