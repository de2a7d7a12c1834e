"""Fine-tunes the subnet `mcuformer search` chose and exports it to ONNX for `mcuformer compile`.

Usage: /usr/bin/python3 training/finetune.py --search DIR/search.json [--epochs 2] [--out DIR/finetuned.onnx]
                                            [--device cuda] [--batch-size 128]
       torchrun --nproc_per_node=N training/finetune.py --search ...   (data-parallel, see README.md)

Reads the chosen subnet (search.json "best") and the supernet it was sliced from (search.json
"supernet" and "space", paths relative to the folder of search.json), slices it into a standalone
model with the deployed factorisation, trains it on the first 50 000 training images (the search
validated on the rest), prints test top-1 before and after, and writes the ONNX file with a summary
next to it.
"""

import argparse
import json
import os

import distributed
import fmnist
import supernet as sn

SEED = 0
TRAIN_COUNT = 50_000
BATCH_SIZE = 128
OPSET = 17


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", required=True, help="search.json written by mcuformer search")
    parser.add_argument("--space", help="search-space JSON (default: the one search.json names)")
    parser.add_argument("--epochs", type=distributed.positive, default=2)
    parser.add_argument("--lr", type=float, default=5e-4,
                        help="learning rate at a global batch of 128 (default 5e-4)")
    parser.add_argument("--train-images", type=distributed.positive, default=TRAIN_COUNT, metavar="N",
                        help=f"train on the first N training images (default and most: {TRAIN_COUNT})")
    parser.add_argument("--test-images", type=distributed.positive, metavar="N",
                        help="evaluate on the first N test images (default: all 10 000)")
    parser.add_argument("--out", help="ONNX output (default: finetuned.onnx beside search.json)")
    distributed.add_arguments(parser, BATCH_SIZE)
    args = parser.parse_args()
    if args.train_images > TRAIN_COUNT:
        parser.error(f"--train-images: at most {TRAIN_COUNT} (the search validated on the rest)")

    with open(args.search) as stream:
        search = json.load(stream)
    folder = os.path.dirname(os.path.abspath(args.search))
    subnet = search["best"]["subnet"]
    # The supernet the search sliced, unless --space names another space (whose own weights then go with it).
    space_path, weights_path = ((args.space, None) if args.space
                                else (from_search_folder(folder, search["space"]), from_search_folder(folder, search["supernet"])))
    out = args.out or os.path.join(folder, "finetuned.onnx")

    context = distributed.start(args.device)
    fmnist.configure_torch(SEED, context.device)
    space, net = sn.load(space_path, weights_path)
    model = sn.SubnetViT(net, subnet).to(context.device)
    # A space of another input size (the 112×112 one) trains and tests on the images resized as its supernet saw them.
    train_images, train_labels = fmnist.load_split("train", args.train_images, space["image_size"])
    test_images, test_labels = fmnist.load_split("t10k", args.test_images, space["image_size"])
    if context.main:
        before = fmnist.evaluate_top1(model, test_images, test_labels)
        print(f"{sn.subnet_key(subnet)}: {fmnist.count_parameters(model)} parameters, test top-1 {before:.4f} as sliced")

    context.save_weights(args.rank_weights, "initial", model)
    seconds = fmnist.train(model, train_images, train_labels, epochs=args.epochs, seed=SEED, context=context,
                           batch_size=args.batch_size, lr=args.lr, warmup_fraction=0.02)
    context.save_weights(args.rank_weights, "final", model)
    if context.main:
        after = fmnist.evaluate_top1(model, test_images, test_labels)
        print(f"test top-1 after {args.epochs} epochs: {after:.4f} (was {before:.4f})")
        # Exported from the CPU, where the export's check that two eager runs agree exactly holds.
        fmnist.export_onnx(model.cpu(), out, OPSET, test_images[:1])
        fmnist.write_json(os.path.splitext(out)[0] + ".json", {
            "subnet": subnet, "key": sn.subnet_key(subnet), "epochs": args.epochs,
            "learning_rate": context.scaled_lr(args.lr, args.batch_size), "processes": context.world_size,
            "train_seconds": round(seconds, 1), "test_top1_sliced": round(before, 4), "test_top1": round(after, 4)})
    context.close()


def from_search_folder(folder, path):
    """A path search.json holds: relative to its folder (an absolute one, as older searches wrote, stays as it is)."""
    return os.path.join(folder, path)


if __name__ == "__main__":
    main()
