"""Korean: the translation is complete and loads, the window speaks it (errors, notices and the status bar
included), Korean text is typed, kept, shown."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtGui import QFontDatabase, QInputMethodEvent, QTextLayout
from PySide6.QtWidgets import QPushButton

from app import engine_errors, formatting, i18n, model_facts
from app import settings as keys
from engine.hub.catalog import BUILTIN
from engine.notices import Notice
from tests.app.conftest import CPU_FACTS, GPU_FACTS, disk_full, fit_texts, send, wait_idle
from tests.app.test_store_errors import DRAFT

APP_DIR = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def korean(qapp):
    """The Korean translators installed for one test, English again afterwards."""
    i18n.install("ko")
    yield
    i18n.install("en")


@pytest.mark.parametrize(
    ("setting", "system", "expected"),
    [
        ("system", QLocale.Language.Korean, "ko"),
        ("system", QLocale.Language.English, "en"),
        ("system", QLocale.Language.German, "en"),
        ("ko", QLocale.Language.English, "ko"),
        ("en", QLocale.Language.Korean, "en"),
    ],
)
def test_language_follows_setting_then_system(setting, system, expected):
    """An explicit setting wins; "system" picks Korean on a Korean desktop and English otherwise."""
    assert i18n.choose(setting, QLocale(system)) == expected


def test_translation_loads_and_translates(korean):
    """The compiled .qm loads and turns the interface's English into Korean, plural forms included."""
    assert QCoreApplication.translate("Composer", "Send") == "보내기"
    assert QCoreApplication.translate("ThinkingSection", "%n tokens", "", 42) == "42토큰"
    assert QCoreApplication.translate("Formatting", "%n s", "seconds", 12) == "12초"
    i18n.install("en")
    assert QCoreApplication.translate("Composer", "Send") == "Send"


def linguist_tool(name: str) -> str | None:
    """A PySide6 script: beside this Python (a venv run without activating it), else on PATH."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_string_is_translated_and_compiled(tmp_path, language):
    """lupdate finds no string in app/ missing from the .ts (English: plurals only), none is unfinished, and
    the committed .qm is what lrelease makes of the .ts."""
    lupdate, lrelease = linguist_tool("pyside6-lupdate"), linguist_tool("pyside6-lrelease")
    if lupdate is None or lrelease is None:
        pytest.skip("the Qt Linguist tools of the PySide6 wheels are not installed")
    ts = i18n.TRANSLATIONS_DIR / f"gossamer_{language}.ts"
    qm = ts.with_suffix(".qm")
    fresh = tmp_path / ts.name
    shutil.copy(ts, fresh)
    sources = sorted(str(p) for p in APP_DIR.rglob("*.py"))
    options = ["-no-obsolete"] + (["-pluralonly"] if language == "en" else [])
    subprocess.run([lupdate, *options, *sources, "-ts", str(fresh)], check=True, capture_output=True)
    text = fresh.read_text(encoding="utf-8")
    assert 'type="unfinished"' not in text, f"run pyside6-lupdate and translate the new strings in {ts.name}"
    compiled = tmp_path / qm.name
    subprocess.run([lrelease, str(ts), "-qm", str(compiled)], check=True, capture_output=True)
    assert compiled.read_bytes() == qm.read_bytes(), (
        f"run pyside6-lrelease: {qm.name} is older than {ts.name}"
    )


def test_english_plurals(qapp):
    """English counts read naturally: 1 token, 2 tokens."""
    i18n.install("en")
    assert QCoreApplication.translate("ThinkingSection", "%n tokens", "", 1) == "1 token"
    assert QCoreApplication.translate("ThinkingSection", "%n tokens", "", 2) == "2 tokens"


def test_window_in_korean(make_window, korean, qtbot):
    """With Korean chosen, the window's own words are Korean."""
    window = make_window()
    assert window.composer.send_button.text() == "보내기"
    assert window.sidebar.new_button.text() == "새 대화"
    assert (
        window.welcome.findChild(type(window.title_label), "WelcomeTitle").text()
        == "Gossamer에 오신 것을 환영합니다"
    )
    assert window.composer.effort.itemText(2) == "높음"


def type_with_input_method(widget, text: str) -> None:
    """Type as a Korean IME does: each syllable is composed (pre-edit), then committed."""
    widget.setFocus()
    for syllable in text:
        QCoreApplication.sendEvent(widget, QInputMethodEvent(syllable, []))
        commit = QInputMethodEvent()
        commit.setCommitString(syllable)
        QCoreApplication.sendEvent(widget, commit)


def _glyphs_missing(text: str, font) -> int:
    layout = QTextLayout(text, font)
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    return sum(index == 0 for run in layout.glyphRuns() for index in run.glyphIndexes())


def test_korean_is_typed_sent_stored_and_shown(loaded_window, qtbot, settings):
    """Korean typed into the composer is sent, saved as typed, and drawn with a font that has Hangul."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 4)
    type_with_input_method(window.composer.edit, "안녕하세요, 김치찌개 만드는 법")
    assert window.composer.text() == "안녕하세요, 김치찌개 만드는 법"
    send(qtbot, window, window.composer.text())
    wait_idle(qtbot, window)
    conversation = window.controller.conversation
    stored = window.store.messages(conversation.id)[0]
    assert stored.content == "안녕하세요, 김치찌개 만드는 법"
    assert window.store.conversation(conversation.id).title == "안녕하세요, 김치찌개 만드는 법"
    bubble = window.chat_view.message_widgets()[0].text
    assert bubble.toPlainText() == "안녕하세요, 김치찌개 만드는 법"
    assert [c.title for c in window.store.conversations("김치")] == ["안녕하세요, 김치찌개 만드는 법"]
    korean_families = [
        f
        for f in QFontDatabase.families()
        if QFontDatabase.WritingSystem.Korean in QFontDatabase.writingSystems(f)
    ]
    if not korean_families:
        pytest.skip("no font with Hangul is installed (Debian: fonts-noto-cjk)")
    for font in (window.composer.edit.font(), bubble.document().defaultFont()):
        assert any(f in korean_families for f in font.families())
        assert _glyphs_missing("안녕하세요 김치찌개", font) == 0


@pytest.mark.parametrize("kind", engine_errors.KINDS)
def test_every_engine_error_is_worded_in_korean(korean, kind):
    """Each kind of engine error has its headline and what to do in Korean; the engine's sentence stays."""
    text, detail = engine_errors.shown(engine_errors.ErrorReport(kind, "model.safetensors is short."))
    assert any("가" <= character <= "힣" for character in text) and "Verify" not in text
    assert detail == "model.safetensors is short."


def test_a_broken_model_is_explained_in_korean(korean, broken_model_window):
    """With Korean chosen, a model that cannot load says so in Korean, the engine's English sentence (naming
    the damaged file) beneath."""
    window, shard = broken_model_window
    assert window.notice.text() == (
        "broken-model을(를) 불러오지 못했습니다. 모델 파일이 없거나 손상되었습니다. "
        "모델 관리에서 모델을 검증하거나 다시 다운로드하세요. 또는 다른 폴더를 선택하세요."
    )
    assert window.notice.engine_text.isVisible() and shard.name in window.notice.engine_text.text()
    assert "모델 선택…" in [button.text() for button in window.notice.findChildren(QPushButton)]


def test_a_full_context_is_explained_in_korean(korean, loaded_window, qtbot):
    """An answer that fails because the conversation is too long says so in Korean, the numbers beneath."""
    window = loaded_window
    send(qtbot, window, "word " * 5000)
    wait_idle(qtbot, window)
    widget = window.chat_view.message_widgets()[1]
    assert widget.status_label.text() == (
        "대화가 모델의 컨텍스트보다 깁니다. 새 대화를 시작하거나 설정에서 더 긴 컨텍스트 길이를 선택하세요."
    )
    assert widget.status_detail.text().startswith("The conversation is")
    assert widget.continue_button.text() == "이어서 쓰기" and widget.regenerate_button.text() == "다시 생성"


def test_a_full_disk_is_explained_in_korean(korean, loaded_window, qtbot):
    """With Korean chosen, a message the full disk refuses is explained in Korean, the folder of the chats
    named, and what was typed stays."""
    window = loaded_window
    with disk_full(window.store):
        send(qtbot, window, DRAFT)
    assert window.notice.text() == (
        "Gossamer가 메시지를 저장하지 못했습니다. 디스크가 가득 찼습니다. "
        f"디스크 공간을 확보한 뒤 다시 보내세요. 대화는 {window.store.path.parent}에 저장됩니다."
    )
    assert window.composer.text() == DRAFT and window.store.conversations() == []


def test_where_a_model_would_run_is_said_in_korean(korean, make_window, qtbot, gpu_machine):
    """With Korean chosen, the welcome screen and the model manager say where gpt-oss-20b would run in Korean
    (worded from the fit estimate's facts, not the engine's English sentence)."""
    window = make_window()
    fits = "GPU에 모두 들어갑니다. 컨텍스트 16,384토큰 기준으로 GPU 메모리를 14.0 GB 씁니다."
    entry = BUILTIN[0]
    assert fit_texts(qtbot, window) == (
        fits,
        f"다운로드 크기 13.8 GB. {fits}",
        f"{entry.repo} @ {entry.revision[:12]}\n{fits}",
    )
    about = "매개변수 210억 개, 활성 36억 개. 16 GB GPU에서 실행되며, 더 작은 GPU에서는 전문가를 RAM에 두고 실행됩니다"
    assert window.welcome.model_about.text() == about  # the catalog's line too, not its English
    catalog = window.open_model_manager().catalog_model  # the dialog fit_texts opened
    assert catalog.data(catalog.index(0, 3)) == about


def test_the_status_bar_says_where_the_model_runs_in_korean(korean, loaded_window):
    """With Korean chosen, the status bar's words for where the model runs are Korean, sizes and counts in
    Korean number formats; the engine's English description is only for the log."""
    window = loaded_window
    facts = window.engine.model["facts"]
    assert window.status.device_label.text() == f"CPU · 가중치 {formatting.memory(facts['weight_bytes'])}"
    lines = window.status.device_label.toolTip().splitlines()
    assert lines[0] == "실행 환경: CPU" and "2개 층, 전문가 4개(상위 2개), 컨텍스트 4,096토큰" in lines
    assert "역양자화한 전문가 캐시: 512 MB" in lines and "of weights" not in window.status.device_text()


@pytest.mark.parametrize(
    ("context_length", "shown"),
    [
        (
            None,
            (
                "GPU 메모리가 부족해서 이제 Gossamer는 GPU 메모리를 최대 12.0 GB까지만 씁니다. "
                "답변이 느려질 수 있습니다."
            ),
        ),
        (
            8192,
            (
                "GPU 메모리가 부족해서 이제 Gossamer는 GPU 메모리를 최대 12.0 GB까지만 쓰고 "
                "컨텍스트를 8,192토큰으로 줄였습니다. 답변이 느려질 수 있습니다."
            ),
        ),
    ],
    ids=["re-planned", "re-planned with a shorter context"],
)
def test_an_out_of_memory_notice_is_korean(korean, loaded_window, qtbot, context_length, shown):
    """With Korean chosen, the GPU running out of memory is said in Korean (worded from the notice's facts,
    not the engine's English sentence), and the status bar shows the new placement in Korean."""
    window = loaded_window
    notice = Notice(
        "The GPU ran out of memory, so Gossamer now uses at most 12.0 GiB of it: GPU 11.7 GiB · experts of "
        "4 of 24 layers in RAM (18 cache slots). Generation may be slower.",
        "replanned",
        12 * 2**30,
        context_length,
    )
    window.engine.worker.engine_notice.emit(notice, GPU_FACTS)
    qtbot.waitUntil(lambda: window.notice.text() == shown, timeout=5000)
    assert window.notice.kind == "warning"
    assert window.status.device_label.text() == "GPU · 11.7 GB · 24개 층 중 4개는 RAM에"
    assert window.status.device_text().splitlines() == [
        "실행 환경: GPU (cuda:0)",
        "GPU의 가중치: 10.4 GB (MXFP4 전문가: 7.9 GB)",
        "RAM의 가중치: 2.7 GB",
        "24개 층, 전문가 32개(상위 4개), 컨텍스트 16,384토큰",
        "GPU 메모리: 한도 12.0 GB 중 11.7 GB",
        "24개 층 중 4개 층의 전문가는 RAM에, 이들을 위한 캐시 슬롯 18개는 GPU에",
    ]


def test_the_pytorch_fallback_is_said_in_korean(korean, loaded_window, qtbot):
    """With Korean chosen, a Triton failure's notice is Korean, and the status bar says the model runs the
    slower PyTorch path (the engine's English reason, which names packages and GPUs, in the tooltip)."""
    window = loaded_window
    notice = Notice("The GPU kernels (Triton) failed, so ... (RuntimeError: boom).", "torch_fallback")
    facts = GPU_FACTS | {"torch_fallback": "Triton is not installed (or does not import)"}
    window.engine.worker.engine_notice.emit(notice, facts)
    qtbot.waitUntil(lambda: window.notice.text().startswith("GPU 커널(Triton)이 실패해서"), timeout=5000)
    assert window.status.device_label.text().endswith(" · 느린 PyTorch 경로")
    assert window.status.device_text().splitlines()[-1] == (
        "Triton GPU 커널 없이 실행되므로 답변이 느립니다: Triton is not installed (or does not import)"
    )


@pytest.mark.parametrize(
    ("failed_set", "kernels", "shown", "marker", "line"),
    [
        (
            "vector",
            "portable",
            (
                "이 프로세서에서 CPU의 빠른 벡터 커널이 실패해서 이제 Gossamer는 범용 커널을 씁니다. "
                "답변이 느려질 수 있으며, 이유는 로그에 있습니다."
            ),
            " · 느린 범용 커널",
            "CPU 커널: 범용 코드(더 느림): the reason",
        ),
        (
            "numba",
            "torch",
            (
                "이 프로세서에서 CPU의 빠른 커널(numba)이 실패해서 이제 Gossamer는 더 느린 PyTorch 경로를 "
                "씁니다. 답변이 느려질 수 있으며, 이유는 로그에 있습니다."
            ),
            " · 느린 PyTorch 경로",
            "CPU 커널: PyTorch 경로(더 느림): the reason",
        ),
    ],
    ids=["vector kernels failed", "numba kernels failed"],
)
def test_a_cpu_kernel_failure_is_said_in_korean(
    korean, loaded_window, qtbot, failed_set, kernels, shown, marker, line
):
    """With Korean chosen, a failed set of the CPU's kernels is a Korean notice, and the status bar marks the
    slower path in Korean, the tooltip naming the kernels (the engine's English reason after them)."""
    window = loaded_window
    notice = Notice(
        "The CPU's ... kernels failed ... (RuntimeError: boom).", "cpu_kernels_fallback", reason=failed_set
    )
    facts = CPU_FACTS | {"cpu_kernels": kernels, "cpu_fallback": "the reason"}
    window.engine.worker.engine_notice.emit(notice, facts)
    qtbot.waitUntil(lambda: window.notice.text() == shown, timeout=5000)
    assert window.status.device_label.text().endswith(marker)
    assert window.status.device_text().splitlines()[-1] == line
    assert not model_facts.full(CPU_FACTS).splitlines()[-1].startswith("CPU")  # the AVX2 code: no line
