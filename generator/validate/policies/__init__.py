"""gitopsgen's own policies (GG1xx): over the spec, with the line each finding points at, and
over the rendered documents (`rendered`)."""

from __future__ import annotations

from gitopsgen.findings import Finding
from gitopsgen.spec.model import Spec
from gitopsgen.validate.policies.client_address import check_client_address
from gitopsgen.validate.policies.locator import SpecLocator
from gitopsgen.validate.policies.rollout import ROLLOUT_CHECKS
from gitopsgen.validate.policies.services import check_application_names
from gitopsgen.validate.policies.spec_checks import SPEC_CHECKS
from gitopsgen.yamlsource import SourceDocument


def check_spec_policies(spec: Spec, doc: SourceDocument) -> list[Finding]:
    """Every spec policy's findings, sorted."""
    at = SpecLocator(spec, doc)
    checks = (*SPEC_CHECKS, check_client_address, *ROLLOUT_CHECKS, check_application_names)
    return sorted(f for check in checks for f in check(spec, at))
