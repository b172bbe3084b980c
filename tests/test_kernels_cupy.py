"""The fused CUDA kernels (``cupy_kernels``) against the NumPy reference.

Three layers, so that most of it runs where there is no GPU:

* **compile check** -- ``nvcc --ptx`` for sm_80 and sm_90 on the exact source
  the module hands to NVRTC (float and double entry points), whenever
  ``nvcc`` is on PATH;
* **CPU emulation** -- the same source compiled by the host C++ compiler
  behind a small shim of the CUDA launch model (``blockIdx``/``threadIdx``,
  dynamic shared memory, ``__syncthreads`` as a barrier over one OS thread
  per CUDA thread), driven by the module's own host code through
  :class:`EmulatedRunner`. Device arrays are NumPy arrays with poisoned guard
  zones, uninitialized buffers are NaN, and every launch is checked against
  the CUDA limits and the kernel signature. This checks the kernels' index
  math, boundaries, launch shapes, argument order and ping-pong logic;
* **GPU** (``@pytest.mark.gpu``) -- the same comparisons on a real device,
  and the Microenvironment end to end.
"""

from __future__ import annotations

import ctypes
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from neuroagents.tissue.diffusion import cupy_kernels as ck
from neuroagents.tissue.diffusion import cupy_launch as cl
from neuroagents.tissue.diffusion import reference
from neuroagents.tissue.diffusion.plans import KIND_CODES, ExplicitPlan, FieldSpec, LODPlan, Vessels

# --- cases ---------------------------------------------------------------------------------

NF, DI, PE = "no_flux", "dirichlet", "periodic"

CASES = {
    # name: (grid shape, (lo, hi) kind per grid axis)
    "1d-noflux": ((40,), [(NF, NF)]),
    "1d-dirichlet": ((37,), [(DI, DI)]),
    "1d-mixed": ((33,), [(DI, NF)]),
    "1d-periodic": ((41,), [(PE, PE)]),
    "1d-single-voxel-bath": ((1,), [(DI, NF)]),
    "2d-noflux": ((12, 9), [(NF, NF), (NF, NF)]),
    "2d-mixed": ((11, 10), [(DI, NF), (NF, DI)]),
    "2d-periodic": ((10, 13), [(PE, PE), (PE, PE)]),
    "2d-periodic-dirichlet": ((9, 12), [(PE, PE), (DI, DI)]),
    "2d-single-row-bath": ((1, 15), [(DI, DI), (NF, NF)]),
    "2d-single-column-bath": ((14, 1), [(NF, NF), (NF, DI)]),
    "3d-noflux": ((5, 6, 7), [(NF, NF)] * 3),
    "3d-mixed": ((6, 5, 7), [(PE, PE), (DI, NF), (DI, DI)]),
    "3d-periodic": ((4, 6, 5), [(PE, PE)] * 3),
    "3d-many-lines": ((6, 30, 9), [(NF, DI), (PE, PE), (NF, NF)]),
    "3d-thin-bath": ((5, 1, 6), [(NF, NF), (DI, DI), (PE, PE)]),
}
# lines along the contiguous axis too long for shared-memory tiles: the strided fallback
LONG_CASES = {
    "1d-long-noflux": ((1600,), [(NF, NF)]),
    "1d-long-periodic": ((1601,), [(PE, PE)]),
}
TERMS = ["none", "q+k", "q", "k"]
DTYPES = ["float64", "float32"]


def make_spec(shape, kinds, *, m=3, seed=0) -> FieldSpec:
    """A FieldSpec with ``m`` mediators of distinct D and decay, and random bath values."""
    rng = np.random.default_rng(seed)
    pad = 3 - len(shape)
    shape4 = (m,) + (1,) * pad + tuple(shape)
    codes = np.zeros((3, 2), dtype=np.int64)
    values = np.zeros((m, 3, 2))
    spacing = np.ones(3)
    for a, pair in enumerate(kinds):
        ia = pad + a
        spacing[ia] = (10.0, 12.5, 8.0)[a]
        for s, kind in enumerate(pair):
            codes[ia, s] = KIND_CODES[kind]
            if kind == DI:
                values[:, ia, s] = rng.uniform(0.5, 3.0, m)
    diffusion = rng.uniform(20.0, 600.0, m)
    diffusion[0] = 1000.0  # a fast one, so the explicit plan sub-steps
    decay = rng.uniform(0.0, 0.3, m)
    return FieldSpec(shape4, diffusion, decay, spacing, codes, values)


def make_state(spec: FieldSpec, terms: str, dtype, *, seed=1, vessels=True):
    """Initial field (with zeros and spikes), cell terms and vessels for ``spec``."""
    rng = np.random.default_rng(seed)
    shape4 = spec.shape4
    c = rng.uniform(0.0, 2.0, shape4)
    c[rng.random(shape4) < 0.3] = 0.0
    c.reshape(-1)[rng.integers(0, c.size, 3)] = 50.0
    q = rng.uniform(0.0, 1.0, shape4) if "q" in terms else None
    k = rng.uniform(0.0, 0.5, shape4) if "k" in terms else None
    ves = Vessels.none()
    n_vox = math.prod(shape4[1:])
    if vessels and n_vox > 4:
        vox = rng.choice(n_vox, size=max(1, n_vox // 20), replace=False)
        flat = np.concatenate([vox, (spec.shape4[0] - 1) * n_vox + vox])  # the first and last are held
        ves = Vessels(flat.astype(np.int64), rng.uniform(0.0, 5.0, flat.size))
    cast = lambda a: None if a is None else a.astype(dtype)  # noqa: E731
    return cast(c), cast(q), cast(k), Vessels(ves.flat_index, ves.values.astype(dtype))


def make_plan(solver: str, spec: FieldSpec, dt=0.7):
    return LODPlan.build(spec, dt) if solver == "lod" else ExplicitPlan.build(spec, dt)


def reference_run(solver, c, plan, q, k, vessels, steps):
    c = c.copy()
    step = reference.lod_step if solver == "lod" else reference.explicit_step
    for _ in range(steps):
        step(c, plan, q, k, vessels)
    return c


def assert_matches(got, want, dtype):
    scale = max(1.0, float(np.max(np.abs(want))))
    tol = 1e-11 if np.dtype(dtype) == np.float64 else 2e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)
    assert np.all(np.isfinite(got))


# --- host-side logic, no compiler needed ---------------------------------------------------


CUPY_TRIPWIRE = """
import sys

class NoCupy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("cupy", "cupyx"):
            raise AssertionError(f"{name} was imported")

sys.meta_path.insert(0, NoCupy())
import neuroagents.tissue.diffusion.cupy_kernels as m
m.cuda_source()
m.explicit_launch_shape((1, 1, 1, 8))
m.lod_launch_shape((1, 1, 1, 8), 3, 4)
print("ok")
"""


def test_module_imports_without_cupy():
    """Importing the module and building its source never imports cupy (whether or not it is installed)."""
    out = subprocess.run([sys.executable, "-c", CUPY_TRIPWIRE], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_source_has_both_precisions_and_no_includes():
    src = ck.cuda_source()
    assert not any(line.lstrip().startswith("#include") for line in src.splitlines())  # NVRTC has no system headers
    for base in ck.KERNELS:
        for dtype in DTYPES:
            assert f'extern "C" __global__ void {ck.kernel_name(base, dtype)}(' in src


def test_unsupported_dtype_is_refused():
    with pytest.raises(TypeError, match="float32 or float64"):
        ck.kernel_name("na_explicit", "float16")


def _strided_lines(shape4, axis):
    """Element indices of every line the strided kernel solves (a NumPy mirror of its index math)."""
    launch = ck.lod_launch_shape(shape4, axis, 8)
    n, inner, n_lines = launch["n"], math.prod(shape4[axis + 1 :]), launch["n_lines"]
    line = np.arange(n_lines)
    outer = line // inner
    base = outer * n * inner + (line - outer * inner)
    return base[:, None] + np.arange(n)[None, :] * inner, base // math.prod(shape4[1:])


@pytest.mark.parametrize("shape4", [(1, 1, 1, 9), (3, 1, 7, 5), (2, 4, 3, 6), (4, 5, 1, 3), (2, 1, 1, 1)])
@pytest.mark.parametrize("axis", [1, 2, 3])
def test_strided_index_math_covers_every_line_once(shape4, axis):
    """Lines along ``axis`` partition the array; each runs along that axis inside one mediator."""
    idx, m = _strided_lines(shape4, axis)
    np.testing.assert_array_equal(np.sort(idx.reshape(-1)), np.arange(math.prod(shape4)))
    coords = np.stack(np.unravel_index(idx, shape4))  # (4, lines, n)
    for a in range(4):
        same = coords[a] == coords[a][:, :1]
        assert same.all() == (a != axis or shape4[axis] == 1)
    np.testing.assert_array_equal(coords[0][:, 0], m)
    if shape4[axis] > 1:
        assert np.all(np.diff(coords[axis], axis=1) == 1)
    inner = math.prod(shape4[axis + 1 :])
    if inner > 1:  # coalesced: neighbouring threads (lines) start at neighbouring addresses
        starts = idx[:, 0].reshape(-1, inner)
        assert np.all(np.diff(starts, axis=1) == 1)


@pytest.mark.parametrize(
    "shape4",
    [
        (1, 1, 1, 1),
        (3, 1, 1, 7),
        (2, 1, 64, 64),
        (8, 256, 256, 256),
        (120, 1000, 2, 3),
        (2, 1, 100_000, 3),
        (1, 1, 1, 10_000_000),
        (4, 1, 5, 4000),
    ],
)
@pytest.mark.parametrize("itemsize", [4, 8])
def test_launch_shapes_respect_cuda_limits(shape4, itemsize):
    grid, block = ck.explicit_launch_shape(shape4)
    n3 = shape4[3]
    assert math.prod(block) <= 1024 and block[2] == 1
    assert 1 <= grid[0] <= cl.MAX_GRID_X and 1 <= grid[1] <= cl.MAX_GRID_YZ and 1 <= grid[2] <= cl.MAX_GRID_YZ
    assert grid[0] * block[0] >= n3  # x is not looped over in the kernel
    for axis in (1, 2, 3):
        launch = ck.lod_launch_shape(shape4, axis, itemsize)
        assert launch["n"] * launch["n_lines"] == math.prod(shape4)
        assert 1 <= launch["grid"][0] <= cl.MAX_GRID_X and math.prod(launch["block"]) <= 1024
        if launch["kernel"] == "na_lod_tiled":
            assert axis == 3 and launch["row"] % 2 == 1 and launch["row"] >= launch["n"]
            assert launch["shared_mem"] == launch["lines_per_block"] * launch["row"] * itemsize
            assert launch["shared_mem"] <= cl.TILE_SHARED_BYTES
            assert launch["grid"][0] * launch["lines_per_block"] >= launch["n_lines"]
        else:
            assert launch["shared_mem"] == 0
            assert launch["grid"][0] * launch["block"][0] >= min(launch["n_lines"], cl.MAX_GRID_X)


def test_contiguous_axis_uses_tiles_up_to_the_shared_memory_limit():
    assert ck.lod_launch_shape((2, 1, 64, 512), 3, 4)["kernel"] == "na_lod_tiled"
    assert ck.lod_launch_shape((2, 1, 64, 512), 3, 8)["kernel"] == "na_lod_tiled"
    assert ck.lod_launch_shape((2, 1, 64, 512), 2, 4)["kernel"] == "na_lod_strided"
    assert ck.lod_launch_shape((2, 1, 1, 5000), 3, 4)["kernel"] == "na_lod_strided"


# --- compile check with nvcc -----------------------------------------------------------------


def nvcc_ptx(source: str, arch: str, tmp_path) -> tuple[int, str, str]:
    """Compile ``source`` to PTX for ``arch``; (return code, PTX text, compiler messages)."""
    cu = tmp_path / f"kernels_{arch}.cu"
    ptx = tmp_path / f"kernels_{arch}.ptx"
    cu.write_text(source)
    cmd = ["nvcc", "--ptx", f"-arch={arch}", *ck.NVRTC_OPTIONS, "-Werror", "all-warnings", str(cu), "-o", str(ptx)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode, ptx.read_text() if proc.returncode == 0 else "", proc.stdout + proc.stderr


needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH (CUDA toolkit not installed)")


@needs_nvcc
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_cuda_source_compiles_with_nvcc(arch, tmp_path):
    rc, ptx, log = nvcc_ptx(ck.cuda_source(), arch, tmp_path)
    assert rc == 0, f"nvcc failed on cupy_kernels.cuda_source() for {arch}:\n{log}"
    for base in ck.KERNELS:
        for dtype in DTYPES:
            assert f".entry {ck.kernel_name(base, dtype)}(" in ptx


@needs_nvcc
def test_nvcc_check_catches_a_compile_error(tmp_path):
    broken = ck.cuda_source().replace("prev = (v + r * prev) * inv_den[i];", "prev = (v + r * prev) * inv_den[i]")
    assert broken != ck.cuda_source()
    rc, _, log = nvcc_ptx(broken, "sm_90", tmp_path)
    assert rc != 0 and "error" in log


# --- CPU emulation of the CUDA launch model --------------------------------------------------

SHIM = r"""
#include <pthread.h>
#include <cstddef>
#include <thread>
#include <utility>
#include <vector>

struct dim3 { unsigned int x, y, z; };
static thread_local dim3 threadIdx;
static thread_local dim3 blockIdx;
static dim3 blockDim;
static dim3 gridDim;
static pthread_barrier_t na_emu_barrier;
static thread_local int na_emu_sequential = 0;
static int na_emu_error = 0;
extern "C" { double na_smem[1 << 16]; }  // 512 KiB: bigger than any request, checked from Python

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__

static inline void __syncthreads()
{
    if (na_emu_sequential) { na_emu_error = 1; return; }  // a kernel that syncs must run threaded
    pthread_barrier_wait(&na_emu_barrier);
}
"""

LAUNCHER = r"""
template <typename... A, std::size_t... I>
static void na_emu_call(void (*kernel)(A...), void** args, std::index_sequence<I...>)
{
    kernel(*static_cast<A*>(args[I])...);
}

// Blocks run one after another; inside a block either one OS thread per CUDA thread
// (barriers for __syncthreads) or, for kernels without barriers, all threads in turn.
template <typename... A>
static int na_emu_launch(void (*kernel)(A...), const unsigned* dims, void** args, int threaded)
{
    gridDim = {dims[0], dims[1], dims[2]};
    blockDim = {dims[3], dims[4], dims[5]};
    const unsigned nt = blockDim.x * blockDim.y * blockDim.z;
    const unsigned long long nb = (unsigned long long)gridDim.x * gridDim.y * gridDim.z;
    na_emu_error = 0;
    auto worker = [=](unsigned t0, unsigned t1, int sequential) {
        na_emu_sequential = sequential;
        for (unsigned long long b = 0; b < nb; ++b) {
            blockIdx = {unsigned(b % gridDim.x), unsigned((b / gridDim.x) % gridDim.y),
                        unsigned(b / ((unsigned long long)gridDim.x * gridDim.y))};
            for (unsigned t = t0; t < t1; ++t) {
                threadIdx = {t % blockDim.x, (t / blockDim.x) % blockDim.y, t / (blockDim.x * blockDim.y)};
                na_emu_call(kernel, args, std::index_sequence_for<A...>{});
            }
            if (!sequential) pthread_barrier_wait(&na_emu_barrier);  // shared memory is reused
        }
    };
    if (!threaded) {
        worker(0, nt, 1);
    } else {
        pthread_barrier_init(&na_emu_barrier, nullptr, nt);
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < nt; ++t) pool.emplace_back(worker, t, t + 1, 0);
        for (auto& th : pool) th.join();
        pthread_barrier_destroy(&na_emu_barrier);
    }
    return na_emu_error;
}
"""

SMEM_DOUBLES = 1 << 16
GUARD = 256  # elements of poison on each side of every emulated device array


def emulator_source() -> str:
    exports = []
    for base in ck.KERNELS:
        for dtype in DTYPES:
            name = ck.kernel_name(base, dtype)
            exports.append(
                f'extern "C" int emu_{name}(const unsigned* dims, void** args, int threaded)\n'
                f"{{ return na_emu_launch(&{name}, dims, args, threaded); }}"
            )
    return "\n".join([SHIM, ck.cuda_source(), LAUNCHER, *exports])


def compile_emulator(tmp_path_factory, name: str = "cuda_emulator"):
    """The CUDA source compiled as host C++ behind the launch-model shim (a ``ctypes`` library); skips without C++."""
    cxx = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no host C++ compiler (g++, c++ or clang++) to emulate the CUDA kernels on the CPU")
    d = tmp_path_factory.mktemp(name)
    src, lib = d / "emulator.cpp", d / "emulator.so"
    src.write_text(emulator_source())
    flags = ["-std=c++17", "-O2", "-Wall", "-Wextra", "-shared", "-fPIC", "-pthread"]
    if "g++" in cxx:  # the compiler CI uses: its warnings (unused parameters, ...) are errors
        flags.append("-Werror")
    cmd = [cxx, *flags, str(src), "-o", str(lib)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"the CUDA source does not compile as emulated C++:\n{proc.stderr}"
    return ctypes.CDLL(str(lib))


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    return compile_emulator(tmp_path_factory)


_CTYPES = {
    np.dtype(np.int32): ctypes.c_int32,
    np.dtype(np.int64): ctypes.c_int64,
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
}


class EmulatedRunner(ck.KernelRunner):
    """Runs :func:`cupy_kernels.cuda_source` on the CPU; device arrays are guarded NumPy arrays."""

    def __init__(self, lib):
        super().__init__()
        self.lib = lib
        self.owned = {}  # id(view) -> (view, whole buffer)
        self.launches = []

    # device memory
    def alloc(self, shape, dtype, fill=None):
        dtype = np.dtype(dtype)
        n = math.prod(shape)
        buf = np.empty(n + 2 * GUARD, dtype)
        buf[:] = np.nan if dtype.kind == "f" else np.iinfo(dtype).min
        view = buf[GUARD : GUARD + n].reshape(shape)
        if fill is not None:
            view[...] = fill
        self.owned[id(view)] = (view, buf)
        return view

    def device(self, host):
        return None if host is None else self.alloc(host.shape, host.dtype, host)

    def asarray(self, array, dtype):
        if id(array) in self.owned and array.dtype == np.dtype(dtype) and array.flags.c_contiguous:
            return array
        array = np.asarray(array)
        return self.alloc(array.shape, dtype, array.astype(dtype))

    def empty_like(self, array):
        return self.alloc(array.shape, array.dtype)  # NaN: a voxel never written shows up

    def copyto(self, dst, src):
        assert id(dst) in self.owned and id(src) in self.owned
        np.copyto(dst, src)

    def check_guards(self):
        for view, buf in self.owned.values():
            for zone in (buf[:GUARD], buf[GUARD + view.size :]):
                poison = np.isnan(zone) if buf.dtype.kind == "f" else zone == np.iinfo(buf.dtype).min
                assert poison.all(), "a kernel wrote outside an array"

    # launches
    def launch(self, name, grid, block, args, shared_mem=0):
        grid, block = tuple(int(g) for g in grid), tuple(int(b) for b in block)
        assert len(grid) == len(block) == 3 and min(grid + block) >= 1
        assert math.prod(block) <= 1024 and block[2] <= 64
        assert grid[0] <= cl.MAX_GRID_X and grid[1] <= 65535 and grid[2] <= 65535
        assert 0 <= shared_mem <= 48 * 1024
        base, suffix = name.rsplit("_", 1)
        dtype = np.dtype({"f32": np.float32, "f64": np.float64}[suffix])
        params = ck.kernel_params(base)
        assert len(args) == len(params), f"{name}: {len(args)} arguments for {len(params)} parameters"
        storage = []
        for (ctype, pname), a in zip(params, args, strict=True):
            if ctype.endswith("*"):
                want = np.int64 if "long long" in ctype else dtype
                assert isinstance(a, np.ndarray) and id(a) in self.owned, f"{name}.{pname}: not a device array"
                assert a.dtype == want and a.flags.c_contiguous, f"{name}.{pname}: {a.dtype}, needs {want}"
                storage.append(ctypes.c_void_p(a.ctypes.data))
            else:
                want = {"int": np.int32, "long long": np.int64, "T": dtype.type}[ctype]
                assert type(a) is want, f"{name}.{pname}: {type(a).__name__}, the kernel needs {want.__name__}"
                storage.append(_CTYPES[np.dtype(want)](a))
        ptrs = (ctypes.c_void_p * len(storage))(*[ctypes.addressof(s) for s in storage])
        dims = (ctypes.c_uint * 6)(*grid, *block)
        smem = np.ctypeslib.as_array((ctypes.c_double * SMEM_DOUBLES).in_dll(self.lib, "na_smem")).view(np.uint8)
        smem[:] = 0xAB
        threaded = int(base == "na_lod_tiled")
        err = getattr(self.lib, f"emu_{name}")(dims, ptrs, ctypes.c_int(threaded))
        assert err == 0, f"{name} called __syncthreads but was run without threads"
        assert np.all(smem[shared_mem:] == 0xAB), f"{name} used more shared memory than the {shared_mem} B asked for"
        self.check_guards()
        self.launches.append((base, grid, block, shared_mem))


def emulated_run(lib, solver, c, plan, q, k, vessels, steps, *, work=True):
    runner = EmulatedRunner(lib)
    c4, q4, k4 = runner.device(c), runner.device(q), runner.device(k)
    dev_vessels = Vessels(runner.device(vessels.flat_index), runner.device(vessels.values))
    work4 = runner.alloc(c.shape, c.dtype) if work else None
    step = ck.run_lod_step if solver == "lod" else ck.run_explicit_step
    for _ in range(steps):
        step(runner, c4, plan, q4, k4, dev_vessels, work4)
    return np.array(c4), runner


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("terms", TERMS)
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("solver", ["lod", "explicit"])
def test_emulated_kernels_match_reference(emulator, solver, case, terms, dtype):
    shape, kinds = CASES[case]
    spec = make_spec(shape, kinds)
    plan = make_plan(solver, spec)
    c, q, k, ves = make_state(spec, terms, dtype)
    want = reference_run(solver, c, plan, q, k, ves, steps=3)
    got, runner = emulated_run(emulator, solver, c, plan, q, k, ves, steps=3)
    assert_matches(got, want, dtype)
    assert got.min() >= 0.0
    used = {b for b, *_ in runner.launches}
    if solver == "explicit":
        assert used <= {"na_explicit", "na_scatter"} and plan.n_sub >= 1
    elif plan.axes:
        assert "na_react_all" not in used  # the reaction rides on the first sweep


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(LONG_CASES))
@pytest.mark.parametrize("solver", ["lod", "explicit"])
def test_emulated_long_contiguous_lines_use_the_strided_fallback(emulator, solver, case, dtype):
    shape, kinds = LONG_CASES[case]
    spec = make_spec(shape, kinds, m=2)
    plan = make_plan(solver, spec, dt=0.05)
    # no sinks, no vessels: the precomputed-factor kernels (with them, na_lod_general solves every line)
    c, q, k, ves = make_state(spec, "q", dtype, vessels=False)
    want = reference_run(solver, c, plan, q, k, ves, steps=2)
    got, runner = emulated_run(emulator, solver, c, plan, q, k, ves, steps=2)
    assert_matches(got, want, dtype)
    if solver == "lod":
        assert "na_lod_strided" in {b for b, *_ in runner.launches}


@pytest.mark.parametrize("solver", ["lod", "explicit"])
@pytest.mark.parametrize("case", ["3d-mixed", "3d-many-lines", "2d-periodic-dirichlet", "1d-mixed"])
def test_emulated_grid_stride_loops(emulator, monkeypatch, solver, case):
    """With the grid capped at 1-2 blocks, every kernel's grid-stride loop must cover the rest."""
    monkeypatch.setattr(cl, "MAX_GRID_X", 2)
    monkeypatch.setattr(cl, "MAX_GRID_YZ", 1)
    monkeypatch.setattr(cl, "LINE_THREADS", 32)
    monkeypatch.setattr(cl, "TILE_MAX_LINES", 9)
    shape, kinds = CASES[case]
    spec = make_spec(shape, kinds)
    plan = make_plan(solver, spec)
    c, q, k, ves = make_state(spec, "q+k", "float64")
    want = reference_run(solver, c, plan, q, k, ves, steps=2)
    got, runner = emulated_run(emulator, solver, c, plan, q, k, ves, steps=2)
    assert_matches(got, want, "float64")
    assert all(g[0] <= 2 and g[1] == 1 and g[2] == 1 for _, g, _, _ in runner.launches)


@pytest.mark.parametrize("terms", ["none", "q+k"])
def test_emulated_lod_without_active_axes_only_reacts(emulator, terms):
    spec = make_spec((1,), [(NF, NF)])  # one voxel, no bath: nothing diffuses
    plan = LODPlan.build(spec, 0.5)
    assert plan.axes == ()
    c, q, k, ves = make_state(spec, terms, "float64", vessels=False)
    want = reference_run("lod", c, plan, q, k, ves, steps=2)
    got, runner = emulated_run(emulator, "lod", c, plan, q, k, ves, steps=2)
    assert_matches(got, want, "float64")
    assert {b for b, *_ in runner.launches} == {"na_react_all"}


@pytest.mark.parametrize("work", [True, False])
def test_emulated_explicit_ping_pong_ends_in_c4(emulator, work):
    """Odd and even sub-step counts, with and without a work buffer, leave the result in c4."""
    spec = make_spec((10, 8), [(DI, NF), (PE, PE)])
    for dt in (0.05, 0.3, 0.6, 1.1):
        plan = ExplicitPlan.build(spec, dt)
        c, q, k, ves = make_state(spec, "q", "float64")
        want = reference_run("explicit", c, plan, q, k, ves, steps=1)
        got, _ = emulated_run(emulator, "explicit", c, plan, q, k, ves, steps=1, work=work)
        assert_matches(got, want, "float64")
    assert {ExplicitPlan.build(spec, dt).n_sub % 2 for dt in (0.05, 0.3, 0.6, 1.1)} == {0, 1}


def test_emulated_coefficients_upload_once_per_plan(emulator):
    spec = make_spec((6, 5, 7), [(PE, PE), (DI, NF), (DI, DI)])
    plan = LODPlan.build(spec, 0.5)
    runner = EmulatedRunner(emulator)
    c4 = runner.device(make_state(spec, "none", "float32")[0])
    ck.run_lod_step(runner, c4, plan)
    n_arrays = len(runner.owned)
    ck.run_lod_step(runner, c4, plan)
    assert len(runner.owned) == n_arrays  # nothing uploaded the second time
    ck.run_lod_step(runner, runner.device(np.zeros(spec.shape4)), plan)  # float64: its own upload
    assert len(runner.owned) > n_arrays + 1


def test_emulated_lod_keeps_mass_with_closed_boundaries(emulator):
    """No flux, no decay, no sources: every LOD sweep conserves the total (a physical invariant)."""
    spec = make_spec((7, 6, 9), [(NF, NF), (PE, PE), (NF, NF)], m=2)
    spec = FieldSpec(spec.shape4, spec.diffusion, np.zeros(2), spec.spacing, spec.kinds, spec.values)
    c = make_state(spec, "none", "float64", vessels=False)[0]
    got, _ = emulated_run(emulator, "lod", c, LODPlan.build(spec, 2.0), None, None, Vessels.none(), steps=5)
    np.testing.assert_allclose(got.sum(axis=(1, 2, 3)), c.sum(axis=(1, 2, 3)), rtol=1e-12)
    assert got.std() < c.std()  # and it did diffuse


def test_emulator_notices_a_wrong_launch(emulator, monkeypatch):
    """The emulation is a real check: a launch that misses a line is caught."""
    spec = make_spec((8, 6), [(NF, NF), (NF, NF)])
    plan = LODPlan.build(spec, 0.5)
    c = make_state(spec, "none", "float64", vessels=False)[0]
    want = reference_run("lod", c, plan, None, None, Vessels.none(), steps=1)
    real = ck.lod_launch_shape

    def short(shape4, axis, itemsize):
        launch = real(shape4, axis, itemsize)
        launch["n_lines"] -= 1  # the last line is never solved
        return launch

    monkeypatch.setattr(ck, "lod_launch_shape", short)
    got, _ = emulated_run(emulator, "lod", c, plan, None, None, Vessels.none(), steps=1)
    assert not np.allclose(got, want)


# --- on a GPU --------------------------------------------------------------------------------


def _gpu_run(solver, c, plan, q, k, vessels, steps, *, work=True):
    import cupy

    c4 = cupy.asarray(c)
    q4 = None if q is None else cupy.asarray(q)
    k4 = None if k is None else cupy.asarray(k)
    dev = Vessels(cupy.asarray(vessels.flat_index), cupy.asarray(vessels.values))
    work4 = cupy.empty_like(c4) if work else None
    step = ck.lod_step if solver == "lod" else ck.explicit_step
    for _ in range(steps):
        step(c4, plan, q4, k4, dev, work4)
    return cupy.asnumpy(c4)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("terms", TERMS)
@pytest.mark.parametrize("case", list(CASES) + list(LONG_CASES))
@pytest.mark.parametrize("solver", ["lod", "explicit"])
def test_gpu_kernels_match_reference(solver, case, terms, dtype):
    shape, kinds = {**CASES, **LONG_CASES}[case]
    spec = make_spec(shape, kinds)
    plan = make_plan(solver, spec, dt=0.05 if case in LONG_CASES else 0.7)
    c, q, k, ves = make_state(spec, terms, dtype)
    want = reference_run(solver, c, plan, q, k, ves, steps=4)
    got = _gpu_run(solver, c, plan, q, k, ves, steps=4)
    assert_matches(got, want, dtype)
    assert got.min() >= 0.0


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver", ["lod", "explicit"])
def test_gpu_larger_grid_matches_reference(solver, dtype):
    """Sizes where tiles hold many lines and blocks are full (64 x 48 x 40, 3 mediators)."""
    spec = make_spec((64, 48, 40), [(DI, NF), (PE, PE), (NF, DI)])
    plan = make_plan(solver, spec, dt=0.2)
    c, q, k, ves = make_state(spec, "q+k", dtype)
    want = reference_run(solver, c, plan, q, k, ves, steps=2)
    for work in (True, False):
        assert_matches(_gpu_run(solver, c, plan, q, k, ves, steps=2, work=work), want, dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver", ["lod", "explicit"])
def test_gpu_microenvironment_matches_numpy(solver, dtype):
    """End to end: Microenvironment(backend='cupy', kernel='cupy') against the NumPy reference."""
    from neuroagents.mediators import Mediator
    from neuroagents.tissue import Grid, Microenvironment

    meds = [Mediator("A", 300.0, 0.05, 20.0), Mediator("B", 80.0, 0.2, 30.0)]
    grid = Grid((24, 20, 6), spacing_um=10.0)
    boundaries = {
        "xmin": {"kind": "dirichlet", "value_nM": 1.0},
        "ymin": {"kind": "periodic"},
        "ymax": {"kind": "periodic"},
    }
    envs = [
        Microenvironment(grid, meds, boundaries=boundaries, dtype=dtype, backend=be, solver=solver, kernel=kern)
        for be, kern in (("numpy", "reference"), ("cupy", "cupy"))
    ]
    mask = np.zeros(grid.shape, dtype=bool)
    mask[5, 5, :] = True
    for env in envs:
        env.set_vessels(mask, {"A": 2.0})
        env.production_nM_per_min[0, 12, 10, 3] = 5.0
        env.consumption_per_min[1] = 0.1
    for _ in range(5):
        for env in envs:
            env.step(0.5)
    assert_matches(envs[1].to_host(), envs[0].to_host(), dtype)
