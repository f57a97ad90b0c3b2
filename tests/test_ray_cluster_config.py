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
    # the GPU workers run the learned contenders: the nodes get the ml extra, not the core only
    assert any("uv sync --frozen" in c and "--extra ml" in c for c in commands), commands


def test_start_commands_stop_then_start_ray_with_ports(raw_config: dict[str, Any]) -> None:
    head, worker = raw_config["head_start_ray_commands"], raw_config["worker_start_ray_commands"]
    assert head[0] == "ray stop" and worker[0] == "ray stop"
    assert "ray start --head --port=6380" in head[-1]
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in head[-1]
    assert "ray start --address=$RAY_HEAD_IP:6380" in worker[-1]


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


# ---------------------------------------------------------------- properties the arena needs of it


def test_every_node_boots_an_image_whose_glibc_and_driver_fit_the_locked_wheels(raw_config: dict[str, Any]) -> None:
    # the locked torch wheels are manylinux_2_28 (glibc >= 2.28) CUDA 13 builds: Ubuntu 24.04 (glibc 2.39)
    lock = (CONFIG_PATH.parent / "uv.lock").read_text()
    torch = lock[lock.index('name = "torch"\n'):][:5000]
    assert "manylinux_2_28_x86_64" in torch
    assert 'name = "nvidia-cuda-runtime"\nversion = "13.' in lock, "CUDA 13 wheels: a driver >= 580"
    for name, spec in raw_config["available_node_types"].items():
        image = spec["node_config"].get("ImageId", "")
        assert image.startswith("resolve:ssm:/aws/service/deeplearning/ami/x86_64/"), (name, image)
        assert "ubuntu-24.04" in image, (name, image)
    check = " ".join(raw_config["worker_setup_commands"])
    assert "nvidia-smi --query-gpu=driver_version" in check and "-ge 580" in check and "exit 1" in check


def test_gcs_stays_off_the_redis_port_of_the_live_events(raw_config: dict[str, Any]) -> None:
    head, worker = " ".join(raw_config["head_start_ray_commands"]), " ".join(raw_config["worker_start_ray_commands"])
    assert "--port=6379" not in head and "--port=6380" in head
    assert "$RAY_HEAD_IP:6380" in worker


def test_every_node_runs_with_the_same_auth_token(raw_config: dict[str, Any]) -> None:
    assert raw_config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        assert "export RAY_AUTH_MODE=token" in raw_config[key][-1], key
    assert any("RAY_AUTH_MODE=token" in c for c in raw_config["setup_commands"]), "drivers on the nodes too"


def test_the_head_is_marked_so_the_store_writer_is_pinned_to_it(raw_config: dict[str, Any]) -> None:
    from arena.topology import HEAD_RESOURCE, head_pin

    head = raw_config["available_node_types"][raw_config["head_node_type"]]
    assert head["resources"].get(HEAD_RESOURCE) == 1
    workers = [s for n, s in raw_config["available_node_types"].items() if n != raw_config["head_node_type"]]
    assert all(HEAD_RESOURCE not in s["resources"] for s in workers)
    assert head_pin({"CPU": 8.0, HEAD_RESOURCE: 1.0}) == {"resources": {HEAD_RESOURCE: 0.001}}
    assert head_pin({"CPU": 8.0}) == {}, "a local Ray has no head marker: nothing pinned"


def test_every_node_shares_the_heads_arena_home(raw_config: dict[str, Any]) -> None:
    """Snapshots must be readable wherever a contender is restarted, and where a stopped run
    is resumed: the head exports ~/arena-home over NFS, every worker mounts it at the same
    path, and every Ray process (the actors inherit the raylet's environment) has ARENA_HOME
    pointing at it."""
    head = " ".join(raw_config["head_setup_commands"])
    assert "nfs-kernel-server" in head and "$HOME/arena-home" in head and "exportfs" in head
    worker = " ".join(raw_config["worker_setup_commands"])
    assert "nfs-common" in worker
    assert 'mount -t nfs4' in worker and '"$RAY_HEAD_IP:$HOME/arena-home" ~/arena-home' in worker
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        start = [c for c in raw_config[key] if "ray start" in c]
        assert start and all("export ARENA_HOME=$HOME/arena-home;" in c for c in start), key
    assert any("export ARENA_HOME=$HOME/arena-home" in c for c in raw_config["setup_commands"]), "for the CLI too"
