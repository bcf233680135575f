#!/usr/bin/env python3
"""bench:sd's PyTorch CPU peer: one UNet step over the weights and inputs bench/sd-step-child.ts wrote.

    /usr/bin/python3 bench/peers/torch_sd_unet.py DIR THREADS RUNS WARMUP OUT_F32

Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread (scripts/install-system-deps.sh): without
OpenBLAS, Debian's torch multiplies with the reference BLAS, many times slower.

The UNet is the independent PyTorch implementation in test/fixtures/sd/make_tiny_sd_oracle.py (plain torch
ops from the diffusers sources; attention as one softmax(QKᵀ)V per head, as diffusers 0.x's default
AttnProcessor computes it with PyTorch 1.13, which has no fused attention). Weights are read tensor by tensor
from the safetensors file (np.fromfile at each offset), so the process holds one copy. Prints one JSON line:
per-run milliseconds, the max RSS (getrusage), torch's version and thread counts and the BLAS it uses.
"""
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "fixtures", "sd"))
from make_tiny_sd_oracle import UNet  # noqa: E402


def read_weights(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", name
        b, end = e["data_offsets"]
        arr = np.fromfile(path, dtype="<f4", count=(end - b) // 4, offset=base + b).reshape(e["shape"])
        out[name] = torch.from_numpy(arr)
    return out


def blas_libraries():
    """The BLAS libraries this process loaded, and OpenBLAS's own report of its kernel (openblas_get_corename)."""
    import ctypes

    found = []
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "blas" in line.lower() and line.split()[-1].startswith("/")})
    for path in paths:
        real = os.path.realpath(path)
        text = real
        try:
            lib = ctypes.CDLL(real)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            text += f" (OpenBLAS kernel {lib.openblas_get_corename().decode()}; {lib.openblas_get_config().decode().strip()}; {lib.openblas_get_num_threads()} thread(s))"
        except (OSError, AttributeError):
            pass
        found.append(text)
    # libblas.so.3 and liblapack.so.3 of one OpenBLAS report the same: name the library itself once.
    own = [t for t in found if "/libopenblas" in t]
    return own or found


def main():
    folder, threads, runs, warmup, out_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    torch.set_grad_enabled(False)
    torch.set_num_threads(threads)
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(folder, "shapes.json")) as f:
        shapes = json.load(f)
    w = read_weights(os.path.join(folder, "unet.safetensors"))
    x = torch.from_numpy(np.fromfile(os.path.join(folder, "sample.f32"), dtype="<f4").reshape(shapes["sample"]))
    ctx = torch.from_numpy(np.fromfile(os.path.join(folder, "context.f32"), dtype="<f4").reshape(shapes["context"]))
    unet = UNet(cfg, w)
    y = None
    for _ in range(warmup):
        y = unet(x, shapes["timestep"], ctx)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        y = unet(x, shapes["timestep"], ctx)
        samples.append((time.perf_counter() - t0) * 1000)
    y.numpy().astype("<f4").tofile(out_path)
    build = torch.__config__.show()
    blas = [kv for kv in build.replace(",", " ").split() if kv.startswith(("BLAS_INFO=", "USE_MKLDNN=", "USE_OPENMP="))]
    blas += blas_libraries()
    print(json.dumps({
        "samples": samples,
        "warmup": warmup,
        "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "blas": blas,
        "parameters": sum(t.numel() for t in w.values()),
    }))


if __name__ == "__main__":
    main()
