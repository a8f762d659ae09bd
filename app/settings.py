"""Every QSettings key the app uses, their defaults, and typed access to them.

QSettings writes an INI file under ``user_config_dir()`` on every platform (``configure()``), so tests
and portable installs redirect it with ``GOSSAMER_CONFIG_DIR`` like the rest of the app's files.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings

from engine.paths import APP_NAME, user_config_dir

ORGANIZATION = APP_NAME
APPLICATION = APP_NAME

# Engine
DEVICE = "engine/device"  # "auto" | "cuda" | "cpu"
VRAM_BUDGET_GB = "engine/vram_budget_gb"  # 0 means automatic
CONTEXT_LENGTH = "engine/context_length"  # tokens; 0: the largest the GPU holds without offloading experts
CUDA_GRAPHS = "engine/cuda_graphs"  # decode steps as CUDA graphs (engine/runtime/decode_graph.py)
# Generation
TEMPERATURE = "generation/temperature"
TOP_P = "generation/top_p"
TOP_K = "generation/top_k"  # sample from the k likeliest tokens only; 0: off (every token may be drawn)
MAX_TOKENS = "generation/max_tokens"
SYSTEM_INSTRUCTIONS = "generation/system_instructions"
DEFAULT_EFFORT = "generation/default_effort"
# reasoning tokens before the answer is forced, by effort (engine/runtime/reasoning_guard.py); 0: no budget
REASONING_BUDGETS = {
    "low": "generation/reasoning_budget_low",
    "medium": "generation/reasoning_budget_medium",
    "high": "generation/reasoning_budget_high",
}
OVERFLOW = "generation/overflow"  # what a chat that outgrows the context does, until the chat chooses
# Appearance
THEME = "appearance/theme"  # "system" | "light" | "dark"
LANGUAGE = "appearance/language"  # "system" | "en" | "ko"
# Models
MODEL_PATH = "models/last_path"  # the models folder itself is the hub's (engine.hub.default_root)
# Local API (engine/server: the loaded model over an OpenAI-compatible API)
API_ENABLED = "api/enabled"
API_PORT = "api/port"  # 0: any free port
MODEL_FOLDERS = "models/folders"  # folders loaded from outside the models folder, newest first, one a line
# Window
GEOMETRY = "window/geometry"
SPLITTER = "window/splitter"
LAST_CONVERSATION = "chat/last_conversation"

DEVICES = ("auto", "cuda", "cpu")
THEMES = ("system", "light", "dark")
LANGUAGES = ("system", "en", "ko")
EFFORTS = ("low", "medium", "high")
TOP_K_RANGE = (0, 1000)
CONTEXT_LENGTHS = (4096, 8192, 16384, 32768, 65536, 131072)
# "ask": the first time a chat outgrows the context it asks, and remembers the answer for that chat. Dropping
# loses what the user said early on and a summary costs a turn of the model and may miss things: which is
# better depends on the chat, so the default leaves it to the user, once per chat.
OVERFLOWS = ("ask", "drop", "summarize", "stop")

DEFAULTS: dict[str, object] = {
    DEVICE: "auto",
    VRAM_BUDGET_GB: 0.0,
    CONTEXT_LENGTH: 0,
    CUDA_GRAPHS: True,
    TEMPERATURE: 1.0,  # gpt-oss's recommended sampling
    TOP_P: 1.0,
    TOP_K: 0,  # off: gpt-oss is tuned for plain sampling at temperature 1.0
    MAX_TOKENS: 4096,
    SYSTEM_INSTRUCTIONS: "",
    DEFAULT_EFFORT: "medium",
    # the engine's defaults (engine.runtime.reasoning_guard.DEFAULT_BUDGETS, a test keeps them equal)
    REASONING_BUDGETS["low"]: 2048,
    REASONING_BUDGETS["medium"]: 8192,
    REASONING_BUDGETS["high"]: 32768,
    OVERFLOW: "ask",
    THEME: "system",
    LANGUAGE: "system",
    MODEL_PATH: "",
    MODEL_FOLDERS: "",
    LAST_CONVERSATION: 0,
    API_ENABLED: False,  # a server reachable by every program on the computer: only when asked for
    API_PORT: 8642,
}

# whole numbers with a range: a value outside it (a hand-edited file) reads as the default
_RANGES: dict[str, tuple[int, int]] = {
    TOP_K: TOP_K_RANGE,
}

_CHOICES: dict[str, tuple] = {
    DEVICE: DEVICES,
    THEME: THEMES,
    LANGUAGE: LANGUAGES,
    DEFAULT_EFFORT: EFFORTS,
    OVERFLOW: OVERFLOWS,
}


def configure() -> None:
    """Set the organization and application names and put the INI file in ``user_config_dir()``.

    Called once, by ``app.__main__.main`` (and by the test fixtures that build windows without it).
    """
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(user_config_dir()))


class Settings:
    """Typed, validated reads and writes of the keys above; an invalid stored value reads as the default."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.qsettings = qsettings or QSettings()

    def get(self, key: str):
        default = DEFAULTS[key]
        raw = self.qsettings.value(key, default)
        try:
            value = type(default)(raw) if not isinstance(default, bool) else str(raw).lower() == "true"
        except (TypeError, ValueError):
            return default
        if key in _CHOICES and value not in _CHOICES[key]:
            return default
        if key in _RANGES and not _RANGES[key][0] <= value <= _RANGES[key][1]:
            return default
        return value

    def set(self, key: str, value) -> None:
        default = DEFAULTS[key]
        value = type(default)(value)
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ValueError(f"{key} must be one of {_CHOICES[key]}, got {value!r}")
        if key in _RANGES and not _RANGES[key][0] <= value <= _RANGES[key][1]:
            raise ValueError(f"{key} must be from {_RANGES[key][0]} to {_RANGES[key][1]}, got {value!r}")
        self.qsettings.setValue(key, value)

    def sync(self) -> None:
        self.qsettings.sync()

    # Values that are not plain scalars
    def geometry(self) -> QByteArray | None:
        value = self.qsettings.value(GEOMETRY)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, data: QByteArray) -> None:
        self.qsettings.setValue(GEOMETRY, data)

    def splitter(self) -> QByteArray | None:
        value = self.qsettings.value(SPLITTER)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_splitter(self, data: QByteArray) -> None:
        self.qsettings.setValue(SPLITTER, data)

    def load_options(self) -> dict:
        """What EngineClient.load takes besides the folder, from the settings."""
        return {
            "device": self.get(DEVICE),
            "vram_budget": self.vram_budget_bytes(),
            "context_length": self.get(CONTEXT_LENGTH),
            "cuda_graphs": self.get(CUDA_GRAPHS),
        }

    def vram_budget_bytes(self) -> int | None:
        gigabytes = self.get(VRAM_BUDGET_GB)
        return int(gigabytes * 1024**3) if gigabytes > 0 else None
