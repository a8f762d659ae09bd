"""YaRN rotary embeddings against both references' formulas."""

from __future__ import annotations

import pytest
import torch

from engine.config import ModelConfig
from engine.io.synthetic import tiny_config
from engine.layers.rotary import Rotary, apply_rotary, yarn_frequencies

CONFIGS = [
    ModelConfig(),
    tiny_config(),
    tiny_config(head_dim=8, num_attention_heads=8),
    tiny_config(rope_truncate=True, rope_theta=10000.0),
    tiny_config(rope_scaling_factor=1.0),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_frequencies_match_transformers(cfg):
    transformers = pytest.importorskip("transformers")
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    hf_cfg = transformers.GptOssConfig(
        **{k: v for k, v in cfg.to_hf_json().items() if k not in ("quantization_config", "architectures")}
    )
    inv_freq, factor = ROPE_INIT_FUNCTIONS["yarn"](hf_cfg, "cpu")
    ours, concentration = yarn_frequencies(cfg)
    assert torch.allclose(ours, inv_freq.float(), rtol=1e-6, atol=0)
    assert concentration == pytest.approx(factor)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if not c.rope_truncate])
def test_cos_sin_match_the_reference(cfg):
    reference = pytest.importorskip("gpt_oss.torch.model", reason="the gpt-oss reference is not installed")
    rope = reference.RotaryEmbedding(
        cfg.head_dim,
        cfg.rope_theta,
        torch.float32,
        cfg.initial_context_length,
        cfg.rope_scaling_factor,
        cfg.rope_ntk_alpha,
        cfg.rope_ntk_beta,
    )
    cos, sin = rope._compute_cos_sin(300)
    ours_cos, ours_sin = Rotary(cfg, torch.device("cpu")).cos_sin(torch.arange(300), torch.float32)
    assert torch.allclose(ours_cos[:, 0], cos, atol=1e-6) and torch.allclose(ours_sin[:, 0], sin, atol=1e-6)


def test_rotation_on_halves_keeps_norms_and_is_relative():
    """Rotating pairs (i, i + d/2): norms stay (up to the concentration), and q.k depends on distance only."""
    cfg = tiny_config()
    rotary = Rotary(cfg, torch.device("cpu"))
    q, k = (
        torch.randn(1, 1, cfg.head_dim, dtype=torch.float64),
        torch.randn(1, 1, cfg.head_dim, dtype=torch.float64),
    )

    def at(x, pos):
        cos, sin = rotary.cos_sin(torch.tensor([pos]), torch.float32)
        return apply_rotary(x, cos.double() / rotary.concentration, sin.double() / rotary.concentration)

    # cos/sin are made in float32, so the products agree to float32 rounding, not float64's
    assert torch.allclose(at(q, 37).norm(), q.norm(), atol=1e-5)
    assert torch.allclose((at(q, 10) * at(k, 3)).sum(), (at(q, 107) * at(k, 100)).sum(), rtol=1e-4, atol=1e-4)
    # pair (0, d/2) turns by the first (fastest) frequency: position 1 rotates it by inv_freq[0] radians
    x = torch.zeros(1, 1, cfg.head_dim, dtype=torch.float64)
    x[..., 0] = 1.0
    angle = float(yarn_frequencies(cfg)[0][0])
    turned = at(x, 1)[0, 0]
    assert turned[0].item() == pytest.approx(torch.cos(torch.tensor(angle)).item(), abs=1e-6)
    assert turned[cfg.head_dim // 2].item() == pytest.approx(torch.sin(torch.tensor(angle)).item(), abs=1e-6)
