"""Data-parallel training on the CPU: the real scripts as two gloo processes, started with torchrun's
environment, for a few steps on the first Fashion-MNIST images.

    /usr/bin/python3 -m unittest discover -s training -v      (scripts/test runs it)

train_fixture.py trains the teacher, train_supernet.py trains the supernet from it (sandwich rule,
in-place distillation, find_unused_parameters), both with two processes; train_supernet.py then runs
again in one process with the same global batch. Every process saves its weights before and after
training (--rank-weights), and the tests compare them.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import torch

TRAINING = os.path.dirname(os.path.abspath(__file__))
COMMON = ["--device", "cpu", "--epochs", "1", "--test-images", "100"]
# Each of the two processes takes 256 of the 512 images: 8 steps of 32 for the fixture, 16 for the
# supernet (four subnets per step). The one-process supernet run takes all 256 in 8 steps of 32.
FIXTURE = ["--train-images", "512", "--batch-size", "32"]
SUPERNET = ["--train-images", "256"]
# Two processes and one with the same global batch see the same images in the same steps, so they
# differ only by float rounding (a sum over two half batches instead of one), measured at about
# 2e-6 after these 8 steps, while the weights move by about 1e-3. Ranks that trained on the same
# half of the data, or on different subnets, would end about as far apart as the steps move them.
SAME_GLOBAL_BATCH_TOLERANCE = 2e-5


def free_port():
    """A port that nothing listens on now; rank 0's store binds it a moment later (a run started in
    that moment could take it, which is unlikely enough for a test)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(command, processes, log_folder, timeout=600):
    """Starts the processes the way `torchrun --nproc_per_node=N --master_port=PORT` does on one machine:
    the same environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, ...), read by
    init_process_group's env:// rendezvous. torchrun itself cannot run here on both torch versions:
    Debian 12's torch 1.13 under Python 3.11 fails at its default --redirects/--tee of 0 ("'NoneType'
    object has no attribute 'get'"), and Debian's torch 2.14, built without libuv, fails to open
    torchrun's rendezvous store ("use_libuv was requested but PyTorch was built without libuv
    support"), which ignores USE_LIBUV=0. Each rank's stdout and stderr go to log_folder."""
    os.makedirs(log_folder)
    port = free_port()
    running = []
    for rank in range(processes):
        # One thread per process: the processes share the machine's cores. USE_LIBUV=0: torch 2.4
        # and later open env://'s store with libuv unless told otherwise (torch 1.13 ignores it).
        environment = dict(os.environ, OMP_NUM_THREADS="1", USE_LIBUV="0")
        if processes > 1:
            environment.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(processes),
                               RANK=str(rank), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(processes),
                               GROUP_RANK="0")
        with open(os.path.join(log_folder, f"rank{rank}.out"), "w") as out, \
                open(os.path.join(log_folder, f"rank{rank}.err"), "w") as err:
            running.append(subprocess.Popen(command, env=environment, stdout=out, stderr=err))
    deadline = time.monotonic() + timeout
    try:
        # A rank that fails leaves the others waiting for it in a collective, so the first failure
        # (or the deadline) ends the run.
        while any(process.poll() is None for process in running):
            if time.monotonic() > deadline or any(process.poll() for process in running):
                break
            time.sleep(0.2)
    finally:
        for process in running:
            if process.poll() is None:
                process.kill()
            process.wait()
    codes = [process.returncode for process in running]
    if any(codes):
        logs = ""
        for rank in range(processes):
            for stream in ("out", "err"):
                with open(os.path.join(log_folder, f"rank{rank}.{stream}")) as log:
                    logs += f"--- rank {rank} std{stream}\n{log.read()[-3000:]}"
        raise AssertionError(f"{' '.join(command)}: exit codes {codes}\n{logs}")


def load(folder, name):
    return torch.load(os.path.join(folder, name))


class DataParallelTrainingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mcuformer-ddp-")
        cls.addClassCleanup(shutil.rmtree, cls.work)
        cls.run_script(2, "fixture", "train_fixture.py", *COMMON, *FIXTURE, "--out", cls.path("fixture"),
                       "--checkpoint", cls.path("fixture", "vit_fmnist.pt"))
        teacher = ["--teacher", cls.path("fixture", "vit_fmnist.pt")]
        cls.run_script(2, "supernet", "train_supernet.py", *COMMON, *SUPERNET, "--batch-size", "16",
                       *teacher, "--out", cls.path("supernet"))
        cls.run_script(1, "supernet-one", "train_supernet.py", *COMMON, *SUPERNET, "--batch-size", "32",
                       *teacher, "--out", cls.path("supernet-one"))

    @classmethod
    def path(cls, *names):
        return os.path.join(cls.work, *names)

    @classmethod
    def run_script(cls, processes, name, script, *arguments):
        command = [sys.executable, os.path.join(TRAINING, script), *arguments,
                   "--rank-weights", cls.path(name, "ranks")]
        launch(command, processes, cls.path(name, "logs"))

    def rank_weights(self, name, rank, stage):
        return load(self.path(name, "ranks"), f"rank{rank}-{stage}.pt")

    def check_replicas(self, name):
        first, second = self.rank_weights(name, 0, "final"), self.rank_weights(name, 1, "final")
        initial = self.rank_weights(name, 0, "initial")
        self.assertEqual(first.keys(), second.keys())
        for key in first:
            self.assertTrue(torch.equal(first[key], second[key]), f"{name}: {key} differs between the ranks")
            self.assertFalse(torch.equal(first[key], initial[key]), f"{name}: {key} did not train")

    def rank_output(self, name, rank):
        with open(self.path(name, "logs", f"rank{rank}.out")) as stream:
            return stream.read()

    def test_fixture_replicas_agree_and_trained(self):
        self.check_replicas("fixture")

    def test_supernet_replicas_agree_and_trained(self):
        self.check_replicas("supernet")

    def test_supernet_two_processes_match_one_with_the_same_global_batch(self):
        two, one = self.rank_weights("supernet", 0, "final"), self.rank_weights("supernet-one", 0, "final")
        initial = self.rank_weights("supernet", 0, "initial")
        self.assertTrue(all(torch.equal(initial[key], self.rank_weights("supernet-one", 0, "initial")[key])
                            for key in initial), "both runs start from the same SVD initialisation")
        worst = max((two[key] - one[key]).abs().max().item() for key in two)
        moved = max((two[key] - initial[key]).abs().max().item() for key in two)
        self.assertLess(worst, SAME_GLOBAL_BATCH_TOLERANCE, f"weights moved by up to {moved}")
        self.assertGreater(moved, 25 * SAME_GLOBAL_BATCH_TOLERANCE)

    def test_only_rank_zero_prints_and_writes(self):
        for name, written in (("fixture", "vit_fmnist.onnx"), ("supernet", "fmnist_supernet.npz")):
            self.assertIn(written, self.rank_output(name, 0))
            self.assertEqual(self.rank_output(name, 1), "", f"{name}: rank 1 printed")
        for path in (("fixture", "vit_fmnist.onnx"), ("fixture", "vit_fmnist.json"),
                     ("supernet", "fmnist_supernet.npz"), ("supernet", "fmnist_space.json")):
            self.assertTrue(os.path.isfile(self.path(*path)), os.path.join(*path))
        with open(self.path("supernet", "training.json")) as stream:
            summary = json.load(stream)
        self.assertEqual((summary["processes"], summary["train_images"], summary["batch_size"]), (2, 256, 16))


if __name__ == "__main__":
    unittest.main()
