"""ModelConfig from both layouts' config.json, and what it refuses."""

from __future__ import annotations

import json

import pytest

from engine.config import FULL, SLIDING, ModelConfig
from engine.errors import ModelFilesError, UnsupportedModelError
from engine.io.synthetic import tiny_config

# openai/gpt-oss-20b's config.json files as the Hub serves them (values; key order as there).
HF_20B = {
    "architectures": ["GptOssForCausalLM"],
    "attention_bias": True,
    "attention_dropout": 0.0,
    "eos_token_id": 200002,
    "experts_per_token": 4,
    "head_dim": 64,
    "hidden_act": "silu",
    "hidden_size": 2880,
    "initial_context_length": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 2880,
    "layer_types": ["sliding_attention", "full_attention"] * 12,
    "max_position_embeddings": 131072,
    "model_type": "gpt_oss",
    "num_attention_heads": 64,
    "num_experts_per_tok": 4,
    "num_hidden_layers": 24,
    "num_key_value_heads": 8,
    "num_local_experts": 32,
    "output_router_logits": False,
    "pad_token_id": 199999,
    "quantization_config": {
        "modules_to_not_convert": [
            "model.layers.*.self_attn",
            "model.layers.*.mlp.router",
            "model.embed_tokens",
            "lm_head",
        ],
        "quant_method": "mxfp4",
    },
    "rms_norm_eps": 1e-05,
    "rope_scaling": {
        "beta_fast": 32.0,
        "beta_slow": 1.0,
        "factor": 32.0,
        "original_max_position_embeddings": 4096,
        "rope_type": "yarn",
        "truncate": False,
    },
    "rope_theta": 150000,
    "router_aux_loss_coef": 0.9,
    "sliding_window": 128,
    "swiglu_limit": 7.0,
    "tie_word_embeddings": False,
    "transformers_version": "4.55.0.dev0",
    "use_cache": True,
    "vocab_size": 201088,
}
ORIGINAL_20B = {
    "num_hidden_layers": 24,
    "num_experts": 32,
    "experts_per_token": 4,
    "vocab_size": 201088,
    "hidden_size": 2880,
    "intermediate_size": 2880,
    "swiglu_limit": 7.0,
    "head_dim": 64,
    "num_attention_heads": 64,
    "num_key_value_heads": 8,
    "sliding_window": 128,
    "initial_context_length": 4096,
    "rope_theta": 150000,
    "rope_scaling_factor": 32.0,
    "rope_ntk_alpha": 1,
    "rope_ntk_beta": 32,
}


def write(tmp_path, data) -> object:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data) if isinstance(data, dict) else data)
    return path


def test_both_20b_configs_give_the_default_config(tmp_path):
    """The Hub's two config.json files of gpt-oss-20b describe one model: ModelConfig()'s defaults."""
    hf = ModelConfig.from_json_file(write(tmp_path, HF_20B))
    original = ModelConfig.from_json_file(write(tmp_path, ORIGINAL_20B))
    assert hf == original == ModelConfig()
    assert hf.layer_types[:3] == (SLIDING, FULL, SLIDING) and hf.context_length == 131072


def test_120b_and_other_sizes(tmp_path):
    """gpt-oss-120b (36 layers, 128 experts) and other sizes of the same design read from either layout."""
    big = dict(HF_20B, num_hidden_layers=36, num_local_experts=128, layer_types=[SLIDING, FULL] * 18)
    cfg = ModelConfig.from_json_file(write(tmp_path, big))
    assert (cfg.num_hidden_layers, cfg.num_experts, cfg.experts_per_token) == (36, 128, 4)
    odd = dict(
        ORIGINAL_20B,
        num_hidden_layers=5,
        num_experts=6,
        experts_per_token=3,
        num_attention_heads=12,
        num_key_value_heads=4,
        head_dim=32,
    )
    cfg = ModelConfig.from_json_file(write(tmp_path, odd))
    assert cfg.layer_types == (SLIDING, FULL, SLIDING, FULL, SLIDING) and cfg.num_query_groups == 3


@pytest.mark.parametrize(
    "cfg",
    [
        tiny_config(),
        tiny_config(layer_types=(FULL, FULL), rms_norm_eps=1e-6),
        ModelConfig(num_hidden_layers=36, num_experts=128),
    ],
)
def test_round_trip_through_both_layouts(tmp_path, cfg):
    """What synthetic checkpoints write reads back as the same config, in either layout."""
    assert ModelConfig.from_json_file(write(tmp_path, cfg.to_hf_json())) == cfg
    assert ModelConfig.from_json_file(write(tmp_path, cfg.to_original_json())) == cfg


def test_transformers_5_rope_parameters(tmp_path):
    """transformers 5 saves rope_parameters with rope_theta inside instead of rope_scaling."""
    data = dict(HF_20B)
    rope = dict(data.pop("rope_scaling"), rope_theta=data.pop("rope_theta"))
    cfg = ModelConfig.from_json_file(write(tmp_path, dict(data, rope_parameters=rope)))
    assert cfg == ModelConfig()


@pytest.mark.parametrize(
    "change, words",
    [
        ({"model_type": "llama"}, "llama"),
        ({"architectures": ["LlamaForCausalLM"]}, "GptOssForCausalLM"),
        ({"quantization_config": None}, "MXFP4"),
        ({"hidden_size": 2881}, "multiple of the MXFP4 group"),
        ({"num_key_value_heads": 7}, "multiple"),
        ({"experts_per_token": 40, "num_experts_per_tok": 40}, "exceeds"),
        ({"layer_types": ["sliding_attention"] * 3}, "layer_types"),
        ({"sliding_window": None}, "sliding_window"),
        ({"rope_scaling": {"rope_type": "linear", "factor": 2.0}}, "YaRN"),
        ({"num_hidden_layers": "24"}, "positive integer"),
    ],
)
def test_not_gpt_oss_is_unsupported(tmp_path, change, words):
    """A config of another model or an impossible shape is refused with the reason, naming the file."""
    with pytest.raises(UnsupportedModelError) as error:
        ModelConfig.from_json_file(write(tmp_path, dict(HF_20B, **change)))
    assert words in str(error.value) and "config.json" in str(error.value)


def test_missing_key_and_unknown_format(tmp_path):
    """A config missing a needed key, or of no known format, is refused."""
    data = dict(ORIGINAL_20B)
    del data["hidden_size"]
    with pytest.raises(UnsupportedModelError, match="hidden_size"):
        ModelConfig.from_json_file(write(tmp_path, data))
    with pytest.raises(UnsupportedModelError, match="not a gpt-oss config"):
        ModelConfig.from_json_file(write(tmp_path, {"hello": 1}))


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\xff\xfe"])
def test_invalid_json_is_a_files_error(tmp_path, text):
    """A config.json that is not a JSON object is a damaged file: re-download."""
    with pytest.raises(ModelFilesError, match="(?i)re-download"):
        ModelConfig.from_json_file(write(tmp_path, text))


def test_missing_config_file(tmp_path):
    with pytest.raises(ModelFilesError, match="missing"):
        ModelConfig.from_json_file(tmp_path / "config.json")


def test_sizes_of_gpt_oss_20b():
    """Weight bytes from the config alone: the Hub's 20b shards hold 13,761,316,904 bytes with headers."""
    cfg = ModelConfig()
    assert (
        cfg.dense_bytes() + cfg.num_hidden_layers * cfg.num_experts * 2 * (2 * 2880 + 2880)
        == 2 * 1_804_459_584
    )
    assert 13_761_000_000 < cfg.total_bytes() < 13_761_316_904
    assert abs(cfg.expert_bytes() - 13.2e6) < 0.1e6  # "one expert of gpt-oss-20b is about 13.2 MB"
