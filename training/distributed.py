"""Device choice and data-parallel training, shared by the training scripts.

Run as `/usr/bin/python3 training/X.py`, a script trains in one process on --device (default: cuda
when PyTorch sees a GPU, else cpu). Run under torchrun (which sets WORLD_SIZE, RANK and LOCAL_RANK),
every process joins one process group (NCCL on GPUs, gloo on CPU), trains a
DistributedDataParallel replica on its shard of every epoch, and only rank 0 prints, evaluates and
writes files.

Scaling: --batch-size is per process, so the global batch is batch size x world size and an epoch
takes world size times fewer steps. The learning rate is multiplied by sqrt(global batch / 128),
the square-root rule for Adam-family optimisers (Malladi et al., "On the SDEs and Scaling Rules for
Adaptive Gradient Algorithms", 2022): the recipes were tuned at one process with batch 128, where
the factor is exactly 1, so a one-process run trains as it did before this module existed.
"""

import math
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

REFERENCE_BATCH = 128


def add_device_argument(parser):
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="cpu, cuda or cuda:N (default: cuda when a GPU is present, else cpu); under "
                             "torchrun a cuda device becomes cuda:LOCAL_RANK")


def add_arguments(parser, batch_size):
    add_device_argument(parser)
    parser.add_argument("--batch-size", type=positive, default=batch_size,
                        help=f"images per process and step (default {batch_size}); the learning rate scales "
                             f"with sqrt(batch size x processes / {REFERENCE_BATCH})")
    parser.add_argument("--rank-weights", metavar="DIR",
                        help="every process saves its weights before and after training to "
                             "DIR/rank<R>-initial.pt and DIR/rank<R>-final.pt, to check that the replicas agree")


def positive(text):
    value = int(text)
    if value < 1:
        raise ValueError(f"{text} is not at least 1")
    return value


class Context:
    """Where this process trains and which share of the work it does."""

    def __init__(self, device, rank=0, world_size=1):
        self.device = device
        self.rank = rank
        self.world_size = world_size

    @property
    def main(self):
        """Rank 0: the one process that prints, evaluates and writes files."""
        return self.rank == 0

    def wrap(self, model, find_unused_parameters=False):
        """The module to call in training: the model itself in one process, else a DDP replica (whose
        constructor broadcasts rank 0's weights) that averages gradients across processes on backward."""
        if self.world_size == 1:
            return model
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids,
                                       find_unused_parameters=find_unused_parameters)

    def shard_size(self, count):
        return math.ceil(count / self.world_size)

    def shard(self, order):
        """This process's share of an epoch's permutation (the same permutation on every rank, drawn from
        an identically seeded generator): every world_size-th index from its rank, after padding the
        permutation with its own head to a multiple of world_size as DistributedSampler does, so every
        process runs the same number of steps. In one process this is the permutation itself."""
        padded = self.shard_size(len(order)) * self.world_size
        order = torch.cat((order, order[:padded - len(order)]))
        return order[self.rank::self.world_size]

    def scaled_lr(self, lr, batch_size):
        return lr * math.sqrt(batch_size * self.world_size / REFERENCE_BATCH)

    def save_weights(self, folder, stage, model):
        if folder is None:
            return
        os.makedirs(folder, exist_ok=True)
        state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
        torch.save(state, os.path.join(folder, f"rank{self.rank}-{stage}.pt"))

    def close(self):
        if self.world_size > 1:
            dist.destroy_process_group()


def start(device_name):
    """The Context for this process; joins the process group when torchrun started several."""
    device = torch.device(device_name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {device_name}: PyTorch sees no GPU (use --device cpu)")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Context(device)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(device, dist.get_rank(), world_size)
