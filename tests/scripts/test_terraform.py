"""The terraform runner's configuration: mirror handling and paths."""

import pytest

from mlops_blueprint.scripts.terraform import PlanSummary, Terraform, ToolMissing, cli_config


def make_mirror(root):
    (root / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0").mkdir(parents=True)
    return root


def test_relative_stack_dir_gets_an_absolute_cli_config(tmp_path, monkeypatch):
    """terraform runs inside the stack folder: a relative TF_CLI_CONFIG_FILE would silently not be found."""
    mirror = make_mirror(tmp_path / "mirror")
    (tmp_path / "cdktf.out" / "stacks" / "s").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    tf = Terraform(tmp_path.joinpath("cdktf.out/stacks/s").relative_to(tmp_path), stack="s", env={}, mirror=mirror)
    config = tf.env["TF_CLI_CONFIG_FILE"]
    assert config == str(tmp_path / "cdktf.out/stacks/s/.terraformrc")
    text = (tmp_path / "cdktf.out/stacks/s/.terraformrc").read_text()
    assert f'path    = "{mirror}"' in text and 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text


def test_no_mirror_keeps_terraforms_normal_download(tmp_path):
    assert cli_config(tmp_path, None) is None


def test_a_folder_that_is_not_a_mirror_is_refused(tmp_path):
    with pytest.raises(ToolMissing, match="has no registry.terraform.io/ folder"):
        cli_config(tmp_path, tmp_path / "empty")


def test_plan_summary_classifies_actions():
    plan = {
        "resource_changes": [
            {"address": "a.x", "change": {"actions": ["create"]}},
            {"address": "a.y", "change": {"actions": ["update"]}},
            {"address": "a.z", "change": {"actions": ["delete", "create"]}},
            {"address": "a.w", "change": {"actions": ["delete"]}},
            {"address": "a.v", "change": {"actions": ["no-op"]}},
        ]
    }
    s = PlanSummary.from_plan_json(plan)
    assert (s.create, s.update, s.replace, s.delete) == (["a.x"], ["a.y"], ["a.z"], ["a.w"])
    assert s.counts() == "1 to create, 1 to update, 1 to replace, 1 to destroy" and not s.empty
