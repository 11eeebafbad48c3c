"""A file that is no kubeconfig, given to `status` or `wait` (by --kubeconfig or $KUBECONFIG), is
exit 2 naming the path: never an internal error, never a line of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import Invoke

SECRET = "s3cr3t-kubeconfig-line"


@pytest.mark.parametrize(
    "content",
    [
        f"root:x:0:0:{SECRET}:/root:/bin/bash\n",  # /etc/passwd: a YAML string
        f"users: {SECRET}\n",  # a mapping whose lists are not lists
        f"clusters: [\n  {SECRET}\n",  # broken YAML: PyYAML would quote the line
        "- a\n- b\n",
    ],
)
@pytest.mark.parametrize(
    "command", [("status",), ("wait", "dev", "--timeout", "1", "--revision", "0" * 40)]
)
def test_a_file_that_is_no_kubeconfig_is_exit_2_naming_it(
    tmp_repo: Path,
    tmp_path: Path,
    run_cli: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    content: str,
    command: tuple[str, ...],
) -> None:
    pytest.importorskip("kubernetes")
    config = tmp_path / "kubeconfig"
    config.write_text(content)
    explicit = run_cli(*command, "--root", tmp_repo, "--kubeconfig", config, expect=2)
    monkeypatch.setenv("KUBECONFIG", str(config))
    from_env = run_cli(*command, "--root", tmp_repo, expect=2)
    for result in (explicit, from_env):
        output = result.stdout + result.stderr
        assert f"{config} is not a kubeconfig" in output
        assert "internal error" not in output
        assert SECRET not in output
