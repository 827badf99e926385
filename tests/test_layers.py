"""The import architecture, read from the source (AST), so a wrong import fails here before it is ever run.

- Top-level layers point one way: deepfake.components ← deepfake.pipelines ← deepfake.deploy.
- Inside pipelines: settings ← processes ← registry ← dag ← images | builtin | demo ← local | sagemaker ← cli
  ← __main__; packages in one layer are independent of each other.
- bench and examples import no test module (tests.support is shared with the benchmarks); the library imports
  neither tests, bench nor examples, and never a module by its folder name (`components.x` instead of
  `deepfake.components.x`).
- The component images' code imports nothing of the demo extra (scikit-image).
- No import cycle between modules, counting imports inside functions and `if TYPE_CHECKING:` blocks.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

LIBRARY = ("components", "pipelines", "deploy")
TOP_LAYERS = ["deepfake.components", "deepfake.pipelines", "deepfake.deploy"]
PIPELINES_LAYERS = [
    ["settings"],
    ["processes"],
    ["registry"],
    ["dag"],
    ["images", "builtin", "demo"],
    ["local", "sagemaker"],
    ["cli"],
    ["__main__"],
]
DEMO_ONLY = ("skimage",)
OTHER_PROJECT = REPO_ROOT / "examples/other_project"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (a submodule when `from package import submodule`)
    where: str  # file:line


def module_name(path: Path) -> str:
    """The dotted name a file is imported as: the library folders live in the `deepfake` namespace."""
    root = OTHER_PROJECT if path.is_relative_to(OTHER_PROJECT) else REPO_ROOT
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if root == OTHER_PROJECT:
        return ".".join(["other_project", *parts])
    return ".".join(["deepfake", *parts] if parts[0] in LIBRARY else parts)


def source_files() -> list[Path]:
    folders = [*LIBRARY, "tests", "bench", "examples"]
    return sorted(path for folder in folders for path in (REPO_ROOT / folder).rglob("*.py"))


def imports(path: Path, known: set[str]) -> Iterator[Import]:
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        where = f"{path.relative_to(REPO_ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, where)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield Import(module, submodule if submodule in known else base, where)


@pytest.fixture(scope="module")
def graph() -> list[Import]:
    files = source_files()
    known = {module_name(path) for path in files}
    return [found for path in files for found in imports(path, known)]


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def layer_of(name: str, layers: list[list[str]], prefix: str) -> tuple[int, str] | None:
    for index, layer in enumerate(layers):
        for package in layer:
            if within(name, f"{prefix}.{package}"):
                return index, package
    return None


def top_level_violations(graph: list[Import]) -> list[str]:
    return [
        f"{found.where}: {found.module} imports {found.target}"
        for found in graph
        for low, high in ((TOP_LAYERS[i], TOP_LAYERS[j]) for i in range(3) for j in range(i + 1, 3))
        if within(found.module, low) and within(found.target, high)
    ]


def pipelines_violations(graph: list[Import]) -> list[str]:
    wrong = []
    for found in graph:
        source = layer_of(found.module, PIPELINES_LAYERS, "deepfake.pipelines")
        target = layer_of(found.target, PIPELINES_LAYERS, "deepfake.pipelines")
        if source is None or target is None or source[1] == target[1]:
            continue
        if target[0] >= source[0]:
            wrong.append(f"{found.where}: {found.module} ({source[1]}) imports {found.target} ({target[1]})")
    return wrong


def test_the_top_level_layers_point_one_way(graph: list[Import]) -> None:
    wrong = top_level_violations(graph)
    assert not wrong, "imports against components ← pipelines ← deploy:\n" + "\n".join(wrong)


def test_the_pipelines_subpackages_are_layered(graph: list[Import]) -> None:
    wrong = pipelines_violations(graph)
    assert not wrong, "imports against the pipelines layers " + repr(PIPELINES_LAYERS) + ":\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("module", "target", "caught"),
    [
        ("deepfake.components.runtime", "deepfake.pipelines.settings", True),
        ("deepfake.pipelines.local.runner", "deepfake.deploy.registry", True),
        ("deepfake.deploy.cli", "deepfake.pipelines.settings", False),
        ("deepfake.pipelines.sagemaker.compiler", "deepfake.pipelines.local.docker", True),
        ("deepfake.pipelines.dag.steps", "deepfake.pipelines.images.resolver", True),
        ("deepfake.pipelines.local.docker", "deepfake.pipelines.images.resolver", False),
        ("deepfake.pipelines.cli.main", "deepfake.pipelines.local.runner", False),
    ],
)
def test_the_layer_rules_catch_an_import_against_them(module: str, target: str, caught: bool) -> None:
    found = [Import(module, target, "example.py:1")]
    assert bool(top_level_violations(found) + pipelines_violations(found)) is caught


def test_only_tests_import_tests_and_benchmarks_share_only_tests_support(graph: list[Import]) -> None:
    wrong = []
    for found in graph:
        into_tests = within(found.target, "tests")
        if within(found.module, "deepfake") and (into_tests or within(found.target, "bench")):
            wrong.append(f"{found.where}: the library imports {found.target}")
        if within(found.module, "deepfake") and within(found.target, "examples"):
            wrong.append(f"{found.where}: the library imports {found.target}, which is not installed")
        if (within(found.module, "examples") or within(found.module, "other_project")) and into_tests:
            wrong.append(f"{found.where}: an example imports {found.target}")
        if within(found.module, "bench") and into_tests and not within(found.target, "tests.support"):
            wrong.append(f"{found.where}: a benchmark imports {found.target} (share helpers through tests/support)")
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_library_by_its_folder_names(graph: list[Import]) -> None:
    wrong = [
        f"{found.where}: {found.target}"
        for found in graph
        if not within(found.module, "other_project") and found.target.split(".")[0] in LIBRARY
    ]
    assert not wrong, "import these as deepfake.<name>:\n" + "\n".join(wrong)


def test_the_component_images_code_needs_nothing_of_the_demo_extra(graph: list[Import]) -> None:
    wrong = [
        f"{found.where}: {found.target}"
        for found in graph
        if within(found.module, "deepfake.components") and found.target.split(".")[0] in DEMO_ONLY
    ]
    assert not wrong, "demo-only imports in components/ (every image copies that folder):\n" + "\n".join(wrong)


def test_no_import_cycles(graph: list[Import]) -> None:
    modules = {module_name(path) for path in source_files()}
    edges: dict[str, set[str]] = {module: set() for module in modules}
    for found in graph:
        if found.target in modules and found.target != found.module:
            edges[found.module].add(found.target)
    cycles = [sorted(component) for component in strongly_connected(edges) if len(component) > 1]
    assert not cycles, "import cycles:\n" + "\n".join(" ↔ ".join(cycle) for cycle in cycles)


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph has hundreds of modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [component for component in strongly_connected(edges) if len(component) > 1] == [{"a", "b", "c"}]
