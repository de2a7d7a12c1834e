"""Trains the main mcuformer fixture and exports models/vit_fmnist.onnx (opset 17).

Usage: /usr/bin/python3 training/train_fixture.py [--device cuda] [--epochs 9] [--batch-size 128]
       /usr/bin/python3 training/train_fixture.py --variant fmnist112 [--epochs 2] [--train-images 25000]
       torchrun --nproc_per_node=N training/train_fixture.py ...   (data-parallel, see README.md)
Writes models/vit_fmnist.onnx, models/vit_fmnist.json and
training/checkpoints/vit_fmnist.pt (config + float state dict, e.g. for factorising the fixture).

`--variant fmnist112` trains the teacher of the 112×112 supernet space instead (Fashion-MNIST resized
to 112×112, 8×8 patches: 196 patches + class token) on the first 50 000 training images at most, so
the supernet's validation split stays unseen, and writes training/checkpoints/vit_fmnist112.pt and
models/supernet112/teacher.onnx and teacher.json.
"""

import argparse
import os

import torch

import distributed
import fmnist
from vit import ViT, ViTConfig

SEED = 0
OPSET = 17
EPOCHS = 9
BATCH_SIZE = 128
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 0.05
LABEL_SMOOTHING = 0.1
CONFIG = ViTConfig(patch_size=4, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0,
                   attention="timm", pool="cls", gelu="erf", qkv_bias=True)
# name: (config, checkpoint, export stem, default output folder, training images at most)
VARIANTS = {
    "fixture": (CONFIG, "vit_fmnist.pt", "vit_fmnist", fmnist.MODELS_DIR, 60_000),
    "fmnist112": (ViTConfig(image_size=112, patch_size=8, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0,
                            attention="timm", pool="cls", gelu="erf", qkv_bias=True),
                  "vit_fmnist112.pt", "teacher", os.path.join(fmnist.MODELS_DIR, "supernet112"), 50_000),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    distributed.add_arguments(parser, BATCH_SIZE)
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="fixture",
                        help="the main fixture (default) or the teacher of the 112×112 supernet space")
    parser.add_argument("--epochs", type=distributed.positive, default=EPOCHS)
    parser.add_argument("--train-images", type=distributed.positive, metavar="N",
                        help="train on the first N training images (default: all 60 000; 50 000 for fmnist112)")
    parser.add_argument("--test-images", type=distributed.positive, metavar="N",
                        help="evaluate on the first N test images (default: all 10 000)")
    parser.add_argument("--out", help="folder for the ONNX export and its JSON (default: models/, "
                        "models/supernet112/ for fmnist112)")
    parser.add_argument("--checkpoint", help="the float checkpoint to write "
                        "(default: training/checkpoints/vit_fmnist.pt or vit_fmnist112.pt)")
    args = parser.parse_args()
    config, checkpoint_name, args.stem, default_out, most_images = VARIANTS[args.variant]
    args.config = config
    args.out = args.out or default_out
    args.checkpoint = args.checkpoint or os.path.join(fmnist.CHECKPOINT_DIR, checkpoint_name)
    args.train_images = args.train_images or most_images
    if args.train_images > most_images:
        parser.error(f"--train-images: at most {most_images} for {args.variant}")

    context = distributed.start(args.device)
    fmnist.configure_torch(SEED, context.device)
    train_images, train_labels = fmnist.load_split("train", args.train_images, config.image_size)
    test_images, test_labels = fmnist.load_split("t10k", args.test_images, config.image_size)

    # Built on the CPU first, so the seeded initial weights are the same on every device.
    model = ViT(config)
    params = fmnist.count_parameters(model)
    if context.main:
        print(f"{args.variant} ViT: {params} parameters, config {config.to_dict()}")
    model.to(context.device)

    def report_test_top1(trained_model):
        print(f"  test top-1 {fmnist.evaluate_top1(trained_model, test_images, test_labels):.4f}",
              flush=True)

    context.save_weights(args.rank_weights, "initial", model)
    train_seconds = fmnist.train(
        model, train_images, train_labels, epochs=args.epochs, seed=SEED, context=context,
        batch_size=args.batch_size, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY,
        label_smoothing=LABEL_SMOOTHING, after_epoch=report_test_top1)
    context.save_weights(args.rank_weights, "final", model)
    if context.main:
        write_outputs(model, args, params, train_seconds, train_images, test_images, test_labels)
    context.close()


def write_outputs(model, args, params, train_seconds, train_images, test_images, test_labels):
    float_top1 = fmnist.evaluate_top1(model, test_images, test_labels)
    print(f"float top-1 on {test_images.shape[0]} test images: {float_top1:.4f} "
          f"({train_seconds:.0f} s of training)")

    # Saved and exported from the CPU: the checkpoint then loads anywhere, and the export's checks
    # (two eager runs agree exactly) hold.
    model.cpu()
    os.makedirs(os.path.dirname(os.path.abspath(args.checkpoint)), exist_ok=True)
    torch.save({"config": args.config.to_dict(), "state_dict": model.state_dict(),
                "float_top1": float_top1}, args.checkpoint)

    fmnist.export_onnx(model, os.path.join(args.out, args.stem + ".onnx"), OPSET, test_images[:1])
    report = {"float_top1": round(float_top1, 4), "test_images": int(test_images.shape[0]),
              "train_images": int(train_images.shape[0]),
              "epochs": args.epochs, "train_seconds": round(train_seconds, 1), "opset": OPSET,
              "params": params}
    fmnist.write_json(os.path.join(args.out, args.stem + ".json"), report)
    print(report)


if __name__ == "__main__":
    main()
