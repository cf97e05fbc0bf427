"""How studio/training is laid out: one loop and one manifest writer used by every recipe,
recipes that do not import one another, and the command line's registry."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from studio.training.__main__ import RECIPES, legacy, registry
from studio.training.loop import Run

RECIPE_MODULES = sorted({build.__module__ for build in RECIPES.values()})
NOT_TRAINED = {"studio.training.vgg_features"}  # a weights conversion: no loop


def imports(module: str) -> set[str]:
    """Every `module.name` a module imports (`from module import name`), at any depth."""
    path = Path(importlib.import_module(module).__file__ or "")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_the_registry_covers_the_recipe_modules() -> None:
    assert len(RECIPE_MODULES) == len(RECIPES) == 10


@pytest.mark.parametrize("module", RECIPE_MODULES)
def test_recipes_do_not_import_one_another(module: str) -> None:
    others = set(RECIPE_MODULES) - {module}
    prefixes = {f"{other}." for other in others}
    imported = imports(module)
    assert not {m for m in imported if m in others or m.startswith(tuple(prefixes))}


@pytest.mark.parametrize("module", RECIPE_MODULES)
def test_recipes_use_the_loop_and_the_manifest_writer(module: str) -> None:
    imported = imports(module)
    assert "studio.training.manifest_writer.write_manifest" in imported
    assert "studio.training.export.write_manifest" not in imported
    assert ("studio.training.loop.train" in imported) == (module not in NOT_TRAINED)


def test_the_registry_refuses_duplicates_and_adapts_old_recipes(tmp_path: Path) -> None:
    def build(out: Path, run: Run) -> Path:
        return out

    with pytest.raises(ValueError, match="two recipes for 'x'"):
        registry([("x", build), ("x", build)])
    seen = []

    def old(out: Path, work: Path, minutes: float, steps: int | None, resume: bool) -> Path:
        seen.append((work, minutes, steps, resume))
        return out

    assert legacy(old)(tmp_path, Run(tmp_path / "w", 3.0, 7, resume=True)) == tmp_path
    assert seen == [(tmp_path / "w", 3.0, 7, True)]


def test_the_command_line_hands_the_budget_to_the_recipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import studio.training.__main__ as cli

    runs: list[tuple[Path, Run]] = []
    monkeypatch.setattr(cli, "REPOSITORY", tmp_path)
    monkeypatch.setitem(cli.RECIPES, "gpt-kjv", lambda out, run: runs.append((out, run)) or out)
    assert cli.main(["gpt-kjv", "--minutes", "2.5", "--steps", "9", "--resume"]) == 0
    argv = ["gpt-kjv", "--out", str(tmp_path / "o"), "--seed", "3"]
    assert cli.main(argv) == 0
    assert runs == [
        (tmp_path / "models" / "gpt-kjv", Run(tmp_path / "runs" / "gpt-kjv", 2.5, 9, True, 0)),
        (tmp_path / "o", Run(tmp_path / "runs" / "gpt-kjv", 40.0, None, False, 3)),
    ]
