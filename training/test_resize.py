"""The 112×112 space's input: Fashion-MNIST's 28×28 images resized by fmnist.resize_bilinear.

    /usr/bin/python3 -m unittest discover -s training -v      (scripts/test runs it)

Training resizes in PyTorch's data loader, the search and the compiler in mcuformer's dataset reader.
The committed reference (models/supernet112/reference_logits.json) holds the SHA-256 of the first test
images as training saw them; this test checks that training still makes them, and the C# test
SupernetTests.DatasetReaderGivesTheImagesTrainingSaw that the dataset reader makes the same bytes.
"""

import hashlib
import json
import os
import unittest

import numpy as np
import torch
import torch.nn.functional as F

import fmnist

REFERENCE = os.path.join(fmnist.MODELS_DIR, "supernet112", "reference_logits.json")


class ResizeTest(unittest.TestCase):
    def test_matches_pytorch_bilinear_interpolation(self):
        raw = fmnist.read_idx_images(os.path.join(fmnist.DATASET_DIR, "t10k-images-idx3-ubyte.gz"), 64)
        for size in (112, 56, 33):
            ours = fmnist.resize_bilinear(raw, size)
            theirs = F.interpolate(torch.from_numpy(raw.astype(np.float32) / 255).unsqueeze(1), size=(size, size),
                                   mode="bilinear", align_corners=False)[:, 0].numpy()
            # The same taps; the weights and arithmetic differ only in float rounding (PyTorch takes the
            # scale in float32, a + w·(b − a) here), a few float32 steps, where one grey level is 4e-3.
            self.assertLess(np.abs(ours - theirs).max(), 4e-6, f"size {size}")

    def test_training_still_makes_the_committed_images(self):
        with open(REFERENCE) as stream:
            reference = json.load(stream)
        count, (_, size, _) = reference["test_images"], reference["input_shape"]
        images, _ = fmnist.load_split("t10k", count, size)
        self.assertEqual(hashlib.sha256(images.numpy().astype("<f4").tobytes()).hexdigest(), reference["input_sha256"])


if __name__ == "__main__":
    unittest.main()
