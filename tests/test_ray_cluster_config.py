"""ray_cluster.yaml is a valid `ray up` config, checked offline against Ray's own schema.

``prepare_config`` merges Ray's bundled AWS defaults (a YAML file shipped with
Ray; no AWS call, no boto3) and ``validate_config`` checks the result against
``ray/autoscaler/ray-schema.json`` plus Ray's cross-field rules.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CONFIG_PATH = Path(__file__).resolve().parents[1] / "ray_cluster.yaml"


@pytest.fixture(scope="module")
def raw_config() -> dict[str, Any]:
    with CONFIG_PATH.open() as f:
        config = yaml.safe_load(f)
    assert isinstance(config, dict), "ray_cluster.yaml must be a mapping"
    return config


@pytest.fixture(scope="module")
def prepared(raw_config: dict[str, Any]) -> dict[str, Any]:
    return prepare_config(copy.deepcopy(raw_config))


def test_config_passes_rays_schema_and_cross_field_rules(prepared: dict[str, Any]) -> None:
    validate_config(prepared)


def test_cluster_identity_and_provider(raw_config: dict[str, Any]) -> None:
    assert raw_config["cluster_name"] == "model-arena"
    assert raw_config["provider"]["type"] == "aws"
    assert raw_config["provider"]["region"] == "us-west-2"


def test_head_is_a_cpu_node(prepared: dict[str, Any]) -> None:
    head = prepared["available_node_types"][prepared["head_node_type"]]
    assert head["node_config"]["InstanceType"].startswith("m5.")
    assert head["resources"].get("GPU", 0) == 0


def test_gpu_worker_type_requests_a_gpu_and_autoscales(prepared: dict[str, Any]) -> None:
    workers = {
        name: spec
        for name, spec in prepared["available_node_types"].items()
        if name != prepared["head_node_type"]
    }
    gpu_workers = {n: s for n, s in workers.items() if s["resources"].get("GPU", 0) >= 1}
    assert gpu_workers, f"no worker type requests a GPU: {workers}"
    for spec in gpu_workers.values():
        assert spec["node_config"]["InstanceType"].startswith(("g5.", "g6.", "p3.", "p4d.", "p5."))
        assert spec["min_workers"] == 0
        assert spec["max_workers"] == 8
    assert prepared["max_workers"] >= 8


def test_project_dir_is_mounted_and_installed(raw_config: dict[str, Any]) -> None:
    remote_dirs = [remote for remote, local in raw_config["file_mounts"].items() if local == "."]
    assert remote_dirs == ["~/model-arena"]
    commands = raw_config["setup_commands"]
    assert any("pip install" in c and "uv" in c for c in commands)
    assert any(
        "cd ~/model-arena" in c and ("uv sync --frozen" in c or "pip install -e ." in c)
        for c in commands
    ), commands


def test_start_commands_stop_then_start_ray_with_ports(raw_config: dict[str, Any]) -> None:
    head, worker = raw_config["head_start_ray_commands"], raw_config["worker_start_ray_commands"]
    assert head[0] == "ray stop" and worker[0] == "ray stop"
    assert "ray start --head --port=6379" in head[-1]
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in head[-1]
    assert "ray start --address=$RAY_HEAD_IP:6379" in worker[-1]


def test_unknown_top_level_key_fails_validation(raw_config: dict[str, Any]) -> None:
    broken = copy.deepcopy(raw_config)
    broken["max_worker"] = 8  # misspelt max_workers
    with pytest.raises(jsonschema.ValidationError, match="max_worker"):
        validate_config(prepare_config(broken))


def test_negative_gpu_count_fails_validation(raw_config: dict[str, Any]) -> None:
    broken = copy.deepcopy(raw_config)
    broken["available_node_types"]["worker.gpu"]["resources"]["GPU"] = -1
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(broken))


def test_head_type_must_be_a_declared_node_type(raw_config: dict[str, Any]) -> None:
    broken = copy.deepcopy(raw_config)
    broken["head_node_type"] = "head.missing"
    with pytest.raises(ValueError, match="head_node_type"):
        validate_config(prepare_config(broken))
