"""Render and validate at 10, 100 and 1,000 environments, against kubernetes-validate."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.measure import Run, fmt, median, run_measured

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def synthetic_spec(count: int) -> str:
    """`count` environments on distinct clusters with non-overlapping pools."""
    envs = {}
    for i in range(count):
        envs[f"env{i}"] = {
            "cluster": {"name": f"c{i}", "server": f"https://c{i}.k8s.example.internal:6443"},
            "namespace": f"fastapi-env{i}",
            "mlflow": {"trackingUri": f"http://mlflow.env{i}.svc:5000"},
            "serving": {"defaultAlias": "AB"[i % 2]},
            "ingress": {
                "host": f"env{i}.example.internal",
                "tlsSecretName": f"env{i}-tls",
                "whitelist": [f"10.{i // 256}.{i % 256}.0/24"],
            },
            "metallb": {
                "pool": f"pool{i}",
                "addresses": [f"172.{16 + i // 4096}.{(i // 16) % 256}.{(i % 16) * 16}/28"],
            },
        }
    spec = {
        "apiVersion": "gitopsgen/v1",
        "kind": "Environments",
        "repo": {
            "url": "https://github.com/example-org/mlops-gitops.git",
            "targetRevision": "main",
        },
        "argocd": {"namespace": "argocd", "project": "mlops-serving"},
        "app": {
            "name": "fastapi",
            "image": {"repository": "docker.io/example-org/model-api", "tag": "1.0.0"},
        },
        "defaults": {
            "replicas": 2,
            "model": {"name": "best_model"},
            "serving": {
                "mode": "canary",
                "defaultAlias": "B",
                "canaryPercent": 10,
                "abSplitPercent": 90,
            },
            "syncPolicy": {"automated": True, "prune": True, "selfHeal": True},
            "secrets": {"name": "fastapi-secrets"},
        },
        "environments": envs,
    }
    return yaml.safe_dump(spec, sort_keys=False)


def make_repo(count: int, base: Path) -> Path:
    root = base / f"repo-{count}"
    shutil.copytree(REPO / "apps/fastapi/chart", root / "apps/fastapi/chart")
    (root / "environments").mkdir(parents=True)
    (root / "environments/environments.yaml").write_text(synthetic_spec(count))
    return root


def chart_manifests(root: Path, out: Path) -> int:
    """The chart rendered per environment, one file per environment; the number of documents."""
    import helm_python as helm

    chart = helm.Chart.load(root / "apps/fastapi/chart")
    out.mkdir(parents=True, exist_ok=True)
    docs = 0
    for values_file in sorted((root / "apps/fastapi/values").glob("*.yaml")):
        values = yaml.safe_load(values_file.read_text())
        rendered = chart.render(values, name="fastapi", namespace="ns")
        texts = [t for n, t in sorted(rendered.items()) if n.endswith(".yaml") and t.strip()]
        docs += sum(1 for t in texts for d in yaml.safe_load_all(t) if d)
        (out / values_file.name).write_text("\n---\n".join(texts))
    return docs


def per_manifest_check() -> dict[str, float]:
    """Milliseconds to check one Deployment: ours (warm) against kubernetes-validate."""
    import helm_python as helm
    import kubernetes_validate.utils as kv

    from gitopsgen.validate.kube import DEFAULT_KUBE_VERSION, fast_kube_check, kube_validator

    values = yaml.safe_load((REPO / "apps/fastapi/values/prod.yaml").read_text())
    rendered = helm.Chart.load(REPO / "apps/fastapi/chart").render(values, name="fastapi")
    deployment: Any = yaml.safe_load(rendered["fastapi/templates/deployment.yaml"])
    fast = fast_kube_check(DEFAULT_KUBE_VERSION, "apps/v1", "Deployment")
    slow = kube_validator(DEFAULT_KUBE_VERSION, "apps/v1", "Deployment")
    assert fast is not None and slow is not None and fast(deployment)
    out = {}
    for name, func, count in (
        ("ours (generated validator)", fast, 2000),
        ("ours (jsonschema, warm)", slow.is_valid, 300),
        ("kubernetes-validate", lambda d: kv.validate(d, DEFAULT_KUBE_VERSION, strict=True), 50),
    ):
        func(deployment)
        start = time.perf_counter()
        for _ in range(count):
            func(deployment)
        out[name] = (time.perf_counter() - start) / count * 1000
    return out


def run(sizes: tuple[int, ...] = (10, 100, 1000), pairs: int = 3) -> str:
    gitopsgen = str(BIN / "gitopsgen")
    kubernetes_validate = str(BIN / "kubernetes-validate")
    lines = [
        "## Generator and validator",
        "",
        "Synthetic specs (distinct clusters, non-overlapping pools); medians of "
        f"{pairs} runs, `gitopsgen validate` and `kubernetes-validate` run alternately.",
        "",
        "| environments | render s | render MB | validate s | validate MB | validate ms/env | "
        "kubernetes-validate s (chart manifests only) | documents | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory(prefix="gitopsgen-bench-") as tmp:
        for count in sizes:
            root = make_repo(count, Path(tmp))
            renders = [
                run_measured([gitopsgen, "render", "--root", str(root)]) for _ in range(pairs)
            ]
            docs = chart_manifests(root, Path(tmp) / f"manifests-{count}")
            files = sorted(str(p) for p in (Path(tmp) / f"manifests-{count}").glob("*.yaml"))
            validates: list[Run] = []
            others: list[Run] = []
            for index in range(pairs if count <= 100 else 1):
                validates.append(run_measured([gitopsgen, "validate", "--root", str(root)]))
                others.append(
                    run_measured([kubernetes_validate, "--strict", "-k", "1.33", "--quiet", *files])
                )
                if index == 0 and validates[0].returncode != 0:
                    raise RuntimeError(f"validate failed on the synthetic spec of {count}")
            v = median([r.seconds for r in validates])
            k = median([r.seconds for r in others])
            lines.append(
                f"| {count:,} | {fmt(median([r.seconds for r in renders]))} | "
                f"{fmt(max(r.peak_mb for r in renders), 0)} | {fmt(v)} | "
                f"{fmt(max(r.peak_mb for r in validates), 0)} | {fmt(v / count * 1000, 1)} | "
                f"{fmt(k)} | {docs:,} | {fmt(k / v, 1)}x |"
            )
    per = per_manifest_check()
    ours = per["ours (generated validator)"]
    lines += [
        "",
        "Per-manifest schema check of one Deployment (in-process, warm):",
        "",
        "| checker | ms per Deployment | vs kubernetes-validate |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {name} | {fmt(ms, 3)} | {fmt(per['kubernetes-validate'] / ms, 1)}x |"
        for name, ms in per.items()
    ]
    default = [run_measured([gitopsgen, "validate", "--root", str(REPO)]).seconds for _ in range(5)]
    helps = [run_measured([gitopsgen, "--help"]).seconds for _ in range(10)]
    lines += [
        "",
        f"- `gitopsgen validate` of this repository: median {fmt(median(default))} s "
        "(warm validator cache)",
        f"- `gitopsgen --help`: median {fmt(median(helps), 3)} s",
        f"- per-manifest: {fmt(per['kubernetes-validate'] / ours, 0)}x faster than "
        "kubernetes-validate",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(tuple(int(a) for a in sys.argv[1:]) or (10, 100, 1000)))
