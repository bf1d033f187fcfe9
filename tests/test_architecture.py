"""The folders are the architecture: imports point one way, from the front ends down to the math.

Each of the package's parts has a level; a module may import only from its own part or from a
part on a lower level, so that nothing runs back up and nothing runs in a circle. The levels are
the map of docs/architecture.md; each part's `__init__` says the same in words.
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mnist_nn"

LEVELS = {  # lowest first
    "errors": 0,
    "version": 0,
    "nn": 1,  # the math, NumPy only
    "config": 2,
    "presets": 3,
    "evaluate": 4,
    "saving": 5,
    "data": 6,
    "train": 7,
    "reading": 8,
    "experiments": 8,  # beside reading: neither imports the other
    "estimator": 9,
    "web": 9,
    "cli": 10,  # `serve` starts the web front end
    "__main__": 11,
    "__init__": 11,
}


def part_of(module: str) -> str:
    """mnist_nn.train.loop -> "train"; mnist_nn -> "__init__"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> list[tuple[str, int]]:
    """Every mnist_nn module `path` imports (at the top or in a function), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mnist_nn":
                found += [(f"mnist_nn.{alias.name}", node.lineno) for alias in node.names]
            elif node.module.startswith("mnist_nn."):
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("mnist_nn.")]
    return found


def module_name(path: Path, package: Path) -> str:
    relative = path.relative_to(package.parent).with_suffix("")
    return ".".join(["mnist_nn", *relative.parts[1:]]).removesuffix(".__init__")


def upward_imports(package: Path = PACKAGE) -> list[str]:
    """Each import that runs up a level or sideways between two parts of one level."""
    wrong = []
    for path in sorted(package.rglob("*.py")):
        importer = module_name(path, package)
        for imported, line in imports(path):
            if imported == "mnist_nn.estimator" and importer == "mnist_nn":
                continue  # the package's lazy `MLPClassifier`, for `from mnist_nn import ...`
            mine, theirs = part_of(importer), part_of(imported)
            if mine != theirs and LEVELS[theirs] >= LEVELS[mine]:
                wrong.append(f"{path.relative_to(package)}:{line} imports {imported}")
    return wrong


def test_every_part_has_a_level():
    parts = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()}
    parts = {part for part in parts if not part.startswith((".", "_")) or part in LEVELS}
    parts -= {"py", "detector", "static"}  # not modules
    assert parts <= set(LEVELS), sorted(parts - set(LEVELS))


def test_imports_point_down_from_the_front_ends_to_the_math():
    assert upward_imports() == []


def test_an_import_running_back_up_is_found(tmp_path):
    """The check above can fail: a copy of the math importing the training loop is caught."""
    (tmp_path / "nn").mkdir()
    (tmp_path / "nn" / "layers.py").write_text("from mnist_nn.train.loop import Trainer\n")
    (tmp_path / "nn" / "losses.py").write_text("from mnist_nn.nn.layers import Dense\n")
    assert upward_imports(tmp_path) == ["nn/layers.py:1 imports mnist_nn.train.loop"]


@pytest.mark.parametrize(
    "part", sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file())
)
def test_every_folder_says_its_job_and_what_it_may_import(part):
    docstring = ast.get_docstring(ast.parse((PACKAGE / part / "__init__.py").read_text()))
    assert docstring and "May import" in docstring, f"{part}/__init__.py"


def test_the_math_imports_nothing_but_numpy_and_the_standard_library():
    for path in (PACKAGE / "nn").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                allowed = top in sys.stdlib_module_names or top in ("numpy", "mnist_nn")
                assert allowed, f"nn/{path.name} imports {name}"
                ours = name.startswith(("mnist_nn.nn", "mnist_nn.errors"))
                assert top != "mnist_nn" or ours, f"nn/{path.name} imports {name}"


def test_no_module_is_named_after_a_standard_library_one():
    """`from mnist_nn.reading import numbers` must never be mistaken for `import numbers`."""
    names = {path.stem for path in PACKAGE.rglob("*.py")} | {
        path.name for path in PACKAGE.iterdir() if path.is_dir()
    }
    assert names & set(sys.stdlib_module_names) == set()


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the mnist_nn modules it imports (`from mnist_nn.data import framing` is the
    module mnist_nn.data.framing), the package's lazy estimator left out."""
    modules = {module_name(path, package) for path in package.rglob("*.py")}
    graph = {}
    for path in package.rglob("*.py"):
        importer = module_name(path, package)
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if not node.module.startswith("mnist_nn"):
                    continue
                names = [f"{node.module}.{alias.name}" for alias in node.names]
                targets |= {name for name in names if name in modules} or {node.module}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("mnist_nn.")}
        if importer == "mnist_nn":
            targets.discard("mnist_nn.estimator")
        graph[importer] = {target for target in targets if target != importer}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle found by a depth-first walk (a module's chain back to itself)."""
    found, done = [], set()

    def walk(module, chain):
        if module in chain:
            found.append(chain[chain.index(module) :] + [module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            walk(target, [*chain, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])
    return found


def test_no_module_imports_itself_in_a_circle():
    assert cycles(import_graph()) == []


def test_a_circle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
