"""Shared Fashion-MNIST helpers: IDX loading, training, evaluation and ONNX export.

Input convention used everywhere (the C# front-end relies on it): a float32
tensor of shape [1, 1, 28, 28] holding pixel / 255, no mean/std normalisation. A model of a
larger input (the 112×112 supernet space) sees the 28×28 images resized bilinearly first
(`resize_bilinear`, the same arithmetic as mcuformer's dataset reader).
"""

import gzip
import inspect
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

DATASET_DIR = "/usr/share/datasets/fashion-mnist"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(REPO_ROOT, "models")
CHECKPOINT_DIR = os.path.join(REPO_ROOT, "training", "checkpoints")
IMAGE_SIZE = 28
NUM_CLASSES = 10

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


def configure_torch(seed, device=torch.device("cpu")):
    """Two CPU threads (or OMP_NUM_THREADS, which torchrun sets to 1 for each of several processes),
    deterministic kernels and a fixed seed so every run is reproducible.

    On CUDA, cuBLAS is deterministic only with a fixed workspace (CUBLAS_WORKSPACE_CONFIG, read when
    cuBLAS starts), and a few kernels the supernet needs (the backward of bilinear interpolation)
    have no deterministic version, so there they warn instead of stopping the run."""
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    torch.manual_seed(seed)


def _wanted(path, count, limit):
    if limit is not None and limit > count:
        raise ValueError(f"{path}: {limit} items wanted, the file holds {count}")
    return count if limit is None else limit


def read_idx_images(path, limit=None):
    """The first `limit` images (all by default); only those are decompressed."""
    with gzip.open(path, "rb") as stream:
        magic, count, rows, cols = struct.unpack(">IIII", stream.read(16))
        if magic != IDX_IMAGES_MAGIC:
            raise ValueError(f"{path}: not an IDX image file (magic {magic})")
        count = _wanted(path, count, limit)
        pixels = np.frombuffer(stream.read(count * rows * cols), dtype=np.uint8)
    return pixels.reshape(count, rows, cols)


def read_idx_labels(path, limit=None):
    with gzip.open(path, "rb") as stream:
        magic, count = struct.unpack(">II", stream.read(8))
        if magic != IDX_LABELS_MAGIC:
            raise ValueError(f"{path}: not an IDX label file (magic {magic})")
        count = _wanted(path, count, limit)
        labels = np.frombuffer(stream.read(count), dtype=np.uint8)
    if labels.shape[0] != count:
        raise ValueError(f"{path}: expected {count} labels, found {labels.shape[0]}")
    return labels


def load_split(split, limit=None, image_size=IMAGE_SIZE):
    """Returns (images [N,1,S,S] float32 in [0,1], labels [N] int64) for 'train' or 't10k':
    the first `limit` samples, or all of them, resized to S×S when S is not 28."""
    images = read_idx_images(os.path.join(DATASET_DIR, f"{split}-images-idx3-ubyte.gz"), limit)
    labels = read_idx_labels(os.path.join(DATASET_DIR, f"{split}-labels-idx1-ubyte.gz"), limit)
    scaled = (images.astype(np.float32) / 255.0 if image_size == IMAGE_SIZE
              else resize_bilinear(images, image_size))
    return torch.from_numpy(scaled).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def _bilinear_taps(source, target):
    """For each output index: the two source indices and the second one's weight (float32).
    Half-pixel centres clamped at the edges, as PyTorch's interpolate(mode="bilinear",
    align_corners=False) places them; computed as mcuformer's SampleConverter.Taps does."""
    centre = np.clip((np.arange(target, dtype=np.float64) + 0.5) * (source / target) - 0.5, 0, source - 1)
    lower = centre.astype(np.int64)
    return lower, np.minimum(lower + 1, source - 1), (centre - lower).astype(np.float32)


def resize_bilinear(images, size, chunk=2000):
    """uint8 images [N,H,W] to float32 [N,size,size] holding pixel / 255, resized bilinearly.

    Every step is the float32 operation mcuformer's dataset reader (Model/Datasets/SampleConverter.cs)
    does, in the same order (pixel / 255, then columns, then rows, each as a + w·(b − a)), so the
    search, calibration and simulation see the same values bit for bit as training did."""
    count, height, width = images.shape
    y0, y1, wy = _bilinear_taps(height, size)
    x0, x1, wx = _bilinear_taps(width, size)
    wy, wx = wy[:, None], wx[None, :]
    result = np.empty((count, size, size), dtype=np.float32)
    for begin in range(0, count, chunk):
        block = images[begin:begin + chunk].astype(np.float32) / np.float32(255)
        upper, lower = block[:, y0], block[:, y1]
        top = upper[:, :, x0] + wx * (upper[:, :, x1] - upper[:, :, x0])
        bottom = lower[:, :, x0] + wx * (lower[:, :, x1] - lower[:, :, x0])
        result[begin:begin + chunk] = top + wy * (bottom - top)
    return result


def cosine_lr_lambda(total_steps, warmup_steps):
    """Linear warm-up, then cosine decay to zero (a multiplier for LambdaLR)."""

    def multiplier(step):
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return multiplier


def train(model, images, labels, *, epochs, seed, context, batch_size=128, lr=2e-3,
          weight_decay=0.05, label_smoothing=0.1,
          warmup_fraction=0.05, log_every=100, after_epoch=None):
    """AdamW + per-step cosine schedule. Returns the wall-clock seconds spent training.

    The model must already be on context.device; batches are moved there one by one. Under torchrun
    every process takes its shard of each epoch with batch_size images per step (see distributed.py
    for how the learning rate scales), and only rank 0 logs. after_epoch(model) is called on rank 0
    after each epoch (its time is not counted); it may evaluate, so the model is put back in training
    mode afterwards."""
    generator = torch.Generator().manual_seed(seed)
    replica = context.wrap(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=context.scaled_lr(lr, batch_size),
                                  weight_decay=weight_decay)
    steps_per_epoch = math.ceil(context.shard_size(images.shape[0]) / batch_size)
    total_steps = epochs * steps_per_epoch
    warmup_steps = max(1, int(warmup_fraction * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, cosine_lr_lambda(total_steps, warmup_steps))

    model.train()
    training_seconds = 0.0
    for epoch in range(epochs):
        order = context.shard(torch.randperm(images.shape[0], generator=generator))
        epoch_start = time.time()
        running_loss = 0.0
        for step in range(steps_per_epoch):
            batch_ids = order[step * batch_size:(step + 1) * batch_size]
            logits = replica(images[batch_ids].to(context.device))
            loss = F.cross_entropy(logits, labels[batch_ids].to(context.device), label_smoothing=label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running_loss += loss.item()
            if context.main and log_every and (step + 1) % log_every == 0:
                print(f"  epoch {epoch + 1}/{epochs} step {step + 1}/{steps_per_epoch} "
                      f"loss {running_loss / (step + 1):.4f}", flush=True)
        training_seconds += time.time() - epoch_start
        if context.main:
            print(f"epoch {epoch + 1}/{epochs}: loss {running_loss / steps_per_epoch:.4f}, "
                  f"{time.time() - epoch_start:.1f} s", flush=True)
            if after_epoch is not None:
                after_epoch(model)
                model.train()
    model.eval()
    return training_seconds


@torch.no_grad()
def evaluate_top1(model, images, labels, batch_size=1000):
    """Float top-1 accuracy (fraction in [0, 1]) over every given image, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for begin in range(0, images.shape[0], batch_size):
        logits = model(images[begin:begin + batch_size].to(device))
        correct += (logits.argmax(dim=1) == labels[begin:begin + batch_size].to(device)).sum().item()
    return correct / images.shape[0]


def count_parameters(model):
    return sum(parameter.numel() for parameter in model.parameters())


@torch.no_grad()
def check_traced_matches_eager(model, sample):
    """Two eager eval runs must agree exactly, and a TorchScript trace must reproduce them."""
    model.eval()
    first = model(sample)
    second = model(sample)
    if not torch.equal(first, second):
        raise RuntimeError("eval-mode outputs differ between two runs")
    traced = torch.jit.trace(model, sample)
    traced_output = traced(sample)
    max_difference = (traced_output - first).abs().max().item()
    if max_difference > 1e-5:
        raise RuntimeError(f"traced model differs from eager model by {max_difference}")
    return max_difference


def export_onnx(model, path, opset, sample):
    """Static-shape, batch-1 export with input 'input' [1,1,S,S] (the sample's size) and output 'logits' [1,10]."""
    model.eval()
    check_traced_matches_eager(model, sample)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Grad stays enabled while tracing: under no_grad an eval-mode nn.MultiheadAttention
    # takes its fused fast path (aten::_native_multi_head_attention), which has no ONNX export.
    # torch >= 2.9 exports with dynamo unless told otherwise, which writes opset 18 at the least.
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.enable_grad():
        torch.onnx.export(model, sample, path, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          do_constant_folding=True, export_params=True, **legacy)
    summary = describe_onnx(path)
    expected_io = ({"input": list(sample.shape)}, {"logits": [1, NUM_CLASSES]})
    if (summary["inputs"], summary["outputs"]) != expected_io:
        raise RuntimeError(f"{path}: unexpected graph signature {summary['inputs']} -> {summary['outputs']}")
    if summary["opset"] != opset:
        raise RuntimeError(f"{path}: exported opset {summary['opset']}, wanted {opset}")
    print(f"exported {os.path.relpath(path, REPO_ROOT)}: {summary['bytes']} bytes, opset {opset}, "
          f"{summary['node_count']} nodes")
    print("  op types: " + ", ".join(f"{op}x{n}" for op, n in sorted(summary["op_counts"].items())))
    return summary


def write_json(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as stream:
        json.dump(content, stream, indent=2)
        stream.write("\n")


# --- Minimal protobuf reading of an ONNX file (the onnx package is not required) ---

MODEL_GRAPH, MODEL_OPSET_IMPORT = 7, 8
GRAPH_NODE, GRAPH_INPUT, GRAPH_OUTPUT = 1, 11, 12
NODE_OP_TYPE = 4
OPSET_DOMAIN, OPSET_VERSION = 1, 2
VALUE_INFO_NAME, VALUE_INFO_TYPE = 1, 2
TYPE_TENSOR, TENSOR_SHAPE, SHAPE_DIM, DIM_VALUE = 1, 2, 1, 1

WIRE_VARINT, WIRE_FIXED64, WIRE_LENGTH, WIRE_FIXED32 = 0, 1, 2, 5


def _read_varint(buffer, position):
    value, shift = 0, 0
    while True:
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _protobuf_fields(buffer):
    """Yields (field number, value) for one message; value is bytes or int."""
    position = 0
    while position < len(buffer):
        key, position = _read_varint(buffer, position)
        field, wire_type = key >> 3, key & 7
        if wire_type == WIRE_VARINT:
            value, position = _read_varint(buffer, position)
        elif wire_type == WIRE_LENGTH:
            length, position = _read_varint(buffer, position)
            value = buffer[position:position + length]
            position += length
        elif wire_type == WIRE_FIXED64:
            value = buffer[position:position + 8]
            position += 8
        elif wire_type == WIRE_FIXED32:
            value = buffer[position:position + 4]
            position += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield field, value


def _first_field(buffer, number):
    return next((value for field, value in _protobuf_fields(buffer) if field == number), None)


def _value_info_shape(value_info):
    tensor_type = _first_field(_first_field(value_info, VALUE_INFO_TYPE), TYPE_TENSOR)
    shape = _first_field(tensor_type, TENSOR_SHAPE)
    dims = [value for field, value in _protobuf_fields(shape) if field == SHAPE_DIM]
    return [_first_field(dim, DIM_VALUE) for dim in dims]


def describe_onnx(path):
    """Op-type counts, default-domain opset and graph input/output shapes of an ONNX file."""
    with open(path, "rb") as stream:
        model_bytes = stream.read()
    graph, opset = None, None
    for field, value in _protobuf_fields(model_bytes):
        if field == MODEL_GRAPH:
            graph = value
        elif field == MODEL_OPSET_IMPORT and not _first_field(value, OPSET_DOMAIN):
            opset = _first_field(value, OPSET_VERSION)
    op_counts, inputs, outputs = {}, {}, {}
    for field, value in _protobuf_fields(graph):
        if field == GRAPH_NODE:
            op_type = _first_field(value, NODE_OP_TYPE).decode()
            op_counts[op_type] = op_counts.get(op_type, 0) + 1
        elif field in (GRAPH_INPUT, GRAPH_OUTPUT):
            target = inputs if field == GRAPH_INPUT else outputs
            target[_first_field(value, VALUE_INFO_NAME).decode()] = _value_info_shape(value)
    return {"bytes": len(model_bytes), "opset": opset, "op_counts": op_counts,
            "node_count": sum(op_counts.values()), "inputs": inputs, "outputs": outputs}
