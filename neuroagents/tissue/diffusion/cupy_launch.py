"""What the CUDA kernels are and how they are launched: the kernel table, the source and launch shapes.

:data:`KERNELS` lists the ``extern "C"`` entry points with their C parameter
lists; :func:`cuda_source` appends the float and double entry points to the
templates in ``cuda/kernels.cu`` (package data); :func:`kernel_name` and
:func:`kernel_params` name them and order their arguments. The launch shapes
(:func:`explicit_launch_shape`, :func:`lod_launch_shape`) are plain integer
arithmetic against the CUDA launch limits below. Nothing here imports CuPy;
:mod:`.cupy_kernels` runs the kernels.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "ELEMENTWISE_THREADS",
    "KERNELS",
    "LINE_THREADS",
    "MAX_GRID_X",
    "MAX_GRID_YZ",
    "NVRTC_OPTIONS",
    "TILE_MAX_LINES",
    "TILE_MIN_LINES",
    "TILE_SHARED_BYTES",
    "TILE_THREADS",
    "cuda_source",
    "explicit_launch_shape",
    "kernel_name",
    "kernel_params",
    "lod_launch_shape",
]

#: Options for NVRTC (CuPy's default standard, stated so the compile check uses the same).
NVRTC_OPTIONS = ("--std=c++14",)

_AXIS_PARAMS = (
    "const T* r, const T* inv_den, const T* cp, const T* rhs_lo, const T* rhs_hi, "
    "const T* sm_z, const T* sm_w, const T* sm_fac"
)
#: Kernel signatures, ``name -> "C parameter list"`` (``T`` is float or double). They generate
#: the ``extern "C"`` entry points of :func:`cuda_source` (each calls ``name_impl<T>`` in
#: ``cuda/kernels.cu`` with the same parameters) and order the arguments of every launch.
KERNELS: dict[str, str] = {
    "na_react_all": "T* c, const T* q, const T* k, int has_q, int has_k, T dt, const T* decay, const T* sw, "
    "long long per_m, long long total",
    "na_scatter": "T* c, const long long* index, const T* values, long long count",
    "na_explicit": "const T* src, T* dst, const T* q, const T* k, int has_q, int has_k, T h, const T* rx, "
    "const T* bath, const T* decay, const T* sw, int kinds, int n0, int n1, int n2, int n3",
    "na_lod_strided": "T* c, const T* q, const T* k, int react, int has_q, int has_k, T dt, const T* decay, "
    "const T* sw, "
    "long long n_lines, long long inner, long long per_m, int n, int periodic, " + _AXIS_PARAMS,
    "na_lod_tiled": "T* c, const T* q, const T* k, int react, int has_q, int has_k, T dt, const T* decay, "
    "const T* sw, "
    "long long n_lines, long long lines_per_m, int lines_per_block, int row, int n, int periodic, " + _AXIS_PARAMS,
}

_SUFFIX = {np.dtype(np.float32): ("f32", "float"), np.dtype(np.float64): ("f64", "double")}

# Launch limits and choices (CUDA: block <= 1024 threads, grid.y/z <= 65535, 48 KiB of
# dynamic shared memory per block without an opt-in).
MAX_GRID_X = 2**31 - 1
MAX_GRID_YZ = 65535
ELEMENTWISE_THREADS = 256
LINE_THREADS = 128
TILE_THREADS = 128
TILE_SHARED_BYTES = 48 * 1024
TILE_MAX_LINES = 128
TILE_MIN_LINES = 8


def kernel_name(base: str, dtype) -> str:
    """Name of the ``extern "C"`` entry point of kernel ``base`` for ``dtype``.

    Examples
    --------
    >>> kernel_name("na_explicit", "float32")
    'na_explicit_f32'
    """
    return f"{base}_{_suffix(dtype)[0]}"


def _suffix(dtype) -> tuple[str, str]:
    dt = np.dtype(dtype)
    if dt not in _SUFFIX:
        raise TypeError(f"fields of dtype {dt} are not supported by the cupy kernels: use float32 or float64")
    return _SUFFIX[dt]


def kernel_params(base: str) -> tuple[tuple[str, str], ...]:
    """Parameters of kernel ``base`` as ``(C type, name)`` pairs, in order.

    Examples
    --------
    >>> kernel_params("na_scatter")[:2]
    (('T*', 'c'), ('const long long*', 'index'))
    """
    out = []
    for param in KERNELS[base].split(","):
        ctype, name = param.strip().rsplit(" ", 1)
        out.append((ctype, name))
    return tuple(out)


@functools.cache
def cuda_source() -> str:
    """The complete CUDA C++ source: ``cuda/kernels.cu`` plus float and double entry points.

    Compiled as it is by NVRTC (:class:`CupyRunner`), by ``nvcc`` in the compile
    check and by the host C++ compiler in the tests' CPU emulation.

    Returns
    -------
    str
    """
    from importlib.resources import files

    parts = [(files(__package__) / "cuda" / "kernels.cu").read_text(encoding="utf-8")]
    parts.append("// ---- entry points (generated from neuroagents.tissue.diffusion.cupy_launch.KERNELS) ----")
    for suffix, ctype in _SUFFIX.values():
        for base in KERNELS:
            params = kernel_params(base)
            decl = ", ".join(f"{t.replace('T', ctype)} {name}" for t, name in params)
            call = ", ".join(name for _, name in params)
            parts.append(
                f'extern "C" __global__ void {base}_{suffix}({decl})\n{{\n    {base}_impl<{ctype}>({call});\n}}\n'
            )
    return "\n".join(parts)


# --- launch shapes ---------------------------------------------------------------------------


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def _linear_grid(count: int, threads: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    return (max(1, min(_ceil_div(count, threads), MAX_GRID_X)), 1, 1), (threads, 1, 1)


def explicit_launch_shape(shape4) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Grid and block of ``na_explicit`` for a field of shape ``(M, N1, N2, N3)``.

    Block ``x`` spans the contiguous axis (up to 256 threads); the rest of 256
    threads go to axis 2. Grid ``y`` and ``z`` are capped at the CUDA limit;
    the kernel loops over what lies beyond.

    Returns
    -------
    grid, block : tuple of 3 int
    """
    m, n1, n2, n3 = (int(s) for s in shape4)
    bx = min(ELEMENTWISE_THREADS, _pow2_at_least(n3))
    by = min(ELEMENTWISE_THREADS // bx, _pow2_at_least(n2))
    grid = (_ceil_div(n3, bx), max(1, min(_ceil_div(n2, by), MAX_GRID_YZ)), max(1, min(m * n1, MAX_GRID_YZ)))
    return grid, (bx, by, 1)


def lod_launch_shape(shape4, axis: int, itemsize: int) -> dict:
    """How the lines along ``axis`` (1, 2 or 3) of a field of shape ``(M, N1, N2, N3)`` are solved.

    Returns
    -------
    dict
        ``kernel`` (``"na_lod_tiled"`` or ``"na_lod_strided"``), ``grid``,
        ``block``, ``shared_mem`` (bytes) and the kernel's shape parameters:
        ``n``, ``n_lines`` and ``inner``, ``per_m`` (strided) or
        ``lines_per_m``, ``lines_per_block``, ``row`` (tiled).
    """
    shape4 = tuple(int(s) for s in shape4)
    n = shape4[axis]
    inner = math.prod(shape4[axis + 1 :])
    per_m = math.prod(shape4[1:])
    n_lines = math.prod(shape4) // n
    if axis == 3:
        row = n | 1  # odd row length: the threads of a warp hit distinct banks
        fit = TILE_SHARED_BYTES // (row * itemsize)
        if fit >= TILE_MIN_LINES:
            lines = min(fit, TILE_MAX_LINES, n_lines)
            if lines >= 32:
                lines -= lines % 32
            return {
                "kernel": "na_lod_tiled",
                "grid": (max(1, min(_ceil_div(n_lines, lines), MAX_GRID_X)), 1, 1),
                "block": (TILE_THREADS, 1, 1),
                "shared_mem": lines * row * itemsize,
                "n": n,
                "n_lines": n_lines,
                "lines_per_m": per_m // n,
                "lines_per_block": lines,
                "row": row,
            }
    grid, block = _linear_grid(n_lines, LINE_THREADS)
    return {
        "kernel": "na_lod_strided",
        "grid": grid,
        "block": block,
        "shared_mem": 0,
        "n": n,
        "n_lines": n_lines,
        "inner": inner,
        "per_m": per_m,
    }
