"""`validate --tracking-uri`: every pinned model version exists in the MLflow registry (GG150).

A pin the registry lacks leaves its alias unloadable: the app stays up on the other alias,
degraded. The spec is checked offline everywhere else; this one stage asks the registry, and only
when given its URL.
"""

from __future__ import annotations

from gitopsgen.findings import Finding
from gitopsgen.mlflow_registry import MlflowRegistry, display_url
from gitopsgen.spec.model import Spec
from gitopsgen.validate.policies.locator import SpecLocator, env_path
from gitopsgen.yamlsource import SourceDocument


def check_pins_exist(spec: Spec, doc: SourceDocument, tracking_uri: str) -> list[Finding]:
    registry = MlflowRegistry(tracking_uri)
    at = SpecLocator(spec, doc)
    findings = []
    for env in spec.environments:
        for alias, version in env.model_versions:
            if registry.version(env.model_name, version) is None:
                findings.append(
                    at.finding(
                        "GG150",
                        env_path(env, "model", "versions", alias),
                        f"{env.title} pins alias {alias} to version {version} of "
                        f"{env.model_name!r}, which the registry at "
                        f"{display_url(tracking_uri)} does not have",
                        "pin a version the registry has (`gitopsgen drift` shows where the "
                        "aliases point)",
                    )
                )
    return findings
