"""Weight-sharing ViT supernet over patch size, embed dim, depth, heads, MLP ratio and rank ratio.

Every subnet is a slice of one set of shared weights:
- embed dim e: the first e channels of every embedding-sized tensor;
- depth d: the first d blocks;
- heads h (fixed head dim): the first h heads of q, k and v, and the first h*head_dim
  inputs of the attention projection;
- MLP ratio m: the first round(m*e) hidden units of fc1/fc2;
- rank ratio rho: every transformer linear is stored factorised, W = U S V (U: out x R,
  S: R x R, V: R x in, R = min(in, out) of the largest subnet), initialised by a truncated SVD
  of a trained full-rank model; a subnet keeps the first r = rank_of(i, o, rho) components;
- patch size p: one patch-embedding kernel, bilinearly resized to p x p, and the positional
  embeddings of the patch grid bilinearly interpolated to the new grid.

A subnet's linear is deployed as two linears (in -> r -> out, S folded into the first) when
that holds fewer weights than the dense product, and as the dense product otherwise; the
function is the same either way. Rank, factor and deployment rules are written into the
exported space JSON so the C# search materialises exactly what was trained.
"""

import torch
import torch.nn.functional as F
from torch import nn

HEAD_DIM = 16
LAYER_NORM_EPS = 1e-5


def rank_of(in_features, out_features, rank_ratio):
    """Rank kept for a linear of the given (subnet) shape; round half to even, at least 1."""
    return max(1, round(rank_ratio * min(in_features, out_features)))


def hidden_of(embed_dim, mlp_ratio):
    return int(round(embed_dim * mlp_ratio))


class SharedLinear(nn.Module):
    """A factorised linear whose rows, columns and rank are sliced per subnet."""

    def __init__(self, in_features, out_features):
        super().__init__()
        rank = min(in_features, out_features)
        self.reduce = nn.Parameter(torch.zeros(rank, in_features))
        self.mix = nn.Parameter(torch.zeros(rank, rank))
        self.expand = nn.Parameter(torch.zeros(out_features, rank))
        self.bias = nn.Parameter(torch.zeros(out_features))

    @torch.no_grad()
    def initialise_from(self, weight, bias):
        u, s, vh = torch.linalg.svd(weight, full_matrices=False)
        self.reduce.copy_(vh)
        self.mix.copy_(torch.diag(s))
        self.expand.copy_(u)
        self.bias.copy_(bias)

    def weight(self, out_index, in_index, rank):
        return self.expand[out_index, :rank] @ self.mix[:rank, :rank] @ self.reduce[:rank, in_index]

    def forward(self, x, out_index, in_index, rank_ratio):
        rank = rank_of(_count(in_index), _count(out_index), rank_ratio)
        return F.linear(x, self.weight(out_index, in_index, rank), self.bias[out_index])


def _count(index):
    return index.stop - index.start if isinstance(index, slice) else len(index)


class Supernet(nn.Module):
    def __init__(self, space):
        super().__init__()
        self.space = space
        self.embed_dim = max(space["embed_dim"])
        self.max_heads = max(space["num_heads"])
        self.max_hidden = hidden_of(self.embed_dim, max(space["mlp_ratio"]))
        self.max_depth = max(space["depth"])
        self.image_size = space["image_size"]
        # The smallest patch size owns the trained kernel and position grid; larger ones resize them.
        self.base_patch = min(space["patch_size"])
        dim, inner = self.embed_dim, self.max_heads * HEAD_DIM
        self.patch_weight = nn.Parameter(torch.zeros(dim, space["in_channels"], self.base_patch, self.base_patch))
        self.patch_bias = nn.Parameter(torch.zeros(dim))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        grid = self.image_size // self.base_patch
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, dim))
        self.blocks = nn.ModuleList()
        for _ in range(self.max_depth):
            block = nn.Module()
            block.ln1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
            block.qkv = SharedLinear(dim, 3 * inner)
            block.proj = SharedLinear(inner, dim)
            block.ln2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
            block.fc1 = SharedLinear(dim, self.max_hidden)
            block.fc2 = SharedLinear(self.max_hidden, dim)
            self.blocks.append(block)
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.head = nn.Linear(dim, space["num_classes"])

    @torch.no_grad()
    def initialise_from_vit(self, vit):
        """Copies a trained full-rank ViT (vit.py, timm attention, class token) of the largest shape."""
        config = vit.config
        teacher_shape = (config.embed_dim, config.depth, config.patch_size, config.num_heads,
                         config.embed_dim // config.num_heads, config.mlp_hidden_dim, config.pool, config.attention)
        wanted_shape = (self.embed_dim, self.max_depth, self.base_patch, self.max_heads, HEAD_DIM, self.max_hidden,
                        "cls", "timm")
        if teacher_shape != wanted_shape:
            raise ValueError(f"teacher config {config} does not match the supernet's largest subnet")
        self.patch_weight.copy_(vit.patch_embed.weight)
        self.patch_bias.copy_(vit.patch_embed.bias)
        self.cls_token.copy_(vit.cls_token)
        self.pos_embed.copy_(vit.pos_embed)
        for mine, theirs in zip(self.blocks, vit.blocks):
            mine.ln1.load_state_dict(theirs.ln1.state_dict())
            mine.ln2.load_state_dict(theirs.ln2.state_dict())
            mine.qkv.initialise_from(theirs.attn.qkv.weight, theirs.attn.qkv.bias)
            mine.proj.initialise_from(theirs.attn.proj.weight, theirs.attn.proj.bias)
            mine.fc1.initialise_from(theirs.mlp.fc1.weight, theirs.mlp.fc1.bias)
            mine.fc2.initialise_from(theirs.mlp.fc2.weight, theirs.mlp.fc2.bias)
        self.norm.load_state_dict(vit.norm.state_dict())
        self.head.load_state_dict(vit.head.state_dict())

    def patch_kernel(self, patch_size):
        if patch_size == self.base_patch:
            return self.patch_weight
        resized = F.interpolate(self.patch_weight, size=(patch_size, patch_size), mode="bilinear",
                                align_corners=False)
        # Keeps a patch's response to a uniform image unchanged when the kernel covers more pixels.
        return resized * (self.base_patch * self.base_patch) / (patch_size * patch_size)

    def positions(self, patch_size):
        if patch_size == self.base_patch:
            return self.pos_embed
        base_grid = self.image_size // self.base_patch
        grid = self.image_size // patch_size
        patch_positions = self.pos_embed[:, 1:].reshape(1, base_grid, base_grid, -1).permute(0, 3, 1, 2)
        resized = F.interpolate(patch_positions, size=(grid, grid), mode="bilinear", align_corners=False)
        resized = resized.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)
        return torch.cat((self.pos_embed[:, :1], resized), dim=1)

    def qkv_rows(self, heads):
        inner = self.max_heads * HEAD_DIM
        width = heads * HEAD_DIM
        device = self.patch_weight.device
        return torch.cat([torch.arange(part * inner, part * inner + width, device=device) for part in range(3)])

    def forward(self, images, subnet):
        patch, dim = subnet["patch_size"], subnet["embed_dim"]
        channels = slice(0, dim)
        x = F.conv2d(images, self.patch_kernel(patch)[channels], self.patch_bias[channels], stride=patch)
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token[:, :, channels].expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.positions(patch)[:, :, channels]
        batch, tokens, _ = x.shape
        for index in range(subnet["depth"]):
            block = self.blocks[index]
            heads = subnet["num_heads"][index]
            hidden = slice(0, hidden_of(dim, subnet["mlp_ratio"][index]))
            inner = slice(0, heads * HEAD_DIM)
            rho = subnet["rank_ratio"][index]

            y = F.layer_norm(x, (dim,), block.ln1.weight[channels], block.ln1.bias[channels], LAYER_NORM_EPS)
            qkv = block.qkv(y, self.qkv_rows(heads), channels, rho)
            qkv = qkv.reshape(batch, tokens, 3, heads, HEAD_DIM).permute(2, 0, 3, 1, 4)
            scores = (qkv[0] @ qkv[1].transpose(-2, -1)) * HEAD_DIM ** -0.5
            context = (scores.softmax(dim=-1) @ qkv[2]).transpose(1, 2).reshape(batch, tokens, -1)
            x = x + block.proj(context, channels, inner, rho)

            y = F.layer_norm(x, (dim,), block.ln2.weight[channels], block.ln2.bias[channels], LAYER_NORM_EPS)
            y = F.gelu(block.fc1(y, hidden, channels, rho))
            x = x + block.fc2(y, channels, hidden, rho)
        pooled = F.layer_norm(x[:, 0], (dim,), self.norm.weight[channels], self.norm.bias[channels], LAYER_NORM_EPS)
        return F.linear(pooled, self.head.weight[:, channels], self.head.bias)


def largest(space):
    depth = max(space["depth"])
    return {"patch_size": min(space["patch_size"]), "embed_dim": max(space["embed_dim"]), "depth": depth,
            "num_heads": [max(space["num_heads"])] * depth, "mlp_ratio": [max(space["mlp_ratio"])] * depth,
            "rank_ratio": [max(space["rank_ratio"])] * depth}


def smallest(space):
    depth = min(space["depth"])
    return {"patch_size": max(space["patch_size"]), "embed_dim": min(space["embed_dim"]), "depth": depth,
            "num_heads": [min(space["num_heads"])] * depth, "mlp_ratio": [min(space["mlp_ratio"])] * depth,
            "rank_ratio": [min(space["rank_ratio"])] * depth}


def sample(space, rng):
    depth = rng.choice(space["depth"])
    return {"patch_size": rng.choice(space["patch_size"]), "embed_dim": rng.choice(space["embed_dim"]),
            "depth": depth,
            "num_heads": [rng.choice(space["num_heads"]) for _ in range(depth)],
            "mlp_ratio": [rng.choice(space["mlp_ratio"]) for _ in range(depth)],
            "rank_ratio": [rng.choice(space["rank_ratio"]) for _ in range(depth)]}


def uniform(space, patch_size, embed_dim, depth, heads, mlp_ratio, rank_ratio):
    return {"patch_size": patch_size, "embed_dim": embed_dim, "depth": depth, "num_heads": [heads] * depth,
            "mlp_ratio": [mlp_ratio] * depth, "rank_ratio": [rank_ratio] * depth}


def subnet_key(subnet):
    def join(values):
        return ".".join(f"{value:g}" for value in values)
    return (f"p{subnet['patch_size']}-e{subnet['embed_dim']}-d{subnet['depth']}-h{join(subnet['num_heads'])}"
            f"-m{join(subnet['mlp_ratio'])}-r{join(subnet['rank_ratio'])}")


def exported_tensors(net):
    """Float32 numpy arrays of every shared tensor, with the per-patch-size derived tensors
    (resized patch kernels, interpolated positions) precomputed so readers only slice."""
    tensors = {}
    with torch.no_grad():
        for patch in net.space["patch_size"]:
            tensors[f"patch_embed.p{patch}.weight"] = net.patch_kernel(patch)
            tensors[f"pos_embed.p{patch}"] = net.positions(patch)[0]
        tensors["patch_embed.bias"] = net.patch_bias
        tensors["cls_token"] = net.cls_token[0, 0]
        for index, block in enumerate(net.blocks):
            prefix = f"blocks.{index}."
            for name in ("ln1", "ln2"):
                tensors[prefix + name + ".weight"] = getattr(block, name).weight
                tensors[prefix + name + ".bias"] = getattr(block, name).bias
            for name in ("qkv", "proj", "fc1", "fc2"):
                linear = getattr(block, name)
                for part in ("reduce", "mix", "expand", "bias"):
                    tensors[f"{prefix}{name}.{part}"] = getattr(linear, part)
        tensors["norm.weight"] = net.norm.weight
        tensors["norm.bias"] = net.norm.bias
        tensors["head.weight"] = net.head.weight
        tensors["head.bias"] = net.head.bias
    return {name: tensor.detach().float().cpu().contiguous().numpy() for name, tensor in tensors.items()}


def sandwich_step(net, images, labels, space, rng, random_count, label_smoothing):
    """One BigNAS-style step: the largest subnet learns from the labels, the smallest and
    random subnets from the largest's soft predictions (in-place distillation)."""
    logits = net(images, largest(space))
    loss = F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    loss.backward()
    soft_targets = logits.detach().softmax(dim=-1)
    total = loss.item()
    for subnet in [smallest(space)] + [sample(space, rng) for _ in range(random_count)]:
        student = net(images, subnet)
        distill = -(soft_targets * student.log_softmax(dim=-1)).sum(dim=-1).mean()
        distill.backward()
        total += distill.item()
    return total


def from_exported(space, tensors):
    """Rebuilds a Supernet from the tensors exported_tensors wrote (the base patch size's kernel and
    positions are the shared parameters; the other patch sizes are derived from them again)."""
    net = Supernet(space)
    state = {name: torch.from_numpy(array) for name, array in tensors.items()}
    with torch.no_grad():
        net.patch_weight.copy_(state[f"patch_embed.p{net.base_patch}.weight"])
        net.pos_embed.copy_(state[f"pos_embed.p{net.base_patch}"].unsqueeze(0))
        net.patch_bias.copy_(state["patch_embed.bias"])
        net.cls_token.copy_(state["cls_token"].reshape(1, 1, -1))
        for index, block in enumerate(net.blocks):
            prefix = f"blocks.{index}."
            for name in ("ln1", "ln2"):
                getattr(block, name).weight.copy_(state[prefix + name + ".weight"])
                getattr(block, name).bias.copy_(state[prefix + name + ".bias"])
            for name in ("qkv", "proj", "fc1", "fc2"):
                for part in ("reduce", "mix", "expand", "bias"):
                    getattr(getattr(block, name), part).copy_(state[f"{prefix}{name}.{part}"])
        for name in ("norm.weight", "norm.bias", "head.weight", "head.bias"):
            module, attribute = name.split(".")
            getattr(getattr(net, module), attribute).copy_(state[name])
    return net


class SubnetLinear(nn.Module):
    """A subnet's linear as deployed: dense, or in -> rank (no bias) -> out when that is smaller."""

    def __init__(self, shared, out_index, in_index, rank_ratio):
        super().__init__()
        in_features, out_features = _count(in_index), _count(out_index)
        rank = rank_of(in_features, out_features, rank_ratio)
        with torch.no_grad():
            first = shared.mix[:rank, :rank] @ shared.reduce[:rank, in_index]
            second = shared.expand[out_index, :rank]
            bias = shared.bias[out_index]
        if rank * (in_features + out_features) < in_features * out_features:
            self.layers = nn.Sequential(nn.Linear(in_features, rank, bias=False), nn.Linear(rank, out_features))
            with torch.no_grad():
                self.layers[0].weight.copy_(first)
                self.layers[1].weight.copy_(second)
                self.layers[1].bias.copy_(bias)
        else:
            self.layers = nn.Sequential(nn.Linear(in_features, out_features))
            with torch.no_grad():
                self.layers[0].weight.copy_(second @ first)
                self.layers[0].bias.copy_(bias)

    def forward(self, x):
        return self.layers(x)


class SubnetBlock(nn.Module):
    def __init__(self, net, block, dim, heads, hidden, rho):
        super().__init__()
        channels, inner = slice(0, dim), slice(0, heads * HEAD_DIM)
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.ln2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        with torch.no_grad():
            for mine, shared in ((self.ln1, block.ln1), (self.ln2, block.ln2)):
                mine.weight.copy_(shared.weight[channels])
                mine.bias.copy_(shared.bias[channels])
        self.qkv = SubnetLinear(block.qkv, net.qkv_rows(heads), channels, rho)
        self.proj = SubnetLinear(block.proj, channels, inner, rho)
        self.fc1 = SubnetLinear(block.fc1, slice(0, hidden), channels, rho)
        self.fc2 = SubnetLinear(block.fc2, channels, slice(0, hidden), rho)

    def forward(self, x):
        batch, tokens, _ = x.shape
        qkv = self.qkv(self.ln1(x)).reshape(batch, tokens, 3, self.heads, HEAD_DIM).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q @ k.transpose(-2, -1)) * HEAD_DIM ** -0.5
        context = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, tokens, self.heads * HEAD_DIM)
        x = x + self.proj(context)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class SubnetViT(nn.Module):
    """A standalone subnet sliced out of a Supernet (for fine-tuning and ONNX export)."""

    def __init__(self, net, subnet):
        super().__init__()
        patch, dim = subnet["patch_size"], subnet["embed_dim"]
        channels = slice(0, dim)
        self.subnet = subnet
        self.patch_embed = nn.Conv2d(net.space["in_channels"], dim, kernel_size=patch, stride=patch)
        with torch.no_grad():
            self.patch_embed.weight.copy_(net.patch_kernel(patch)[channels])
            self.patch_embed.bias.copy_(net.patch_bias[channels])
            self.cls_token = nn.Parameter(net.cls_token[:, :, channels].clone())
            self.pos_embed = nn.Parameter(net.positions(patch)[:, :, channels].clone())
        self.blocks = nn.Sequential(*[
            SubnetBlock(net, net.blocks[index], dim, subnet["num_heads"][index],
                        hidden_of(dim, subnet["mlp_ratio"][index]), subnet["rank_ratio"][index])
            for index in range(subnet["depth"])])
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.head = nn.Linear(dim, net.space["num_classes"])
        with torch.no_grad():
            self.norm.weight.copy_(net.norm.weight[channels])
            self.norm.bias.copy_(net.norm.bias[channels])
            self.head.weight.copy_(net.head.weight[:, channels])
            self.head.bias.copy_(net.head.bias)

    def forward(self, images):
        x = self.patch_embed(images).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def space_from_document(document):
    """The training-side space dict from the search-space JSON train_supernet.py writes."""
    _, channels, height, width = document["input"]["shape"]
    if height != width:
        raise ValueError("the supernet takes square images")
    return {"image_size": height, "in_channels": channels, "num_classes": document["num_classes"],
            **document["choices"]}


def load(space_path, weights_path=None):
    """(space dict, Supernet) from a search-space JSON and its .npz (by default the one it names)."""
    import json
    import os
    import numpy as np
    with open(space_path) as stream:
        document = json.load(stream)
    space = space_from_document(document)
    weights_path = weights_path or os.path.join(os.path.dirname(space_path), document["weights"])
    with np.load(weights_path) as archive:
        tensors = {name: archive[name] for name in archive.files}
    return space, from_exported(space, tensors)
