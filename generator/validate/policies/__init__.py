"""gitopsgen's own policies (GG1xx): over the spec, with the line each finding points at, and
over the rendered documents (`rendered`)."""

from __future__ import annotations

from gitopsgen.findings import Finding
from gitopsgen.spec.model import Spec
from gitopsgen.validate.policies.client_address import check_client_address
from gitopsgen.validate.policies.locator import SpecLocator
from gitopsgen.validate.policies.owned_values import check_owned_values
from gitopsgen.validate.policies.rollout import ROLLOUT_CHECKS
from gitopsgen.validate.policies.services import check_application_names
from gitopsgen.validate.policies.spec_checks import SPEC_CHECKS
from gitopsgen.validate.policies.traffic import check_anonymous_canary
from gitopsgen.yamlsource import SourceDocument

CHECKS = (
    *SPEC_CHECKS,
    check_client_address,
    check_owned_values,
    check_anonymous_canary,
    *ROLLOUT_CHECKS,
    check_application_names,
)


def check_spec_policies(spec: Spec, doc: SourceDocument) -> list[Finding]:
    """Every spec policy's findings, sorted."""
    at = SpecLocator(spec, doc)
    return sorted(f for check in CHECKS for f in check(spec, at))


def check_spec_policies_guarded(spec: Spec, doc: SourceDocument) -> list[Finding]:
    """The same, over a spec holding an environment built from fields the schema refused:
    those may hold any shape, so a check that trips over one gives nothing, not a crash."""
    at = SpecLocator(spec, doc)
    found: list[Finding] = []
    for check in CHECKS:
        try:
            found.extend(check(spec, at))
        except Exception:  # noqa: S112  a refused field's odd shape; its error is reported
            continue
    return sorted(found)
