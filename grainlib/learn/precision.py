"""Numeric precision of the networks: float32, or mixed precision where the device has it.

``"float32"`` is the plain path: every tensor in float32, contiguous (NCHW) memory; it
gives, bit for bit, the networks trained before this module existed. The mixed paths run
the convolutions under :func:`torch.autocast` with 16-bit floats and keep weights,
optimiser states and losses in float32; on top of that, networks and inputs use
channels-last (NHWC) memory, the layout oneDNN's and cuDNN's fast convolutions want:

- ``"bfloat16"``: float32's range with 8 bits of mantissa, no loss scaling needed; fast on
  CPUs with AVX512-BF16 or AMX and on CUDA devices of compute capability 8.0 and up;
- ``"float16"``: CUDA only, with a gradient scaler (:func:`grad_scaler`) against
  underflowing gradients;
- ``"auto"``: bfloat16 where the device does it natively (CPU: AVX512-BF16; CUDA:
  :func:`torch.cuda.is_bf16_supported`), float16 on older CUDA devices, else float32.

What it buys and costs on our networks is measured by ``benchmarks/speed.py``; whether it
changes results, by the paired comparison in docs/method.md (speed).
"""

from __future__ import annotations

import contextlib

import torch

from grainlib.learn.training import resolve_device

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def cpu_has_bfloat16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX512-BF16), as torch reports it."""
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check()) if check is not None else False


def resolve(precision: str, device: torch.device) -> str:
    """The precision ``precision`` means on ``device``: "float32", "bfloat16" or "float16".

    Raises ValueError for an unknown name, and for float16 on a CPU (slow there, and
    without the loss scaling it needs: use bfloat16 or float32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    device = torch.device(device)
    if precision == "auto":
        if device.type == "cuda":
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "bfloat16" if device.type == "cpu" and cpu_has_bfloat16() else "float32"
    if precision == "float16" and device.type != "cuda":
        raise ValueError(f"precision float16 needs a CUDA device, got {device}; "
                         "use bfloat16 or float32")
    return precision


def autocast(precision: str, device: torch.device):
    """The context that runs a forward pass at ``precision`` (resolved): torch's autocast
    for the 16-bit types, nothing for float32."""
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=_DTYPES[precision])


def layout(value, precision: str):
    """A module or a (B, C, H, W) tensor in the memory layout of ``precision`` (resolved):
    channels-last for the 16-bit types, unchanged for float32. Modules move in place."""
    if precision == "float32":
        return value
    if isinstance(value, torch.nn.Module):
        return value.to(memory_format=torch.channels_last)
    return value.contiguous(memory_format=torch.channels_last)


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """A gradient scaler, enabled for float16 only (elsewhere its ``scale`` and ``step``
    pass through: ``scaler.step(optimizer)`` is ``optimizer.step()``)."""
    device = torch.device(device)
    return torch.amp.GradScaler(device.type, enabled=precision == "float16")


def scaler_state(scaler: torch.amp.GradScaler, name: str = "scaler") -> dict:
    """``{name: scaler}`` when it is enabled, for a checkpoint's optimiser states
    (:func:`grainlib.learn.training.run_steps`); ``{}`` otherwise, so that float32 and
    bfloat16 checkpoints hold what they held before."""
    return {name: scaler} if scaler.is_enabled() else {}


def fingerprint_entry(params: dict) -> dict:
    """What a network's fingerprint takes of its precision: ``{"precision": resolved}``
    on the training device of ``params`` (its ``device`` and ``precision``), or ``{}``
    for float32, so that networks trained before the key existed keep their
    fingerprints. Parameters stored without the key were float32."""
    device = resolve_device(params.get("device", "auto"))
    resolved = resolve(params.get("precision", "float32"), device)
    return {} if resolved == "float32" else {"precision": resolved}


def inference(params: dict) -> str:
    """The precision a network trained with ``params`` predicts at by default: float32
    when it was trained at float32 (or stored before the key existed), so that its
    predictions are those it was validated with; otherwise "auto", the fast path where
    the device has one (a bfloat16-trained network keeps float32 master weights, so it
    runs at float32 on a CPU without bfloat16)."""
    return "float32" if params.get("precision", "float32") == "float32" else "auto"


def adam_options(precision: str) -> dict:
    """Keyword arguments of :class:`torch.optim.Adam` at ``precision`` (resolved): the
    fused kernel on the fast path (a U-Net step's update in 2 ms instead of 8 on one
    core, ``benchmarks/speed.py``), the plain loop for float32, as before."""
    return {} if precision == "float32" else {"fused": True}
