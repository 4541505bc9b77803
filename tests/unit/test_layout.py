"""The package's layout holds: every module imports, rules stay pure, imports point one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "streams": "optout.streams",
    "tables": "optout.tables",
    "schemas": "optout.schemas",
    "console": "optout.console",
}
# Lower layers never import higher ones; a module may import its own layer.
LAYERS = [
    ["optout.schemas"],
    ["optout.streams.topics", "optout.streams.config", "optout.streams.exceptions",
     "optout.streams.metrics", "optout.tables.keys"],
    ["optout.streams.rules"],
    ["optout.streams.app", "optout.streams.embedded"],
    ["optout.streams.runtime"],
    ["optout.streams.sinks", "optout.streams.web"],
    ["optout.tables.client"],
    ["optout.tables"],
    ["optout.streams.agents"],
    ["optout.tables.views"],
    ["optout.console"],
    ["optout.streams.bench"],
    ["optout.streams.cli"],
]  # fmt: skip
FRAMEWORKS = ("faust", "mode", "aiokafka", "aiohttp")


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join([package, *parts]).removesuffix(".__init__")
            found[name] = path
    return found


def layer(module: str) -> int:
    """The layer of the longest prefix that names `module`'s place."""
    best, index = "", -1
    for n, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, index = prefix, n
    assert index >= 0, f"{module} is in no layer: add it to LAYERS"
    return index


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            # `from optout.streams import topics` imports the module optout.streams.topics
            names |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_imports_point_from_contracts_to_rules_tables_agents_web_and_cli() -> None:
    known = set(modules()) - set(FOLDERS.values())  # the packages themselves hold no code
    backwards = [
        f"{module} imports {name}"
        for module, path in modules().items()
        for name in imports(path)
        if name in known and layer(name) > layer(module)
    ]
    assert backwards == []


def test_rules_import_no_stream_or_web_framework() -> None:
    rules = [m for m in modules() if m.startswith("optout.streams.rules.")]
    probe = (
        f"import sys\nfor m in {rules!r}: __import__(m)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(FRAMEWORKS)!r}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("package", list(FOLDERS.values()))
def test_every_module_imports(package: str) -> None:
    chosen = [m for m in modules() if m.startswith(package) and not m.endswith("__main__")]
    probe = f"for m in {chosen!r}: __import__(m)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_image_copies_every_folder_the_package_is_built_from() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in FOLDERS:
        assert f"COPY {folder} {folder}\n" in dockerfile, f"the Dockerfile leaves out {folder}/"
