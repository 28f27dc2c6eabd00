"""torch.distributed set-up under torchrun, metric reduction, and relaunching ``mlrun train`` under torchrun."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Sequence

import torch
import torch.distributed as dist

ENV_CHILD = "MLRUN_MUSIC_DDP_CHILD"


def launched_by_torchrun() -> bool:
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def init(device: torch.device) -> tuple[int, int, torch.device]:
    """Join the process group torchrun set up; returns (rank, world_size, device of this rank)."""
    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) <= 1:
        return 0, 1, device
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over ranks (identity in a single process)."""
    if active():
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def barrier() -> None:
    if active():
        dist.barrier()


def shutdown() -> None:
    if active():
        dist.destroy_process_group()


def relaunch_under_torchrun(nproc: int, argv: Sequence[str]) -> int:
    """Run ``mlrun <argv>`` under torchrun with ``nproc`` processes on this node; returns the exit code."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "mlrun_music.cli", *argv]
    env = dict(os.environ, **{ENV_CHILD: "1"})
    return subprocess.call(cmd, env=env)
