"""Data-parallel training on the CPU: the real scripts under torchrun with two gloo processes, for a
few steps on the first Fashion-MNIST images.

    /usr/bin/python3 -m unittest discover -s training -v      (scripts/test runs it)

train_fixture.py trains the teacher, train_supernet.py trains the supernet from it (sandwich rule,
in-place distillation, find_unused_parameters), both with two processes; train_supernet.py then runs
again in one process with the same global batch. Every process saves its weights before and after
training (--rank-weights), and the tests compare them.
"""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
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
    """A port that nothing listens on now; torchrun's store binds it a moment later (a run started in
    that moment could take it, which is unlikely enough for a test)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def torchrun(processes, log_dir):
    # `python3 -m torch.distributed.run` is torchrun on torch 1.13 and 2.x alike, with the interpreter
    # this test runs under. --redirects and --tee must not be 0 (their default): Debian 12's torch 1.13
    # parses 0 to None under Python 3.11, whose Flag enums no longer iterate over the zero member, and
    # fails with "'NoneType' object has no attribute 'get'". Writing each rank's stdout to its log file
    # and the console (1, 1) avoids it, and lets the test read what each rank printed. torch 1.13's
    # agent checks on its workers every 5 s by default, which would be most of this test's time.
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", f"--nproc_per_node={processes}",
            "--master_addr=127.0.0.1", f"--master_port={free_port()}", "--monitor_interval=0.2",
            "--redirects=1", "--tee=1", f"--log_dir={log_dir}"]


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
        launcher = torchrun(processes, cls.path(name, "logs")) if processes > 1 else [sys.executable]
        command = [*launcher, os.path.join(TRAINING, script), *arguments,
                   "--rank-weights", cls.path(name, "ranks")]
        # One thread per process: two processes share the machine's cores.
        environment = dict(os.environ, OMP_NUM_THREADS="1")
        result = subprocess.run(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=600)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-6000:]}")

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
        """What a rank printed: torchrun's per-rank stdout.log under the run's log folder."""
        logs = glob.glob(self.path(name, "logs", "*", "attempt_0", str(rank), "stdout.log"))
        self.assertEqual(len(logs), 1, f"{name}: rank {rank}'s log")
        with open(logs[0]) as stream:
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
