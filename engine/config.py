"""The shape of a gpt-oss model, read from either checkpoint layout's ``config.json``.

One dataclass for both layouts; field names follow the original (openai/gpt-oss) config, the
Hugging Face names are mapped in ``from_hf_json``. Defaults are gpt-oss-20b.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.errors import ModelFilesError, UnsupportedModelError
from engine.userfiles import read_json

SLIDING = "sliding_attention"
FULL = "full_attention"
MXFP4_GROUP = 32  # weights per MXFP4 scale (along the input dimension)

# The Hugging Face config.json fields we do not need but write back for a faithful synthetic copy.
HF_EOS_TOKEN_ID = 200002
HF_PAD_TOKEN_ID = 199999

# What a gpt-oss model can be (gpt-oss-120b: 36 layers, 128 experts, 131072 positions), with room for
# variants. Every size is bounded, so that an absurd config.json fails at once instead of building a
# structure per layer (or per position) of a model that cannot exist.
MAX_CONTEXT = 1 << 20
SIZE_RANGES: dict[str, tuple[int, int]] = {
    "num_hidden_layers": (1, 256),
    "num_experts": (1, 1024),
    "experts_per_token": (1, 128),
    "vocab_size": (1, 1 << 20),
    "hidden_size": (32, 16384),
    "intermediate_size": (32, 65536),
    "head_dim": (2, 1024),
    "num_attention_heads": (1, 1024),
    "num_key_value_heads": (1, 1024),
    "initial_context_length": (256, MAX_CONTEXT),
    "max_position_embeddings": (1, MAX_CONTEXT),
}
# Values outside these ranges load, but answer with changed (or non-finite) numbers.
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "rope_theta": (100.0, 1e9),
    "rope_scaling_factor": (1.0, 1024.0),
    "rope_ntk_alpha": (1e-3, 1024.0),
    "rope_ntk_beta": (1e-3, 1024.0),
    "rms_norm_eps": (1e-12, 1e-2),
    "swiglu_limit": (1.0, 1e4),
    "swiglu_alpha": (1e-2, 100.0),
}
# Our field -> its key in a Hugging Face config.json (the original layout's keys are our field names).
HF_KEYS = {
    "num_experts": "num_local_experts",
    "experts_per_token": "num_experts_per_tok",
    "rope_scaling_factor": "rope_scaling.factor",
    "rope_ntk_alpha": "rope_scaling.beta_slow",
    "rope_ntk_beta": "rope_scaling.beta_fast",
    "rope_truncate": "rope_scaling.truncate",
    "initial_context_length": "rope_scaling.original_max_position_embeddings",
}


class ConfigRangeError(ValueError):
    """A config value outside what a gpt-oss model can have; ``key`` is renamed to the file's spelling."""

    def __init__(self, name: str, value: object, low: float, high: float):
        self.name, self.value, self.low, self.high = name, value, low, high
        super().__init__(self.sentence(name))

    def sentence(self, key: str) -> str:
        return f"{key} is {self.value!r}; a gpt-oss model has it from {self.low:g} to {self.high:g}"


@dataclass
class ModelConfig:
    num_hidden_layers: int = 24
    num_experts: int = 32
    experts_per_token: int = 4
    vocab_size: int = 201088
    hidden_size: int = 2880
    intermediate_size: int = 2880
    head_dim: int = 64
    num_attention_heads: int = 64
    num_key_value_heads: int = 8
    sliding_window: int = 128
    # Per layer "sliding_attention" | "full_attention"; empty means the gpt-oss default (even layers slide).
    layer_types: tuple[str, ...] = ()
    rope_theta: float = 150000.0
    rope_scaling_factor: float = 32.0
    rope_ntk_alpha: float = 1.0  # YaRN beta_slow
    rope_ntk_beta: float = 32.0  # YaRN beta_fast
    rope_truncate: bool = False  # HF "truncate": round the NTK-by-parts range to whole dims
    initial_context_length: int = 4096  # YaRN original_max_position_embeddings
    max_position_embeddings: int = 131072
    rms_norm_eps: float = 1e-5
    swiglu_limit: float = 7.0
    swiglu_alpha: float = 1.702
    extra: dict = field(default_factory=dict, compare=False, repr=False)  # unused keys, kept for messages

    def __post_init__(self) -> None:
        # Sizes first, so that an absurd count fails before anything is built per layer.
        for name, (low, high) in SIZE_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
            if not low <= value <= high:
                raise ConfigRangeError(name, value, low, high)
        if not self.layer_types:
            # gpt-oss: "sliding window on every other layer", starting with layer 0.
            self.layer_types = tuple(SLIDING if i % 2 == 0 else FULL for i in range(self.num_hidden_layers))
        self.layer_types = tuple(self.layer_types)
        for name, (low, high) in VALUE_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ConfigRangeError(name, value, low, high)
        if self.experts_per_token > self.num_experts:
            raise ValueError(
                f"experts_per_token ({self.experts_per_token}) exceeds num_experts ({self.num_experts})"
            )
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) is not a multiple of "
                f"num_key_value_heads ({self.num_key_value_heads})"
            )
        if self.head_dim % 2:
            raise ValueError(f"head_dim must be even for rotary embeddings, not {self.head_dim}")
        for name in ("hidden_size", "intermediate_size"):
            if getattr(self, name) % MXFP4_GROUP:
                raise ValueError(
                    f"{name} ({getattr(self, name)}) is not a multiple of the MXFP4 group size 32"
                )
        if len(self.layer_types) != self.num_hidden_layers:
            raise ValueError(
                f"layer_types lists {len(self.layer_types)} layers, the model has {self.num_hidden_layers}"
            )
        if bad := sorted(set(self.layer_types) - {SLIDING, FULL}, key=repr):
            raise ValueError(f"unknown layer types {bad}")
        if SLIDING in self.layer_types:
            if isinstance(self.sliding_window, bool) or not isinstance(self.sliding_window, int) or (
                self.sliding_window <= 0
            ):
                raise ValueError(
                    f"sliding layers need a positive sliding_window, not {self.sliding_window!r}"
                )
            if self.sliding_window > MAX_CONTEXT:
                raise ConfigRangeError("sliding_window", self.sliding_window, 1, MAX_CONTEXT)
        if self.initial_context_length > self.max_position_embeddings:
            raise ValueError(
                f"the original context ({self.initial_context_length}) is longer than the context "
                f"YaRN stretches it to ({self.max_position_embeddings})"
            )
        if self.rope_ntk_alpha >= self.rope_ntk_beta:
            raise ValueError(
                f"YaRN's beta_slow ({self.rope_ntk_alpha}) must be below its beta_fast ({self.rope_ntk_beta})"
            )

    # Derived sizes.
    @property
    def num_query_groups(self) -> int:
        return self.num_attention_heads // self.num_key_value_heads

    def is_sliding(self, layer: int) -> bool:
        return self.layer_types[layer] == SLIDING

    @property
    def context_length(self) -> int:
        return self.max_position_embeddings

    # Reading config.json.
    @classmethod
    def from_json_file(cls, path: Path) -> ModelConfig:
        """Either layout's config.json; raises ModelFilesError / UnsupportedModelError naming the file."""
        data = read_json(Path(path), what="config.json")  # bounded; ModelFilesError naming the file
        if not isinstance(data, dict):
            raise ModelFilesError(
                f"{path} does not hold a JSON object. Re-download the model in the model manager."
            )
        model_type = data.get("model_type")
        try:
            if model_type is not None:
                if model_type != "gpt_oss":
                    raise UnsupportedModelError(
                        f"{path} describes a {model_type!r} model; Gossamer runs gpt-oss models only "
                        "(model_type 'gpt_oss'). Choose a gpt-oss model folder."
                    )
                return cls.from_hf_json(data)
            if "num_experts" in data and "experts_per_token" in data:
                return cls.from_original_json(data)
        except ConfigRangeError as error:
            key = error.name
            if model_type is not None:
                key = HF_KEYS.get(key, key)
                if "rope_parameters" in data:
                    key = key.replace("rope_scaling.", "rope_parameters.")
            raise ModelFilesError(
                f"{path} is not a usable gpt-oss config: {error.sentence(key)}. "
                "Verify or re-download the model in the model manager."
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:
            reason = f"missing key {error}" if isinstance(error, KeyError) else str(error)
            raise UnsupportedModelError(
                f"{path} is not a usable gpt-oss config: {reason}. "
                "Verify or re-download the model in the model manager."
            ) from None
        raise UnsupportedModelError(
            f"{path} is not a gpt-oss config (no model_type 'gpt_oss' and none of the "
            "original layout's keys). Choose a gpt-oss model folder."
        )

    @classmethod
    def from_hf_json(cls, data: dict) -> ModelConfig:
        arches = data.get("architectures") or ["GptOssForCausalLM"]
        if "GptOssForCausalLM" not in arches:
            raise ValueError(f"architectures {arches} do not include GptOssForCausalLM")
        if data.get("attention_bias", True) is not True or data.get("tie_word_embeddings", False):
            raise ValueError("gpt-oss has attention biases and untied embeddings")
        quant = data.get("quantization_config") or {}
        if quant.get("quant_method") != "mxfp4":
            raise ValueError(
                "expert weights are not MXFP4 (quantization_config.quant_method is not 'mxfp4'); "
                "Gossamer reads the original MXFP4 release"
            )
        # transformers 4.x writes rope_scaling + rope_theta, 5.x rope_parameters holding rope_theta.
        rope = dict(data.get("rope_parameters") or data.get("rope_scaling") or {})
        rope_theta = rope.get("rope_theta", data.get("rope_theta", 150000.0))
        if not rope:  # GptOssConfig's default when the file has none
            rope = {
                "rope_type": "yarn",
                "factor": 32.0,
                "beta_fast": 32.0,
                "beta_slow": 1.0,
                "truncate": False,
                "original_max_position_embeddings": 4096,
            }
        rope_type = rope.get("rope_type", rope.get("type", "default"))
        if rope_type not in ("yarn", "default"):
            raise ValueError(f"rope_type {rope_type!r} is not YaRN")
        yarn = rope_type == "yarn"
        known = {
            "num_hidden_layers",
            "num_local_experts",
            "num_experts",
            "num_experts_per_tok",
            "experts_per_token",
            "vocab_size",
            "hidden_size",
            "intermediate_size",
            "head_dim",
            "num_attention_heads",
            "num_key_value_heads",
            "sliding_window",
            "layer_types",
            "rope_theta",
            "rope_scaling",
            "rope_parameters",
            "initial_context_length",
            "max_position_embeddings",
            "rms_norm_eps",
            "swiglu_limit",
            "swiglu_alpha",
        }
        sliding = data.get("sliding_window")
        return cls(
            num_hidden_layers=data["num_hidden_layers"],
            num_experts=data.get("num_local_experts", data.get("num_experts")),
            experts_per_token=data.get("num_experts_per_tok", data.get("experts_per_token")),
            vocab_size=data["vocab_size"],
            hidden_size=data["hidden_size"],
            intermediate_size=data["intermediate_size"],
            head_dim=data.get("head_dim") or data["hidden_size"] // data["num_attention_heads"],
            num_attention_heads=data["num_attention_heads"],
            num_key_value_heads=data.get("num_key_value_heads") or data["num_attention_heads"],
            sliding_window=0 if sliding is None else sliding,
            layer_types=tuple(data.get("layer_types") or ()),
            rope_theta=float(rope_theta),
            rope_scaling_factor=float(rope.get("factor", 1.0)) if yarn else 1.0,
            rope_ntk_alpha=float(rope.get("beta_slow") or 1.0),
            rope_ntk_beta=float(rope.get("beta_fast") or 32.0),
            # transformers treats a missing "truncate" as true; the gpt-oss reference never rounds the ramp,
            # and a gpt_oss config without the key means the reference's YaRN
            rope_truncate=bool(rope.get("truncate", data.get("model_type", "gpt_oss") != "gpt_oss")),
            initial_context_length=_whole(
                rope.get("original_max_position_embeddings") or data.get("initial_context_length", 4096)
            ),
            max_position_embeddings=data.get("max_position_embeddings", 131072),
            rms_norm_eps=float(data.get("rms_norm_eps", 1e-5)),
            swiglu_limit=float(data.get("swiglu_limit", 7.0)),
            swiglu_alpha=float(data.get("swiglu_alpha", 1.702)),
            extra={k: v for k, v in data.items() if k not in known},
        )

    @classmethod
    def from_original_json(cls, data: dict) -> ModelConfig:
        factor = float(data.get("rope_scaling_factor", 1.0))
        initial = data.get("initial_context_length", 4096)
        known = {f for f in cls.__dataclass_fields__}
        return cls(
            num_hidden_layers=data["num_hidden_layers"],
            num_experts=data["num_experts"],
            experts_per_token=data["experts_per_token"],
            vocab_size=data["vocab_size"],
            hidden_size=data["hidden_size"],
            intermediate_size=data["intermediate_size"],
            head_dim=data.get("head_dim", 64),
            num_attention_heads=data["num_attention_heads"],
            num_key_value_heads=data["num_key_value_heads"],
            sliding_window=data.get("sliding_window", 128),
            layer_types=tuple(data.get("layer_types") or ()),
            rope_theta=float(data.get("rope_theta", 150000.0)),
            rope_scaling_factor=factor,
            rope_ntk_alpha=float(data.get("rope_ntk_alpha", 1.0)),
            rope_ntk_beta=float(data.get("rope_ntk_beta", 32.0)),
            rope_truncate=False,  # the reference never rounds the ramp
            initial_context_length=initial,
            # The reference has no context key: YaRN stretches the initial context by the factor.
            max_position_embeddings=data.get("max_position_embeddings", _whole(initial * factor)),
            rms_norm_eps=float(data.get("rms_norm_eps", 1e-5)),
            swiglu_limit=float(data.get("swiglu_limit", 7.0)),
            swiglu_alpha=float(data.get("swiglu_alpha", 1.702)),
            extra={k: v for k, v in data.items() if k not in known},
        )

    # Writing config.json (synthetic checkpoints); the keys are those of the Hub's files.
    def to_hf_json(self) -> dict:
        return {
            "architectures": ["GptOssForCausalLM"],
            "attention_bias": True,
            "attention_dropout": 0.0,
            # small test vocabularies have no such ids
            "eos_token_id": HF_EOS_TOKEN_ID if HF_EOS_TOKEN_ID < self.vocab_size else None,
            "experts_per_token": self.experts_per_token,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "hidden_size": self.hidden_size,
            "initial_context_length": self.initial_context_length,
            "initializer_range": 0.02,
            "intermediate_size": self.intermediate_size,
            "layer_types": list(self.layer_types),
            "max_position_embeddings": self.max_position_embeddings,
            "model_type": "gpt_oss",
            "num_attention_heads": self.num_attention_heads,
            "num_experts_per_tok": self.experts_per_token,
            "num_hidden_layers": self.num_hidden_layers,
            "num_key_value_heads": self.num_key_value_heads,
            "num_local_experts": self.num_experts,
            "output_router_logits": False,
            "pad_token_id": HF_PAD_TOKEN_ID if HF_PAD_TOKEN_ID < self.vocab_size else None,
            "quantization_config": {
                "modules_to_not_convert": [
                    "model.layers.*.self_attn",
                    "model.layers.*.mlp.router",
                    "model.embed_tokens",
                    "lm_head",
                ],
                "quant_method": "mxfp4",
            },
            "rms_norm_eps": self.rms_norm_eps,
            "rope_scaling": {
                "beta_fast": self.rope_ntk_beta,
                "beta_slow": self.rope_ntk_alpha,
                "factor": self.rope_scaling_factor,
                "original_max_position_embeddings": self.initial_context_length,
                "rope_type": "yarn",
                "truncate": self.rope_truncate,
            },
            "rope_theta": self.rope_theta,
            "router_aux_loss_coef": 0.9,
            "sliding_window": self.sliding_window,
            "swiglu_limit": self.swiglu_limit,
            "tie_word_embeddings": False,
            "transformers_version": "4.55.0.dev0",
            "use_cache": True,
            "vocab_size": self.vocab_size,
        }

    def to_original_json(self) -> dict:
        data = {
            "num_hidden_layers": self.num_hidden_layers,
            "num_experts": self.num_experts,
            "experts_per_token": self.experts_per_token,
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "swiglu_limit": self.swiglu_limit,
            "head_dim": self.head_dim,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "sliding_window": self.sliding_window,
            "initial_context_length": self.initial_context_length,
            "rope_theta": self.rope_theta,
            "rope_scaling_factor": self.rope_scaling_factor,
            "rope_ntk_alpha": self.rope_ntk_alpha,
            "rope_ntk_beta": self.rope_ntk_beta,
        }
        # The original format has no such keys; write them only where they differ from what it implies,
        # so the reference implementation (which takes ModelConfig(**json)) reads gpt-oss sizes unchanged.
        default_types = tuple(SLIDING if i % 2 == 0 else FULL for i in range(self.num_hidden_layers))
        if self.layer_types != default_types:
            data["layer_types"] = list(self.layer_types)
        if self.max_position_embeddings != int(self.initial_context_length * self.rope_scaling_factor):
            data["max_position_embeddings"] = self.max_position_embeddings
        if self.rms_norm_eps != 1e-5:
            data["rms_norm_eps"] = self.rms_norm_eps
        if self.swiglu_alpha != 1.702:
            data["swiglu_alpha"] = self.swiglu_alpha
        return data

    def replace(self, **changes) -> ModelConfig:
        values = {k: v for k, v in asdict(self).items() if k != "extra"}
        if "num_hidden_layers" in changes and "layer_types" not in changes:
            values["layer_types"] = ()
        values.update(changes)
        return ModelConfig(**values)

    # Sizes in bytes, for messages and memory planning.
    def expert_bytes(self) -> int:
        """One expert's packed MXFP4 weights and bf16 biases."""
        two_i, h, i = 2 * self.intermediate_size, self.hidden_size, self.intermediate_size
        packed = two_i * h // 2 + two_i * h // MXFP4_GROUP + h * i // 2 + h * i // MXFP4_GROUP
        return packed + 2 * (two_i + h)

    def dense_bytes(self) -> int:
        """bf16 weights outside the experts (embedding, attention, router, norms, unembedding)."""
        h, d = self.hidden_size, self.head_dim
        q, kv = self.num_attention_heads * d, self.num_key_value_heads * d
        attn = (q + 2 * kv) * (h + 1) + q * h + h + self.num_attention_heads
        per_layer = attn + 2 * h + self.num_experts * (h + 1)
        return 2 * (2 * self.vocab_size * h + h + self.num_hidden_layers * per_layer)

    def total_bytes(self) -> int:
        return self.dense_bytes() + self.num_hidden_layers * self.num_experts * self.expert_bytes()


def _whole(value: object) -> object:
    """A float that is a whole number as an int (4096.0 -> 4096); anything else unchanged, for the checks."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
