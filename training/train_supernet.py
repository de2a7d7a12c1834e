"""Trains the Fashion-MNIST weight-sharing supernet committed under models/supernet/.

Usage: /usr/bin/python3 training/train_supernet.py [--space fmnist112] [--epochs N] [--device cuda] [--batch-size 128]
       torchrun --nproc_per_node=N training/train_supernet.py ...   (data-parallel, see README.md)
Needs the space's teacher checkpoint (training/checkpoints/vit_fmnist.pt for the 28×28 space,
vit_fmnist112.pt for the 112×112 one, both written by train_fixture.py; --teacher names another):
the supernet's factorised linears start from a truncated SVD of that trained full-rank model,
which is also the supernet's largest subnet.

Trains on the first 50 000 training images at most (the last 10 000 are the validation split the
search evaluates on) with sandwich sampling and in-place distillation, then writes
models/supernet[112]/fmnist[112]_supernet.npz (shared weights), fmnist[112]_space.json (search
space, slicing rules, validation split) and training.json (summary, with test top-1 of
representative subnets).

Spaces:
- fmnist: 28×28 Fashion-MNIST, patch 4 or 7 (50 or 17 tokens); every subnet needs about 26 KB
  of RAM, so only flash and accuracy separate them.
- fmnist112: Fashion-MNIST resized bilinearly to 112×112 (fmnist.resize_bilinear), patch 8, 14,
  16 or 28 (197, 65, 50 or 17 tokens): the token count sets the RAM, from about 21 KB to 137 KB
  on the F746, so a RAM budget decides the patch size.
"""

import argparse
import math
import os
import random
import time

import numpy as np
import torch

import distributed
import fmnist
import supernet as sn
from vit import ViT, ViTConfig

SEED = 0
TRAIN_COUNT = 50_000
BATCH_SIZE = 128
LEARNING_RATE = 5e-4
WEIGHT_DECAY = 0.05
LABEL_SMOOTHING = 0.1
RANDOM_SUBNETS_PER_STEP = 2

# Both spaces share every choice but the input size and the patch sizes.
_WIDTHS = {
    "in_channels": 1,
    "num_classes": 10,
    "embed_dim": [32, 48, 64],
    "depth": [2, 3, 4],
    "num_heads": [2, 3, 4],
    "mlp_ratio": [1.0, 1.5, 2.0],
    "rank_ratio": [0.25, 0.375, 0.5, 1.0],
}
# name: (space, output folder, file stem, teacher checkpoint)
SPACES = {
    "fmnist": ({"image_size": 28, "patch_size": [4, 7], **_WIDTHS},
               os.path.join(fmnist.MODELS_DIR, "supernet"), "fmnist",
               os.path.join(fmnist.CHECKPOINT_DIR, "vit_fmnist.pt")),
    "fmnist112": ({"image_size": 112, "patch_size": [8, 14, 16, 28], **_WIDTHS},
                  os.path.join(fmnist.MODELS_DIR, "supernet112"), "fmnist112",
                  os.path.join(fmnist.CHECKPOINT_DIR, "vit_fmnist112.pt")),
}


def space_document(space, stem):
    size = space["image_size"]
    document = {
        "format": "mcuformer-supernet-space/1",
        "weights": f"{stem}_supernet.npz",
        "input": {"name": "input", "shape": [1, space["in_channels"], size, size],
                  "scale": "pixel / 255"},
        "num_classes": space["num_classes"],
        "head_dim": sn.HEAD_DIM,
        "layer_norm_eps": sn.LAYER_NORM_EPS,
        "gelu": "erf",
        "pool": "cls",
        "choices": {name: space[name] for name in
                    ("patch_size", "embed_dim", "depth", "num_heads", "mlp_ratio", "rank_ratio")},
        "max_heads": max(space["num_heads"]),
        "rules": {
            "rank": "max(1, round_half_even(rank_ratio * min(in, out)))",
            "hidden": "round_half_even(embed_dim * mlp_ratio)",
            "qkv_rows": "for q, k, v: rows [part * max_heads * head_dim, part * max_heads * head_dim + heads * head_dim)",
            "linear": "W = expand[rows, :rank] @ mix[:rank, :rank] @ reduce[:rank, columns]",
            "deploy": "two linears (in -> rank with mix folded in, rank -> out) when rank * (in + out) < in * out, else W",
        },
        "validation": {"split": "train", "offset": TRAIN_COUNT, "count": 10_000},
    }
    if size != fmnist.IMAGE_SIZE:
        # mcuformer's dataset reader resizes the 28×28 images with the same arithmetic as training did.
        document["input"]["resize"] = {"from": [fmnist.IMAGE_SIZE, fmnist.IMAGE_SIZE], "method": "bilinear",
                                       "align_corners": False}
    return document


def load_teacher(path):
    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: run /usr/bin/python3 training/train_fixture.py first")
    checkpoint = torch.load(path, map_location="cpu")
    teacher = ViT(ViTConfig(**checkpoint["config"]))
    teacher.load_state_dict(checkpoint["state_dict"])
    return teacher


@torch.no_grad()
def top1(net, subnet, images, labels, batch_size=1000):
    net.eval()
    device = net.head.weight.device
    correct = 0
    for begin in range(0, images.shape[0], batch_size):
        logits = net(images[begin:begin + batch_size].to(device), subnet)
        correct += (logits.argmax(dim=1) == labels[begin:begin + batch_size].to(device)).sum().item()
    return correct / images.shape[0]


def representative_subnets(space):
    largest, smallest = sn.largest(space), sn.smallest(space)
    subnets = [largest, smallest]
    base, *others = space["patch_size"]
    for rho in space["rank_ratio"][:-1]:
        subnets.append(sn.uniform(space, base, 64, 4, 4, 2.0, rho))
    subnets += [sn.uniform(space, patch, 64, 4, 4, 2.0, 1.0) for patch in others]
    subnets.append(sn.uniform(space, base, 48, 3, 3, 1.5, 0.5))
    return subnets


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    distributed.add_arguments(parser, BATCH_SIZE)
    parser.add_argument("--space", choices=sorted(SPACES), default="fmnist",
                        help="the 28×28 space (default) or the 112×112 one where RAM binds")
    parser.add_argument("--epochs", type=distributed.positive, default=3)
    parser.add_argument("--train-images", type=distributed.positive, default=TRAIN_COUNT, metavar="N",
                        help=f"train on the first N training images (default and most: {TRAIN_COUNT})")
    parser.add_argument("--test-images", type=distributed.positive, metavar="N",
                        help="evaluate on the first N test images (default: all 10 000)")
    parser.add_argument("--teacher", help="the teacher checkpoint (default: training/checkpoints/vit_fmnist.pt, "
                        "vit_fmnist112.pt for fmnist112)")
    parser.add_argument("--out", help="output folder (default: models/supernet/, models/supernet112/ for fmnist112)")
    args = parser.parse_args()
    space, default_out, args.stem, default_teacher = SPACES[args.space]
    args.out = args.out or default_out
    args.teacher = args.teacher or default_teacher
    if args.train_images > TRAIN_COUNT:
        parser.error(f"--train-images: at most {TRAIN_COUNT} (the rest is the search's validation split)")

    context = distributed.start(args.device)
    fmnist.configure_torch(SEED, context.device)
    images, labels = fmnist.load_split("train", args.train_images, space["image_size"])
    test_images, test_labels = fmnist.load_split("t10k", args.test_images, space["image_size"])

    # The SVD initialisation runs on the training device.
    net = sn.Supernet(space).to(context.device)
    net.initialise_from_vit(load_teacher(args.teacher).to(context.device))
    if context.main:
        initial = {sn.subnet_key(s): round(top1(net, s, test_images, test_labels), 4)
                   for s in representative_subnets(space)}
        print("test top-1 after SVD initialisation:", initial, flush=True)

    # Every rank draws the random subnets from its own generator with the same seed, and the
    # same number of draws per step, so all ranks train the same subnet at every step. That keeps
    # DDP's gradient average meaningful (each rank's gradients are for the same subnet) and the
    # set of parameters a subnet leaves unused (blocks past its depth) the same on every rank.
    # Those unused parameters get no gradient in that backward pass, and DDP waits for every
    # parameter's gradient before it finishes a reduction, so find_unused_parameters=True lets it
    # mark them ready after each forward instead of waiting forever; their gradients accumulated
    # from earlier passes of the step stay as they are.
    rng = random.Random(SEED)
    generator = torch.Generator().manual_seed(SEED)
    replica = context.wrap(net, find_unused_parameters=True)
    optimizer = torch.optim.AdamW(net.parameters(), lr=context.scaled_lr(LEARNING_RATE, args.batch_size),
                                  weight_decay=WEIGHT_DECAY)
    steps_per_epoch = math.ceil(context.shard_size(images.shape[0]) / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, fmnist.cosine_lr_lambda(total_steps, max(1, total_steps // 20)))

    context.save_weights(args.rank_weights, "initial", net)
    started = time.time()
    for epoch in range(args.epochs):
        net.train()
        order = context.shard(torch.randperm(images.shape[0], generator=generator))
        running = 0.0
        for step in range(steps_per_epoch):
            batch = order[step * args.batch_size:(step + 1) * args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            running += sn.sandwich_step(replica, images[batch].to(context.device), labels[batch].to(context.device),
                                        space, rng, RANDOM_SUBNETS_PER_STEP, LABEL_SMOOTHING)
            optimizer.step()
            scheduler.step()
            if context.main and (step + 1) % 50 == 0:
                print(f"  epoch {epoch + 1}/{args.epochs} step {step + 1}/{steps_per_epoch} "
                      f"loss {running / (step + 1):.4f} ({time.time() - started:.0f} s)", flush=True)
        if context.main:
            print(f"epoch {epoch + 1}: largest subnet test top-1 "
                  f"{top1(net, sn.largest(space), test_images, test_labels):.4f}", flush=True)
    train_seconds = time.time() - started
    context.save_weights(args.rank_weights, "final", net)

    if context.main:
        final = {sn.subnet_key(s): round(top1(net, s, test_images, test_labels), 4)
                 for s in representative_subnets(space)}
        print("test top-1 after supernet training:", final, flush=True)
        write_outputs(net, space, args, context, initial, final, train_seconds, test_images.shape[0])
    context.close()


def write_outputs(net, space, args, context, initial, final, train_seconds, test_count):
    os.makedirs(args.out, exist_ok=True)
    weights_path = os.path.join(args.out, f"{args.stem}_supernet.npz")
    np.savez_compressed(weights_path, **sn.exported_tensors(net))
    fmnist.write_json(os.path.join(args.out, f"{args.stem}_space.json"), space_document(space, args.stem))
    fmnist.write_json(os.path.join(args.out, "training.json"), {
        "teacher": os.path.relpath(os.path.abspath(args.teacher), fmnist.REPO_ROOT),
        "train_images": args.train_images, "epochs": args.epochs, "batch_size": args.batch_size,
        "processes": context.world_size,
        "learning_rate": context.scaled_lr(LEARNING_RATE, args.batch_size),
        "sampling": "sandwich: largest + smallest + "
        f"{RANDOM_SUBNETS_PER_STEP} random per step, in-place distillation from the largest",
        "train_seconds": round(train_seconds, 1), "test_images": int(test_count),
        "test_top1_after_svd_init": initial, "test_top1": final,
        "weights_bytes": os.path.getsize(weights_path),
    })
    print(f"wrote {weights_path} ({os.path.getsize(weights_path)} bytes)")


if __name__ == "__main__":
    main()
