"""Fused CUDA kernels (through CuPy) for the LOD and explicit solvers.

The kernels compute exactly what :mod:`.plans` defines, on the internal 4D
view ``c4`` of shape ``(M, N1, N2, N3)`` (C order: axis 3 is contiguous), and
are checked against :mod:`.reference` in ``tests/test_kernels_cupy.py``.

The kernel bodies are C++ templates in ``cuda/kernels.cu`` (package data);
:func:`~.cupy_launch.cuda_source` appends ``extern "C"`` float and double
entry points generated from :data:`~.cupy_launch.KERNELS`, and
:mod:`.cupy_launch` also computes the launch shapes (this module re-exports
both). The kernels:

``na_explicit``
    One explicit sub-step in one pass: 7-point stencil with ghost values
    (no-flux mirror, Dirichlet bath, periodic wrap), decay, production ``q``
    and consumption ``k``, written to the other buffer. Thread ``x`` runs along
    the contiguous axis 3, ``y`` along axis 2, and the grid's ``z`` over
    ``(mediator, axis 1)`` planes (grid-stride loops beyond the launch limits).
    Sub-steps ping-pong between ``c4`` and ``work4``; an odd count ends with
    one copy back into ``c4``.
``na_lod_strided``
    One thread per grid line along a non-contiguous axis (1 or 2): Thomas
    forward sweep, back substitution and, on periodic axes, the
    Sherman–Morrison correction, in place in global memory. Neighbouring
    threads own neighbouring lines, so every access of a warp is coalesced.
``na_lod_tiled``
    Lines along the contiguous axis 3. One thread per line would read with a
    stride of ``N3`` elements (uncoalesced), so each block loads a tile of
    consecutive lines -- one contiguous chunk of memory -- cooperatively and
    coalesced into shared memory, one thread per line solves its row there
    (rows padded to an odd length: no bank conflicts), and the block writes the
    tile back coalesced. Lines too long for at least ``8`` rows in 48 KiB of
    shared memory (``N3`` above about 1500 in float32, 750 in float64) fall
    back to ``na_lod_strided`` -- correct but uncoalesced; grids that long
    along their last axis are rare here.
``na_react_all``
    The reaction sub-step alone, used only when a plan has no active axis.
    Otherwise the reaction (decay, and ``q``/``k`` when given) is fused into
    the loads of the first sweep, so an LOD step makes one pass per axis.
``na_scatter``
    Vessel voxels: ``c[index[i]] = values[i]`` (indices must be distinct).

Floating-point work is done in the field's dtype (the NumPy reference solves
LOD lines in float64 even for float32 fields; the two agree to ~1e-5).

Nothing here imports CuPy until a step runs. The host-side logic (launch
shapes, argument packing, ping-pong) is written against a small
:class:`KernelRunner` interface, so the tests can drive the very same CUDA
source through a CPU emulation of the launch model where there is no GPU.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict

import numpy as np

from neuroagents.tissue.diffusion.cupy_launch import (
    ELEMENTWISE_THREADS,
    KERNELS,
    NVRTC_OPTIONS,
    _linear_grid,
    _suffix,
    cuda_source,
    explicit_launch_shape,
    kernel_name,
    kernel_params,
    lod_launch_shape,
)
from neuroagents.tissue.diffusion.plans import ExplicitPlan, LODPlan, Vessels

__all__ = [
    "KERNELS",
    "NVRTC_OPTIONS",
    "CupyRunner",
    "KernelRunner",
    "cuda_source",
    "explicit_launch_shape",
    "explicit_step",
    "kernel_name",
    "kernel_params",
    "lod_launch_shape",
    "lod_step",
    "run_explicit_step",
    "run_lod_step",
]

# --- where kernels run ---------------------------------------------------------------------


class KernelRunner:
    """Runs the kernels of :func:`cuda_source`: arrays, launches and cached coefficients.

    :class:`CupyRunner` runs them on a GPU; the tests subclass it to run the
    same source on the CPU. Subclasses implement :meth:`launch`,
    :meth:`asarray`, :meth:`empty_like`, :meth:`copyto` and, when there can be
    several devices, :meth:`device_key`.
    """

    max_cached_plans = 32

    def __init__(self):
        self._coefficients: OrderedDict = OrderedDict()

    def launch(self, name: str, grid: tuple[int, int, int], block: tuple[int, int, int], args: tuple, shared_mem=0):
        """Launch entry point ``name`` (see :func:`kernel_name`)."""
        raise NotImplementedError

    def asarray(self, array, dtype):
        """``array`` as a C-contiguous device array of ``dtype`` (no copy when it already is one)."""
        raise NotImplementedError

    def empty_like(self, array):
        """An uninitialized C-contiguous device array shaped like ``array``."""
        raise NotImplementedError

    def copyto(self, dst, src) -> None:
        """``dst[...] = src`` on the device."""
        raise NotImplementedError

    def check_field(self, c4) -> None:
        """Raise :class:`TypeError` if ``c4`` is not an array this runner's kernels can reach."""

    def device_key(self):
        """What distinguishes devices in the coefficient cache."""
        return None

    def coefficients(self, plan, dtype, build):
        """Device copies of a plan's coefficients, uploaded once per plan, dtype and device.

        The cache holds the plan itself (so its ``id`` is not reused while cached)
        and keeps the :attr:`max_cached_plans` most recently used plans.
        """
        key = (id(plan), np.dtype(dtype).str, self.device_key())
        hit = self._coefficients.get(key)
        if hit is not None and hit[0] is plan:
            self._coefficients.move_to_end(key)
            return hit[1]
        value = build(self, plan, np.dtype(dtype))
        self._coefficients[key] = (plan, value)
        while len(self._coefficients) > self.max_cached_plans:
            self._coefficients.popitem(last=False)
        return value


class CupyRunner(KernelRunner):
    """Runs the kernels on the current CUDA device through a :class:`cupy.RawModule`.

    The module is compiled by NVRTC on first use per device and cached by CuPy
    (in memory and in ``~/.cupy/kernel_cache``).
    """

    def __init__(self):
        super().__init__()
        import cupy

        self._cp = cupy
        self._module = cupy.RawModule(code=cuda_source(), options=NVRTC_OPTIONS)
        self._functions: dict[str, object] = {}

    def launch(self, name, grid, block, args, shared_mem=0):
        fn = self._functions.get(name)
        if fn is None:
            fn = self._functions[name] = self._module.get_function(name)
        fn(tuple(grid), tuple(block), tuple(args), shared_mem=int(shared_mem))

    def asarray(self, array, dtype):
        return self._cp.ascontiguousarray(self._cp.asarray(array), dtype=dtype)

    def empty_like(self, array):
        return self._cp.empty(array.shape, dtype=array.dtype)

    def copyto(self, dst, src):
        self._cp.copyto(dst, src)

    def check_field(self, c4):
        if not isinstance(c4, self._cp.ndarray):
            raise TypeError(
                f"the cupy kernels need cupy arrays, got {type(c4).__module__}.{type(c4).__name__}; "
                "use kernel 'numba' or 'reference' with the numpy backend"
            )

    def device_key(self):
        return self._cp.cuda.Device().id


@functools.cache
def _cupy_runner() -> CupyRunner:
    return CupyRunner()


# --- arguments -------------------------------------------------------------------------------


def _pack(base: str, dtype: np.dtype, values: dict) -> tuple:
    """Arguments of kernel ``base`` in signature order, scalars as exact NumPy types.

    CuPy passes a NumPy scalar with its own width, so an ``int`` parameter must
    get an ``int32`` and a ``long long`` an ``int64``. Arrays are checked
    against the pointer type.
    """
    out = []
    for ctype, name in kernel_params(base):
        v = values[name]
        if ctype.endswith("*"):
            want = np.dtype(np.int64) if "long long" in ctype else dtype
            if v.dtype != want:
                raise TypeError(f"{base}: argument {name} has dtype {v.dtype}, the kernel needs {want}")
            out.append(v)
        elif ctype == "int":
            out.append(np.int32(v))
        elif ctype == "long long":
            out.append(np.int64(v))
        else:  # "T"
            out.append(dtype.type(v))
    return tuple(out)


def _check_field(runner, c4) -> np.dtype:
    runner.check_field(c4)
    dtype = np.dtype(c4.dtype)
    _suffix(dtype)
    if c4.ndim != 4 or not c4.flags.c_contiguous:
        raise ValueError(
            f"c4 must be a C-contiguous array of shape (M, N1, N2, N3); got shape {tuple(c4.shape)}, "
            f"c_contiguous={bool(c4.flags.c_contiguous)}"
        )
    return dtype


def _cell_terms(runner, c4, q4, k4, dummy):
    """``q``/``k`` as contiguous device arrays of ``c4``'s dtype, or ``dummy`` (never read) and a 0 flag."""
    out = []
    for label, a in (("q4", q4), ("k4", k4)):
        if a is None:
            out += [dummy, 0]
            continue
        if tuple(a.shape) != tuple(c4.shape):
            raise ValueError(f"{label} must have the shape of c4 {tuple(c4.shape)}; got {tuple(a.shape)}")
        out += [runner.asarray(a, c4.dtype), 1]
    return out


def _vessels(runner, vessels: Vessels | None, dtype):
    if vessels is None or vessels.empty:
        return None
    return runner.asarray(vessels.flat_index, np.int64), runner.asarray(vessels.values, dtype)


def _fix_vessels(runner, c, vessels, dtype) -> None:
    if vessels is None:
        return
    index, values = vessels
    count = int(index.size)
    grid, block = _linear_grid(count, ELEMENTWISE_THREADS)
    args = _pack("na_scatter", dtype, {"c": c, "index": index, "values": values, "count": count})
    runner.launch(kernel_name("na_scatter", dtype), grid, block, args)


def _work_buffer(runner, c4, work4):
    ok = (
        work4 is not None
        and work4 is not c4
        and tuple(work4.shape) == tuple(c4.shape)
        and work4.dtype == c4.dtype
        and work4.flags.c_contiguous
    )
    return work4 if ok else runner.empty_like(c4)


# --- LOD -------------------------------------------------------------------------------------


def _lod_coefficients(runner, plan: LODPlan, dtype):
    up = functools.partial(runner.asarray, dtype=dtype)
    axes = []
    for ax in plan.axes:
        axes.append(
            {
                "r": up(ax.r),
                "inv_den": up(ax.inv_den),
                "cp": up(ax.cp),
                "rhs_lo": up(ax.rhs_lo),
                "rhs_hi": up(ax.rhs_hi),
                "sm_z": up(ax.sm_z),
                "sm_w": up(ax.sm_w),
                "sm_fac": up(ax.sm_fac),
            }
        )
    return {"decay": up(plan.decay_factor), "sw": up(plan.source_weight), "axes": axes}


def run_lod_step(runner: KernelRunner, c4, plan: LODPlan, q4=None, k4=None, vessels=None, work4=None) -> None:
    """One LOD step (see :mod:`.plans`) on ``c4`` in place, with kernels run by ``runner``.

    Parameters
    ----------
    runner : KernelRunner
    c4 : device array of shape (M, N1, N2, N3), float32 or float64, C-contiguous
    plan : LODPlan
    q4, k4 : device arrays shaped like ``c4``, or None
        Production (nM/min) and first-order consumption (1/min).
    vessels : Vessels or None
        Indices into ``c4.reshape(-1)`` and their values (device or host arrays).
    work4 : ignored
        The LOD sweeps work in place.
    """
    dtype = _check_field(runner, c4)
    co = runner.coefficients(plan, dtype, _lod_coefficients)
    q, has_q, k, has_k = _cell_terms(runner, c4, q4, k4, dummy=co["decay"])
    held = _vessels(runner, vessels, dtype)
    shape4 = tuple(int(s) for s in c4.shape)
    react = {"q": q, "k": k, "has_q": has_q, "has_k": has_k, "dt": plan.dt, "decay": co["decay"], "sw": co["sw"]}
    if not plan.axes:
        total = math.prod(shape4)
        grid, block = _linear_grid(total, ELEMENTWISE_THREADS)
        args = _pack("na_react_all", dtype, {"c": c4, **react, "per_m": total // shape4[0], "total": total})
        runner.launch(kernel_name("na_react_all", dtype), grid, block, args)
        return
    for first, (ax, coeffs) in enumerate(zip(plan.axes, co["axes"], strict=True)):
        shape = lod_launch_shape(shape4, ax.axis, dtype.itemsize)
        base = shape.pop("kernel")
        grid, block, shared = shape.pop("grid"), shape.pop("block"), shape.pop("shared_mem")
        values = {"c": c4, **react, "react": int(first == 0), "periodic": int(ax.periodic), **coeffs, **shape}
        runner.launch(kernel_name(base, dtype), grid, block, _pack(base, dtype, values), shared_mem=shared)
        _fix_vessels(runner, c4, held, dtype)


# --- explicit --------------------------------------------------------------------------------


def _explicit_coefficients(runner, plan: ExplicitPlan, dtype):
    kinds = 0
    for a in range(3):
        for s in range(2):
            kinds |= int(plan.kinds[a, s]) << (4 * a + 2 * s)
    return {
        "rx": runner.asarray(plan.rx, dtype),
        "bath": runner.asarray(plan.values, dtype),
        "decay": runner.asarray(plan.decay_factor, dtype),
        "sw": runner.asarray(plan.source_weight, dtype),
        "kinds": kinds,
    }


def run_explicit_step(runner: KernelRunner, c4, plan: ExplicitPlan, q4=None, k4=None, vessels=None, work4=None):
    """``plan.n_sub`` explicit sub-steps (see :mod:`.plans`) on ``c4`` in place, run by ``runner``.

    Parameters
    ----------
    runner : KernelRunner
    c4 : device array of shape (M, N1, N2, N3), float32 or float64, C-contiguous
    plan : ExplicitPlan
    q4, k4 : device arrays shaped like ``c4``, or None
    vessels : Vessels or None
    work4 : device array shaped like ``c4``, or None
        The second buffer of the ping-pong (allocated when None or unusable).
    """
    dtype = _check_field(runner, c4)
    co = runner.coefficients(plan, dtype, _explicit_coefficients)
    q, has_q, k, has_k = _cell_terms(runner, c4, q4, k4, dummy=co["decay"])
    held = _vessels(runner, vessels, dtype)
    m, n1, n2, n3 = (int(s) for s in c4.shape)
    grid, block = explicit_launch_shape(c4.shape)
    name = kernel_name("na_explicit", dtype)
    fixed = {"q": q, "k": k, "has_q": has_q, "has_k": has_k, "h": plan.h, "rx": co["rx"], "bath": co["bath"]}
    fixed.update(decay=co["decay"], sw=co["sw"], kinds=co["kinds"], n0=m, n1=n1, n2=n2, n3=n3)
    src, dst = c4, _work_buffer(runner, c4, work4)
    for _ in range(plan.n_sub):  # over sub-steps in time
        runner.launch(name, grid, block, _pack("na_explicit", dtype, {"src": src, "dst": dst, **fixed}))
        _fix_vessels(runner, dst, held, dtype)
        src, dst = dst, src
    if src is not c4:
        runner.copyto(c4, src)


# --- the registry's interface ----------------------------------------------------------------


def lod_step(c4, plan: LODPlan, q4=None, k4=None, vessels: Vessels | None = None, work4=None) -> None:
    """One LOD step on the CuPy array ``c4`` in place (see :func:`run_lod_step`)."""
    run_lod_step(_cupy_runner(), c4, plan, q4, k4, vessels, work4)


def explicit_step(c4, plan: ExplicitPlan, q4=None, k4=None, vessels: Vessels | None = None, work4=None) -> None:
    """``plan.n_sub`` explicit sub-steps on the CuPy array ``c4`` in place (see :func:`run_explicit_step`)."""
    run_explicit_step(_cupy_runner(), c4, plan, q4, k4, vessels, work4)
