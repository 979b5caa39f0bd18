"""The package's shape: stage folders whose imports run one way, with no import circles.

Every `import` under `qa/` counts, those inside functions and under `TYPE_CHECKING` included: an
import deferred to call time is still a dependency, and a circle hidden that way still means no
module of it can be read, tested or moved alone. Run on 49bb05f (the flat layout), `cycles` found
one circle of 19 modules (verifier -> train_verifier -> train -> index -> embedding -> verifier).
"""

from __future__ import annotations

import ast
from pathlib import Path

import qa

ROOT = Path(qa.__file__).parent

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vocabulary", ("qa.errors", "qa.config", "qa.records", "qa.filters")),
    ("text", ("qa.text",)),
    ("question", ("qa.question",)),
    ("ingest", ("qa.ingest",)),
    ("model", ("qa.model",)),
    ("index", ("qa.index",)),
    ("search", ("qa.search", "qa.retrieve")),
    ("answer", ("qa.answer",)),
    ("faces", ("qa.faces",)),
    ("integrations", ("qa.integrations",)),
    ("offline", ("qa.train", "qa.eval")),
)
"""Lowest first. A module may import its own layer and those above it in this list, never one below.
Ingestion and the model sit side by side (neither needs the other); they are ordered only so that
one list says it. Integrations (adapters for other frameworks) sit on the library's doors, and no
other module imports them (`test_nothing_imports_the_integrations`). The façade (`qa/__init__.py`,
`qa/__main__.py`) may import anything."""
FACADE = {"qa", "qa.__main__"}

PUBLIC = {
    "Index", "UpdateReport", "Retriever", "Assistant", "Settings", "Filters", "Question",
    "Article", "Chunk", "Hit", "Quote", "Citation", "Answer", "QAError", "InputError", "ModelError",
    "IndexNotFoundError", "IndexCorruptError", "IndexMismatchError", "IndexLockedError",
}  # fmt: skip


def module_names(root: Path) -> dict[str, Path]:
    """Every module under `root` (a folder named like its package) by dotted name."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its body. `from a import b` points at
    the module `a.b` when there is one, else at `a`."""
    names = module_names(root)
    package = root.name
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in names else node.module for a in node.names]
            for target in targets:
                if target.split(".")[0] == package:
                    while target not in names:
                        target = target.rsplit(".", 1)[0]
                    if target != name:
                        graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> int | None:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def against_the_layers(graph: dict[str, set[str]]) -> list[str]:
    """`a -> b` for each import from a lower stage into a higher one."""
    wrong = []
    for source, targets in sorted(graph.items()):
        if source in FACADE:
            continue
        for target in sorted(targets):
            if target in FACADE or layer_of(target) > layer_of(source):
                wrong.append(f"{source} -> {target}")
    return wrong


def test_every_module_belongs_to_a_stage():
    assert sorted(m for m in module_names(ROOT) if m not in FACADE and layer_of(m) is None) == []


def test_there_are_no_import_circles():
    assert cycles(import_graph(ROOT)) == []


def test_imports_run_from_the_faces_down_to_the_vocabulary():
    assert against_the_layers(import_graph(ROOT)) == []


def test_the_checks_see_a_circle_and_an_import_against_the_layers():
    graph = {"qa.index.base": {"qa.search.syndication"}, "qa.search.syndication": {"qa.index.base"}}
    assert cycles(graph) == [["qa.index.base", "qa.search.syndication"]]
    assert against_the_layers(graph) == ["qa.index.base -> qa.search.syndication"]


def test_no_query_path_imports_training():
    graph = import_graph(ROOT)
    offline = {m for m in graph if layer_of(m) == len(LAYERS) - 1}
    assert sorted(m for m in graph if m not in offline and graph[m] & offline) == []


def test_the_public_names():
    assert set(qa.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(qa, name).__name__ == name


def test_nothing_imports_the_integrations():
    """An adapter is for another framework's users: the library, its faces and its training never
    need LangChain to import."""
    graph = import_graph(ROOT)
    inside = {m for m in graph if layer_of(m) == [name for name, _ in LAYERS].index("integrations")}
    assert inside, "qa/integrations/ is missing"
    assert sorted(f"{m} -> {t}" for m in graph if m not in inside for t in graph[m] & inside) == []
