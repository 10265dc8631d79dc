"""Every import points down the floors of ``wstag``'s package docstring (issue 26).

A module may import its own package and anything on a lower floor, never a package on
its own floor or above: the models work without training code, evaluation without
models, and nothing in the library reaches the command line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import wstag

PACKAGE = Path(wstag.__file__).parent


def floors() -> dict[str, int]:
    """Package (or ground-floor module) -> floor, read from the docstring's ``floor N: a, b`` lines."""
    out = {}
    for number, names in re.findall(r"^\s*floor (\d+): (.+)$", wstag.__doc__, flags=re.M):
        for name in names.split(","):
            out[name.strip()] = int(number)
    return out


def imports() -> list[tuple[str, str, str]]:
    """(importing package, imported package, where) for every import of another wstag package."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "__init__.py":  # the public facade re-exports the API lazily
            continue
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wstag."):
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("wstag.")]
            else:
                continue
            for target in targets:
                other = target.split(".")[1]
                if other != own:
                    found.append((own, other, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"))
    return found


def test_every_package_has_a_floor():
    known = floors()
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    missing = sorted((packages | modules) - set(known) - {"configs", "pretrained"})
    assert not missing, f"give these a floor in wstag/__init__.py's docstring: {missing}"


def test_imports_point_down():
    known = floors()
    upward = [f"{where}: {a} (floor {known[a]}) imports {b} (floor {known[b]})"
              for a, b, where in imports() if known[b] >= known[a]]
    assert not upward, "imports that do not point down:\n" + "\n".join(upward)


def test_the_rule_catches_an_upward_import():
    known = floors()
    assert known["models"] < known["training"] < known["cli"]
    assert known["errors"] < known["files"] < known["audio"] < known["data"]
