"""Policies of the services form (GG152): several services in one repository never share an
Argo CD object. (GG153, two charts rendering one Kubernetes object, needs the Helm render and is
checked with it, in validate.helm.)"""

from __future__ import annotations

from collections.abc import Iterator

from gitopsgen.findings import Finding
from gitopsgen.spec.model import Environment, Spec
from gitopsgen.validate.policies.locator import SpecLocator, env_path


def application_name(env: Environment) -> str:
    """The Application the target's ApplicationSet creates: `<release>-<environment>`."""
    return f"{env.release}-{env.name}"


def check_application_names(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    """GG152: `<service>-<environment>` names one Application: service `a-b` in `c` and
    service `a` in `b-c` would both be `a-b-c`, and one would overwrite the other."""
    if not spec.services_form:
        return
    first: dict[str, Environment] = {}
    for env in spec.environments:
        name = application_name(env)
        other = first.setdefault(name, env)
        if other is not env:
            yield at.finding(
                "GG152",
                env_path(env),
                f"the Argo CD Application {name!r} of {env.title} is also the one of "
                f"{other.title}: one would overwrite the other",
                "rename the service or the environment so that <service>-<environment> differ",
            )
