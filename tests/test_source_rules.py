"""Static checks of src/ (its syntax trees) for two rules a CPU test run cannot enforce.

1. Every random draw takes an explicit generator. A draw from torch's or numpy's global state
   would depend on what ran before it in the process and on the device (CUDA has its own global
   generator), so results would change with the order of jobs or the device. torch draws
   (``torch.rand``, ``randn``, ``randint``, ``randperm``, ``normal``, ..., the in-place
   ``uniform_``/``normal_``/... and ``nn.init``'s random initialisers) need ``generator=``;
   numpy draws come from ``np.random.default_rng(seed)`` with a seed; global seeding
   (``torch.manual_seed``, ``np.random.seed``) and the ``random`` module are not used.
2. ``.numpy()`` is called on a tensor that ``.cpu()`` (or ``.to("cpu")``) brought to the CPU in
   the same expression, or on one listed in ``KNOWN_CPU`` with the reason it is on the CPU: a
   device tensor's ``.numpy()`` raises (the dynamics job did so on any GPU run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "src" / "disentangle"
TORCH_DRAWS = {
    "rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like", "randint_like",
    "bernoulli", "multinomial", "poisson",
}  # fmt: skip
INPLACE_DRAWS = {
    "uniform_", "normal_", "bernoulli_", "random_", "exponential_", "cauchy_", "log_normal_",
    "geometric_",
}  # fmt: skip
INIT_DRAWS = {
    "uniform_", "normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "trunc_normal_", "orthogonal_", "sparse_",
}  # fmt: skip
NUMPY_SEEDED = {"default_rng", "Generator", "SeedSequence", "PCG64", "Philox", "SFC64", "MT19937"}

#: random draws without a generator, (file, function) -> why that is fine
DRAW_EXCEPTIONS: dict[tuple[str, str], str] = {}

#: ``.numpy()`` on a tensor not moved with ``.cpu()`` in the same expression:
#: (file, function, the receiver's source) -> why it is on the CPU
KNOWN_CPU: dict[tuple[str, str, str], str] = {
    **{
        ("jobs/comparison.py", fn, rx): "x, x_test: the scoring sample, drawn on the CPU"
        for fn, rxs in {
            "compute_floors": ("x", "x_test"),
            "run_score_networks": ("x", "x_test"),
        }.items()
        for rx in rxs
    },
    ("generative/train.py", "represent", "codes"): "the batches' codes, each moved with .cpu()",
    ("generative_studies.py", "locatello_vae_table", "pick"): "a CPU index draw (torch.randperm)",
    ("generative_studies.py", "locatello_vae_table", "ll - base"): "log-likelihoods on the CPU",
    ("generative_studies.py", "locatello_vae_table", "rotation"): "a CPU rotation matrix",
    **{
        ("theory/orthogonality.py", "add", rx): "closed-form theory, CPU only"
        for rx in ("pairs[:, 0]", "pairs[:, 1]", "angles.reshape(-1)")
    },
    ("comparison.py", "task_observations", "enc(x[None])[0]"): "a CPU encoder on CPU latents",
    ("comparison.py", "task_observations", "x"): "CPU latents (torch.rand)",
    (
        "comparison.py",
        "random_code_matrix",
        "torch.randn((dim, size), generator=g, dtype=torch.float64)",
    ): "a CPU draw",  # fmt: skip
    ("analysis/table_builders.py", "dynamics_tables", "torch.arange(n).repeat_interleave(t)"): (
        "a CPU arange"
    ),
    ("analysis/table_builders.py", "dynamics_tables", "torch.arange(t).repeat(n)"): "a CPU arange",
    **{
        ("analysis/table_builders.py", "encoder_example_table", rx): (
            "the ingredients' encoder on CPU draws (no model, no device)"
        )
        for rx in (
            "torch.arange(n_trials).repeat_interleave(n_steps)",
            "quadrant",
            "obs[:, 0]",
            "obs[:, 1]",
            "pca.projections[:, c]",
        )
    },
}


def sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


class Visitor(ast.NodeVisitor):
    """Collects (kind, function, receiver or call source, line) of the calls the rules cover."""

    def __init__(self) -> None:
        self.stack: list[str] = ["<module>"]
        self.found: list[tuple[str, str, str, int]] = []

    def visit_FunctionDef(self, node) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def note(self, kind: str, text: str, node) -> None:
        self.found.append((kind, self.stack[-1], text, node.lineno))

    def visit_Import(self, node) -> None:
        for alias in node.names:
            if alias.name == "random":
                self.note("draw", "import random", node)
        self.generic_visit(node)

    def visit_ImportFrom(self, node) -> None:
        if node.module == "random":
            self.note("draw", "from random import ...", node)
        self.generic_visit(node)

    def visit_Call(self, node) -> None:
        func = node.func
        keywords = {k.arg for k in node.keywords}
        if isinstance(func, ast.Attribute):
            owner = ast.unparse(func.value)
            name = func.attr
            if name == "numpy" and not node.args and not moved_to_cpu(func.value):
                self.note("numpy", ast.unparse(func.value), node)
            draw = (
                (owner == "torch" and name in TORCH_DRAWS)
                or (owner.endswith("init") and name in INIT_DRAWS)
                or (owner != "torch" and name in INPLACE_DRAWS and not owner.endswith("init"))
            )
            if draw and "generator" not in keywords:
                self.note("draw", ast.unparse(node), node)
            if owner in ("torch", "torch.cuda") and name in ("manual_seed", "seed", "seed_all"):
                self.note("draw", ast.unparse(node), node)
            if owner in ("np.random", "numpy.random"):
                if name not in NUMPY_SEEDED or (name == "default_rng" and not node.args):
                    self.note("draw", ast.unparse(node), node)
        self.generic_visit(node)


def moved_to_cpu(expr: ast.AST) -> bool:
    """The expression ends in a ``.cpu()`` or ``.to("cpu")`` call, possibly followed by more
    method calls, attributes or indexing (``x.cpu().float()``, ``x.detach().cpu()[0]``)."""
    while True:
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            attr = expr.func.attr
            if attr == "cpu":
                return True
            if attr == "to" and any(
                isinstance(a, ast.Constant) and a.value == "cpu" for a in expr.args
            ):
                return True
            expr = expr.func.value
        elif isinstance(expr, ast.Attribute | ast.Subscript):
            expr = expr.value
        else:
            return False


def scan() -> list[tuple[str, str, str, str, int]]:
    out = []
    for path in sources():
        visitor = Visitor()
        visitor.visit(ast.parse(path.read_text(), str(path)))
        out += [(kind, rel(path), fn, text, line) for kind, fn, text, line in visitor.found]
    return out


def test_every_random_draw_takes_a_generator():
    bad = [
        f"src/disentangle/{path}:{line} ({fn}): {text}"
        for kind, path, fn, text, line in scan()
        if kind == "draw" and (path, fn) not in DRAW_EXCEPTIONS
    ]
    assert not bad, "random draws without an explicit generator:\n" + "\n".join(bad)


def test_numpy_follows_cpu():
    bad = [
        f"src/disentangle/{path}:{line} ({fn}): {text}.numpy()"
        for kind, path, fn, text, line in scan()
        if kind == "numpy" and (path, fn, text) not in KNOWN_CPU
    ]
    assert not bad, (
        ".numpy() on a tensor that may be on the GPU: call .cpu() first, or list it in "
        "KNOWN_CPU with the reason it is on the CPU:\n" + "\n".join(bad)
    )


def test_the_exception_lists_name_existing_calls():
    """An entry that no longer matches a call is stale: remove it."""
    found = {(path, fn, text) for kind, path, fn, text, _ in scan() if kind == "numpy"}
    assert not set(KNOWN_CPU) - found, sorted(set(KNOWN_CPU) - found)
    draws = {(path, fn) for kind, path, fn, _, _ in scan() if kind == "draw"}
    assert not set(DRAW_EXCEPTIONS) - draws


@pytest.mark.parametrize(
    "code, kind",
    [
        ("torch.rand((2,))", "draw"),
        ("torch.randn(3, dtype=torch.float64)", "draw"),
        ("nn.init.xavier_uniform_(w)", "draw"),
        ("w.normal_()", "draw"),
        ("np.random.rand(3)", "draw"),
        ("np.random.default_rng()", "draw"),
        ("torch.manual_seed(0)", "draw"),
        ("x.numpy()", "numpy"),
        ("x[0].numpy()", "numpy"),
        ("x.detach().numpy()", "numpy"),
    ],
)
def test_the_checks_catch_what_they_describe(code, kind):
    visitor = Visitor()
    visitor.visit(ast.parse(code))
    assert [k for k, *_ in visitor.found] == [kind], code


@pytest.mark.parametrize(
    "code",
    [
        "torch.rand((2,), generator=g)",
        "nn.init.zeros_(b)",
        "np.random.default_rng(seed)",
        "x.cpu().numpy()",
        "x.detach().cpu().float()[0].numpy()",
        "x.to('cpu').numpy()",
        "df.to_numpy()",
    ],
)
def test_the_checks_pass_what_they_allow(code):
    visitor = Visitor()
    visitor.visit(ast.parse(code))
    assert visitor.found == [], code
