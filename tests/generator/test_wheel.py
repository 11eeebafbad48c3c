"""The tool as a team installs it: a wheel built from this repository, installed into a fresh
venv outside it, scaffolds a repository with `gitopsgen init` and renders, validates, previews,
simulates and promotes there, without opening one file of this repository (an audit hook in
the process says so) and without the network.

The wheel is built once per session (about 10 s: pip fetches setuptools>=77 for the isolated
build, the venvs' own setuptools is older). The venv holds the wheel alone; its dependencies
are read from the test interpreter's site-packages through a .pth line, whose own .pth files
(this checkout's editable install among them) Python does not process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.support import REPO, SHARED_CRDS, git

# Runs the installed gitopsgen with an audit hook that fails the process on any open() of a
# file of this repository (its interpreter's own venv, which may live inside it, aside).
GUARDED = """\
import os, sys
forbidden = os.environ["GITOPSGEN_TEST_REPO"] + os.sep
allowed = os.environ["GITOPSGEN_TEST_DEPS"] + os.sep
def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.abspath(os.fsdecode(args[0]))
        if path.startswith(forbidden) and not path.startswith(allowed):
            sys.stderr.write(f"opened a file of the gitopsgen repository: {path}\\n")
            os._exit(97)
sys.addaudithook(audit)
from gitopsgen.cli import main
sys.argv[0] = "gitopsgen"
main()
"""


def _source_copy(dest: Path) -> Path:
    """What git knows of this checkout (committed or not), symlinks kept: no build leftovers."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for rel in filter(None, listed.split("\0")):
        source, target = REPO / rel, dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, target)
    return dest


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a venv holding gitopsgen installed from a freshly built wheel."""
    base = tmp_path_factory.mktemp("wheel")
    source = _source_copy(base / "src")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", base / "dist", source],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode:
        pytest.skip(
            f"cannot build the wheel (the isolated build needs setuptools>=77): {built.stderr[-500:]}"
        )
    (wheel,) = (base / "dist").glob("gitopsgen-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run([*pip, "--no-deps", "--no-index", str(wheel)], check=True)
    return python


def _environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITOPSGEN_", "PYTHON"))}
    env.update(
        GIT_CONFIG_GLOBAL=str(tmp / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Team",
        GIT_AUTHOR_EMAIL="team@example.org",
        GIT_COMMITTER_NAME="Team",
        GIT_COMMITTER_EMAIL="team@example.org",
        GITOPSGEN_TEST_REPO=str(REPO.resolve()),
        GITOPSGEN_TEST_DEPS=str(Path(sys.prefix).resolve()),
        HOME=str(tmp / "home"),  # no CRD cache of the developer's
    )
    return env


def test_the_installed_tool_scaffolds_and_runs_a_repository_of_its_own(
    installed: Path, tmp_path: Path
) -> None:
    env = _environment(tmp_path)
    crds = ["--crd-dir", str(SHARED_CRDS)] if (SHARED_CRDS / "argo-cd").is_dir() else []

    def gitopsgen(cwd: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [installed, "-c", GUARDED, *args], cwd=cwd, env=env, capture_output=True, text=True
        )
        assert result.returncode == expect, (args, result.stdout[-3000:], result.stderr[-3000:])
        return result

    where = subprocess.run(
        [installed, "-c", "import gitopsgen; print(gitopsgen.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(installed.parent.parent)), where  # the wheel's, not the checkout's

    team = tmp_path / "team-gitops"
    team.mkdir()
    gitopsgen(team, "init", "--app-name", "churn")
    assert gitopsgen(team, "render").stdout.endswith("rendered 8 file(s), 8 changed\n")
    report = gitopsgen(team, "validate", *crds).stdout
    assert "Summary: validation passed: 0 error(s), 0 warning(s)" in report
    apps = list(yaml.safe_load_all(gitopsgen(team, "preview", "prod").stdout))
    assert sorted(a["metadata"]["name"] for a in apps) == [
        "churn-prod",
        "churn-serving-metallb-prod",
    ]
    assert (
        "prod (blue_green, default A): A 100.0%, B 0.0%"
        in gitopsgen(team, "simulate", "prod").stdout
    )
    assert "up to date with gitopsgen" in gitopsgen(team, "upgrade", "--check").stdout

    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", origin], env=env, check=True)
    for step in (
        ["init", "--quiet", "-b", "main"],
        ["add", "--all"],
        ["commit", "--quiet", "-m", "scaffold"],
        ["remote", "add", "origin", str(origin)],
        ["push", "--quiet", "origin", "main"],
    ):
        subprocess.run(["git", *step], cwd=team, env=env, check=True)
    promoted = gitopsgen(team, "promote", "prod", "--to", "B", "--push")
    assert "created branch promote/prod-B" in promoted.stderr
    assert "| after (blue_green) | 0% | 100% |" in promoted.stdout
    branches = subprocess.run(
        ["git", "branch", "--list"], cwd=origin, env=env, capture_output=True, text=True
    ).stdout
    assert "promote/prod-B" in branches

    # a team behind a cloud load balancer: no MetalLB anywhere, a Gateway API provider
    cloud = tmp_path / "cloud-gitops"
    gitopsgen(
        tmp_path, "init", str(cloud), "--no-metallb", "--no-app", "--ingress-provider", "traefik"
    )
    rendered = gitopsgen(cloud, "render").stdout
    assert "metallb" not in rendered
    # no copy of the serving app here: the routing function is the one inside the wheel
    assert "A 100.0%, B 0.0%" in gitopsgen(cloud, "simulate", "dev").stdout
    assert "validation passed: 0 error(s)" in gitopsgen(cloud, "validate", *crds).stdout
    # and `init` refuses the folder it scaffolded, naming what is there
    refused = gitopsgen(tmp_path, "init", str(cloud), expect=1)
    assert "  environments/environments.yaml\n" in refused.stderr
