"""Rule-author cases ship inside their ruleset package, so `ntm rulesets test ID` passes from an installed wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ntm.casefile import case_files, load_cases

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "ntm" / "rulesets"


def _shipped() -> list[Path]:
    return sorted(p for p in PKG.iterdir() if (p / "ruleset.yaml").is_file())


def test_every_file_a_case_names_is_inside_its_ruleset_package():
    for rdir in _shipped():
        for f in case_files(str(rdir)):
            cf, _ = load_cases(f)
            for case in cf.cases:
                if case.overlay:
                    target = Path(os.path.normpath(Path(f).parent / case.overlay))
                    assert target.is_file(), f"{f}: {case.name}: {case.overlay} does not exist"
                    assert rdir in target.parents, (
                        f"{f}: case '{case.name}' reads {case.overlay}, outside the package: it fails from a wheel")


def test_the_fixture_overlay_is_the_example_overlay():
    """The cases test the overlay the README shows; a change to one must be made to both."""
    fixture = PKG / "vn-2021-2025" / "tests" / "overlays" / "tinh-minh-hoa.yaml"
    example = ROOT / "examples" / "overlays" / "tinh-minh-hoa.yaml"
    assert yaml.safe_load(fixture.read_text(encoding="utf-8")) == yaml.safe_load(example.read_text(encoding="utf-8")), \
        "copy examples/overlays/tinh-minh-hoa.yaml to ntm/rulesets/vn-2021-2025/tests/overlays/"


def test_rulesets_test_passes_from_a_copy_of_the_package_alone(tmp_path):
    """What a wheel installs: the ntm package and nothing beside it (no examples/ folder)."""
    shutil.copytree(ROOT / "ntm", tmp_path / "ntm", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "ntm", "rulesets", "test", "vn-2021-2025"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
