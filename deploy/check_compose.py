#!/usr/bin/env python3
"""Consistency checks of docker-compose.yml against deploy/prometheus.yml.

`docker-compose config` proves the file is valid compose; this proves it is
wired right, with no Docker engine:
  - the services env-server, store, actor, learner, evaluator, prometheus exist;
  - every AD server binds 0.0.0.0 (--host; the actor: --metrics_host);
  - HOST:PORT in a command names a compose service whose command listens
    on PORT (--port=PORT);
  - each Prometheus target (static or DNS) names a compose service and its
    --metrics_port, and every AD service is scraped;
  - the actor scales: no container_name, no host ports;
  - the store's --db and the learner's --checkpoint_dir lie on named volumes;
  - the prometheus service mounts deploy/prometheus.yml;
  - images are the locally built ones (ad-system:latest for the AD services,
    ad-prometheus:latest) with pull_policy never and no build: section (no
    registry; deploy/build-images.sh makes them);
  - every published port binds 127.0.0.1 and only store, learner, evaluator
    and prometheus publish any;
  - deploy/k8s agrees: the same two images, and for each AD service the same
    program, --port, --metrics_port and --host, and every compose flag is in
    the manifest too except the few that K8S_ONLY/COMPOSE_ONLY list.

Usage: check_compose.py [COMPOSE_FILE] [PROMETHEUS_YML] [K8S_DIR]. Exit 0
clean, 1 with one line per problem.
"""

import glob
import os
import re
import sys

import yaml

AD_SERVICES = ["env-server", "store", "actor", "learner", "evaluator"]
IMAGES = {name: "ad-system:latest" for name in AD_SERVICES} | {"prometheus": "ad-prometheus:latest"}
PUBLISHED = {"store", "learner", "evaluator", "prometheus"}
# Flags that differ on purpose between the two deployments, by service.
COMPOSE_ONLY = {
    "learner": {"steps"},  # AD_LEARNER_STEPS knob for short runs (0: the preset's)
    "actor": {"max_tasks"},  # AD_ACTOR_MAX_TASKS knob (0: every train task)
    "evaluator": {"watch_poll"},  # AD_EVALUATOR_WATCH_POLL knob
}
ADDRESS = re.compile(r"^(?:--[a-z_]+=)?(?:store:)?([a-z][a-z0-9-]*):(\d+)$")


def flag(command, name):
    for arg in command:
        if str(arg).startswith(f"--{name}="):
            return str(arg).split("=", 1)[1]
    return None


def program(cmd):
    """The AD program and its flags, without the ad-wait-for-store wrapper."""
    if cmd and cmd[0] == "ad-wait-for-store" and "--" in cmd:
        cmd = cmd[cmd.index("--") + 1:]
    return (cmd[0] if cmd else None), [a for a in cmd[1:] if a.startswith("--")]


def check_k8s(commands, k8s_dir):
    problems = []
    containers = {}
    images = set()
    for path in sorted(glob.glob(os.path.join(k8s_dir, "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                spec = (((doc or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
                for c in spec.get("containers") or []:
                    containers[c.get("name")] = c
                for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
                    images.add(c.get("image"))
    if not containers:
        return [f"no workloads in {k8s_dir}"]
    if images != set(IMAGES.values()):
        problems.append(f"k8s images {sorted(map(str, images))}, compose uses {sorted(set(IMAGES.values()))}")
    for name, cmd in commands.items():
        if name not in containers:
            problems.append(f"k8s has no container {name}")
            continue
        prog, flags = program(cmd)
        kprog, kflags = program([str(a) for a in containers[name].get("args") or []])
        if prog != kprog:
            problems.append(f"{name}: compose runs {prog}, k8s runs {kprog}")
        for key in ("port", "metrics_port", "host", "metrics_host"):
            if flag(flags, key) != flag(kflags, key):
                problems.append(f"{name}: --{key}={flag(flags, key)} in compose, {flag(kflags, key)} in k8s")
        names = lambda fl: {a[2:].split("=", 1)[0] for a in fl}
        missing = names(flags) - names(kflags) - COMPOSE_ONLY.get(name, set())
        if missing:
            problems.append(f"{name}: k8s lacks compose's flags {sorted(missing)}")
    return problems


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    compose_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "docker-compose.yml")
    prom_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "deploy", "prometheus.yml")
    problems = []
    with open(compose_path) as f:
        compose = yaml.safe_load(f)
    with open(prom_path) as f:
        prom = yaml.safe_load(f)
    services = compose.get("services") or {}
    for name in AD_SERVICES + ["prometheus"]:
        if name not in services:
            problems.append(f"no service {name}")
    commands = {}
    for name in AD_SERVICES:
        cmd = (services.get(name) or {}).get("command") or []
        if isinstance(cmd, str):
            cmd = cmd.split()
        commands[name] = [str(a) for a in cmd]
    for name, cmd in commands.items():
        bind = flag(cmd, "metrics_host" if name == "actor" else "host")
        if bind != "0.0.0.0":
            problems.append(f"{name}: binds {bind or '127.0.0.1 (default)'}, not 0.0.0.0")
        for arg in cmd:
            m = ADDRESS.match(arg)
            if not m:
                continue
            host, port = m.groups()
            if host not in commands:
                problems.append(f"{name}: {arg!r} names no AD service {host!r}")
            elif flag(commands[host], "port") != port:
                problems.append(f"{name}: {arg!r} but {host} listens on --port={flag(commands[host], 'port')}")

    scraped = set()
    for sc in prom.get("scrape_configs") or []:
        targets = []
        for s in sc.get("static_configs") or []:
            targets += [tuple(t.rsplit(":", 1)) for t in s.get("targets") or []]
        for d in sc.get("dns_sd_configs") or []:
            targets += [(n, str(d.get("port"))) for n in d.get("names") or []]
        for host, port in targets:
            if host == "localhost":
                continue
            if host not in commands:
                problems.append(f"prometheus.yml job {sc.get('job_name')}: target {host} is no AD service")
                continue
            scraped.add(host)
            if flag(commands[host], "metrics_port") != port:
                problems.append(f"prometheus.yml job {sc.get('job_name')}: scrapes {host}:{port}, "
                                f"but {host} serves metrics on --metrics_port={flag(commands[host], 'metrics_port')}")
    for name in AD_SERVICES:
        if name not in scraped:
            problems.append(f"prometheus.yml scrapes no {name}")

    actor = services.get("actor") or {}
    for key in ("container_name", "ports"):
        if key in actor:
            problems.append(f"actor has {key}: it could not scale")

    def on_volume(service, path):
        for v in (services.get(service) or {}).get("volumes") or []:
            src, _, dst = str(v).partition(":")
            dst = dst.split(":")[0]
            named = src in (compose.get("volumes") or {})
            if named and (path == dst or path.startswith(dst.rstrip("/") + "/")):
                return True
        return False

    for service, name in (("store", "db"), ("learner", "checkpoint_dir"), ("evaluator", "output_dir")):
        path = flag(commands.get(service, []), name)
        if not path:
            problems.append(f"{service}: no --{name}")
        elif not on_volume(service, path):
            problems.append(f"{service}: --{name}={path} is not on a named volume")

    mounts = [str(v) for v in (services.get("prometheus") or {}).get("volumes") or []]
    if not any(m.startswith("./deploy/prometheus.yml:") for m in mounts):
        problems.append("prometheus does not mount ./deploy/prometheus.yml")

    for name, want in IMAGES.items():
        svc = services.get(name) or {}
        if svc.get("image") != want:
            problems.append(f"{name}: image {svc.get('image')!r}, want {want!r} (deploy/build-images.sh)")
        if "build" in svc:
            problems.append(f"{name}: has build: (images come from deploy/build-images.sh)")
        if svc.get("pull_policy") != "never":
            problems.append(f"{name}: pull_policy {svc.get('pull_policy')!r}, want 'never' (no registry)")
    for name, svc in services.items():
        ports = [str(p) for p in (svc or {}).get("ports") or []]
        if ports and name not in PUBLISHED:
            problems.append(f"{name}: publishes {ports}; only {sorted(PUBLISHED)} may")
        for port in ports:
            if not port.startswith("127.0.0.1:"):
                problems.append(f"{name}: port {port!r} is not bound to 127.0.0.1")

    k8s_dir = sys.argv[3] if len(sys.argv) > 3 else os.path.join(root, "deploy", "k8s")
    problems += check_k8s(commands, k8s_dir)

    for p in problems:
        print(f"check_compose: {p}", file=sys.stderr)
    print(f"check_compose: {len(services)} services; {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
