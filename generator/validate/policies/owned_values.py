"""GG142: helmValues may not set what gitopsgen renders from the spec.

The policies (allow-lists, pinned images, the Secret's name, the client address) judge the
spec. helmValues is merged over the rendered values last, so without this rule
`helmValues.ingress.annotations` could put `0.0.0.0/0` back in prod, `gatewayApi.allowList: []`
drop the SecurityPolicy, `image` run `attacker/model-api:latest` and `replicaCount: 0` stop the
app, all with the spec clean. Refusing the keys (rather than judging the merged values) points
the error at the spec line that sets it and names the field to use instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gitopsgen.findings import Finding
from gitopsgen.render.values import (
    NGINX_PREFIX,
    OWNED_ANNOTATION_SUFFIX,
    SPEC_OWNED_VALUES,
)
from gitopsgen.spec.model import Spec
from gitopsgen.validate.policies.locator import SpecLocator, env_path

_SNIPPET = "an nginx snippet (raw nginx configuration, which can undo the allow-list)"


def owned_field(path: tuple[str, ...]) -> str | None:
    """The spec field that renders the value at `path` (None: helmValues may set it)."""
    if path in SPEC_OWNED_VALUES:
        return SPEC_OWNED_VALUES[path]
    if (
        len(path) == 3
        and path[:2] == ("ingress", "annotations")
        and path[2].startswith(NGINX_PREFIX)
        and path[2].endswith(OWNED_ANNOTATION_SUFFIX)
    ):
        return _SNIPPET
    return None


def _above_owned(path: tuple[str, ...]) -> list[str]:
    """The fields rendered below `path`, which a non-mapping there would replace."""
    n = len(path)
    return sorted({f for owned, f in SPEC_OWNED_VALUES.items() if owned[:n] == path})


def owned_paths(values: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every place in `values` (helmValues) that sets or replaces an owned value."""
    if not isinstance(values, dict):
        return
    for key, item in values.items():
        here = (*path, str(key))
        field = owned_field(here)
        below = _above_owned(here)
        if field is not None:
            yield here, field
        elif below and not isinstance(item, dict):
            yield here, ", ".join(below)
        elif below:
            yield from owned_paths(item, here)


def check_owned_values(spec: Spec, at: SpecLocator) -> Iterator[Finding]:
    for env in spec.environments:
        for path, field in owned_paths(env.helm_values):
            if field == _SNIPPET:
                message = f"{path[-1]} is {_SNIPPET}; gitopsgen renders none"
                hint = "express the need in the spec's ingress fields, or drop the snippet"
            else:
                message = (
                    f"sets what gitopsgen renders from the spec's {field}, which the policies "
                    "check; helmValues cannot change it"
                )
                hint = f"set {_spec_hint(field)} in the spec instead"
            yield at.finding("GG142", env_path(env, "helmValues", *path), message, hint)


def _spec_hint(field: str) -> str:
    """The field named as a user writes it; for a group, the group."""
    return field.split(" (", 1)[0]
