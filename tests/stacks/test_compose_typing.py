"""The parts tables of stacks/compose.py: every cloud's Kit lists a construct and its props class for
each component, complete by type. At run time: the `Parts` fields are the `Component` names, each
construct takes its part's props class, a table missing a component or a props class that is no
dataclass fails when the table is made. Under mypy (the repository's own configuration): a missing
component, a construct paired with props it does not take and an unknown component name are errors,
and a complete table is not."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import typing
from dataclasses import fields

import pytest

from mlops_blueprint.stacks.aws.stack import AwsKit
from mlops_blueprint.stacks.azure.stack import AzureKit
from mlops_blueprint.stacks.compose import Component, KitBase, Part, Parts
from mlops_blueprint.stacks.gcp.stack import GcpKit
from mlops_blueprint.stacks.onprem.stack import OnpremKit
from tests.conftest import ROOT

KITS: list[type[KitBase]] = [AwsKit, GcpKit, AzureKit, OnpremKit]


def test_the_parts_fields_are_the_component_names():
    assert [f.name for f in fields(Parts)] == list(typing.get_args(Component))


@pytest.mark.parametrize("kit", KITS, ids=lambda k: k.__name__)
def test_every_construct_takes_its_parts_props_class(kit):
    assert isinstance(kit.parts, Parts)
    for f in fields(Parts):
        part = getattr(kit.parts, f.name)
        hints = typing.get_type_hints(part.construct.__init__)
        assert hints["props"] is part.props, f"{kit.__name__}.parts.{f.name}"


def test_a_table_missing_a_component_fails_when_it_is_made():
    lake = AwsKit.parts.data_lake
    with pytest.raises(TypeError, match="monitoring"):
        Parts(data_lake=lake, catalog=lake, training=lake, registry=lake, serving=lake)  # type: ignore[call-arg, arg-type]


def test_a_props_class_that_is_no_dataclass_is_a_clear_error():
    class LooseProps:
        pass

    with pytest.raises(TypeError, match=r"LooseProps is not a dataclass: a component's props class must be"):
        Part(AwsKit.parts.data_lake.construct, LooseProps)  # type: ignore[arg-type]


SNIPPET = """\
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mlops_blueprint.modules.catalog.onprem import CatalogProps, OnpremCatalog
from mlops_blueprint.modules.data_lake.onprem import DataLakeProps, OnpremDataLake
from mlops_blueprint.modules.monitoring.onprem import MonitoringProps, OnpremMonitoring
from mlops_blueprint.modules.onprem_common import Principal
from mlops_blueprint.modules.registry.onprem import OnpremRegistry, RegistryProps
from mlops_blueprint.modules.serving.onprem import OnpremServing, ServingProps
from mlops_blueprint.modules.training.onprem import OnpremTraining, TrainingProps
from mlops_blueprint.stacks.compose import KitBase, Part, Parts

complete: Parts[Principal] = Parts(
    data_lake=Part(OnpremDataLake, DataLakeProps),
    catalog=Part(OnpremCatalog, CatalogProps),
    training=Part(OnpremTraining, TrainingProps),
    registry=Part(OnpremRegistry, RegistryProps),
    serving=Part(OnpremServing, ServingProps),
    monitoring=Part(OnpremMonitoring, MonitoringProps),
)
missing: Parts[Principal] = Parts(  # E: call-arg
    data_lake=Part(OnpremDataLake, DataLakeProps),
    catalog=Part(OnpremCatalog, CatalogProps),
    training=Part(OnpremTraining, TrainingProps),
    registry=Part(OnpremRegistry, RegistryProps),
    serving=Part(OnpremServing, ServingProps),
)
mispaired = Part(OnpremDataLake, CatalogProps)  # E: arg-type


@dataclass
class Kit(KitBase[Principal]):
    parts: ClassVar[Parts[Principal]] = complete

    def unknown_component(self) -> None:
        self.make_props(DataLakeProps, "datalake")  # E: arg-type
"""


def test_mypy_reports_a_missing_or_mispaired_part_and_an_unknown_component(tmp_path):
    pytest.importorskip("mypy")
    (tmp_path / "mlops_blueprint").symlink_to(ROOT, target_is_directory=True)
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    expected = {
        (n, line.rsplit("# E: ", 1)[1]) for n, line in enumerate(SNIPPET.splitlines(), start=1) if "# E: " in line
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "c"),
        ]
        + ["--show-error-codes", "--no-error-summary", snippet.name],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = set()
    for line in run.stdout.splitlines():
        if line.startswith(f"{snippet.name}:") and ": error: " in line:
            found.add((int(line.split(":")[1]), line.rsplit("[", 1)[1].rstrip("]")))
    assert found == expected, textwrap.indent(run.stdout + run.stderr, "  ")
