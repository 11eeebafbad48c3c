"""The anchors' virtual environments, one per server and pinned by version, so no anchor's
dependencies meet ours (MLServer 1.7.1 wants an older FastAPI and `uvloop<0.22`). Each is made
once and kept (`.venv-<name>` at the top of the repository, ignored by git); a stamp file holding
the pins makes a second `make bench` install nothing, and a changed pin rebuilds it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAMP = ".gitopsgen-pins"


@dataclass(frozen=True)
class Venv:
    name: str  # .venv-<name>
    pins: tuple[str, ...]  # what pip installs, versions pinned
    imports: str  # what must import once installed

    @property
    def folder(self) -> Path:
        return REPO / f".venv-{self.name}"

    def all_pins(self) -> list[str]:
        # the exported model is a pickle: it needs our scikit-learn, exactly
        return [*self.pins, f"scikit-learn=={metadata.version('scikit-learn')}"]


KSERVE = Venv("kserve", ("kserve==0.21.0",), "kserve")
MLSERVER = Venv(
    "mlserver", ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22"), "mlserver_sklearn"
)
LITSERVE = Venv("litserve", ("litserve==0.2.19",), "litserve")


def version(spec: Venv, package: str) -> str:
    return next((p.split("==")[1] for p in spec.pins if p.startswith(f"{package}==")), "?")


def python_of(spec: Venv) -> tuple[Path | None, str]:
    """The venv's interpreter, made and filled from PyPI when missing or when its pins changed;
    or None and the reason (the installer's last lines) when it cannot be installed here."""
    python = spec.folder / "bin/python"
    stamp = spec.folder / STAMP
    wanted = "\n".join(spec.all_pins())
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return python, ""
    if spec.folder.exists() and not (spec.folder / "pyvenv.cfg").exists():
        return None, f"{spec.folder} exists and is not a virtual environment: left alone"
    steps = [[sys.executable, "-m", "venv", str(spec.folder)],
             [str(python), "-m", "pip", "install", "--quiet", *spec.all_pins()],
             [str(python), "-c", f"import {spec.imports}"]]  # fmt: skip
    for step in steps:
        print(f"installing {spec.name}:", " ".join(step[2:]), file=sys.stderr)
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = [
                line
                for line in (done.stderr or done.stdout).strip().splitlines()
                if not line.startswith("WARNING: Location")  # pip's noise about index mirrors
            ]
            if step[1] == "-m" and step[2] == "venv":
                shutil.rmtree(spec.folder, ignore_errors=True)
            return None, f"`{' '.join(step[2:])}` exited {done.returncode}: " + " / ".join(
                lines[-3:]
            )
    stamp.write_text(wanted)
    return python, ""
