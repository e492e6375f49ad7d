"""A stand-in for a GPU on a machine without one: tensors tagged as "on the device".

The bugs this catches are the ones a CPU-only test suite never sees and a CUDA run hits at once:
``.numpy()`` on a tensor left on the device, a CPU tensor (an input, a code, a mask) mixed with a
device tensor in one op, a factory or a CPU generator drawing onto the device. ``FakeCuda`` makes
the CPU behave like CUDA in exactly those respects:

- ``DeviceTensor`` is a ``torch.Tensor`` subclass (through ``__torch_function__``) holding CPU
  data that stands for a tensor on ``cuda:0``: its ``.device`` says so, ``.numpy()`` (and
  ``np.asarray``) raises ``FakeCudaError`` unless ``.cpu()`` (or ``.to("cpu")``) came first, and
  an op that mixes it with an untagged tensor of one or more dimensions raises too (a 0-d CPU
  tensor mixes, as a CPU scalar does with CUDA tensors). Results of ops on it are tagged; its
  gradients too; ``torch.save`` writes it as a plain tensor (as ``map_location="cpu"`` reads a
  CUDA one back). Under ``torch.use_deterministic_algorithms(True)`` (without ``warn_only``) the
  ops torch lists as having no deterministic CUDA implementation (``torch.cumsum`` of floats,
  ``index_add``, ``scatter_add``, ...) raise on it, as on a GPU.
- ``FakeCuda`` (a ``TorchFunctionMode``) tags what is moved or created on a CUDA device:
  ``.to("cuda")``, ``.cuda()``, ``torch.zeros(..., device="cuda")``; a CPU ``generator`` drawing
  with ``device="cuda"`` raises as torch does; and it counts host-to-device copies
  (``host_to_device``). Entered with ``patch_cuda`` (a pytest ``monkeypatch``), torch reports one
  visible GPU, so ``training.resolve_device("cuda")`` and the jobs' ``--device cuda`` work.

Not modelled: speed, memory, CUDA's rounding, kernels that exist only on the CPU (the ``meta``
device tests cover those) and cross-device copies of views.
"""

from __future__ import annotations

import contextlib

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

FAKE = torch.device("cuda", 0)


class FakeCudaError(RuntimeError):
    """What CUDA would have raised (or, for ``host_to_device`` checks, a copy it would make)."""


def _is_cuda(device) -> bool:
    if device is None:
        return False
    if isinstance(device, int):
        return True  # .to(0): a GPU index
    if isinstance(device, str | torch.device):
        return torch.device(device).type == "cuda"
    return False


def _to_target(args, kwargs):
    """The device ``Tensor.to(...)`` was asked for (None: same device)."""
    if "device" in kwargs:
        return kwargs["device"]
    for a in args[1:]:
        if isinstance(a, str | torch.device | int) and not isinstance(a, bool):
            return a
        if isinstance(a, torch.Tensor):  # .to(other): other's device
            return a.device
    return None


def _plain(t: torch.Tensor) -> torch.Tensor:
    """The same data as an untagged (CPU) tensor, still attached to the autograd graph."""
    with torch._C.DisableTorchFunctionSubclass():
        return t.as_subclass(torch.Tensor) if isinstance(t, DeviceTensor) else t


def tag(t):
    """``t`` (a tensor, or anything holding tensors) as ``DeviceTensor``s."""

    def one(x):
        if isinstance(x, torch.Tensor) and not isinstance(x, DeviceTensor):
            with torch._C.DisableTorchFunctionSubclass():
                return x.as_subclass(DeviceTensor)
        return x

    return tree_map(one, t)


# ops that may take a CPU tensor beside a device tensor on a real GPU too
_MIXING_ALLOWED = {
    torch.Tensor.copy_,  # cross-device copy
    torch.Tensor.__setitem__,  # a slice assignment copies across devices
    torch.Tensor.__getitem__,  # CPU index tensors index a CUDA tensor
    torch.Tensor.to,
    torch.Tensor.cpu,
    torch.Tensor.new_tensor,
}


def _name(func) -> str:
    return getattr(func, "__name__", "") or ""


# ops torch.use_deterministic_algorithms(True) refuses on CUDA (its docstring's list, the ones
# that can run forward here): name -> when (args, kwargs) makes the call non-deterministic
_NONDETERMINISTIC = {
    "cumsum": lambda a, k: a[0].is_floating_point() or a[0].is_complex(),
    "cumsum_": lambda a, k: a[0].is_floating_point() or a[0].is_complex(),
    "index_add": lambda a, k: True,
    "index_add_": lambda a, k: True,
    "scatter_add": lambda a, k: True,
    "scatter_add_": lambda a, k: True,
    "scatter_reduce": lambda a, k: True,
    "scatter_reduce_": lambda a, k: True,
    "histc": lambda a, k: True,
    "put_": lambda a, k: True,
    "nll_loss": lambda a, k: True,
    "bincount": lambda a, k: k.get("weights") is not None or len(a) > 1 and a[1] is not None,
    "median": lambda a, k: len(a) > 1 or "dim" in k,
}


def _check_deterministic(name: str, args, kwargs) -> None:
    rule = _NONDETERMINISTIC.get(name)
    if rule is not None and torch.are_deterministic_algorithms_enabled() and rule(args, kwargs):
        if not torch.is_deterministic_algorithms_warn_only_enabled():
            raise FakeCudaError(
                f"{name} on {FAKE} does not have a deterministic implementation, but "
                "torch.use_deterministic_algorithms(True) is set (CUDA raises here)"
            )


class DeviceTensor(torch.Tensor):
    """CPU data standing for a tensor on ``cuda:0`` (module docstring)."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _name(func)
        owner = getattr(func, "__self__", None)  # a property getter: the descriptor's object
        if name == "__get__" and owner is not None:
            attr = getattr(owner, "__name__", "")
            if attr == "device":
                return FAKE
            if attr == "is_cuda":
                return True
            if attr == "is_cpu":
                return False
        if func in (torch.Tensor.numpy, torch.Tensor.__array__) or name in ("numpy", "__array__"):
            raise FakeCudaError(
                f"{name}() on a tensor on {FAKE}: call .cpu() first (CUDA raises here: "
                "'can't convert cuda:0 device type tensor to numpy')"
            )
        if func is torch._has_compatible_shallow_copy_type:
            # nn.Module.to: a tagged tensor cannot become an untagged parameter's .data
            return isinstance(args[0], DeviceTensor) == isinstance(args[1], DeviceTensor)
        if func is torch.Tensor.__reduce_ex__:
            return _plain(args[0]).__reduce_ex__(*args[1:])
        if func is torch.Tensor.cpu:
            with torch._C.DisableTorchFunctionSubclass():
                return _plain(func(*args, **kwargs))
        if func is torch.Tensor.to:
            target = _to_target(args, kwargs)
            args, kwargs = _strip_device(args, kwargs)
            with torch._C.DisableTorchFunctionSubclass():
                out = func(*args, **kwargs)
            if target is not None and not _is_cuda(target):
                return _plain(out)
            return tag(out)
        if func is torch.Tensor.cuda:
            return args[0]
        _check_deterministic(name, args, kwargs)
        if func not in _MIXING_ALLOWED:
            _check_mixing(name, args, kwargs)
        elif func is torch.Tensor.__getitem__:
            _check_index(args)
        with torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **kwargs)
        inputs = {id(a) for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)}
        if isinstance(out, torch.Tensor) and id(out) in inputs:
            return out  # an in-place op: the same (tagged) object
        if name in ("tolist", "item", "__len__", "dim", "size", "numel") or not _has_tensor(out):
            return out
        return tag(out)


def _has_tensor(out) -> bool:
    return any(isinstance(x, torch.Tensor) for x in tree_flatten(out)[0])


def _strip_device(args, kwargs):
    """``Tensor.to``'s arguments with any CUDA device replaced by the CPU."""
    args = tuple(
        "cpu" if (i > 0 and _is_cuda(a) and not isinstance(a, bool)) else a
        for i, a in enumerate(args)
    )
    kwargs = dict(kwargs)
    if _is_cuda(kwargs.get("device")):
        kwargs["device"] = "cpu"
    return args, kwargs


def _wrapped(t: torch.Tensor) -> bool:
    """A torch.func (jacrev, vmap) wrapper: its device is its wrapped tensor's, unknown here."""
    return torch._C._functorch.is_functorch_wrapped_tensor(t)


def jacrev(func, *args, **kwargs):
    """``torch.func.jacrev`` whose Jacobian is on the fake device when its input is, as on a
    GPU (torch.func unwraps tensor subclasses; install with ``monkeypatch``)."""
    inner = _JACREV(func, *args, **kwargs)

    def wrapper(*xs, **kw):
        out = inner(*xs, **kw)
        on_device = any(isinstance(x, DeviceTensor) for x in tree_flatten((xs, kw))[0])
        return tag(out) if on_device else out

    return wrapper


_JACREV = torch.func.jacrev


def _check_mixing(name: str, args, kwargs) -> None:
    tensors = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
    tagged = any(isinstance(t, DeviceTensor) for t in tensors)
    cpu = [
        t for t in tensors if not isinstance(t, DeviceTensor) and t.dim() > 0 and not _wrapped(t)
    ]
    if tagged and cpu:
        shapes = [tuple(t.shape) for t in cpu]
        raise FakeCudaError(
            f"{name or 'an op'}: expected all tensors on {FAKE}, but found CPU tensor(s) of "
            f"shape {shapes} (move them with .to(device) first)"
        )


def _check_index(args) -> None:
    """Indexing: CPU indices into a device tensor are fine; device indices into a CPU tensor
    are not."""
    base, index = args[0], args[1] if len(args) > 1 else None
    if isinstance(base, DeviceTensor) or base.dim() == 0:
        return
    idx = tree_flatten(index)[0] if isinstance(index, tuple | list) else [index]
    if any(isinstance(i, DeviceTensor) for i in idx):
        raise FakeCudaError(f"indexing a CPU tensor with an index on {FAKE}")


class FakeCuda(TorchFunctionMode):
    """Within this mode CUDA devices are ``DeviceTensor``s on the CPU (module docstring).
    ``host_to_device`` counts the copies from the host to the device made inside it."""

    def __init__(self):
        super().__init__()
        self.host_to_device = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func is torch.Tensor.to or func is torch.Tensor.cuda:
            src = args[0]
            target = FAKE if func is torch.Tensor.cuda else _to_target(args, kwargs)
            if not isinstance(src, DeviceTensor) and _is_cuda(target):
                self.host_to_device += 1
                args, kwargs = _strip_device(args, kwargs)
                if func is torch.Tensor.cuda:
                    return tag(src)
                return tag(func(*args, **kwargs))
            return func(*args, **kwargs)
        if _is_cuda(kwargs.get("device")):
            gen = kwargs.get("generator")
            if gen is not None and gen.device.type != "cuda":
                raise FakeCudaError(
                    f"{_name(func)}: a CPU generator cannot draw on {FAKE} (torch: 'Expected a "
                    "cuda device type for generator')"
                )
            if any(not isinstance(a, torch.Tensor) for a in args[:1]) and _name(func) in (
                "tensor",
                "as_tensor",
            ):
                self.host_to_device += 1  # data from the host, copied to the device
            kwargs["device"] = "cpu"
            return tag(func(*args, **kwargs))
        return func(*args, **kwargs)


@contextlib.contextmanager
def patch_cuda(monkeypatch, name: str = "Fake GPU (tests/fake_cuda.py)"):
    """One visible fake GPU for the block: torch.cuda reports it, ``FakeCuda`` is active, and the
    global settings ``provenance.configure_determinism`` changes on CUDA are restored after it."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    monkeypatch.setattr(torch.version, "cuda", "12.fake")
    monkeypatch.setattr(torch.func, "jacrev", jacrev)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cuda.matmul.allow_tf32,
    )
    mode = FakeCuda()
    try:
        with mode:
            yield mode
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2:4]
        torch.backends.cudnn.allow_tf32 = saved[4]
        torch.backends.cuda.matmul.allow_tf32 = saved[5]
