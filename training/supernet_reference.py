"""Writes reference_logits.json beside a committed supernet: PyTorch logits of a few subnets on the
first test images, which the C# tests compare with the ONNX the search writes, and the SHA-256 of
those images as the model saw them (resized for the 112×112 space), which the C# tests compare with
what mcuformer's dataset reader makes of the same files.

Usage: /usr/bin/python3 training/supernet_reference.py [--space fmnist112]
"""

import argparse
import hashlib
import os

import torch

import fmnist
import supernet as sn
from train_supernet import SPACES

IMAGES = 2


def subnets(space):
    base, *others = space["patch_size"]
    mixed = {"patch_size": others[0], "embed_dim": 48, "depth": 3, "num_heads": [2, 3, 4],
             "mlp_ratio": [1.0, 1.5, 2.0], "rank_ratio": [0.25, 0.375, 1.0]}
    low_rank = sn.uniform(space, base, 64, 2, 4, 2.0, 0.25)
    return [sn.largest(space), sn.smallest(space), mixed, low_rank]


@torch.no_grad()
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=sorted(SPACES), default="fmnist")
    args = parser.parse_args()
    _, folder, stem, _ = SPACES[args.space]
    fmnist.configure_torch(0)
    space, net = sn.load(os.path.join(folder, f"{stem}_space.json"))
    net.eval()
    images, _ = fmnist.load_split("t10k", IMAGES, space["image_size"])
    references = []
    for subnet in subnets(space):
        logits = net(images, subnet)
        standalone = sn.SubnetViT(net, subnet).eval()(images)
        difference = (standalone - logits).abs().max().item()
        if difference > 1e-4:
            raise RuntimeError(f"{sn.subnet_key(subnet)}: SubnetViT differs from the supernet by {difference}")
        references.append({"subnet": subnet, "key": sn.subnet_key(subnet),
                           "logits": [[round(v, 6) for v in row] for row in logits.tolist()]})
        print(f"{sn.subnet_key(subnet)}: standalone matches within {difference:.2e}")
    fmnist.write_json(os.path.join(folder, "reference_logits.json"),
                      {"test_images": IMAGES, "input_shape": list(images.shape[1:]),
                       "input_sha256": hashlib.sha256(images.numpy().astype("<f4").tobytes()).hexdigest(),
                       "subnets": references})


if __name__ == "__main__":
    main()
