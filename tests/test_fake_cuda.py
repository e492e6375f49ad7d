"""Every job and function that runs a model, on a fake GPU (tests/fake_cuda.py).

No line of this project had run on CUDA when these were written, and every other test pins the
device to the CPU. Here the model's and encoder's tensors live on a stand-in ``cuda:0`` whose
tensors refuse ``.numpy()`` before ``.cpu()`` and refuse to mix with CPU tensors, as CUDA does;
each job runs through the command line with ``--device cuda``, as a GPU node would run it. A fault
of the class these catch (a table built from a device tensor, inputs or codes built on the CPU for
a model on the GPU, a trainer that ignores its device) fails here without a GPU.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from fake_cuda import DeviceTensor, FakeCudaError, patch_cuda

from conftest import tiny_experiment
from disentangle.cli import main
from disentangle.data.ingredients import write_ingredients
from disentangle.generative import build_model
from disentangle.generative.sources import ArraySource
from disentangle.generative.synthetic import make_ivae_dataset
from disentangle.generative.train import load_generative, represent, train_generative
from disentangle.training import load_trained, train_ensemble

# the scoring sample here is tiny: sklearn warns that its few labels look continuous
pytestmark = pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")

FAKE_NAME = "Fake GPU (tests/fake_cuda.py)"
GRID = {"n_tasks": 6, "seed": 0}  # the analysed network
OOD = {"decoder": "adam", "n_fits": 1, "adam": {"lr": 0.003, "batch_size": 8, "n_batches": 5},
       "ridge": {"penalty": 1e-6}}  # fmt: skip
COMPARISON = {"n_points": 64, "n_bins": 3, "dci_estimators": 2, "ood_penalty": 0.001,
              "floor_draws": 1, "network_tasks": "extremes",
              "intervention": {"num_train": 4, "num_eval": 4, "batch_size": 4},
              "traversal": {"steps": 2, "limit": 1.0}}  # fmt: skip


def quiet(_msg: str) -> None:
    pass


@pytest.fixture
def fake(monkeypatch):
    """A fake ``cuda:0`` for the test (torch reports one GPU; settings restored after)."""
    with patch_cuda(monkeypatch) as mode:
        yield mode


# --------------------------------------------------------------------------------------------
# The stand-in itself
# --------------------------------------------------------------------------------------------


def test_the_fake_device_refuses_what_cuda_refuses(fake):
    x = torch.ones(3).to("cuda")
    assert isinstance(x, DeviceTensor) and x.device == torch.device("cuda", 0) and x.is_cuda
    with pytest.raises(FakeCudaError, match="numpy"):
        (x * 2).numpy()
    with pytest.raises(FakeCudaError, match="numpy"):
        np.asarray(x)
    np.testing.assert_array_equal((x * 2).cpu().numpy(), [2.0, 2.0, 2.0])
    with pytest.raises(FakeCudaError, match="CPU tensor"):
        x + torch.ones(3)
    assert isinstance(x + torch.tensor(1.0), DeviceTensor)  # a 0-d CPU tensor mixes
    assert isinstance(torch.zeros(2, device="cuda"), DeviceTensor)
    with pytest.raises(FakeCudaError, match="generator"):
        torch.rand(2, generator=torch.Generator(), device="cuda")
    torch.use_deterministic_algorithms(True)  # restored by the fixture
    with pytest.raises(FakeCudaError, match="deterministic"):
        x.cumsum(0)
    assert torch.equal(torch.ones(3).cumsum(0), torch.tensor([1.0, 2.0, 3.0]))  # the CPU's is
    net = torch.nn.Linear(3, 2).to("cuda")
    assert isinstance(net.weight, DeviceTensor) and isinstance(net.weight, torch.nn.Parameter)
    with pytest.raises(FakeCudaError):
        net(torch.ones(1, 3))  # a CPU input to a model on the device
    net(x[None]).sum().backward()
    assert isinstance(net.weight.grad, DeviceTensor)


# --------------------------------------------------------------------------------------------
# Trained artefacts (on the CPU) that the jobs read
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    """Ingredients and trained model files of a tiny RNN ensemble and a tiny GPT-2 ensemble, and
    generative models (a β-VAE and an InfoGAN on dSprites, a VAE on the task data)."""
    root = tmp_path_factory.mktemp("fake-cuda")
    out = {"root": root}
    training = {"n_batches": 4, "batch_size": 8, "checkpoint_every": 100, "log_every": 2}
    for arch in ("leaky_rnn", "gpt2"):
        exp = tiny_experiment(f"tiny_{arch}", architecture=arch, seeds=[0], training=training)
        ing = root / f"{arch}.ingredients.pt"
        write_ingredients(exp, str(ing), n_train=128, n_test=64, eval_seed=0)
        model = root / f"{arch}.model.pt"
        train_ensemble(exp, str(ing), str(model), str(root / "c.pt"), device="cpu", log=quiet)
        out[arch] = (exp, ing, model)
    return out


def generative_spec(method: str, dataset: str = "dsprites", **hyper) -> dict:
    return {"dataset": dataset, "spec": {"method": method, "seed": 0, **hyper}, "steps": 2,
            "group": method, "swept": None, "swept_value": None}  # fmt: skip


def train_generative_job(root, name: str, spec: dict, *extra: str) -> str:
    out = root / f"{name}.pt"
    main(["train-generative", "--name", name, "--model-spec", json.dumps(spec),
          "--settings", json.dumps(COMPARISON), "--batch-size", "4", "--out", str(out),
          "--checkpoint", str(root / f"{name}.ckpt"), "--threads", "1", *extra])  # fmt: skip
    return str(out)


@pytest.fixture(scope="module")
def generative_models(artefacts):
    """Generative model files trained on the CPU: dSprites β-VAE and InfoGAN, task-data VAE."""
    root, (_, ing, _) = artefacts["root"], artefacts["leaky_rnn"]
    return {
        "beta_vae": train_generative_job(root, "beta_vae", generative_spec("beta_vae")),
        "infogan": train_generative_job(root, "infogan", generative_spec("infogan")),
        "task_vae": train_generative_job(
            root, "task_vae", generative_spec("vae", "task", n_latent=2), "--ingredients", str(ing)
        ),
    }


def assert_on_the_device(path) -> pd.DataFrame:
    """A job's table records the (fake) GPU it ran on and the deterministic settings."""
    df = pd.read_parquet(path)
    assert len(df) > 0
    assert set(df["device"]) == {"cuda:0"} and set(df["device_name"]) == {FAKE_NAME}
    settings = json.loads(df["determinism"].iloc[0])
    assert settings["deterministic_algorithms"] and not settings["deterministic_warn_only"]
    assert not settings["tf32_matmul"] and not settings["tf32_cudnn"]
    assert settings["cublas_workspace_config"] == ":4096:8" and settings["cudnn_deterministic"]
    return df


# --------------------------------------------------------------------------------------------
# The jobs of a trained ensemble, through the command line, on the fake GPU
# --------------------------------------------------------------------------------------------


def ensemble_args(artefacts, arch: str, command: str, settings: dict, *outputs: str) -> list:
    _, ing, model = artefacts[arch]
    root = artefacts["root"]
    flags = []
    for name in outputs:
        flags += [f"--{name}", str(root / f"{arch}-{command}-{name}.parquet")]
    return [command, "--model", str(model), "--ingredients", str(ing), "--settings",
            json.dumps(settings), *flags, "--device", "cuda", "--threads", "1"]  # fmt: skip


ENSEMBLE_JOBS = {
    "dynamics": (
        {**GRID, "n_trials": 4, "fixed_points": {"n_starts": 4, "n_iters": 3}},
        ("trajectories", "fixed-points", "spectrum"),
    ),
    "tuning": ({**GRID, "tuning_grid": 3}, ("out",)),
    "sparsity": ({"n_stimuli": 16, "seed": 0}, ("out",)),
    "angles": ({"penalty": 0.01, "penalty_sweep": [0.001]}, ("out",)),
    "ood": (OOD, ("out", "out-ridge", "out-baselines")),
    "score-networks": (COMPARISON, ("out",)),
}


@pytest.mark.parametrize("arch", ["leaky_rnn", "gpt2"])
@pytest.mark.parametrize("command", list(ENSEMBLE_JOBS))
def test_ensemble_jobs_run_on_the_device(artefacts, fake, command, arch):
    """dynamics (LSTM/GPT-2 have no fixed points: only the RNN), tuning (GPT-2: its value
    vectors), sparsity, angles, ood, score-networks: every table comes back from the device."""
    if command == "dynamics" and arch == "gpt2":
        pytest.skip("GPT-2 has no recurrent state: the dynamics job is for the RNNs")
    settings, outputs = ENSEMBLE_JOBS[command]
    main(ensemble_args(artefacts, arch, command, settings, *outputs))
    for name in outputs:
        assert_on_the_device(artefacts["root"] / f"{arch}-{command}-{name}.parquet")


def test_baselines_job_runs_on_the_device(artefacts, fake):
    exp, ing, _ = artefacts["leaky_rnn"]
    out = artefacts["root"] / "baselines.parquet"
    main(["baselines", "--experiment", exp.name, "--spec", json.dumps(exp.to_dict()),
          "--ingredients", str(ing), "--settings", json.dumps(OOD), "--out", str(out),
          "--device", "cuda", "--threads", "1"])  # fmt: skip
    df = assert_on_the_device(out)
    assert set(df["baseline"]) == {"raw_input", "integrator", "untrained", "bayes"}


def test_ood_job_writes_the_baselines_command_s_table(artefacts):
    """The workflow's baselines come from the ``ood`` job (``--out-baselines``, one process): the
    table equals, row for row and value for value, the standalone ``baselines`` command's."""
    exp, ing, model = artefacts["leaky_rnn"]
    root = artefacts["root"]
    merged, alone = root / "merged-baselines.parquet", root / "alone-baselines.parquet"
    main(["ood", "--model", str(model), "--ingredients", str(ing), "--settings", json.dumps(OOD),
          "--out", str(root / "merged-ood.parquet"), "--out-baselines", str(merged),
          "--device", "cpu", "--threads", "1"])  # fmt: skip
    main(["baselines", "--experiment", exp.name, "--spec", json.dumps(exp.to_dict()),
          "--ingredients", str(ing), "--settings", json.dumps(OOD), "--out", str(alone),
          "--device", "cpu", "--threads", "1"])  # fmt: skip
    a, b = pd.read_parquet(merged), pd.read_parquet(alone)
    assert set(a["baseline"]) == {"raw_input", "integrator", "untrained", "bayes"}
    pd.testing.assert_frame_equal(a, b)


def test_cpu_tables_keep_their_columns_and_add_the_device_last(artefacts):
    """On the CPU a job's table is what it was, with the three device columns appended."""
    args = ensemble_args(artefacts, "leaky_rnn", "sparsity", {"n_stimuli": 16, "seed": 0}, "out")
    args[args.index("cuda")] = "cpu"
    main(args)
    df = pd.read_parquet(artefacts["root"] / "leaky_rnn-sparsity-out.parquet")
    assert list(df.columns[-3:]) == ["device", "device_name", "determinism"]
    assert set(df["device"]) == {"cpu"}
    assert {"experiment", "n_tasks", "seed", "metric", "value"} <= set(df.columns[:-3])


# --------------------------------------------------------------------------------------------
# The generative models' jobs on the fake GPU
# --------------------------------------------------------------------------------------------


def test_train_generative_job_trains_on_its_device(artefacts, fake):
    """--device reaches the trainer: the model file says it trained on the GPU."""
    path = train_generative_job(
        artefacts["root"], "vae_gpu", generative_spec("vae"), "--device", "cuda"
    )
    _, obj = load_generative(path)
    assert obj["info"]["device"] == "cuda:0" and obj["info"]["device_name"] == FAKE_NAME
    assert obj["info"]["determinism"]["deterministic_algorithms"]
    assert obj["info"]["adam"] == {"vae": "fused"}


@pytest.mark.parametrize("model", ["beta_vae", "infogan", "task_vae"])
def test_score_generative_job_runs_on_the_device(artefacts, generative_models, fake, model):
    spec = generative_spec(*(("vae", "task") if model == "task_vae" else (model,)))
    out = artefacts["root"] / f"score-{model}.parquet"
    extra = ["--ingredients", str(artefacts["leaky_rnn"][1])] if model == "task_vae" else []
    main(["score-generative", "--name", model, "--model", generative_models[model],
          "--model-spec", json.dumps(spec), "--settings", json.dumps(COMPARISON), *extra,
          "--out", str(out), "--device", "cuda"])  # fmt: skip
    assert_on_the_device(out)


@pytest.mark.parametrize("model", ["beta_vae", "infogan"])
def test_traversals_job_runs_on_the_device(artefacts, generative_models, fake, model):
    out = artefacts["root"] / f"traversals-{model}.parquet"
    main(["traversals", "--name", model, "--model", generative_models[model],
          "--model-spec", json.dumps(generative_spec(model)),
          "--settings", json.dumps(COMPARISON), "--out", str(out), "--device", "cuda"])  # fmt: skip
    df = assert_on_the_device(out)
    assert df["image"].iloc[0].shape == (64 * 64,)


# --------------------------------------------------------------------------------------------
# The functions behind the jobs, with a model moved to the fake GPU (the old jobs never moved
# it: these fail there on the functions themselves)
# --------------------------------------------------------------------------------------------


def test_dynamics_tables_of_a_model_on_the_device(artefacts, fake):
    from disentangle.analysis.table_builders import dynamics_tables

    exp, _, path = artefacts["leaky_rnn"]
    _, model, _, encoder, _ = load_trained(str(path), torch.device("cuda", 0))
    assert isinstance(next(model.parameters()), DeviceTensor)
    traj, fixed, spectrum = dynamics_tables(
        model, encoder, exp.task, 1, 0, n_trials=4, n_starts=4, n_iters=3
    )
    assert {"pc1", "pc2", "pc3"} <= set(fixed.columns) and len(spectrum) > 0


@pytest.mark.parametrize("method", ["beta_vae", "infogan"])
def test_traversal_table_of_a_model_on_the_device(generative_models, fake, method):
    from disentangle.comparison import traversal_table

    model, _ = load_generative(generative_models[method], "cuda")
    assert isinstance(next(model.parameters()), DeviceTensor)
    table = traversal_table(model, np.array([0, 5, 0, 16, 16]), 2, 1.0)
    assert len(table) > 0


def test_generative_representation_of_a_model_on_the_device(generative_models, fake):
    from disentangle.generative.train import factor_representation

    model, _ = load_generative(generative_models["beta_vae"], "cuda")
    codes = factor_representation(model)(np.array([[0, 5, 0, 16, 16], [1, 0, 3, 2, 30]]))
    assert codes.shape == (2, 10) and codes.dtype == np.float64


# --------------------------------------------------------------------------------------------
# The trainers on the fake GPU
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch, task",
    [
        ("leaky_rnn", {}),
        ("nonleaky_rnn", {}),
        ("lstm", {}),
        ("gru", {}),
        ("gpt2", {}),
        ("leaky_rnn", {"loss": "mse"}),
        ("leaky_rnn", {"loss": "ddm", "fixation_steps": 0, "decision_steps": 0}),
    ],
)
def test_train_ensemble_on_the_device(tmp_path, fake, arch, task):
    training = {"n_batches": 3, "batch_size": 4, "checkpoint_every": 2, "log_every": 3}
    exp = tiny_experiment(architecture=arch, seeds=[0], training=training, task=task)
    ing = tmp_path / "ing.pt"
    write_ingredients(exp, str(ing), n_train=64, n_test=64, eval_seed=0)
    result = train_ensemble(exp, str(ing), str(tmp_path / "m.pt"), str(tmp_path / "c.pt"),
                            device="cuda", log=quiet)  # fmt: skip
    assert result["info"]["device"] == "cuda:0" and result["info"]["adam"] == "fused"
    assert all(type(t) is torch.Tensor for t in result["model"].values())  # saved from the CPU


@pytest.mark.parametrize(
    "method", ["vae", "beta_vae", "annealed_vae", "beta_tcvae", "factor_vae", "infogan", "ivae"]
)
def test_train_generative_on_the_device(tmp_path, fake, method):
    if method == "ivae":
        data = make_ivae_dataset(0, n_layers=1)
        source = ArraySource(data.x, data.u)
    else:
        from disentangle.generative.sources import DSpritesSource

        source = DSpritesSource()
    result = train_generative({"method": method, "seed": 0}, source, str(tmp_path / "m.pt"),
                              str(tmp_path / "c.pt"), 2, batch_size=4, device="cuda",
                              log=quiet)  # fmt: skip
    assert result["info"]["device"] == "cuda:0"
    model, _ = load_generative(str(tmp_path / "m.pt"), "cuda")
    x, u = source.sample(3, np.random.default_rng(0))
    assert represent(model, x, u).shape[0] == 3


def test_checkpoint_of_another_device_type_is_not_resumed(tmp_path, monkeypatch):
    """A checkpoint written on the CPU is ignored by a run on the GPU (one log line; a fresh
    start), and the run ends as an uninterrupted GPU run."""
    spec = {"method": "vae", "seed": 0}
    source = ArraySource(np.random.default_rng(0).random((32, 6)))
    ckpt = tmp_path / "c.pt"
    train_generative(spec, source, str(tmp_path / "a.pt"), str(ckpt), 4, batch_size=4,
                     device="cpu", log=quiet, stop_after=2, checkpoint_every=2)  # fmt: skip
    assert ckpt.exists()
    messages: list[str] = []
    with patch_cuda(monkeypatch):
        result = train_generative(spec, source, str(tmp_path / "b.pt"), str(ckpt), 4,
                                  batch_size=4, device="cuda", log=messages.append)  # fmt: skip
    assert result["info"]["resumed_from"] == 0
    assert any("written on cpu, this run is on cuda" in m for m in messages), messages


def test_ensemble_checkpoint_of_another_device_type_is_not_resumed(tmp_path, monkeypatch):
    training = {"n_batches": 4, "batch_size": 4, "checkpoint_every": 2, "log_every": 2}
    exp = tiny_experiment(seeds=[0], training=training)
    ing, ckpt = tmp_path / "ing.pt", tmp_path / "c.pt"
    write_ingredients(exp, str(ing), n_train=64, n_test=64, eval_seed=0)
    args = (exp, str(ing), str(tmp_path / "m.pt"), str(ckpt))
    assert train_ensemble(*args, device="cpu", log=quiet, stop_after=2) is None
    messages: list[str] = []
    with patch_cuda(monkeypatch):
        result = train_ensemble(*args, device="cuda", log=messages.append)
    assert result["info"]["resumed_from"] == 0
    assert any("written on cpu, this run is on cuda" in m for m in messages), messages


def test_gpt2_makes_no_host_to_device_copy_per_step(fake):
    """GPT-2's dropout masks are keyed by the training step: the key is hashed on the host, not
    copied to the device every step (a blocking copy on a GPU)."""
    from disentangle.models.gpt2 import GPT2

    g = torch.Generator().manual_seed(0)
    model = GPT2.from_members([GPT2.init_member(5, 16, g) for _ in range(2)]).to("cuda")
    u = torch.rand((2, 3, 4, 5), generator=g).to("cuda")
    model.train()
    before = fake.host_to_device
    for step in range(3):
        model.rng_step = step
        model(u).sum().backward()
    assert fake.host_to_device == before


def test_build_model_on_the_device_draws_on_the_cpu(fake):
    """A model built on the CPU and moved keeps the CPU's draws (seeded generators are CPU)."""
    model = build_model({"method": "vae", "seed": 0}, (6,)).to("cuda")
    assert isinstance(next(model.parameters()), DeviceTensor)
