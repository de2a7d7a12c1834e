"""A small, configurable Vision Transformer for 28x28 single-channel images.

The switches exist to produce every ONNX pattern the mcuformer importer must
recognise: hand-written ("timm"-style) or nn.MultiheadAttention attention,
class-token or mean pooling, erf or tanh GELU, optional qkv bias, and the
MCUFormer low-rank factorisation of the transformer linears.
"""

import copy
from dataclasses import asdict, dataclass, replace
from typing import Optional

import torch
from torch import nn


@dataclass(frozen=True)
class ViTConfig:
    image_size: int = 28
    in_channels: int = 1
    num_classes: int = 10
    patch_size: int = 4
    embed_dim: int = 64
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: float = 2.0
    attention: str = "timm"  # "timm" (hand-written) or "mha" (nn.MultiheadAttention)
    pool: str = "cls"  # "cls" (class token) or "mean" (average over tokens)
    gelu: str = "erf"  # "erf" or "tanh"
    qkv_bias: bool = True
    rank_ratio: Optional[float] = None  # None: full rank; float: MCUFormer factorisation

    def __post_init__(self):
        if self.attention not in ("timm", "mha"):
            raise ValueError(f"attention must be 'timm' or 'mha', not {self.attention!r}")
        if self.pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', not {self.pool!r}")
        if self.gelu not in ("erf", "tanh"):
            raise ValueError(f"gelu must be 'erf' or 'tanh', not {self.gelu!r}")
        if self.embed_dim % self.num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        if self.image_size % self.patch_size:
            raise ValueError("image_size must be divisible by patch_size")
        if self.rank_ratio is not None and self.attention != "timm":
            raise ValueError("the low-rank factorisation needs attention='timm' "
                             "(nn.MultiheadAttention keeps its projections internal)")

    @property
    def num_patches(self):
        return (self.image_size // self.patch_size) ** 2

    @property
    def mlp_hidden_dim(self):
        return int(self.embed_dim * self.mlp_ratio)

    def to_dict(self):
        return asdict(self)


def factorised_rank(in_features, out_features, rank_ratio):
    return max(1, round(rank_ratio * min(in_features, out_features)))


class LowRankLinear(nn.Module):
    """in -> r (no bias) -> r (no bias) -> out (bias optional): W ~= U_r diag(S_r) V_r^T."""

    def __init__(self, in_features, out_features, rank, bias=True):
        super().__init__()
        self.reduce = nn.Linear(in_features, rank, bias=False)
        self.mix = nn.Linear(rank, rank, bias=False)
        self.expand = nn.Linear(rank, out_features, bias=bias)

    @classmethod
    def from_linear(cls, linear, rank_ratio):
        """Initialises the three factors from a truncated SVD of a trained nn.Linear."""
        rank = factorised_rank(linear.in_features, linear.out_features, rank_ratio)
        factorised = cls(linear.in_features, linear.out_features, rank, bias=linear.bias is not None)
        with torch.no_grad():
            u, s, vh = torch.linalg.svd(linear.weight, full_matrices=False)
            factorised.reduce.weight.copy_(vh[:rank])
            factorised.mix.weight.copy_(torch.diag(s[:rank]))
            factorised.expand.weight.copy_(u[:, :rank])
            if linear.bias is not None:
                factorised.expand.bias.copy_(linear.bias)
        return factorised

    def forward(self, x):
        return self.expand(self.mix(self.reduce(x)))


def make_linear(in_features, out_features, bias, rank_ratio):
    if rank_ratio is None:
        return nn.Linear(in_features, out_features, bias=bias)
    return LowRankLinear(in_features, out_features,
                         factorised_rank(in_features, out_features, rank_ratio), bias=bias)


class HandWrittenAttention(nn.Module):
    """Multi-head self-attention spelled out op by op (the layout timm uses)."""

    def __init__(self, config):
        super().__init__()
        dim = config.embed_dim
        self.num_heads = config.num_heads
        self.head_dim = dim // config.num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = make_linear(dim, 3 * dim, config.qkv_bias, config.rank_ratio)
        self.proj = make_linear(dim, dim, True, config.rank_ratio)

    def forward(self, x):
        batch, tokens, channels = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dim)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q @ k.transpose(-2, -1)) * self.scale
        weights = scores.softmax(dim=-1)
        context = (weights @ v).transpose(1, 2).reshape(batch, tokens, channels)
        return self.proj(context)


class TorchMultiheadAttention(nn.Module):
    """Self-attention through nn.MultiheadAttention (batch_first, no returned weights)."""

    def __init__(self, config):
        super().__init__()
        self.attn = nn.MultiheadAttention(config.embed_dim, config.num_heads,
                                          bias=config.qkv_bias, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class Mlp(nn.Module):
    def __init__(self, config):
        super().__init__()
        dim, hidden = config.embed_dim, config.mlp_hidden_dim
        self.fc1 = make_linear(dim, hidden, True, config.rank_ratio)
        self.act = nn.GELU(approximate="tanh" if config.gelu == "tanh" else "none")
        self.fc2 = make_linear(hidden, dim, True, config.rank_ratio)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, config):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.embed_dim)
        self.attn = (HandWrittenAttention(config) if config.attention == "timm"
                     else TorchMultiheadAttention(config))
        self.ln2 = nn.LayerNorm(config.embed_dim)
        self.mlp = Mlp(config)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class ViT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        dim = config.embed_dim
        self.patch_embed = nn.Conv2d(config.in_channels, dim,
                                     kernel_size=config.patch_size, stride=config.patch_size)
        token_count = config.num_patches
        if config.pool == "cls":
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            token_count += 1
        self.pos_embed = nn.Parameter(torch.zeros(1, token_count, dim))
        self.blocks = nn.Sequential(*[Block(config) for _ in range(config.depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, config.num_classes)
        self._initialise_weights()

    def _initialise_weights(self):
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if self.config.pool == "cls":
            nn.init.trunc_normal_(self.cls_token, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, images):
        x = self.patch_embed(images).flatten(2).transpose(1, 2)
        if self.config.pool == "cls":
            cls_tokens = self.cls_token.expand(x.shape[0], -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)
        x = x + self.pos_embed
        x = self.norm(self.blocks(x))
        pooled = x[:, 0] if self.config.pool == "cls" else x.mean(dim=1)
        return self.head(pooled)


def factorise(model, rank_ratio):
    """Returns a copy of a trained full-rank ViT whose qkv, proj, fc1 and fc2 are
    replaced by SVD-initialised LowRankLinear chains (the MCUFormer factorisation)."""
    if model.config.rank_ratio is not None:
        raise ValueError("model is already factorised")
    factorised = copy.deepcopy(model)
    factorised.config = replace(model.config, rank_ratio=rank_ratio)
    for block in factorised.blocks:
        attention, mlp = block.attn, block.mlp
        attention.qkv = LowRankLinear.from_linear(attention.qkv, rank_ratio)
        attention.proj = LowRankLinear.from_linear(attention.proj, rank_ratio)
        mlp.fc1 = LowRankLinear.from_linear(mlp.fc1, rank_ratio)
        mlp.fc2 = LowRankLinear.from_linear(mlp.fc2, rank_ratio)
    return factorised
