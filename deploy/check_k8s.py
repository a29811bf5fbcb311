#!/usr/bin/env python3
"""Structural checks of the Kubernetes manifests in deploy/k8s (offline).

kubectl cannot validate without an API server (`apply --dry-run=client` still
asks the server for its resource list), so this checker holds the manifests to
what the cluster would reject or silently mis-wire:

  - every document parses, has apiVersion, kind and metadata.name, is a kind
    we know with its apiVersion, and sits in a namespace that a manifest
    creates;
  - Deployments/StatefulSets: selector.matchLabels is a subset of the pod
    template labels; containers have a name, an image and unique port names
    (<= 15 characters); volumeMounts name a pod volume or volumeClaimTemplate;
    PVC claims name a PersistentVolumeClaim manifest; probe ports and the
    prometheus.io/port annotation name a container port;
  - Services select the pods of some workload, and every targetPort names (or
    numbers) a port of those pods' containers; headless where a StatefulSet
    names them as serviceName;
  - HOST:PORT in container args (--env=, --store=, --sink=store:, --learner=,
    ad-wait-for-store) name a Service of the namespace and one of its ports;
  - the store is a StatefulSet with a volumeClaimTemplate mounted by its
    container; the learner requests nvidia.com/gpu (requests == limits);
  - the Prometheus ConfigMap holds prometheus.yml (--extract-prometheus FILE
    writes it out for promtool) and every DNS/static target in it names a
    Service and port of the namespace;
  - NetworkPolicies: every podSelector (the policy's own and each `from`)
    selects the pods of some workload of the namespace, and every port
    number is a container port of the pods the policy selects;
  - kustomization.yaml lists exactly the manifest files.

Usage: check_k8s.py [DIR] [--extract-prometheus FILE]. Exit 0 clean, 1 with
one line per problem.
"""

import argparse
import os
import re
import sys

import yaml

KNOWN = {
    ("v1", "Namespace"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
}
CLUSTER_SCOPED = {"Namespace"}
WORKLOADS = {"Deployment", "StatefulSet"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# HOST:PORT after an optional "--flag=" and an optional "store:" sink scheme.
ADDRESS = re.compile(r"^(?:--[a-z_]+=)?(?:store:)?([a-z0-9.-]+):(\d+)$")


class Checker:
    def __init__(self):
        self.problems = []

    def error(self, where, msg):
        self.problems.append(f"{where}: {msg}")


def load(directory, chk):
    """Returns [(file, index, doc)] of every non-empty document."""
    docs = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".yaml", ".yml")) or name == "kustomization.yaml":
            continue
        path = os.path.join(directory, name)
        try:
            with open(path) as f:
                loaded = list(yaml.safe_load_all(f))
        except yaml.YAMLError as e:
            chk.error(name, f"does not parse: {e}")
            continue
        for i, doc in enumerate(loaded):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                chk.error(f"{name}#{i}", "document is not a mapping")
                continue
            docs.append((name, i, doc))
    return docs


def where(name, i, doc):
    kind = doc.get("kind", "?")
    meta = doc.get("metadata") or {}
    return f"{name}#{i} {kind}/{meta.get('name', '?')}"


def pod_spec(doc):
    return ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}


def pod_labels(doc):
    return (((doc.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def containers(doc):
    spec = pod_spec(doc)
    return (spec.get("initContainers") or []) + (spec.get("containers") or [])


def container_ports(doc):
    """{name or str(number): number} over the workload's main containers."""
    ports = {}
    for c in pod_spec(doc).get("containers") or []:
        for p in c.get("ports") or []:
            if "containerPort" in p:
                ports[str(p["containerPort"])] = p["containerPort"]
                if "name" in p:
                    ports[p["name"]] = p["containerPort"]
    return ports


def check_basics(docs, chk):
    namespaces = {d["metadata"]["name"] for _, _, d in docs
                  if d.get("kind") == "Namespace" and isinstance(d.get("metadata"), dict)}
    ok = []
    for name, i, doc in docs:
        w = where(name, i, doc)
        missing = [k for k in ("apiVersion", "kind", "metadata") if k not in doc]
        if missing:
            chk.error(w, f"missing {', '.join(missing)}")
            continue
        meta = doc["metadata"]
        if not isinstance(meta, dict) or not meta.get("name"):
            chk.error(w, "missing metadata.name")
            continue
        if (doc["apiVersion"], doc["kind"]) not in KNOWN:
            chk.error(w, f"unknown apiVersion/kind {doc['apiVersion']}/{doc['kind']}")
            continue
        if not DNS_LABEL.match(meta["name"]) or len(meta["name"]) > 63:
            chk.error(w, f"metadata.name {meta['name']!r} is not a DNS label")
        if doc["kind"] not in CLUSTER_SCOPED:
            ns = meta.get("namespace")
            if not ns:
                chk.error(w, "no metadata.namespace")
            elif ns not in namespaces:
                chk.error(w, f"namespace {ns!r} is created by no Namespace manifest")
        ok.append((name, i, doc))
    return ok


def check_workloads(docs, chk):
    pvcs = {(d["metadata"].get("namespace"), d["metadata"]["name"])
            for _, _, d in docs if d["kind"] == "PersistentVolumeClaim"}
    for name, i, doc in docs:
        if doc["kind"] not in WORKLOADS:
            continue
        w = where(name, i, doc)
        ns = doc["metadata"].get("namespace")
        spec = doc.get("spec") or {}
        match = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = pod_labels(doc)
        if not match:
            chk.error(w, "spec.selector.matchLabels is empty")
        for k, v in match.items():
            if labels.get(k) != v:
                chk.error(w, f"selector {k}={v} does not match template label {k}={labels.get(k)}")
        podspec = pod_spec(doc)
        if not podspec.get("containers"):
            chk.error(w, "no containers")
        volumes = {v.get("name") for v in podspec.get("volumes") or []}
        claim_templates = {(t.get("metadata") or {}).get("name")
                           for t in spec.get("volumeClaimTemplates") or []}
        for v in podspec.get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and (ns, claim) not in pvcs:
                chk.error(w, f"volume {v.get('name')} claims {claim!r}, which no PersistentVolumeClaim manifest defines")
        ports = container_ports(doc)
        for c in containers(doc):
            cw = f"{w} container {c.get('name', '?')}"
            for k in ("name", "image"):
                if not c.get(k):
                    chk.error(cw, f"no {k}")
            names = [p.get("name") for p in c.get("ports") or [] if p.get("name")]
            for n in names:
                if len(n) > 15:
                    chk.error(cw, f"port name {n!r} is longer than 15 characters")
            if len(names) != len(set(names)):
                chk.error(cw, "duplicate port names")
            for m in c.get("volumeMounts") or []:
                if m.get("name") not in volumes | claim_templates:
                    chk.error(cw, f"volumeMount {m.get('name')!r} names no volume or volumeClaimTemplate")
            for probe_kind in ("readinessProbe", "livenessProbe", "startupProbe"):
                probe = c.get(probe_kind) or {}
                for handler in ("grpc", "httpGet", "tcpSocket"):
                    if handler in probe and str(probe[handler].get("port")) not in ports:
                        chk.error(cw, f"{probe_kind}.{handler}.port {probe[handler].get('port')!r} is no container port")
        annotations = (((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {})
        if "prometheus.io/port" in annotations and annotations["prometheus.io/port"] not in ports:
            chk.error(w, f"prometheus.io/port {annotations['prometheus.io/port']} is no container port")


def workloads_selected(docs, service):
    ns = service["metadata"].get("namespace")
    selector = (service.get("spec") or {}).get("selector") or {}
    out = []
    for _, _, doc in docs:
        if doc["kind"] in WORKLOADS and doc["metadata"].get("namespace") == ns:
            labels = pod_labels(doc)
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                out.append(doc)
    return out


def check_services(docs, chk):
    for name, i, doc in docs:
        if doc["kind"] != "Service":
            continue
        w = where(name, i, doc)
        spec = doc.get("spec") or {}
        if not spec.get("selector"):
            chk.error(w, "no selector")
            continue
        selected = workloads_selected(docs, doc)
        if not selected:
            chk.error(w, f"selector {spec['selector']} matches no workload's pods")
            continue
        if not spec.get("ports"):
            chk.error(w, "no ports")
        for p in spec.get("ports") or []:
            target = str(p.get("targetPort", p.get("port")))
            for wl in selected:
                if target not in container_ports(wl):
                    chk.error(w, f"port {p.get('name', p.get('port'))}: targetPort {target} is no container port of {wl['kind']}/{wl['metadata']['name']}")
    services = {(d["metadata"].get("namespace"), d["metadata"]["name"]): d
                for _, _, d in docs if d["kind"] == "Service"}
    for name, i, doc in docs:
        if doc["kind"] == "StatefulSet":
            w = where(name, i, doc)
            svc_name = (doc.get("spec") or {}).get("serviceName")
            svc = services.get((doc["metadata"].get("namespace"), svc_name))
            if svc is None:
                chk.error(w, f"serviceName {svc_name!r} names no Service")
            elif (svc.get("spec") or {}).get("clusterIP") != "None":
                chk.error(w, f"serviceName {svc_name!r} is not a headless Service (clusterIP: None)")
    return services


def resolve(services, ns, host, port):
    """None when host:port names a Service port of namespace ns, else why not."""
    labels = host.split(".")
    # svc | pod.svc (StatefulSet pod via headless Service) | svc.ns.svc.cluster.local
    if len(labels) >= 3 and labels[2] == "svc":
        svc, host_ns = labels[0], labels[1]
    elif len(labels) == 2:
        svc, host_ns = labels[1], ns
    elif len(labels) == 1:
        svc, host_ns = labels[0], ns
    else:
        return f"cannot read {host!r} as a Service address"
    s = services.get((host_ns, svc))
    if s is None:
        return f"{host!r}: no Service {svc!r} in namespace {host_ns!r}"
    if len(labels) == 2 and (s.get("spec") or {}).get("clusterIP") != "None":
        return f"{host!r}: pod DNS names need {svc!r} to be headless"
    ports = {int(p.get("port")) for p in (s.get("spec") or {}).get("ports") or []}
    if int(port) not in ports:
        return f"{host}:{port}: Service {svc!r} has no port {port} (ports {sorted(ports)})"
    return None


def check_addresses(docs, services, chk):
    for name, i, doc in docs:
        if doc["kind"] not in WORKLOADS:
            continue
        ns = doc["metadata"].get("namespace")
        for c in containers(doc):
            for arg in (c.get("command") or []) + (c.get("args") or []):
                m = ADDRESS.match(str(arg))
                if not m or m.group(1) in ("0.0.0.0", "127.0.0.1", "localhost"):
                    continue
                why = resolve(services, ns, m.group(1), m.group(2))
                if why:
                    chk.error(f"{where(name, i, doc)} container {c.get('name')}", f"arg {arg!r}: {why}")


def find(docs, kind, name):
    return [d for _, _, d in docs if d["kind"] == kind and d["metadata"]["name"] == name]


def check_roles(docs, chk):
    stores = find(docs, "StatefulSet", "store")
    if not stores:
        chk.error("store", "no StatefulSet named store")
    for s in stores:
        templates = [(t.get("metadata") or {}).get("name") for t in (s.get("spec") or {}).get("volumeClaimTemplates") or []]
        if not templates:
            chk.error("StatefulSet/store", "no volumeClaimTemplates")
        mounted = {m.get("name") for c in containers(s) for m in c.get("volumeMounts") or []}
        if not set(templates) & mounted:
            chk.error("StatefulSet/store", f"no container mounts its volumeClaimTemplate(s) {templates}")
        if not any("--db=" in str(a) for c in containers(s) for a in c.get("args") or []):
            chk.error("StatefulSet/store", "ad-store has no --db")
    learners = find(docs, "Deployment", "learner")
    if not learners:
        chk.error("learner", "no Deployment named learner")
    for l in learners:
        gpu = False
        for c in pod_spec(l).get("containers") or []:
            res = c.get("resources") or {}
            lim = (res.get("limits") or {}).get("nvidia.com/gpu")
            req = (res.get("requests") or {}).get("nvidia.com/gpu")
            if lim is None and req is None:
                continue
            gpu = True
            if lim is None or int(lim) < 1:
                chk.error("Deployment/learner", "nvidia.com/gpu must be set in limits (>= 1)")
            if req is not None and req != lim:
                chk.error("Deployment/learner", f"nvidia.com/gpu requests {req} != limits {lim}")
        if not gpu:
            chk.error("Deployment/learner", "requests no nvidia.com/gpu")
    actors = find(docs, "Deployment", "actor")
    if not actors:
        chk.error("actor", "no Deployment named actor")
    for a in actors:
        if int((a.get("spec") or {}).get("replicas", 1)) < 2:
            chk.error("Deployment/actor", "fewer than 2 replicas")
    for kind, name in (("Deployment", "env-server"), ("Service", "env-server"),
                       ("Deployment", "evaluator"), ("Deployment", "prometheus"),
                       ("ConfigMap", "prometheus-config")):
        if not find(docs, kind, name):
            chk.error(name, f"no {kind} named {name}")


def check_prometheus(docs, services, chk, extract):
    cms = find(docs, "ConfigMap", "prometheus-config")
    if not cms:
        return
    cm = cms[0]
    text = (cm.get("data") or {}).get("prometheus.yml")
    if not text:
        chk.error("ConfigMap/prometheus-config", "no data key prometheus.yml")
        return
    if extract:
        with open(extract, "w") as f:
            f.write(text)
    ns = cm["metadata"].get("namespace")
    config = yaml.safe_load(text)
    jobs = {}
    for sc in config.get("scrape_configs") or []:
        job = sc.get("job_name")
        jobs[job] = sc
        targets = []
        for d in sc.get("dns_sd_configs") or []:
            targets += [(n, d.get("port")) for n in d.get("names") or []]
        for s in sc.get("static_configs") or []:
            targets += [tuple(t.rsplit(":", 1)) for t in s.get("targets") or []]
        for host, port in targets:
            if host == "localhost":
                continue
            why = resolve(services, ns, host, port)
            if why:
                chk.error(f"prometheus.yml job {job}", why)
    for job in ("ad-env-server", "ad-store", "ad-actor", "ad-learner", "ad-evaluator"):
        if job not in jobs:
            chk.error("prometheus.yml", f"no scrape job {job}")


def selected_workloads(docs, ns, selector):
    """Workloads of namespace `ns` whose pod labels match `selector`."""
    want = (selector or {}).get("matchLabels") or {}
    return [d for _, _, d in docs
            if d["kind"] in WORKLOADS and d["metadata"].get("namespace") == ns
            and all(pod_labels(d).get(k) == v for k, v in want.items())]


def check_network_policies(docs, chk):
    for name, i, doc in docs:
        if doc["kind"] != "NetworkPolicy":
            continue
        w = where(name, i, doc)
        ns = doc["metadata"].get("namespace")
        spec = doc.get("spec") or {}
        if "podSelector" not in spec:
            chk.error(w, "no spec.podSelector")
            continue
        targets = selected_workloads(docs, ns, spec["podSelector"])
        if not targets:
            chk.error(w, f"podSelector {spec['podSelector']} selects no workload")
        ports = {}
        for t in targets:
            ports.update(container_ports(t))
        for rule in spec.get("ingress") or []:
            for peer in rule.get("from") or []:
                if "podSelector" in peer and not selected_workloads(docs, ns, peer["podSelector"]):
                    chk.error(w, f"from podSelector {peer['podSelector']} selects no workload")
            for p in rule.get("ports") or []:
                if targets and str(p.get("port")) not in ports:
                    chk.error(w, f"port {p.get('port')} is no container port of the selected pods")


def check_kustomization(directory, chk):
    path = os.path.join(directory, "kustomization.yaml")
    if not os.path.exists(path):
        return
    with open(path) as f:
        k = yaml.safe_load(f) or {}
    listed = set(k.get("resources") or [])
    present = {n for n in os.listdir(directory)
               if n.endswith((".yaml", ".yml")) and n != "kustomization.yaml"}
    for n in sorted(present - listed):
        chk.error("kustomization.yaml", f"does not list {n}")
    for n in sorted(listed - present):
        chk.error("kustomization.yaml", f"lists missing file {n}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default=os.path.join(here, "k8s"))
    ap.add_argument("--extract-prometheus", metavar="FILE",
                    help="write the ConfigMap's prometheus.yml here")
    args = ap.parse_args()
    chk = Checker()
    docs = check_basics(load(args.dir, chk), chk)
    check_workloads(docs, chk)
    services = check_services(docs, chk)
    check_addresses(docs, services, chk)
    check_roles(docs, chk)
    check_network_policies(docs, chk)
    check_prometheus(docs, services, chk, args.extract_prometheus)
    check_kustomization(args.dir, chk)
    for p in chk.problems:
        print(f"check_k8s: {p}", file=sys.stderr)
    kinds = {}
    for _, _, d in docs:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"check_k8s: {len(docs)} documents ({summary}); {len(chk.problems)} problem(s)")
    return 1 if chk.problems else 0


if __name__ == "__main__":
    sys.exit(main())
