"""The core import needs neither torch nor a GPU; the package's imports point one way."""

import ast
import subprocess
import sys
from pathlib import Path


def test_import_does_not_load_frameworks(tmp_path):
    code = "import sys, aimatrix; print([m for m in ('torch', 'onnxruntime', 'tensorflow') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_matching_does_not_depend_on_what_was_imported(tmp_path):
    """Which params count when matching cases (compare, resume) is one fixed list, the same before any benchmark
    module is imported as after."""
    code = (
        "import aimatrix as am; from aimatrix.results.result import Result, MEASURED_PARAMS as M; "
        "r = lambda **p: Result('layer', {'layer': 'attention', **p}, backend='torch', dtype='bf16', device='cpu'); "
        "same = r(sdpa_ran='flash', torch='2.11').spec_key() == r(sdpa_ran='math', torch='2.14').spec_key(); "
        "print(type(M).__name__, same, 'sdpa_ran' in M and 'algo_find_ms' in M and 'grid' in M)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["frozenset", "True", "True"]


def _import_graph(root: Path) -> dict[str, set[str]]:
    """aimatrix's modules and, for each, the aimatrix modules it imports anywhere in its body (imports deferred into
    functions count: a deferred import dodges a cycle at import time, not in the design); ``if TYPE_CHECKING``
    blocks do not, they never run."""
    mods = {}
    for p in root.rglob("*.py"):
        name = ".".join(p.relative_to(root.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        here = m.split(".") if p.name == "__init__.py" else m.split(".")[:-1]
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):  # drop the bodies of `if TYPE_CHECKING:`
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = (
                    ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
                    if node.level
                    else (node.module or "")
                )
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for t in names:
                parts = t.split(".")
                while parts and ".".join(parts) not in mods:
                    parts.pop()
                target = ".".join(parts)
                # a module's own package (its __init__) is loaded before it: not an edge of the design
                if parts and target != m and not m.startswith(target + "."):
                    graph[m].add(target)
    return graph


def test_the_package_has_no_import_cycles():
    import aimatrix

    graph = _import_graph(Path(aimatrix.__file__).parent)
    assert len(graph) > 50
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"
