"""Writes models/supernet/reference_logits.json: PyTorch logits of a few subnets of the committed
supernet on the first test images, which the C# tests compare with the ONNX the search writes.

Usage: /usr/bin/python3 training/supernet_reference.py
"""

import os

import torch

import fmnist
import supernet as sn

SUPERNET_DIR = os.path.join(fmnist.MODELS_DIR, "supernet")
IMAGES = 2


def subnets(space):
    mixed = {"patch_size": 7, "embed_dim": 48, "depth": 3, "num_heads": [2, 3, 4],
             "mlp_ratio": [1.0, 1.5, 2.0], "rank_ratio": [0.25, 0.375, 1.0]}
    low_rank = sn.uniform(space, 4, 64, 2, 4, 2.0, 0.25)
    return [sn.largest(space), sn.smallest(space), mixed, low_rank]


@torch.no_grad()
def main():
    fmnist.configure_torch(0)
    space, net = sn.load(os.path.join(SUPERNET_DIR, "fmnist_space.json"))
    net.eval()
    images, labels = fmnist.load_split("t10k")
    images = images[:IMAGES]
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
    fmnist.write_json(os.path.join(SUPERNET_DIR, "reference_logits.json"),
                      {"test_images": IMAGES, "subnets": references})


if __name__ == "__main__":
    main()
