"""The package's import graph, read statically with ``ast`` (function-level imports included):
data flows one way, like a river -- no module imports from a layer below its own -- and no
module imports itself back through others (no circles)."""

from pathlib import Path

from augworth.experiments import versions

SRC = Path(__file__).resolve().parents[1] / "src"

#: The layers from the source of the river down: a module may import its own layer and those
#: above it, never one below. (The book's notebooks and reports sit below everything.)
LAYERS = [
    {"augworth", "paths", "io", "lifecycle", "seeds"},  # folders, files, how a run stops, seed streams
    {"config", "claims", "prereg"},                      # parameters; the claims the book tests; its registration
    {"data"},
    {"augment"},
    {"metrics"},                                         # pure measures (of augmentations too)
    {"models"},
    {"runtime"},                                         # devices, threads, provenance, the reference step
    {"train"},                                           # one road into training
    {"experiments"},                                     # cells, runners, sweeps, the results cache
    {"shipping"},                                        # the shipped results and their provenance
    {"analysis"},                                        # pure tables, fits, selections
    {"verdicts"},
    {"plotting"},
    {"pipeline", "report", "gpu", "speed", "__main__"},  # executing notebooks, the command line, benchmarks' time to target
]


def _modules() -> list[str]:
    out = []
    for f in sorted((SRC / "augworth").rglob("*.py")):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "augworth"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module} belongs to no layer: add its folder to LAYERS")


def _graph() -> dict[str, set[str]]:
    # "from .. import x" names the package itself too; the root package is not an edge
    return {m: {d for d in versions._imports(m) if d != "augworth"} - {m} for m in _modules()}


def test_no_module_imports_from_a_lower_layer():
    upstream = []
    for module, deps in _graph().items():
        upstream += [f"{module} (layer {_layer(module)}) imports {d} (layer {_layer(d)})"
                     for d in sorted(deps) if _layer(d) > _layer(module)]
    assert not upstream, "imports that run up the river:\n" + "\n".join(upstream)


def test_the_import_graph_has_no_circles():
    graph = _graph()
    # a package imports its own modules (its __init__ re-exports them): an edge down, not a circle
    edges = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for d in sorted(edges.get(m, ())):
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]) if d in stack else f"{m} -> {d}")
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def test_the_layers_name_every_folder_of_the_package():
    for module in _modules():
        _layer(module)  # raises for a folder no layer names
