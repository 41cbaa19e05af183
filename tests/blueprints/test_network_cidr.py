"""The platform network is a network address on every cloud: a CIDR with host bits set or an octet out
of range is refused at its line (it validated before, and stopped synth on Azure with a traceback)."""

import pytest
import yaml

from mlops_blueprint.blueprints.loader import BlueprintError, load
from tests.conftest import REFERENCE

BAD = ["10.60.0.1/16", "10.60.128.0/16", "10.60.8.1/20", "10.60.300.0/16"]


@pytest.mark.parametrize("path", REFERENCE, ids=[p.stem for p in REFERENCE])
@pytest.mark.parametrize("cidr", BAD)
def test_a_platform_network_with_host_bits_or_a_bad_octet_is_refused_at_its_line(tmp_path, path, cidr):
    data = yaml.safe_load(path.read_text())
    data.setdefault("baseline", {}).setdefault("network", {})["cidr"] = cidr
    text = yaml.safe_dump(data, sort_keys=False)
    bp = tmp_path / path.name
    bp.write_text(text)
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if ln.strip() == f"cidr: {cidr}")
    with pytest.raises(BlueprintError) as caught:
        load(bp)
    problems = [p for p in caught.value.problems if p.path == "baseline.network.cidr"]
    assert problems and {p.line for p in problems} == {line}
    assert all("is not a network address" in p.message and "10.40.0.0/16" in p.message for p in problems)


def test_a_network_address_still_validates(tmp_path):
    path = REFERENCE[0]
    data = yaml.safe_load(path.read_text())
    data.setdefault("baseline", {}).setdefault("network", {})["cidr"] = "10.60.128.0/17"
    bp = tmp_path / path.name
    bp.write_text(yaml.safe_dump(data, sort_keys=False))
    assert load(bp).base.baseline.network.cidr == "10.60.128.0/17"
