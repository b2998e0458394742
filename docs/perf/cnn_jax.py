#!/usr/bin/env python3
"""JAX's training step on the CNN `initlab throughput --kernel 3` times, for docs/perf/cnn_peers.sh.

Network (NCHW, f32): 1x28x28 -> 3x3 convolutions of 16, 32 and 32 channels with zero
padding 1, the first two of stride 2 (14x14, then 7x7), each followed by ReLU -> the mean
of each channel -> dense 10; softmax cross-entropy, plain SGD lr 0.01, batch 128. The
convolutions are lax.conv_general_dilated (OIHW kernels, as initlab's). Data: synthetic
N(0, 1) images with uniform labels, taken in order. One jit-compiled step per batch, called
from a Python loop, as ../shared/peers/mlp_jax.py's `--mode step`.

With --threads N the process pins itself to N CPUs before importing jax (XLA's flags alone
do not hold it to one core), and with one thread also sets XLA's single-thread flags.

Prints one `RESULT {json}` line: the median samples/s over --epochs timed epochs after a
warm-up one (which includes compilation), and the GEMM flops per sample initlab counts
(forward, weight gradient and, but in the first layer, input gradient of every product).

    venv/bin/python docs/perf/cnn_jax.py --threads 1 --epochs 5
"""
import argparse
import json
import os
import statistics
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--batches", type=int, default=40, help="batches per epoch")
args = ap.parse_args()
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
if args.threads == 1:
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )
import jax  # noqa: E402  (after the pinning and flags)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

BATCH, LR, CLASSES = 128, 0.01, 10
CONVS = [(1, 16, 2), (16, 32, 2), (32, 32, 1)]  # (in, out, stride), 3x3, padding 1
N = BATCH * args.batches

rng = np.random.default_rng(0)
X = jnp.asarray(rng.standard_normal((N, 1, 28, 28), dtype=np.float32))
Y = jnp.asarray(rng.integers(0, CLASSES, N).astype(np.int32))


def he(shape, fan_in):
    return jnp.asarray(rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in)))


params = [(he((o, i, 3, 3), i * 9), jnp.zeros((o,), jnp.float32)) for i, o, _ in CONVS]
params.append((he((32, CLASSES), 32), jnp.zeros((CLASSES,), jnp.float32)))


def loss_fn(params, xb, yb):
    h = xb
    for (w, b), (_, _, stride) in zip(params[:-1], CONVS):
        h = lax.conv_general_dilated(
            h, w, (stride, stride), ((1, 1), (1, 1)), dimension_numbers=("NCHW", "OIHW", "NCHW")
        )
        h = jax.nn.relu(h + b[None, :, None, None])
    w, b = params[-1]
    logits = h.mean(axis=(2, 3)) @ w + b
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))


@jax.jit
def step(params, i):
    xb = lax.dynamic_slice_in_dim(X, i * BATCH, BATCH)
    yb = lax.dynamic_slice_in_dim(Y, i * BATCH, BATCH)
    g = jax.grad(loss_fn)(params, xb, yb)
    return jax.tree_util.tree_map(lambda p, gp: p - LR * gp, params, g)


def epoch(params):
    for i in range(args.batches):
        params = step(params, i)
    return jax.block_until_ready(params)


def flops_per_sample():
    total, size = 0, 28
    for layer, (i, o, stride) in enumerate(CONVS):
        size = (size + 2 - 3) // stride + 1
        products = 2 if layer == 0 else 3
        total += products * 2 * size * size * i * 9 * o
    return total + 3 * 2 * 32 * CLASSES


params = epoch(params)  # warm-up, with compilation
seconds = []
for _ in range(args.epochs):
    start = time.perf_counter()
    params = epoch(params)
    seconds.append(time.perf_counter() - start)
rates = [N / s for s in seconds]
median = statistics.median(rates)
print(
    "RESULT "
    + json.dumps(
        dict(
            peer="jax-cnn",
            threads=args.threads,
            samples_per_s_median=round(median),
            samples_per_s_min=round(min(rates)),
            samples_per_s_max=round(max(rates)),
            flops_per_sample_gemm=flops_per_sample(),
            gflops_gemm_median=round(median * flops_per_sample() * 1e-9, 2),
            jax=jax.__version__,
            XLA_FLAGS=os.environ.get("XLA_FLAGS", ""),
        )
    ),
    flush=True,
)
