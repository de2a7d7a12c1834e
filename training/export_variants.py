"""Trains small ViT variants briefly and exports them under models/variants/.

Together the variants cover the ONNX import matrix of the mcuformer front-end:
nn.MultiheadAttention vs hand-written attention, class-token vs mean pooling,
erf vs tanh GELU, qkv with and without bias, the MCUFormer low-rank factorisation,
and opsets 13 to 17 (LayerNorm is decomposed below opset 17).

Usage: /usr/bin/python3 training/export_variants.py [--device cuda]
       torchrun --nproc_per_node=N training/export_variants.py ...   (data-parallel, see README.md)
Writes models/variants/*.onnx and models/variants/variants.json.
"""

import argparse
import os
from dataclasses import replace

import distributed
import fmnist
from vit import ViT, ViTConfig, factorise

SEED = 0
TRAIN_EPOCHS = 2
LOW_RANK_RATIO = 0.5
LOW_RANK_FINE_TUNE_EPOCHS = 1
LEARNING_RATE = 2e-3
MAX_VARIANT_BYTES = 300 * 1024
VARIANTS_DIR = os.path.join(fmnist.MODELS_DIR, "variants")

SMALL = ViTConfig(patch_size=4, embed_dim=48, depth=2, num_heads=4, mlp_ratio=2.0)

# (file stem, config, opset); the low-rank variant is handled by export_low_rank_variant.
FULL_RANK_VARIANTS = [
    ("mha_cls_erf_opset13", replace(SMALL, attention="mha", pool="cls", gelu="erf"), 13),
    ("timm_mean_tanh_opset14", replace(SMALL, attention="timm", pool="mean", gelu="tanh"), 14),
    ("timm_cls_nobias_opset15", replace(SMALL, patch_size=7, qkv_bias=False), 15),
    ("mha_mean_erf_opset16", replace(SMALL, attention="mha", pool="mean", gelu="erf"), 16),
]
LOW_RANK_VARIANT = ("lowrank_cls_erf_opset17", replace(SMALL, attention="timm", pool="cls"), 17)


def train_briefly(model, data, epochs, context):
    train_images, train_labels, _, _ = data
    return fmnist.train(model, train_images, train_labels, epochs=epochs, seed=SEED, context=context,
                        lr=LEARNING_RATE, log_every=0)


def export_and_describe(model, stem, opset, data, training):
    _, _, test_images, test_labels = data
    float_top1 = fmnist.evaluate_top1(model, test_images, test_labels)
    path = os.path.join(VARIANTS_DIR, f"{stem}.onnx")
    # Exported from the CPU, where the export's check that two eager runs agree exactly holds.
    summary = fmnist.export_onnx(model.cpu(), path, opset, test_images[:1])
    if summary["bytes"] > MAX_VARIANT_BYTES:
        raise RuntimeError(f"{path} is {summary['bytes']} bytes, over {MAX_VARIANT_BYTES}")
    print(f"  float top-1 {float_top1:.4f}")
    return {"file": f"{stem}.onnx", "opset": opset, "bytes": summary["bytes"],
            "params": fmnist.count_parameters(model), "config": model.config.to_dict(),
            "training": training, "float_top1": round(float_top1, 4),
            "test_images": int(test_images.shape[0]),
            "op_types": sorted(summary["op_counts"])}


def export_full_rank_variant(stem, config, opset, data, context):
    fmnist.configure_torch(SEED, context.device)
    model = ViT(config).to(context.device)
    seconds = train_briefly(model, data, TRAIN_EPOCHS, context)
    training = {"epochs": TRAIN_EPOCHS, "train_seconds": round(seconds, 1)}
    return export_and_describe(model, stem, opset, data, training) if context.main else None


def export_low_rank_variant(stem, config, opset, data, context):
    """Full-rank training, SVD factorisation of qkv/proj/fc1/fc2, then a fine-tune epoch."""
    fmnist.configure_torch(SEED, context.device)
    full_rank = ViT(config).to(context.device)
    full_rank_seconds = train_briefly(full_rank, data, TRAIN_EPOCHS, context)
    model = factorise(full_rank, LOW_RANK_RATIO)
    if context.main:
        _, _, test_images, test_labels = data
        full_rank_top1 = fmnist.evaluate_top1(full_rank, test_images, test_labels)
        factorised_top1 = fmnist.evaluate_top1(model, test_images, test_labels)
        print(f"  full-rank top-1 {full_rank_top1:.4f}, right after factorisation {factorised_top1:.4f}")
    fine_tune_seconds = train_briefly(model, data, LOW_RANK_FINE_TUNE_EPOCHS, context)
    if not context.main:
        return None
    training = {"full_rank_epochs": TRAIN_EPOCHS,
                "full_rank_float_top1": round(full_rank_top1, 4),
                "factorised_before_fine_tune_top1": round(factorised_top1, 4),
                "fine_tune_epochs": LOW_RANK_FINE_TUNE_EPOCHS,
                "train_seconds": round(full_rank_seconds + fine_tune_seconds, 1)}
    return export_and_describe(model, stem, opset, data, training)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    distributed.add_device_argument(parser)
    context = distributed.start(parser.parse_args().device)
    data = (*fmnist.load_split("train"), *fmnist.load_split("t10k"))
    entries = []
    for stem, config, opset in FULL_RANK_VARIANTS:
        if context.main:
            print(f"== {stem}")
        entries.append(export_full_rank_variant(stem, config, opset, data, context))
    stem, config, opset = LOW_RANK_VARIANT
    if context.main:
        print(f"== {stem}")
    entries.append(export_low_rank_variant(stem, config, opset, data, context))
    if context.main:
        fmnist.write_json(os.path.join(VARIANTS_DIR, "variants.json"), {"variants": entries})
        for entry in entries:
            print(f"{entry['file']}: {entry['bytes']} bytes, float top-1 {entry['float_top1']:.4f}")
    context.close()


if __name__ == "__main__":
    main()
