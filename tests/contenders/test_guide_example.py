"""The complete example of docs/writing-a-contender.md runs on real bars."""

from __future__ import annotations

import re
from pathlib import Path

from arena.data import SampleSource, to_panel
from arena.local import replay_local

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-a-contender.md"


def test_guide_example_trades_and_explains():
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert blocks, "the guide lost its example"
    namespace: dict = {}
    exec(compile(blocks[0], str(GUIDE), "exec"), namespace)
    cls = namespace["DonchianBreakout"]
    panel = to_panel(SampleSource("us_equities_daily").load())
    runner, result = replay_local(cls(lookback=20), panel)
    records = runner.drain_records()
    assert result["status"] == "ok", result["halt_reason"]
    assert len(result["fills"]) > 10
    assert all(d["explanation_json"] for d in records["decisions"])


def test_template_contender_runs():
    from contenders.template import MyContender

    panel = to_panel(SampleSource("us_equities_daily").load())
    _, result = replay_local(MyContender(lookback=10), panel.slice(0, 300))
    assert result["status"] == "ok", result["halt_reason"]
