"""No panel notebook sets a font size or a colour by hand: the style module owns both
(``disentangle.figures.style``: FONT, PALETTES, reference lines), so that every panel has the same
look and a change of palette or size is made once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "workflow" / "notebooks").glob("*.py"))
COLOUR_KEYS = (
    r"(?<![\w.])(?:color|c|colors|facecolor|facecolors|edgecolor|edgecolors|ecolor|mfc|mec"
    r"|markerfacecolor|markeredgecolor|fc|ec|cmap)"
)
BY_HAND = {
    "a numeric font size": re.compile(r"\b(?:fontsize|labelsize|titlesize)\s*=\s*[\d.]+"),
    "a hex colour": re.compile(r"""["']#[0-9a-fA-F]{3,8}["']"""),
    # a colour named in a string: "red", "0.6", "tab:blue" (hollow markers, "none", are allowed)
    "a colour by name": re.compile(COLOUR_KEYS + r"""\s*=\s*["'](?!none["'])[^"']*["']"""),
}


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 19


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_sets_no_font_size_or_colour_by_hand(notebook):
    problems = [
        f"{notebook.name}:{i}: {what}: {line.strip()}"
        for i, line in enumerate(notebook.read_text().splitlines(), 1)
        for what, pattern in BY_HAND.items()
        if pattern.search(line)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "line",
    [
        'ax.text(0, 0, "x", fontsize=5)',
        'ax.plot(x, y, color="0.6")',
        "ax.bar(x, y, c='#4c72b0')",
        'ax.imshow(m, cmap="RdBu_r")',
        "ax.tick_params(labelsize=6)",
    ],  # fmt: skip
)
def test_the_patterns_catch_hand_set_values(line):
    assert any(p.search(line) for p in BY_HAND.values())


def test_the_patterns_allow_style_values():
    for line in ('ax.plot(x, y, color=style.color("metric", "ood_r2"))', 'mfc="none"',
                 'ax.text(0, 0, "x", fontsize=style.FONT["annotation"])'):  # fmt: skip
        assert not any(p.search(line) for p in BY_HAND.values()), line
