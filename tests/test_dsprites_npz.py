"""The door for the real data: DeepMind's dSprites .npz, checked by ``dsprites.load_npz`` and
served by ``DSpritesSource(source="npz")``, chosen on the command line.

The real file cannot be downloaded here, so the tests write one in its layout: the full latents
arrays (737,280 rows), a pickled ``metadata`` dict like the original's, and ``imgs`` streamed
into the archive as zeros except a few known frames (compressed, ~18 MB, a few seconds). Files
that the loader must reject before reading frames carry only the frames' header.
"""

from __future__ import annotations

import json
import sys
import zipfile

import numpy as np
import pytest

from disentangle import cli
from disentangle.data import dsprites as ds
from disentangle.generative.sources import DSpritesSource
from disentangle.io import file_digest
from disentangle.jobs import generative as generative_jobs

FRAME_BYTES = ds.IMAGE_SIZE * ds.IMAGE_SIZE
# frames written into the test file: the procedural frames of these indices, inverted (so they
# differ from what the renderer draws), at chunk edges and both ends of the array
WRITTEN = np.array([0, 1, 8191, 8192, 300_001, ds.N_IMAGES - 1])


@pytest.fixture(scope="module")
def latents() -> tuple[np.ndarray, np.ndarray]:
    return ds.original_latents()


def written_frames() -> np.ndarray:
    return 1 - ds.render_flat(WRITTEN)


def write_npz(
    path,
    latents: tuple[np.ndarray, np.ndarray],
    *,
    frames: dict[int, np.ndarray] | None = None,
    n_frames: int = ds.N_IMAGES,
    arrays: dict[str, np.ndarray] | None = None,
    drop: tuple[str, ...] = (),
) -> None:
    """An .npz in DeepMind's layout (np.savez's member names). ``imgs`` is streamed: a header for
    all 737,280 frames, then ``n_frames`` zero frames with ``frames`` in place (fewer than all:
    a truncated file). ``arrays`` replaces arrays (written whole), ``drop`` leaves some out."""
    classes, values = latents
    contents: dict[str, np.ndarray | None] = {
        "imgs": None,
        "latents_classes": classes,
        "latents_values": values,
        "metadata": np.array({"title": "dSprites", "author": "test"}, dtype=object),
        **(arrays or {}),
    }
    frames = frames or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for key, arr in contents.items():
            if key in drop:
                continue
            with archive.open(f"{key}.npy", "w", force_zip64=True) as fh:
                if arr is not None:
                    np.lib.format.write_array(fh, arr, allow_pickle=True)
                    continue
                header = {"descr": "|u1", "fortran_order": False, "shape": (ds.N_IMAGES, 64, 64)}
                np.lib.format.write_array_header_1_0(fh, header)
                chunk = 8192
                for start in range(0, n_frames, chunk):
                    block = np.zeros((min(chunk, n_frames - start), 64, 64), dtype=np.uint8)
                    for i, frame in frames.items():
                        if start <= i < start + len(block):
                            block[i - start] = frame
                    fh.write(block.tobytes())


@pytest.fixture(scope="module")
def original(tmp_path_factory, latents):
    """A complete file in the original layout, zero frames except ``WRITTEN``."""
    path = tmp_path_factory.mktemp("dsprites") / ds.NPZ_NAME
    write_npz(path, latents, frames=dict(zip(WRITTEN.tolist(), written_frames(), strict=True)))
    return path


def test_npz_source_serves_the_written_frames(original):
    """Through the command line's helper (one load of the full file: ~5 s)."""
    procedural = generative_jobs.generative_source("dsprites", {}, None)
    assert procedural.source == "procedural" and procedural.packed is None

    source = generative_jobs.generative_source("dsprites", {}, None, "npz", str(original))
    assert source.source == "npz"
    packed = source.packed  # what ds.load_npz returned
    assert packed.shape == (ds.N_IMAGES, 64, 8) and packed.dtype == np.uint8
    np.testing.assert_array_equal(ds.unpack(packed, WRITTEN), written_frames())
    # nothing else is set: the packed bits add up to the written frames' pixels
    assert int(np.bitwise_count(packed).sum(dtype=np.int64)) == int(written_frames().sum())

    factors = ds.index_to_factors(WRITTEN)
    x = source.observations(factors)
    assert x.shape == (len(WRITTEN), 1, 64, 64) and x.dtype.is_floating_point
    np.testing.assert_array_equal(x[:, 0].numpy(), written_frames())
    # the same draws as the renderer's stream, looked up in the file
    drawn, u = source.sample(16, np.random.default_rng(3))
    again = source.observations(ds.sample_factors(16, np.random.default_rng(3)))
    assert u is None and np.array_equal(drawn.numpy(), again.numpy())
    # the checkpoint guard tells the two sources apart (and names the file's content)
    assert source.describe() == {"kind": "dsprites", "npz": file_digest(original)}
    assert procedural.describe() == {
        "kind": "dsprites",
        "renderer": file_digest(ds.__file__),
    }
    # the class-level renderer (what callers without a source use) is still the renderer
    np.testing.assert_array_equal(
        DSpritesSource.observations(factors)[:, 0].numpy(), ds.render_flat(WRITTEN)
    )
    with pytest.raises(ValueError, match="only read with source='npz'"):
        generative_jobs.generative_source("dsprites", {}, None, "procedural", str(original))


@pytest.mark.parametrize(
    "kwargs",
    [{"source": "npz"}, {"source": "hdf5"}, {"source": "procedural", "path": "x.npz"}],
)
def test_source_arguments_are_checked(kwargs):
    with pytest.raises(ValueError):
        DSpritesSource(**kwargs)


def _reorder(latents, which: str) -> dict[str, np.ndarray]:
    """Latents in posX-fastest order (a file sorted otherwise), or values in degrees."""
    classes, values = latents
    if which == "classes":
        order = np.lexsort(tuple(classes[:, k] for k in (4, 5, 3, 2, 1)))  # posX fastest
        return {"latents_classes": classes[order], "latents_values": values[order]}
    degrees = values.copy()
    degrees[:, 3] = np.degrees(degrees[:, 3])
    return {"latents_values": degrees}


BAD_FILES = {
    "missing key": ({"drop": ("latents_values",)}, "missing array(s) latents_values"),
    "imgs shape": (
        {"arrays": {"imgs": np.zeros((10, 64, 64), dtype=np.uint8)}},
        "'imgs' has shape (10, 64, 64)",
    ),
    "classes dtype": (
        {"arrays": {"latents_classes": np.zeros((ds.N_IMAGES, 6), dtype=np.int32)}},
        "'latents_classes' has shape (737280, 6) and dtype <i4, expected",
    ),
    "pickled imgs": (
        {"arrays": {"imgs": np.array([{"frames": 1}], dtype=object)}},
        "'imgs' is an array of Python objects",
    ),
    "classes order": ("classes", "'latents_classes' row 1 is [0, 0, 0, 0, 1, 0], expected"),
    "values in degrees": ("values", "'latents_values' row 1024 is"),
    "non-binary frame": (
        {"frames": {5: np.full((64, 64), 255, dtype=np.uint8)}, "n_frames": 8192},
        "'imgs' frame 5 holds value 255; expected binary frames",
    ),
    "truncated frames": ({"n_frames": 100}, "'imgs' is truncated at frame 100"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_rejected_naming_the_file(tmp_path, latents, case):
    options, message = BAD_FILES[case]
    path = tmp_path / f"{case.replace(' ', '_')}.npz"
    if isinstance(options, str):
        options = {"arrays": _reorder(latents, options)}
    write_npz(path, latents, **{"n_frames": 0, **options})
    with pytest.raises(ValueError) as err:
        ds.load_npz(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_not_an_archive_or_missing(tmp_path):
    path = tmp_path / "dsprites.npz"
    path.write_text("not a zip")
    with pytest.raises(ValueError, match=r"dsprites\.npz: not an \.npz \(zip\) archive"):
        ds.load_npz(path)
    with pytest.raises(ValueError, match=r"nothere\.npz: no such file"):
        ds.load_npz(tmp_path / "nothere.npz")


class _Stop(Exception):
    """Raised by the stubs once the command line has been read."""


def test_generative_commands_pass_the_dsprites_options(monkeypatch, tmp_path):
    seen = []

    def fake_source(*args):
        seen.append(args[3:5])  # the dSprites source and path (then the task data's scaling)
        raise _Stop

    monkeypatch.setattr(generative_jobs, "generative_source", fake_source)
    monkeypatch.setattr(
        "disentangle.generative.train.load_generative", lambda path, *a, **k: (None, None)
    )
    spec = json.dumps({"dataset": "dsprites", "spec": {"seed": 0}, "steps": 1})
    common = ["--name", "m", "--model-spec", spec, "--settings", "{}", "--out", "o"]
    npz = ["--dsprites-source", "npz", "--dsprites-path", "d.npz"]
    for argv in (
        ["train-generative", *common, "--checkpoint", "c"],
        ["train-generative", *common, "--checkpoint", "c", *npz],
        ["score-generative", *common, "--model", "m.pt", *npz],
    ):
        with pytest.raises(_Stop):
            cli.main(argv)
    assert seen == [("procedural", None), ("npz", "d.npz"), ("npz", "d.npz")]
    with pytest.raises(SystemExit):  # argparse: not a choice
        cli.main(["train-generative", *common, "--checkpoint", "c", "--dsprites-source", "hdf5"])


def test_workflow_passes_the_archive_to_the_dsprites_models_only(original, tmp_path):
    """config `dsprites: {source: npz, path}`: the dSprites models' training and scoring jobs get
    the archive as an input and as --dsprites-path; the task-data models get neither."""
    import shlex
    import subprocess

    import yaml

    from conftest import REPO

    overlay = tmp_path / "npz.yaml"
    overlay.write_text(yaml.safe_dump({"dsprites": {"source": "npz", "path": str(original)}}))
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "-F", "methods_panels",
         "--configfile", "config/smoke.yaml", str(overlay)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out[-3000:]
    commands = [
        shlex.split(line.split("Shell command: ", 1)[1].split(" > ")[0])
        for line in out.splitlines()
        if "disentangle train-generative" in line or "disentangle score-generative" in line
    ]
    assert commands
    for words in commands:
        spec = yaml.safe_load(words[words.index("--model-spec") + 1])
        on_dsprites = spec["dataset"] == "dsprites"
        assert ("--dsprites-path" in words) == on_dsprites, words[:6]
        if on_dsprites:
            assert words[words.index("--dsprites-path") + 1] == str(original)
            assert words[words.index("--dsprites-source") + 1] == "npz"
