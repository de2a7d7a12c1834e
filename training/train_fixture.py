"""Trains the main mcuformer fixture and exports models/vit_fmnist.onnx (opset 17).

Usage: /usr/bin/python3 training/train_fixture.py
Writes models/vit_fmnist.onnx, models/vit_fmnist.json and
training/checkpoints/vit_fmnist.pt (config + float state dict, e.g. for factorising the fixture).
"""

import os

import torch

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

ONNX_PATH = os.path.join(fmnist.MODELS_DIR, "vit_fmnist.onnx")
REPORT_PATH = os.path.join(fmnist.MODELS_DIR, "vit_fmnist.json")
CHECKPOINT_PATH = os.path.join(fmnist.CHECKPOINT_DIR, "vit_fmnist.pt")


def main():
    fmnist.configure_torch(SEED)
    train_images, train_labels = fmnist.load_split("train")
    test_images, test_labels = fmnist.load_split("t10k")

    model = ViT(CONFIG)
    params = fmnist.count_parameters(model)
    print(f"fixture ViT: {params} parameters, config {CONFIG.to_dict()}")

    def report_test_top1(trained_model):
        print(f"  test top-1 {fmnist.evaluate_top1(trained_model, test_images, test_labels):.4f}",
              flush=True)

    train_seconds = fmnist.train(
        model, train_images, train_labels, epochs=EPOCHS, seed=SEED, batch_size=BATCH_SIZE,
        lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY, label_smoothing=LABEL_SMOOTHING,
        after_epoch=report_test_top1)
    float_top1 = fmnist.evaluate_top1(model, test_images, test_labels)
    print(f"float top-1 on {test_images.shape[0]} test images: {float_top1:.4f} "
          f"({train_seconds:.0f} s of training)")

    os.makedirs(fmnist.CHECKPOINT_DIR, exist_ok=True)
    torch.save({"config": CONFIG.to_dict(), "state_dict": model.state_dict(),
                "float_top1": float_top1}, CHECKPOINT_PATH)

    fmnist.export_onnx(model, ONNX_PATH, OPSET, test_images[:1])
    report = {"float_top1": round(float_top1, 4), "test_images": int(test_images.shape[0]),
              "epochs": EPOCHS, "train_seconds": round(train_seconds, 1), "opset": OPSET,
              "params": params}
    fmnist.write_json(REPORT_PATH, report)
    print(report)


if __name__ == "__main__":
    main()
