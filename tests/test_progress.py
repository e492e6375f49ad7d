"""Progress lines: throttled, with an ETA from the average unit time so far."""

from __future__ import annotations

from disentangle.progress import Progress, format_seconds


def test_eta_from_the_average_so_far_and_throttled():
    now = [0.0]
    lines: list[str] = []
    p = Progress("fits", 10, every=30.0, log=lines.append, clock=lambda: now[0])
    for done in range(1, 11):
        now[0] = 12.0 * done  # 12 s per unit
        p.update(done)
    # printed at 36 s (3 units: 30 s after the start), 72 s, 108 s and at the end
    assert lines[0] == "fits: 3/10 (30%) | 0m36s elapsed, ETA 1m24s"
    assert len(lines) == 4 and lines[-1] == "fits: 10/10 (100%) | 2m00s elapsed, ETA 0m00s"


def test_format_seconds():
    assert format_seconds(65) == "1m05s" and format_seconds(3725) == "1h02m"
