"""Render the screenshots in docs/screenshots/: ``python -m app.screenshots [--out DIR] [--model DIR]``.

Everything runs in a throw-away data folder. The conversation shown is sample text written into the
store (a random test checkpoint cannot write prose); the model that is loaded is real: ``--model``, or a
tiny random gpt-oss checkpoint written by ``engine.io.synthetic`` so the status bar shows where a real model
runs. Each view is rendered in the light and the dark theme.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

SAMPLE_QUESTION = "How do I read a huge CSV file in Python without running out of memory?"
SAMPLE_REASONING = (
    "The user wants to process a CSV that does not fit in memory. The standard library's csv module "
    "streams one row at a time, which is the simplest answer. pandas can also read in chunks with "
    "chunksize, which suits people who already use DataFrames. I should show both, briefly, and mention "
    "usecols to cut memory further."
)
SAMPLE_ANSWER = """Read it **in pieces** instead of all at once. Two easy ways:

1. **The standard library** streams one row at a time:

```python
import csv

with open("big.csv", newline="") as f:
    for row in csv.DictReader(f):
        process(row)  # only this row is in memory
```

2. **pandas** hands you chunks of a fixed size:

```python
import pandas as pd

total = 0
for chunk in pd.read_csv("big.csv", chunksize=100_000):
    total += chunk["amount"].sum()
```

Either way memory stays flat however big the file is. Pass `usecols=` to skip columns you don't need.
"""
OTHER_TITLES = (
    "Trip plan for Jeju Island",
    "Explain attention sinks",
    "김치찌개 레시피",
    "Rust lifetimes, simply",
    "SQL window functions",
)

SAMPLE_KO = {
    "title": "큰 CSV 파일 읽기",
    "question": "파이썬에서 메모리가 부족하지 않게 아주 큰 CSV 파일을 읽으려면 어떻게 하나요?",
    "answer": """파일을 **한 번에 다 읽지 말고 조금씩** 읽으면 됩니다. 쉬운 방법 두 가지:

1. **표준 라이브러리**는 한 줄씩 읽습니다:

```python
import csv

with open("big.csv", newline="") as f:
    for row in csv.DictReader(f):
        process(row)  # 메모리에는 이 줄만 있습니다
```

2. **pandas**는 정해진 크기만큼 나눠 줍니다:

```python
import pandas as pd

total = 0
for chunk in pd.read_csv("big.csv", chunksize=100_000):
    total += chunk["amount"].sum()
```

어느 쪽이든 파일이 아무리 커도 메모리 사용량은 일정합니다. 필요 없는 열은 `usecols=`로 건너뛰세요.
""",
    "others": (
        "제주도 여행 계획",
        "어텐션 싱크 설명",
        "김치찌개 레시피",
        "Rust 수명 쉽게 이해하기",
        "SQL 윈도 함수",
    ),
}


def populate(store, language: str = "en") -> int:
    """Sample conversations; returns the id of the one to show."""
    korean = language == "ko"
    now = time.time()
    for offset, title in enumerate(SAMPLE_KO["others"] if korean else OTHER_TITLES):
        conversation = store.create_conversation(title, settings={"effort": "medium"})
        store.add_message(conversation.id, "user", title)
        store.db.execute(
            "UPDATE conversations SET updated_at = ? WHERE id = ?",
            (now - 3600 * 26 * (offset + 1), conversation.id),
        )
    title = SAMPLE_KO["title"] if korean else "Reading a huge CSV in Python"
    conversation = store.create_conversation(title, settings={"effort": "high"})
    store.add_message(conversation.id, "user", SAMPLE_KO["question"] if korean else SAMPLE_QUESTION)
    answer = store.add_message(conversation.id, "assistant", complete=False)
    store.finish_message(
        answer.id,
        finish_reason="return",
        content=SAMPLE_KO["answer"] if korean else SAMPLE_ANSWER,
        reasoning=SAMPLE_REASONING,
        thinking_s=4.2,
        usage={
            "completion_tokens": 231,
            "reasoning_tokens": 58,
            "decode_tok_s": 41.3,
            "ttft_s": 0.38,
            "context_used": 412,
            "context_max": 16384,
            "prompt_tokens": 98,
        },
    )
    return conversation.id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "screenshots"))
    parser.add_argument("--model", help="a gpt-oss model folder to load (default: a tiny random one)")
    parser.add_argument("--themes", default="light,dark")
    parser.add_argument("--language", default="en", choices=("en", "ko"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="gossamer-shots-"))
    os.environ["GOSSAMER_DATA_DIR"] = str(scratch / "data")
    os.environ["GOSSAMER_CONFIG_DIR"] = str(scratch / "config")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["LANG"] = "ko_KR.UTF-8" if args.language == "ko" else "en_US.UTF-8"  # number formats
    os.environ.setdefault("QT_LOGGING_RULES", "qt.text.font.db=false")

    model = args.model
    if model is None:
        from engine.io.synthetic import tiny_config, write_checkpoint

        model = str(write_checkpoint(scratch / "gpt-oss-tiny-random", tiny_config()))

    from PySide6.QtCore import QEventLoop, QTimer

    from app import settings as keys
    from app import theme
    from app.__main__ import create_application, create_window
    from app.store import Store

    app, settings = create_application([sys.argv[0]])
    from app import i18n

    i18n.install(args.language)
    suffix = "" if args.language == "en" else f"-{args.language}"
    from engine.hub import ModelStore

    if args.model is None:  # register the tiny model in place, so the model manager lists it
        model = str(ModelStore().import_folder(model, copy=False).path)
    store = Store()
    shown = populate(store, args.language)
    store.close()
    settings.set(keys.LAST_CONVERSATION, shown)

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_for(condition, timeout_s: float = 120) -> None:
        end = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < end:
            wait(50)

    for name in args.themes.split(","):
        theme.apply(app, name)
        window = create_window(settings, model)
        window.resize(1200, 900)
        window.show()
        wait_for(lambda w=window: w._started and (w.engine.model is not None or not w.engine.loading))
        answer = window.chat_view.message_widgets()[-1]
        answer.thinking.set_expanded(True, by_user=True)
        wait(300)
        window.chat_view.scroll_to_bottom()
        wait(200)
        window.grab().save(str(out / f"main{suffix}-{name}.png"))
        answer.thinking.grab().save(str(out / f"thinking{suffix}-{name}.png"))

        window.models.refresh()
        wait_for(lambda w=window: w.models.listing is not None)
        manager = window.open_model_manager()
        wait_for(lambda m=manager: m.catalog_model.rowCount() > 0)
        wait(300)
        manager.grab().save(str(out / f"model-manager{suffix}-{name}.png"))
        manager.close()
        window.close()
        window.deleteLater()
        wait(100)

    # First run: a new data folder with no model and no conversations shows the welcome screen.
    os.environ["GOSSAMER_DATA_DIR"] = str(scratch / "first-run" / "data")
    os.environ["GOSSAMER_CONFIG_DIR"] = str(scratch / "first-run" / "config")
    keys.configure()
    for name in args.themes.split(","):
        theme.apply(app, name)
        window = create_window(keys.Settings())
        window.resize(1200, 780)
        window.show()
        wait_for(lambda w=window: w.stack.currentWidget() is w.welcome and w.models.listing is not None)
        wait(300)
        window.grab().save(str(out / f"welcome{suffix}-{name}.png"))
        window.close()
        window.deleteLater()
        wait(100)
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
