"""Exports a zoo of small random-weight (seeded) ViTs the way users' tools export them.

The models are hand-written torch modules with the same math, structure, parameter names and
forward code as the library they mimic (timm 1.0, Hugging Face transformers 4.x / 5,
torchvision, torch.nn.TransformerEncoderLayer), so their ONNX graphs have the same shape as
real exports; each class says which library behaviour it reproduces. The weights are random
(seeded, independent of the torch version), so accuracy means nothing: compare an imported
model with ONNX Runtime or PyTorch on random inputs in the input range of models/zoo/manifest.json.

Exporters (file suffix):
  o17    legacy TorchScript exporter (dynamo=False where the argument exists), opset 17
  dyn18  dynamo exporter (dynamo=True), opset 18
  dyn    dynamo exporter at its default opset (20 for torch 2.14), external data <name>.onnx.data
         when the exporter writes it
On torch < 2 only the legacy exports are made (no dynamo exporter there), and the models that
need F.scaled_dot_product_attention are skipped.

Every export is run through ONNX Runtime against the PyTorch output when onnxruntime is
importable (max abs difference must be <= 1e-4); --check reruns that for every file in the
manifest, so exports made by another torch can be checked where onnxruntime exists.

Usage (from the repository root):
  /usr/bin/python3 training/export_zoo.py [--out DIR] [--only NAME ...] [--legacy-only]
      [--exporters o17 dyn18 dyn] [--all-exporters] [--check] [--list]
Writes DIR/<family>_<feature>_<o17|dyn18|dyn>.onnx and merges DIR/manifest.json.
"""

import argparse
import inspect
import json
import math
import os
import re
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "models", "zoo")
SEED = 0
NUM_CLASSES = 10
ORT_TOLERANCE = 1e-4
MAX_FILE_BYTES = 1024 * 1024

TORCH_MAJOR = int(torch.__version__.split(".")[0])
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# --------------------------------------------------------------------------------------------
# timm 1.0 (timm/models/vision_transformer.py, timm/layers/*)
# --------------------------------------------------------------------------------------------

def timm_gelu(kind):
    """timm's act_layer: nn.GELU (erf) by default, nn.GELU(approximate='tanh') for 'gelu_tanh'."""
    return nn.GELU(approximate="tanh") if kind == "tanh" else nn.GELU()


def timm_layer_norm(dim):
    """timm ViTs use partial(nn.LayerNorm, eps=1e-6)."""
    return nn.LayerNorm(dim, eps=1e-6)


class PatchEmbed(nn.Module):
    """timm.layers.PatchEmbed with output_fmt NLC and no norm: conv, flatten(2), transpose(1, 2)."""

    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.Identity()

    def forward(self, x):
        x = self.proj(x)
        x = x.flatten(2).transpose(1, 2)
        return self.norm(x)


class Mlp(nn.Module):
    """timm.layers.Mlp: fc1, act, drop, (norm=Identity), fc2, drop."""

    def __init__(self, in_features, hidden_features, act="erf"):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = timm_gelu(act)
        self.drop1 = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop2 = nn.Dropout(0.0)

    def forward(self, x):
        x = self.drop1(self.act(self.fc1(x)))
        return self.drop2(self.fc2(self.norm(x)))


class Attention(nn.Module):
    """timm.models.vision_transformer.Attention (timm 1.0).

    One qkv linear, reshape(B, N, 3, H, D).permute(2, 0, 3, 1, 4), unbind; optional qk_norm
    (LayerNorm over the head dimension on q and k); then either F.scaled_dot_product_attention
    (fused_attn, timm's default on torch >= 2 unless exportable=True) or the explicit form
    q * scale @ k.transpose(-2, -1), softmax, @ v.
    """

    def __init__(self, dim, num_heads, qkv_bias=True, qk_norm=False, fused_attn=False):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.fused_attn = fused_attn
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.q_norm = timm_layer_norm(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm = timm_layer_norm(self.head_dim) if qk_norm else nn.Identity()
        self.attn_drop = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
        else:
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)
            attn = attn.softmax(dim=-1)
            attn = self.attn_drop(attn)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B, N, C)
        x = self.norm(x)
        x = self.proj(x)
        return self.proj_drop(x)


class LayerScale(nn.Module):
    """timm LayerScale: x * gamma, gamma initialised to init_values."""

    def __init__(self, dim, init_values):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Block(nn.Module):
    """timm pre-norm Block: x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x)))."""

    def __init__(self, dim, num_heads, mlp_ratio, qkv_bias, qk_norm, init_values, act, fused_attn):
        super().__init__()
        self.norm1 = timm_layer_norm(dim)
        self.attn = Attention(dim, num_heads, qkv_bias, qk_norm, fused_attn)
        self.ls1 = LayerScale(dim, init_values) if init_values else nn.Identity()
        self.drop_path1 = nn.Identity()
        self.norm2 = timm_layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act)
        self.ls2 = LayerScale(dim, init_values) if init_values else nn.Identity()
        self.drop_path2 = nn.Identity()

    def forward(self, x):
        x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x))))
        x = x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
        return x


class AttentionPoolLatent(nn.Module):
    """timm.layers.AttentionPoolLatent, as VisionTransformer builds it for global_pool='map'.

    A learned latent query [1, 1, E]; q = Linear(latent), kv = Linear(x) reshaped to
    (B, N, 2, H, D).permute(2, 0, 3, 1, 4) and unbound; softmax over the tokens; proj; then
    x = x + mlp(norm(x)) and token 0 is taken (pool_type='token').
    """

    def __init__(self, embed_dim, num_heads, mlp_ratio, act, fused_attn, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.pool = "token"
        self.fused_attn = fused_attn
        self.latent_len = 1
        self.latent = nn.Parameter(torch.zeros(1, self.latent_len, embed_dim))
        self.q = nn.Linear(embed_dim, embed_dim, bias=qkv_bias)
        self.kv = nn.Linear(embed_dim, embed_dim * 2, bias=qkv_bias)
        self.q_norm = nn.Identity()
        self.k_norm = nn.Identity()
        self.proj = nn.Linear(embed_dim, embed_dim)
        self.proj_drop = nn.Dropout(0.0)
        self.norm = timm_layer_norm(embed_dim)
        self.mlp = Mlp(embed_dim, int(embed_dim * mlp_ratio), act)

    def forward(self, x):
        B, N, C = x.shape
        q_latent = self.latent.expand(B, -1, -1)
        q = self.q(q_latent).reshape(B, self.latent_len, self.num_heads, self.head_dim).transpose(1, 2)
        kv = self.kv(x).reshape(B, N, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        k, v = kv.unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q, k, v)
        else:
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)
            attn = attn.softmax(dim=-1)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B, self.latent_len, C)
        x = self.proj(x)
        x = self.proj_drop(x)
        x = x + self.mlp(self.norm(x))
        if self.pool == "token":
            x = x[:, 0]
        elif self.pool == "avg":
            x = x.mean(1)
        return x


class TimmVisionTransformer(nn.Module):
    """timm.models.vision_transformer.VisionTransformer (timm 1.0), forward path for inference.

    forward_features: patch_embed, _pos_embed (class / register tokens concatenated before or,
    with no_embed_class, after adding the position embedding), norm_pre (Identity), blocks,
    norm. forward_head: pool ('token' = x[:, 0]; 'avg' = mean over x[:, num_prefix_tokens:];
    'map' = AttentionPoolLatent), fc_norm, head. As in timm, fc_norm=None means "LayerNorm
    after pooling, and no final norm" exactly when global_pool is 'avg'.
    """

    def __init__(self, img_size=32, patch_size=8, in_chans=3, num_classes=NUM_CLASSES,
                 global_pool="token", embed_dim=32, depth=2, num_heads=2, mlp_ratio=4.0,
                 qkv_bias=True, qk_norm=False, init_values=None, class_token=True,
                 reg_tokens=0, no_embed_class=False, fc_norm=None, act="erf", fused_attn=False):
        super().__init__()
        self.global_pool = global_pool
        self.num_prefix_tokens = (1 if class_token else 0) + reg_tokens
        self.no_embed_class = no_embed_class
        use_fc_norm = global_pool in ("avg", "avgmax", "max") if fc_norm is None else fc_norm
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if class_token else None
        self.reg_token = nn.Parameter(torch.zeros(1, reg_tokens, embed_dim)) if reg_tokens else None
        embed_len = num_patches if no_embed_class else num_patches + self.num_prefix_tokens
        self.pos_embed = nn.Parameter(torch.randn(1, embed_len, embed_dim) * 0.02)
        self.pos_drop = nn.Dropout(0.0)
        self.norm_pre = nn.Identity()
        self.blocks = nn.Sequential(*[
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, qk_norm, init_values, act, fused_attn)
            for _ in range(depth)])
        self.norm = timm_layer_norm(embed_dim) if not use_fc_norm else nn.Identity()
        if global_pool == "map":
            self.attn_pool = AttentionPoolLatent(embed_dim, num_heads, mlp_ratio, act, fused_attn)
        else:
            self.attn_pool = None
        self.fc_norm = timm_layer_norm(embed_dim) if use_fc_norm else nn.Identity()
        self.head_drop = nn.Dropout(0.0)
        self.head = nn.Linear(embed_dim, num_classes)

    def _pos_embed(self, x):
        to_cat = []
        if self.cls_token is not None:
            to_cat.append(self.cls_token.expand(x.shape[0], -1, -1))
        if self.reg_token is not None:
            to_cat.append(self.reg_token.expand(x.shape[0], -1, -1))
        if self.no_embed_class:
            x = x + self.pos_embed
            if to_cat:
                x = torch.cat(to_cat + [x], dim=1)
        else:
            if to_cat:
                x = torch.cat(to_cat + [x], dim=1)
            x = x + self.pos_embed
        return self.pos_drop(x)

    def forward_features(self, x):
        x = self.patch_embed(x)
        x = self._pos_embed(x)
        x = self.norm_pre(x)
        x = self.blocks(x)
        return self.norm(x)

    def pool(self, x):
        if self.attn_pool is not None:
            return self.attn_pool(x)
        if self.global_pool == "token":
            return x[:, 0]
        x = x[:, self.num_prefix_tokens:]
        return x.mean(dim=1)

    def forward_head(self, x):
        x = self.pool(x)
        x = self.fc_norm(x)
        x = self.head_drop(x)
        return self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


class TimmVisionTransformerDistilled(TimmVisionTransformer):
    """timm.models.deit.VisionTransformerDistilled (DeiT distilled) in eval mode.

    Class and distillation tokens are concatenated in front of the patches, the position
    embedding covers both; the output is (head(x[:, 0]) + head_dist(x[:, 1])) / 2.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        embed_dim = self.head.in_features
        self.num_prefix_tokens = 2
        self.dist_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(
            torch.zeros(1, self.patch_embed.num_patches + self.num_prefix_tokens, embed_dim))
        self.head_dist = nn.Linear(embed_dim, self.head.out_features)

    def _pos_embed(self, x):
        x = torch.cat((
            self.cls_token.expand(x.shape[0], -1, -1),
            self.dist_token.expand(x.shape[0], -1, -1),
            x), dim=1)
        x = x + self.pos_embed
        return self.pos_drop(x)

    def forward_head(self, x):
        x, x_dist = x[:, 0], x[:, 1]
        x = self.head(x)
        x_dist = self.head_dist(x_dist)
        return (x + x_dist) / 2


# --------------------------------------------------------------------------------------------
# Hugging Face transformers ViTForImageClassification
# --------------------------------------------------------------------------------------------

class HFViTPatchEmbeddings(nn.Module):
    def __init__(self, image_size, patch_size, num_channels, hidden_size):
        super().__init__()
        self.num_channels = num_channels
        self.num_patches = (image_size // patch_size) ** 2
        self.projection = nn.Conv2d(num_channels, hidden_size, kernel_size=patch_size, stride=patch_size)

    def forward(self, pixel_values):
        batch_size, num_channels, height, width = pixel_values.shape
        if num_channels != self.num_channels:
            raise ValueError("channel dimension of the pixel values does not match the configuration")
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class HFViTEmbeddings(nn.Module):
    def __init__(self, image_size, patch_size, num_channels, hidden_size):
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, 1, hidden_size))
        self.patch_embeddings = HFViTPatchEmbeddings(image_size, patch_size, num_channels, hidden_size)
        self.position_embeddings = nn.Parameter(
            torch.randn(1, self.patch_embeddings.num_patches + 1, hidden_size))
        self.dropout = nn.Dropout(0.0)

    def forward(self, pixel_values):
        batch_size, num_channels, height, width = pixel_values.shape
        embeddings = self.patch_embeddings(pixel_values)
        cls_tokens = self.cls_token.expand(batch_size, -1, -1)
        embeddings = torch.cat((cls_tokens, embeddings), dim=1)
        embeddings = embeddings + self.position_embeddings
        return self.dropout(embeddings)


class HFViTSelfAttention(nn.Module):
    """ViTSelfAttention with separate query / key / value linears.

    impl='eager'  transformers 5: view(B, -1, H, D).transpose(1, 2) for key, value, query (in
                  that order), eager_attention_forward: matmul(q, k.transpose(2, 3)) * scaling,
                  softmax, matmul(., v), transpose(1, 2), reshape to (B, N, E).
    impl='eager4' transformers 4.x (before the attention-interface refactor): transpose_for_scores
                  (view to size()[:-1] + (H, D), permute(0, 2, 1, 3)), matmul(q, k.transpose(-1, -2))
                  / math.sqrt(D), softmax, matmul, permute(0, 2, 1, 3).contiguous(), view.
    impl='sdpa'   transformers 5 sdpa_attention_forward: F.scaled_dot_product_attention(q, k, v,
                  attn_mask=None, dropout_p=0.0, scale=scaling, is_causal=False).
    """

    def __init__(self, hidden_size, num_heads, impl, qkv_bias=True):
        super().__init__()
        self.num_attention_heads = num_heads
        self.attention_head_size = hidden_size // num_heads
        self.all_head_size = hidden_size
        self.scaling = self.attention_head_size ** -0.5
        self.impl = impl
        self.query = nn.Linear(hidden_size, hidden_size, bias=qkv_bias)
        self.key = nn.Linear(hidden_size, hidden_size, bias=qkv_bias)
        self.value = nn.Linear(hidden_size, hidden_size, bias=qkv_bias)
        self.dropout = nn.Dropout(0.0)

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        x = x.view(new_x_shape)
        return x.permute(0, 2, 1, 3)

    def forward(self, hidden_states):
        if self.impl == "eager4":
            mixed_query_layer = self.query(hidden_states)
            key_layer = self.transpose_for_scores(self.key(hidden_states))
            value_layer = self.transpose_for_scores(self.value(hidden_states))
            query_layer = self.transpose_for_scores(mixed_query_layer)
            attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
            attention_scores = attention_scores / math.sqrt(self.attention_head_size)
            attention_probs = nn.functional.softmax(attention_scores, dim=-1)
            attention_probs = self.dropout(attention_probs)
            context_layer = torch.matmul(attention_probs, value_layer)
            context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
            new_context_layer_shape = context_layer.size()[:-2] + (self.all_head_size,)
            return context_layer.view(new_context_layer_shape)

        batch_size = hidden_states.shape[0]
        new_shape = batch_size, -1, self.num_attention_heads, self.attention_head_size
        key_layer = self.key(hidden_states).view(*new_shape).transpose(1, 2)
        value_layer = self.value(hidden_states).view(*new_shape).transpose(1, 2)
        query_layer = self.query(hidden_states).view(*new_shape).transpose(1, 2)
        if self.impl == "sdpa":
            attn_output = F.scaled_dot_product_attention(
                query_layer, key_layer, value_layer, attn_mask=None, dropout_p=0.0,
                scale=self.scaling, is_causal=False)
        else:
            attn_weights = torch.matmul(query_layer, key_layer.transpose(2, 3)) * self.scaling
            attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query_layer.dtype)
            attn_weights = self.dropout(attn_weights)
            attn_output = torch.matmul(attn_weights, value_layer)
        context_layer = attn_output.transpose(1, 2).contiguous()
        new_context_layer_shape = context_layer.size()[:-2] + (self.all_head_size,)
        return context_layer.reshape(new_context_layer_shape)


class HFViTSelfOutput(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(0.0)

    def forward(self, hidden_states):
        return self.dropout(self.dense(hidden_states))


class HFViTAttention(nn.Module):
    def __init__(self, hidden_size, num_heads, impl):
        super().__init__()
        self.attention = HFViTSelfAttention(hidden_size, num_heads, impl)
        self.output = HFViTSelfOutput(hidden_size)

    def forward(self, hidden_states):
        return self.output(self.attention(hidden_states))


class HFViTIntermediate(nn.Module):
    """dense + hidden_act 'gelu' (transformers GELUActivation = nn.functional.gelu, erf)."""

    def __init__(self, hidden_size, intermediate_size):
        super().__init__()
        self.dense = nn.Linear(hidden_size, intermediate_size)

    def forward(self, hidden_states):
        return nn.functional.gelu(self.dense(hidden_states))


class HFViTOutput(nn.Module):
    def __init__(self, hidden_size, intermediate_size):
        super().__init__()
        self.dense = nn.Linear(intermediate_size, hidden_size)
        self.dropout = nn.Dropout(0.0)

    def forward(self, hidden_states, input_tensor):
        return self.dropout(self.dense(hidden_states)) + input_tensor


class HFViTLayer(nn.Module):
    """Pre-norm ViTLayer: layernorm_before, attention, residual, layernorm_after, MLP, residual."""

    def __init__(self, hidden_size, num_heads, intermediate_size, eps, impl):
        super().__init__()
        self.attention = HFViTAttention(hidden_size, num_heads, impl)
        self.intermediate = HFViTIntermediate(hidden_size, intermediate_size)
        self.output = HFViTOutput(hidden_size, intermediate_size)
        self.layernorm_before = nn.LayerNorm(hidden_size, eps=eps)
        self.layernorm_after = nn.LayerNorm(hidden_size, eps=eps)

    def forward(self, hidden_states):
        attention_output = self.attention(self.layernorm_before(hidden_states))
        hidden_states = attention_output + hidden_states
        layer_output = self.layernorm_after(hidden_states)
        layer_output = self.intermediate(layer_output)
        return self.output(layer_output, hidden_states)


class HFViTEncoder(nn.Module):
    def __init__(self, num_layers, **kwargs):
        super().__init__()
        self.layer = nn.ModuleList([HFViTLayer(**kwargs) for _ in range(num_layers)])

    def forward(self, hidden_states):
        for layer_module in self.layer:
            hidden_states = layer_module(hidden_states)
        return hidden_states


class HFViTModel(nn.Module):
    def __init__(self, image_size, patch_size, num_channels, hidden_size, num_layers, num_heads,
                 intermediate_size, eps, impl):
        super().__init__()
        self.embeddings = HFViTEmbeddings(image_size, patch_size, num_channels, hidden_size)
        self.encoder = HFViTEncoder(num_layers, hidden_size=hidden_size, num_heads=num_heads,
                                    intermediate_size=intermediate_size, eps=eps, impl=impl)
        self.layernorm = nn.LayerNorm(hidden_size, eps=eps)

    def forward(self, pixel_values):
        embedding_output = self.embeddings(pixel_values)
        sequence_output = self.encoder(embedding_output)
        return self.layernorm(sequence_output)


class HFViTForImageClassification(nn.Module):
    """transformers ViTForImageClassification (ViTModel without pooler, classifier on token 0).

    LayerNorm eps 1e-12 (ViTConfig.layer_norm_eps), hidden_act 'gelu' (erf), qkv_bias True.
    The attention implementation (eager, eager4, sdpa) is described in HFViTSelfAttention.
    """

    def __init__(self, image_size=32, patch_size=8, num_channels=3, hidden_size=32,
                 num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                 layer_norm_eps=1e-12, num_labels=NUM_CLASSES, attn_implementation="eager"):
        super().__init__()
        self.vit = HFViTModel(image_size, patch_size, num_channels, hidden_size, num_hidden_layers,
                              num_attention_heads, intermediate_size, layer_norm_eps,
                              attn_implementation)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, pixel_values):
        sequence_output = self.vit(pixel_values)
        return self.classifier(sequence_output[:, 0, :])


# --------------------------------------------------------------------------------------------
# torchvision.models.VisionTransformer
# --------------------------------------------------------------------------------------------

class TVEncoderBlock(nn.Module):
    """torchvision.models.vision_transformer.EncoderBlock: ln_1, nn.MultiheadAttention
    (batch_first, need_weights=False), residual, ln_2, MLPBlock (Linear, GELU, Dropout, Linear,
    Dropout), residual. LayerNorm eps 1e-6."""

    def __init__(self, num_heads, hidden_dim, mlp_dim):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=0.0, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(hidden_dim, mlp_dim), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(mlp_dim, hidden_dim), nn.Dropout(0.0))

    def forward(self, input):
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x)
        x = x + input
        y = self.ln_2(x)
        y = self.mlp(y)
        return x + y


class TVEncoder(nn.Module):
    def __init__(self, seq_length, num_layers, num_heads, hidden_dim, mlp_dim):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(0.0)
        self.layers = nn.Sequential()
        for i in range(num_layers):
            self.layers.add_module(f"encoder_layer_{i}", TVEncoderBlock(num_heads, hidden_dim, mlp_dim))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)

    def forward(self, input):
        input = input + self.pos_embedding
        return self.ln(self.layers(self.dropout(input)))


class TVVisionTransformer(nn.Module):
    """torchvision.models.VisionTransformer (0.14 to 0.27): conv_proj, reshape(n, hidden,
    n_h * n_w).permute(0, 2, 1), class token concatenated in front, encoder (position embedding
    over all tokens), x[:, 0], heads.head. Same parameter names as torchvision, so the state dict
    loads into the real class (see --check)."""

    def __init__(self, image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                 mlp_dim=64, num_classes=NUM_CLASSES):
        super().__init__()
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.encoder = TVEncoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim)
        self.heads = nn.Sequential()
        self.heads.add_module("head", nn.Linear(hidden_dim, num_classes))

    def _process_input(self, x):
        n, c, h, w = x.shape
        p = self.patch_size
        torch._assert(h == self.image_size, f"Wrong image height! Expected {self.image_size} but got {h}!")
        torch._assert(w == self.image_size, f"Wrong image width! Expected {self.image_size} but got {w}!")
        n_h = h // p
        n_w = w // p
        x = self.conv_proj(x)
        x = x.reshape(n, self.hidden_dim, n_h * n_w)
        return x.permute(0, 2, 1)

    def forward(self, x):
        x = self._process_input(x)
        n = x.shape[0]
        batch_class_token = self.class_token.expand(n, -1, -1)
        x = torch.cat([batch_class_token, x], dim=1)
        x = self.encoder(x)
        x = x[:, 0]
        return self.heads(x)


# --------------------------------------------------------------------------------------------
# torch.nn.TransformerEncoderLayer
# --------------------------------------------------------------------------------------------

class TELViT(nn.Module):
    """The ViT users build from torch itself: conv patch embedding, class token, position
    embedding, nn.TransformerEncoder of nn.TransformerEncoderLayer(norm_first=True,
    batch_first=True, activation='gelu', dropout=0) with a final LayerNorm, head on token 0."""

    def __init__(self, img_size=28, patch_size=4, in_chans=1, embed_dim=32, depth=2, num_heads=2,
                 mlp_ratio=2.0, num_classes=NUM_CLASSES):
        super().__init__()
        self.patch_embed = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        num_patches = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim))
        layer = nn.TransformerEncoderLayer(embed_dim, num_heads, dim_feedforward=int(embed_dim * mlp_ratio),
                                           dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=depth, norm=nn.LayerNorm(embed_dim),
                                             enable_nested_tensor=False)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embed
        x = self.encoder(x)
        return self.head(x[:, 0])


# --------------------------------------------------------------------------------------------
# The zoo
# --------------------------------------------------------------------------------------------

# Input conventions: name -> (per-channel mean, per-channel std) applied to pixels in [0, 1].
NORMALISATIONS = {
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),   # timm / torchvision default
    "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),  # HF ViTImageProcessor default: -1 .. 1
    "unit": ((0.0,), (1.0,)),                    # pixel / 255: 0 .. 1
}

ALL_EXPORTERS = ("o17", "dyn18", "dyn")


@dataclass
class ZooModel:
    name: str
    build: Callable[[], nn.Module]
    input_shape: Tuple[int, int, int, int]
    normalisation: str
    features: List[str]
    exporters: Tuple[str, ...]          # the exports committed under models/zoo
    input_name: str = "input"
    output_name: str = "output"
    needs_sdpa: bool = False
    doc: str = ""


def timm(**kwargs):
    return lambda: TimmVisionTransformer(**kwargs)


TIMM_RGB = (1, 3, 32, 32)
ZOO = [
    ZooModel("timm_base", timm(patch_size=4), TIMM_RGB, "imagenet",
             ["class_token", "pre_norm", "gelu_erf", "attn_explicit", "pool_token", "patch4"],
             ALL_EXPORTERS, doc="timm VisionTransformer, exportable=True (explicit attention)"),
    ZooModel("timm_sdpa", timm(fused_attn=True), TIMM_RGB, "imagenet",
             ["class_token", "pre_norm", "gelu_erf", "attn_sdpa", "pool_token"],
             ALL_EXPORTERS, needs_sdpa=True,
             doc="timm default on torch >= 2: fused_attn, F.scaled_dot_product_attention"),
    ZooModel("timm_ls1e5", timm(init_values=1e-5), TIMM_RGB, "imagenet",
             ["class_token", "layerscale_1e-5", "gelu_erf", "attn_explicit", "pool_token"],
             ("o17", "dyn")),
    ZooModel("timm_ls01", timm(init_values=0.1), TIMM_RGB, "imagenet",
             ["class_token", "layerscale_0.1", "gelu_erf", "attn_explicit", "pool_token"],
             ("o17",)),
    ZooModel("timm_reg4", timm(reg_tokens=4, no_embed_class=True), TIMM_RGB, "imagenet",
             ["class_token", "register_tokens_4", "no_embed_class", "gelu_erf", "attn_explicit",
              "pool_token"],
             ("o17", "dyn"), doc="timm *_reg4 models: cls + 4 registers, no_embed_class"),
    ZooModel("timm_distilled", lambda: TimmVisionTransformerDistilled(), TIMM_RGB, "imagenet",
             ["class_token", "dist_token", "two_heads_mean", "gelu_erf", "attn_explicit"],
             ("o17", "dyn18")),
    ZooModel("timm_qknorm", timm(qk_norm=True), TIMM_RGB, "imagenet",
             ["class_token", "qk_norm", "gelu_erf", "attn_explicit", "pool_token"],
             ("o17", "dyn")),
    ZooModel("timm_noembedcls", timm(no_embed_class=True), TIMM_RGB, "imagenet",
             ["class_token", "no_embed_class", "gelu_erf", "attn_explicit", "pool_token"],
             ("o17",)),
    ZooModel("timm_fcnormavg", timm(global_pool="avg"), TIMM_RGB, "imagenet",
             ["class_token", "pool_avg_excl_prefix", "fc_norm", "no_final_norm", "gelu_erf",
              "attn_explicit"],
             ("o17", "dyn18")),
    ZooModel("timm_map", timm(global_pool="map", class_token=False), TIMM_RGB, "imagenet",
             ["no_class_token", "pool_map", "attention_pool_latent", "gelu_erf", "attn_explicit"],
             ALL_EXPORTERS, doc="SigLIP-style: global_pool='map', class_token=False"),
    ZooModel("timm_nocls",
             timm(img_size=28, patch_size=7, in_chans=1, global_pool="avg", class_token=False,
                  fc_norm=False),
             (1, 1, 28, 28), "unit",
             ["no_class_token", "pool_avg", "final_norm_then_mean", "gelu_erf", "attn_explicit",
              "in_chans_1", "patch7"],
             ("o17", "dyn"), doc="class_token=False, global_pool='avg', fc_norm=False"),
    ZooModel("timm_gelutanh", timm(act="tanh"), TIMM_RGB, "imagenet",
             ["class_token", "gelu_tanh", "attn_explicit", "pool_token"],
             ("o17", "dyn")),
    ZooModel("hf_eager", lambda: HFViTForImageClassification(attn_implementation="eager"),
             TIMM_RGB, "half",
             ["class_token", "separate_qkv", "attn_eager_mul_scaling", "layernorm_eps_1e-12",
              "gelu_erf", "pool_token"],
             ALL_EXPORTERS, input_name="pixel_values", output_name="logits",
             doc="transformers 5 ViTForImageClassification, attn_implementation='eager'"),
    ZooModel("hf_eager4", lambda: HFViTForImageClassification(attn_implementation="eager4"),
             TIMM_RGB, "half",
             ["class_token", "separate_qkv", "transpose_for_scores", "attn_div_sqrt_d",
              "layernorm_eps_1e-12", "gelu_erf", "pool_token"],
             ("o17",), input_name="pixel_values", output_name="logits",
             doc="transformers 4.x ViTSelfAttention (transpose_for_scores, / sqrt(d))"),
    ZooModel("hf_sdpa", lambda: HFViTForImageClassification(attn_implementation="sdpa"),
             TIMM_RGB, "half",
             ["class_token", "separate_qkv", "attn_sdpa_scale_kwarg", "layernorm_eps_1e-12",
              "gelu_erf", "pool_token"],
             ("o17", "dyn"), input_name="pixel_values", output_name="logits", needs_sdpa=True,
             doc="transformers 5 default attn_implementation='sdpa'"),
    ZooModel("tv_vit", lambda: TVVisionTransformer(), TIMM_RGB, "imagenet",
             ["class_token", "nn_multihead_attention", "layernorm_eps_1e-6", "gelu_erf",
              "pool_token"],
             ("o17", "dyn18"), output_name="logits",
             doc="torchvision.models.VisionTransformer(image_size 32, patch 8, 2 layers, 2 heads, "
                 "hidden 32, mlp 64)"),
    ZooModel("tel_normfirst", lambda: TELViT(), (1, 1, 28, 28), "unit",
             ["class_token", "nn_transformer_encoder_layer", "norm_first", "batch_first",
              "gelu_erf", "pool_token", "in_chans_1", "patch4"],
             ALL_EXPORTERS, output_name="logits"),
]
ZOO_BY_NAME = {m.name: m for m in ZOO}


def parameter_seed(name):
    return (SEED * 1_000_003 + zlib.crc32(name.encode())) % (2 ** 32)


def randomise(model):
    """Seeded random weights that do not depend on the torch version or parameter order.

    Matrices and convolutions N(0, 1/fan_in); LayerNorm weight 1 + N(0, 0.1) and bias N(0, 0.1);
    other biases N(0, 0.05); tokens, position embeddings and latents N(0, 0.2); LayerScale
    gamma stays around its init value (init * (1 + N(0, 0.25))).
    """
    norm_params = set()
    for module_name, module in model.named_modules():
        if isinstance(module, nn.LayerNorm):
            prefix = module_name + "." if module_name else ""
            norm_params.update({prefix + "weight", prefix + "bias"})
    with torch.no_grad():
        for name, p in model.named_parameters():
            rs = np.random.RandomState(parameter_seed(name))
            shape = tuple(p.shape)
            noise = rs.standard_normal(shape)
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "gamma":
                value = p.detach().numpy().astype(np.float64) * (1 + 0.25 * noise)
            elif name in norm_params:
                value = (1 + 0.1 * noise) if leaf == "weight" else 0.1 * noise
            elif p.dim() >= 2 and "weight" in leaf:
                value = noise / math.sqrt(int(np.prod(shape[1:])))
            elif p.dim() == 1:
                value = 0.05 * noise
            else:
                value = 0.2 * noise
            p.copy_(torch.from_numpy(value.astype(np.float32)))
    return model


def make_model(spec):
    torch.manual_seed(SEED)
    model = randomise(spec.build())
    return model.eval()


def input_range(spec):
    mean, std = NORMALISATIONS[spec.normalisation]
    return min((0 - m) / s for m, s in zip(mean, std)), max((1 - m) / s for m, s in zip(mean, std))


def make_input(spec, seed=SEED):
    pixels = np.random.RandomState(seed).uniform(0.0, 1.0, spec.input_shape)
    mean, std = NORMALISATIONS[spec.normalisation]
    mean = np.array(mean).reshape(1, -1, 1, 1)
    std = np.array(std).reshape(1, -1, 1, 1)
    return torch.from_numpy(((pixels - mean) / std).astype(np.float32))


# --------------------------------------------------------------------------------------------
# Export and checks
# --------------------------------------------------------------------------------------------

def export_supports(argument):
    return argument in inspect.signature(torch.onnx.export).parameters


def dynamo_available():
    if TORCH_MAJOR < 2 or not export_supports("dynamo"):
        return False, f"torch {torch.__version__} has no dynamo ONNX exporter"
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError:
        return False, "the dynamo exporter needs onnxscript, which is not importable"
    return True, ""


def export(spec, model, x, exporter, path):
    kwargs = dict(input_names=[spec.input_name], output_names=[spec.output_name])
    if exporter == "o17":
        if export_supports("dynamo"):
            kwargs["dynamo"] = False
        torch.onnx.export(model, (x,), path, opset_version=17, do_constant_folding=True, **kwargs)
    else:
        if exporter == "dyn18":
            kwargs["opset_version"] = 18
        torch.onnx.export(model, (x,), path, dynamo=True, **kwargs)


def ort_max_abs_diff(path, spec, model, x):
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {spec.input_name: x.numpy()})
    with torch.no_grad():
        expected = model(x).numpy()
    if result.shape != expected.shape:
        raise RuntimeError(f"{path}: ONNX Runtime output {result.shape}, torch {expected.shape}")
    return float(np.max(np.abs(result - expected)))


def onnx_summary(path):
    import onnx
    # The checker runs in a child process: in one process with the legacy exporter, Debian
    # sid's libtorch and onnx register the ONNX schemas twice and check_model crashes.
    subprocess.run([sys.executable, "-c", "import onnx, sys; onnx.checker.check_model(sys.argv[1])",
                    path], check=True)
    m = onnx.load(path, load_external_data=False)
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    graph_inputs = {i.name for i in m.graph.initializer}
    inputs = [i for i in m.graph.input if i.name not in graph_inputs]
    if len(inputs) != 1 or len(m.graph.output) != 1:
        raise RuntimeError(f"{path}: expected one input and one output")
    ops = {}
    for node in m.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    dims = lambda v: [d.dim_value for d in v.type.tensor_type.shape.dim]
    return {"opset": opset, "input_name": inputs[0].name, "input_dims": dims(inputs[0]),
            "output_name": m.graph.output[0].name, "output_dims": dims(m.graph.output[0]),
            "op_types": ops, "functions": len(m.functions)}


def have_onnxruntime():
    try:
        import onnxruntime  # noqa: F401
        return True
    except ImportError:
        return False


def load_manifest(out_dir):
    path = os.path.join(out_dir, "manifest.json")
    if os.path.exists(path):
        with open(path) as f:
            return {e["file"]: e for e in json.load(f)}
    return {}


def save_manifest(out_dir, entries):
    path = os.path.join(out_dir, "manifest.json")
    ordered = [entries[k] for k in sorted(entries)]
    text = json.dumps(ordered, indent=1)
    # Lists of numbers and strings on one line.
    text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]"
                  if m.group(1).strip() else "[]", text)
    with open(path, "w") as f:
        f.write(text + "\n")
    print(f"wrote {path} ({len(ordered)} files)")


def file_bytes(path):
    data = path + ".data"
    return os.path.getsize(path) + (os.path.getsize(data) if os.path.exists(data) else 0)


def export_one(spec, exporter, out_dir, check):
    model = make_model(spec)
    x = make_input(spec)
    stem = f"{spec.name}_{exporter}"
    path = os.path.join(out_dir, stem + ".onnx")
    for stale in (path, path + ".data"):
        if os.path.exists(stale):
            os.remove(stale)
    export(spec, model, x, exporter, path)
    summary = onnx_summary(path)
    if summary["input_name"] != spec.input_name or summary["input_dims"] != list(spec.input_shape):
        raise RuntimeError(f"{path}: input {summary['input_name']} {summary['input_dims']}")
    size = file_bytes(path)
    if size > MAX_FILE_BYTES:
        raise RuntimeError(f"{path}: {size} bytes, over {MAX_FILE_BYTES}")
    lo, hi = input_range(spec)
    entry = {
        "file": stem + ".onnx",
        "external_data": stem + ".onnx.data" if os.path.exists(path + ".data") else None,
        "input_name": spec.input_name,
        "input_shape": list(spec.input_shape),
        "input_min": round(lo, 4),
        "input_max": round(hi, 4),
        "input_normalisation": spec.normalisation,
        "output_name": spec.output_name,
        "output_shape": summary["output_dims"],
        "exporter": "legacy" if exporter == "o17" else "dynamo",
        "opset": summary["opset"],
        "torch": torch.__version__,
        "onnxscript": onnxscript_version() if exporter != "o17" else None,
        "features": spec.features,
        "bytes": size,
        "op_types": sorted(summary["op_types"]),
    }
    diff_text = "not checked (no onnxruntime)"
    if check:
        diff = ort_max_abs_diff(path, spec, model, x)
        entry["ort_max_abs_diff"] = float(f"{diff:.3g}")
        entry["ort_checked_with"] = ort_versions()
        diff_text = f"ORT vs torch max abs diff {diff:.3g}"
        if diff > ORT_TOLERANCE:
            raise RuntimeError(f"{path}: {diff_text} over {ORT_TOLERANCE}")
    print(f"  {entry['file']:28s} opset {entry['opset']:2d} {size / 1024:6.1f} KB "
          f"{'+ .data ' if entry['external_data'] else ''}{diff_text}")
    return entry


def onnxscript_version():
    import onnxscript
    return onnxscript.__version__


def ort_versions():
    import onnxruntime
    return f"onnxruntime {onnxruntime.__version__}, torch {torch.__version__}"


def check_manifest(out_dir, names):
    """Runs every file in the manifest through ONNX Runtime against this torch's output."""
    entries = load_manifest(out_dir)
    failures = 0
    for file_name, entry in sorted(entries.items()):
        stem = file_name[:-len(".onnx")]
        name = stem.rsplit("_", 1)[0]
        if names and name not in names:
            continue
        spec = ZOO_BY_NAME[name]
        model = make_model(spec)
        diff = ort_max_abs_diff(os.path.join(out_dir, file_name), spec, model, make_input(spec))
        entry["ort_max_abs_diff"] = float(f"{diff:.3g}")
        entry["ort_checked_with"] = ort_versions()
        ok = diff <= ORT_TOLERANCE
        failures += not ok
        print(f"  {file_name:28s} (made by torch {entry['torch']}) ORT vs torch max abs diff "
              f"{diff:.3g} {'ok' if ok else 'FAIL'}")
    verify_torchvision_mimic()
    save_manifest(out_dir, entries)
    return failures


def verify_torchvision_mimic():
    """Loads the tv_vit state dict into the real torchvision class and compares outputs."""
    try:
        from torchvision.models import VisionTransformer
    except ImportError:
        print("  torchvision not importable: tv_vit not compared with torchvision")
        return
    spec = ZOO_BY_NAME["tv_vit"]
    mimic = make_model(spec)
    real = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                             hidden_dim=32, mlp_dim=64, num_classes=NUM_CLASSES).eval()
    real.load_state_dict(mimic.state_dict(), strict=True)
    x = make_input(spec)
    with torch.no_grad():
        diff = float((real(x) - mimic(x)).abs().max())
    print(f"  tv_vit vs torchvision {__import__('torchvision').__version__} VisionTransformer: "
          f"max abs diff {diff:.3g}")
    if diff > 1e-6:
        raise RuntimeError("tv_vit does not match torchvision")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default models/zoo)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="model names (see --list)")
    parser.add_argument("--legacy-only", action="store_true", help="only the o17 exports")
    parser.add_argument("--exporters", nargs="+", choices=ALL_EXPORTERS,
                        help="restrict to these exporters")
    parser.add_argument("--all-exporters", action="store_true",
                        help="every exporter for every model, not only the committed set")
    parser.add_argument("--check", action="store_true",
                        help="export nothing; run every manifest file through ONNX Runtime")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    args = parser.parse_args(argv)

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    if args.list:
        for spec in ZOO:
            print(f"{spec.name:16s} {','.join(spec.exporters):16s} {' '.join(spec.features)}")
        return 0
    unknown = set(args.only or []) - set(ZOO_BY_NAME)
    if unknown:
        parser.error(f"unknown model(s) {sorted(unknown)}; known: {sorted(ZOO_BY_NAME)}")
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    print(f"torch {torch.__version__}; writing {out_dir}")

    if args.check:
        if not have_onnxruntime():
            print("onnxruntime is not importable: nothing checked")
            return 1
        return 1 if check_manifest(out_dir, set(args.only or [])) else 0

    exporters = set(args.exporters or ALL_EXPORTERS)
    if args.legacy_only:
        exporters = {"o17"}
    dyn_ok, why = dynamo_available()
    if not dyn_ok and exporters - {"o17"}:
        print(f"{why}: making the legacy (o17) exports only")
        exporters = {"o17"}
    check = have_onnxruntime()
    if not check:
        print("onnxruntime is not importable: exports are not checked here "
              "(run --check where it is)")

    entries = load_manifest(out_dir)
    made = 0
    for spec in ZOO:
        if args.only and spec.name not in args.only:
            continue
        if spec.needs_sdpa and not HAS_SDPA:
            print(f"{spec.name}: skipped, torch {torch.__version__} has no "
                  "F.scaled_dot_product_attention")
            continue
        wanted = ALL_EXPORTERS if args.all_exporters else spec.exporters
        todo = [e for e in ALL_EXPORTERS if e in wanted and e in exporters]
        if not todo:
            continue
        print(f"{spec.name}: {spec.doc or ', '.join(spec.features)}")
        for exporter in todo:
            entry = export_one(spec, exporter, out_dir, check)
            entries[entry["file"]] = entry
            made += 1
    save_manifest(out_dir, entries)
    print(f"{made} exports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
