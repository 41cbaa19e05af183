"""The house rules, checked: one namespace, one-way imports, no cloud-name switches in core code."""

import ast
import re
import subprocess
import sys
import zipfile

import pytest

from mlops_blueprint.blueprints import registry
from tests.conftest import ROOT

ROOMS = ("blueprints", "stacks", "modules", "policies", "scripts")
CLOUD_NAME = re.compile(r"""["'](""" + "|".join(registry.NAMES) + r""")["']""")


def sources():
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            if "fixtures" not in path.parts:
                yield path


def cloud_owned(path) -> bool:
    """A file that belongs to one cloud: its package, its constructs, its rules, its glue, its emulator."""
    rel = path.relative_to(ROOT).as_posix()
    return any(
        rel.startswith(f"stacks/{c}/")
        or rel.startswith(f"policies/rules/{c}/")
        or rel == f"scripts/glue/{c}.py"
        or rel.endswith(f"/{c}.py")
        or rel == f"modules/{c}_common.py"
        for c in registry.NAMES
    ) or rel.startswith("scripts/emulator")


def test_core_code_never_names_a_cloud():
    offenders = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in sources()
        if not cloud_owned(p) and p.name != "registry.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if CLOUD_NAME.search(line)
    ]
    assert offenders == []


def imports(path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m.removeprefix("mlops_blueprint.") for m in out if m.startswith("mlops_blueprint.")}


@pytest.mark.parametrize(
    "room, may_not",
    [
        ("blueprints", ("stacks", "modules", "policies", "scripts")),
        ("modules", ("policies", "scripts")),
        ("policies", ("stacks", "modules", "scripts")),
    ],
)
def test_imports_flow_one_way(room, may_not):
    bad = [
        f"{p.relative_to(ROOT)} imports {m}"
        for p in (ROOT / room).rglob("*.py")
        if "fixtures" not in p.parts
        for m in imports(p)
        if m.split(".")[0] in may_not
    ]
    assert bad == []


def test_modules_reach_only_their_own_clouds_data_in_stacks():
    """A construct may read its cloud's catalog and names (leaf data modules), never a stack."""
    bad = []
    for p in (ROOT / "modules").rglob("*.py"):
        for m in imports(p):
            if m.startswith("stacks.") and not re.fullmatch(r"stacks\.(\w+)\.(names|catalog)", m):
                bad.append(f"{p.relative_to(ROOT)} imports {m}")
    assert bad == []


def test_nothing_but_the_cli_imports_the_cli():
    bad = [str(p.relative_to(ROOT)) for p in sources() if "scripts.cli" in imports(p) and p.name != "cli.py"]
    assert bad == []


def test_the_installed_distribution_has_one_top_level_name(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    [wheel] = tmp_path.glob("*.whl")
    top = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in top if not t.endswith(".dist-info")} == {"mlops_blueprint"}
    names = zipfile.ZipFile(wheel).namelist()
    assert "mlops_blueprint/blueprints/reference/starter.yaml" in names and not any("/tests/" in n for n in names)


def test_the_package_imports_from_anywhere(tmp_path):
    code = (
        f"import mlops_blueprint as m; lb = m.load({str(ROOT / 'blueprints/reference/starter.yaml')!r}); "
        "import sys; print(lb.name, 'cdktn' in sys.modules, 'boto3' in sys.modules)"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["starter", "False", "False"], "loading a blueprint must not load bindings or SDKs"


def test_the_cli_module_only_parses_and_delegates():
    cli = (ROOT / "scripts/cli.py").read_text()
    assert len(cli.splitlines()) <= 265  # "about 250": formatted by ruff, one option per line
    assert "terraform" not in imports(ROOT / "scripts/cli.py") and "scripts.glue" not in imports(
        ROOT / "scripts/cli.py"
    )


# A fact with one definition (issue 20): nothing but its home binds these names.
ONE_DEFINITION = {
    "MIG instances per GPU": ("blueprints/neutral.py", re.compile(r"^MIG_(PROFILES|INSTANCES|CAPABLE|DOUBLE_1G)$")),
    "a pool's GPU quota": ("blueprints/neutral.py", re.compile(r"^(gpu_quota|mig_slices|mig_instances)$")),
    "an accelerator's device resource": ("blueprints/neutral.py", re.compile(r"^(DEVICE_RESOURCES|device_resource)$")),
}


@pytest.mark.parametrize("fact", sorted(ONE_DEFINITION))
def test_one_definition_of_each_fact(fact):
    home, names = ONE_DEFINITION[fact]
    found = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text())):
            bound = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                bound = [node.name]
            elif isinstance(node, ast.Assign):
                bound = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                bound = [node.target.id]
            found += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in bound if names.match(n)]
    assert found and all(f.startswith(home + ":") for f in found), found
