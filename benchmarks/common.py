"""Shared helpers of the speed benchmarks: the machine, interleaved timing, peak memory of a
subprocess, the machine's measured peak GFLOP/s, the network's FLOPs and synthetic inputs.

Every benchmark script imports this module first. It puts the repository root on `sys.path`,
so `python benchmarks/<script>.py` works from any directory, also without the editable install,
and the scripts can import `sid_tf2`, `weight_converter` and `parity_tests`.

Nothing here is specific to the CPU: on a machine where TensorFlow lists a GPU, the device
report names it and the peak-throughput probe and every timed call run on it.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
for _path in (REPO_ROOT, BENCH_DIR):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# CPU features that decide which kernels TensorFlow, oneDNN and XLA can use.
CPU_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
             "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")
RESULT_MARKER = "BENCH_RESULT "
PUBLISHED_META = os.path.join("checkpoint", "Sony", "model.ckpt.meta")  # under $SID_REFERENCE_DIR


# --------------------------------------------------------------------------------------------
# The machine

def cpu_info():
    """{"model", "logical_cpus", "usable_cpus", "flags": {flag: bool}} from /proc/cpuinfo."""
    from sid_tf2 import hardware

    model = hardware.read_cpu_model() or platform.processor() or "unknown CPU"
    flags = hardware.read_cpu_flags()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"model": model, "logical_cpus": os.cpu_count(), "usable_cpus": usable,
            "flags": {flag: flag in flags for flag in CPU_FLAGS}}


def gpu_names():
    """Names of the GPUs TensorFlow sees (empty on a CPU-only machine).

    Also turns on memory growth for each (when called before the GPU is initialised, as the
    scripts do), so that the original's TF1 session and the port can share a GPU.
    """
    import tensorflow as tf

    names = []
    for device in tf.config.list_physical_devices("GPU"):
        try:  # the TF1 session and TF2 share the device: let both allocate as they go
            tf.config.experimental.set_memory_growth(device, True)
        except (RuntimeError, ValueError):
            pass  # already initialised
        try:
            details = tf.config.experimental.get_device_details(device)
        except Exception:  # noqa: BLE001 - details are optional
            details = {}
        name = details.get("device_name", device.name)
        capability = details.get("compute_capability")
        names.append(f"{name} (compute capability {capability[0]}.{capability[1]})" if capability else name)
    return names


def load_average():
    """The 1-minute load average (other jobs on the machine skew every absolute time)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def machine_info():
    """Everything a result depends on: CPU, flags, cores, memory, GPU, versions, settings."""
    import keras
    import numpy
    import tensorflow as tf

    from sid_tf2 import hardware

    try:
        memory_gib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (ValueError, OSError, AttributeError):
        memory_gib = float("nan")
    return {
        "cpu": cpu_info(),
        "memory_gib": memory_gib,
        "gpus": gpu_names(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "platform": f"{platform.system()} {platform.release()}",
        "onednn": hardware.onednn_enabled(),
        "load_at_start": load_average(),
        "env": {name: os.environ[name] for name in (
            "TF_ENABLE_ONEDNN_OPTS", "TF_XLA_FLAGS", "XLA_FLAGS", "OMP_NUM_THREADS",
            "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "CUDA_VISIBLE_DEVICES",
            "SID_REFERENCE_DIR") if name in os.environ},
    }


def device_summary(info=None):
    """One line: the device the benchmarks compute on."""
    info = info or machine_info()
    if info["gpus"]:
        return "GPU: " + "; ".join(info["gpus"])
    cpu = info["cpu"]
    present = [flag for flag, on in cpu["flags"].items() if on]
    absent = [flag for flag, on in cpu["flags"].items() if not on]
    return (f"CPU: {cpu['model']}, {cpu['usable_cpus']} usable of {cpu['logical_cpus']} logical CPUs; "
            f"flags present: {' '.join(present) or 'none'}; absent: {' '.join(absent) or 'none'}")


def machine_markdown(info=None):
    """The machine as Markdown lines (device, memory, versions, oneDNN and settings)."""
    info = info or machine_info()
    onednn = "on" if info["onednn"] else "off"
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items()) or "none set"
    return [
        f"- Device: {device_summary(info)}",
        f"- Memory: {info['memory_gib']:.0f} GiB; {info['platform']}",
        f"- Python {info['python']}, TensorFlow {info['tensorflow']}, Keras {info['keras']}, "
        f"NumPy {info['numpy']}",
        f"- oneDNN kernels in TensorFlow: {onednn}; environment: {env}",
        f"- Load average (1 min) at start {info.get('load_at_start', float('nan')):.2f}, "
        f"at end {load_average():.2f} (above 0 means other jobs shared the cores)",
    ]


def command_line():
    """The command that ran this script, as a user would type it."""
    import shlex

    script = os.path.relpath(os.path.abspath(sys.argv[0]), REPO_ROOT)
    return " ".join(["python", shlex.quote(script)] + [shlex.quote(a) for a in sys.argv[1:]])


def print_header(title, info=None):
    print(f"\n## {title}\n")
    for line in machine_markdown(info):
        print(line)
    print(f"- Command: `{command_line()}`\n")


# --------------------------------------------------------------------------------------------
# Timing

def median(values):
    return statistics.median(values) if values else float("nan")


def interleaved(configs, warmup=1, repeats=3, log=print):
    """Time every config in rounds, A, B, C, A, B, C, ..., in one process.

    `configs` maps a name to a callable taking the call's index (0, 1, ...) and returning a
    value; it must block until its work is done (e.g. return NumPy, not a tensor). The first
    `warmup` rounds (tracing, XLA compilation, kernel selection) are timed separately.

    Returns {name: {"first": [s, ...], "times": [s, ...], "median": s, "values": [value, ...]}}
    with every call's return value in order (warm-up calls included).
    """
    results = {name: {"first": [], "times": [], "values": []} for name in configs}
    for round_index in range(warmup + repeats):
        kind = "warm-up" if round_index < warmup else "timed"
        for name, call in configs.items():
            start = time.perf_counter()
            value = call(round_index)
            seconds = time.perf_counter() - start
            entry = results[name]
            (entry["first"] if round_index < warmup else entry["times"]).append(seconds)
            entry["values"].append(value)
            if log:
                log(f"  round {round_index + 1}/{warmup + repeats} ({kind}) {name}: {seconds:.2f} s")
    for entry in results.values():
        entry["median"] = median(entry["times"])
    return results


def spread(times):
    """"min-max" of a list of seconds."""
    return f"{min(times):.2f}-{max(times):.2f}" if times else "-"


def markdown_table(headers, rows, align=None):
    """A Markdown table; `align` is a string of 'l'/'r' per column (default: first l, rest r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Peak memory of a subprocess

def report_result(result):
    """In a child process: print the result dict for `run_child` (the last marked line wins),
    with this process's peak resident memory so far (`vm_hwm_mib`)."""
    print(RESULT_MARKER + json.dumps(dict(result, vm_hwm_mib=peak_rss_mib())), flush=True)


def peak_rss_mib():
    """This process's own peak resident memory in MiB: VmHWM of /proc/self/status (Linux).

    Not `ru_maxrss`: Linux carries the high-water mark of the pre-exec address space over an
    exec, so a child started from a large parent (fork/vfork + exec) reports at least the
    parent's resident size at the fork. VmHWM belongs to the new address space only.
    Falls back to ru_maxrss where /proc is missing.
    """
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib():
    """This process's current resident memory in MiB (Linux), or NaN."""
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run_child(argv, env=None, timeout=None):
    """Run `python argv...` and return (its reported result dict, its peak RSS in MiB).

    The peak is the child's own high-water mark, VmHWM, which the child reports with its
    result through `report_result` (see `peak_rss_mib` for why not ru_maxrss); without a
    reported value, `ru_maxrss` from `os.wait4` on that pid, which may include this process's
    resident size at the fork. Raises RuntimeError (with the end of its stderr) if it fails.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable] + list(argv), stdout=out, stderr=err,
                                   env=env, cwd=REPO_ROOT)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}):\n{stderr[-3000:]}")
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARKER)]
    result = json.loads(lines[-1][len(RESULT_MARKER):]) if lines else {}
    return result, result.get("vm_hwm_mib", usage.ru_maxrss / 1024)  # ru_maxrss: KiB on Linux


def peaks_in_children(names, argv_of, baseline="before inference"):
    """{name: the child's result with "peak_rss_mib"}: each config run in its own process
    (`run_child(argv_of(name))`, which reports "baseline_rss_mib"), with a progress line each;
    a failed child is reported and left out."""
    results = {}
    for name in names:
        print(f"  peak memory of {name} (own process) ...", flush=True)
        try:
            result, peak = run_child(argv_of(name))
        except RuntimeError as error:
            print(f"  {name} failed: {error}", flush=True)
            continue
        results[name] = dict(result, peak_rss_mib=peak)
        print(f"  {name}: peak {peak:.0f} MiB ({baseline} {result['baseline_rss_mib']:.0f} MiB)",
              flush=True)
    return results


# --------------------------------------------------------------------------------------------
# Peak throughput of this machine, and FLOPs of the network

def peak_throughput(dtypes=("float32", "bfloat16"), matmul_size=4096, conv_shape=(1, 256, 256, 256),
                    repeats=4, log=print):
    """Measured GFLOP/s of a square matmul and of a 3x3 SAME convolution per dtype.

    The matmul is `matmul_size`^3 multiply-adds (2 FLOPs each); the convolution maps
    `conv_shape` (N, H, W, C) to C channels. Each runs in a `tf.function` on the default device
    (the GPU if there is one). All probes are timed interleaved (one warm-up round, then
    `repeats` rounds) and each keeps its best run: a peak, since other load on the machine only
    ever slows a run down.

    Returns {dtype: {"matmul": GFLOP/s, "conv": GFLOP/s, "best": GFLOP/s}}.
    """
    import tensorflow as tf

    n = int(matmul_size)
    batch, height, width, channels = conv_shape
    flops = {"matmul": 2.0 * n**3, "conv": 2.0 * batch * height * width * 9 * channels * channels}
    a32 = tf.random.stateless_normal([n, n], seed=[1, 2])
    b32 = tf.random.stateless_normal([n, n], seed=[3, 4])
    x32 = tf.random.stateless_uniform(conv_shape, seed=[5, 6])
    w32 = tf.random.stateless_normal([3, 3, channels, channels], seed=[7, 8]) * 0.02

    def probes(dtype):
        a, b, x, w = (tf.cast(t, dtype) for t in (a32, b32, x32, w32))
        # A scalar result forces completion without copying the whole output to the host.
        matmul = tf.function(lambda: tf.reduce_sum(tf.cast(tf.linalg.matmul(a, b)[:1, :1], tf.float32)))
        conv = tf.function(lambda: tf.reduce_sum(tf.cast(tf.nn.conv2d(x, w, 1, "SAME")[:, :1, :1, :1],
                                                         tf.float32)))
        return {"matmul": lambda i: matmul().numpy(), "conv": lambda i: conv().numpy()}

    calls = {}
    for name in dtypes:
        for probe, call in probes(tf.as_dtype(name)).items():
            calls[(name, probe)] = call
    timed = interleaved(calls, warmup=1, repeats=repeats, log=None)
    results = {}
    for name in dtypes:
        entry = {probe: flops[probe] / min(timed[(name, probe)]["times"]) / 1e9 for probe in ("matmul", "conv")}
        entry["best"] = max(entry["matmul"], entry["conv"])
        results[name] = entry
        if log:
            log(f"  peak probe {name}: matmul {entry['matmul']:.1f} GFLOP/s, conv {entry['conv']:.1f} GFLOP/s")
    return results


def peak_markdown(peaks):
    rows = [[name, f"{p['matmul']:.1f}", f"{p['conv']:.1f}", f"{p['best']:.1f}"] for name, p in peaks.items()]
    return markdown_table(["dtype", "matmul GFLOP/s", "3x3 conv GFLOP/s", "peak used (best)"], rows)


PRECISION_DTYPE = {"float32": "float32", "original": "float32", "mixed_bfloat16": "bfloat16",
                   "mixed_float16": "float16"}


def peak_for(precision, peaks):
    """The measured peak GFLOP/s that bounds a precision, or None.

    float32: the float32 peak. A mixed precision may compute in its 16-bit dtype or in float32
    (XLA on CPU, for one, turns bfloat16 and float16 convolutions into float32 ones), so its
    limit is the larger of the two peaks: on a GPU with tensor cores the 16-bit one, on a CPU
    without native 16-bit arithmetic the float32 one.
    """
    if not peaks:
        return None
    dtype = PRECISION_DTYPE.get(precision, precision)
    candidates = [peaks[name]["best"] for name in {dtype, "float32"} if name in peaks]
    return max(candidates) if candidates else None


def unet_forward_flops(height, width, camera="sony", batch=1):
    """FLOPs of one forward pass of the U-Net on a packed `[batch, height, width, C]` input.

    Counted analytically from the static shapes of the convolution ops in the traced graph of
    the Keras model (a concrete function for that input shape): a convolution costs
    2 x output pixels x kh x kw x in x out FLOPs (one multiply and one add per tap), the
    2x2 stride-2 transposed convolutions 2 x input pixels x 2 x 2 x in x out (every output
    pixel receives one tap per input channel). Bias adds, leaky ReLU, pooling, concatenation
    and depth_to_space are left out: together they are under 0.5 % of the total.

    Returns {"total": FLOPs, "by_op": {op name: FLOPs}}.
    """
    import tensorflow as tf

    from sid_tf2.model import build_unet, get_camera

    model = build_unet(camera, "float32")
    spec = tf.TensorSpec([batch, height, width, get_camera(camera).in_channels], tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    by_op = {}
    for op in graph.get_operations():
        if op.type == "Conv2D":
            out = op.outputs[0].shape.as_list()
            kh, kw, cin, cout = op.inputs[1].shape.as_list()
            by_op[op.name] = 2.0 * out[0] * out[1] * out[2] * kh * kw * cin * cout
        elif op.type == "Conv2DBackpropInput":  # conv2d_transpose
            x = op.inputs[2].shape.as_list()
            kh, kw, cout, cin = op.inputs[1].shape.as_list()
            by_op[op.name] = 2.0 * x[0] * x[1] * x[2] * kh * kw * cin * cout
    if any(value != value for value in by_op.values()) or len(by_op) != 23:
        raise RuntimeError(f"unexpected convolution ops in the traced graph: {sorted(by_op)}")
    return {"total": sum(by_op.values()), "by_op": by_op}


def train_step_flops(height, width, camera="sony", batch=1):
    """FLOPs of one training step: 3x the forward pass.

    The backward pass of a convolution is two convolutions of the forward's size (the
    gradients with respect to its input and to its filter); Adam's updates (7.8 M parameters)
    are negligible. The first convolution needs no input gradient, so this overcounts by
    about 0.4 %.
    """
    return 3.0 * unet_forward_flops(height, width, camera, batch)["total"]


# --------------------------------------------------------------------------------------------
# Inputs

def seeded_model(seed=0, weights=None):
    """The float32 Sony network the scripts time: `weights` loaded, else a seeded random init."""
    import keras

    from sid_tf2.model import build_unet

    keras.utils.set_random_seed(seed)
    model = build_unet("sony", "float32")
    if weights:
        model.load_weights(weights)
    return model


def synthetic_pair(height, width, seed=0, camera="sony"):
    """A fixed, image-like training pair: (packed input [1, h, w, 4], ground truth [1, 2h, 2w, 3]).

    The ground truth is a smooth colour pattern in [0, 1]; the input is its Bayer packing (R,
    G, B, G2 at half resolution, as the original packs) with Gaussian noise, clipped to [0, 1],
    like an amplified low-light frame. Sony only.
    """
    import numpy as np

    if camera != "sony":
        raise ValueError("synthetic_pair makes Sony (Bayer) pairs only.")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:2 * height, 0:2 * width].astype(np.float32)
    phases = rng.uniform(0, 2 * np.pi, size=(3, 2)).astype(np.float32)
    scales = rng.uniform(40, 160, size=(3, 2)).astype(np.float32)
    gt = np.stack([0.5 + 0.35 * np.sin(y / scales[c, 0] + phases[c, 0]) * np.cos(x / scales[c, 1] + phases[c, 1])
                   for c in range(3)], axis=-1).astype(np.float32)
    packed = np.stack([gt[0::2, 0::2, 0], gt[0::2, 1::2, 1], gt[1::2, 1::2, 2], gt[1::2, 0::2, 1]], axis=-1)
    packed = packed + rng.normal(0.0, 0.05, size=packed.shape).astype(np.float32)
    return np.clip(packed, 0.0, 1.0)[None], gt[None]


# --------------------------------------------------------------------------------------------
# The original TF1 graph

def published_meta_path(meta=None):
    """The published Sony meta graph from `meta` or $SID_REFERENCE_DIR, else None."""
    if meta:
        return meta
    reference = os.environ.get("SID_REFERENCE_DIR")
    if reference and os.path.exists(os.path.join(reference, PUBLISHED_META)):
        return os.path.join(reference, PUBLISHED_META)
    return None


def original_graph(model, work_dir, meta=None):
    """The original TF1 graph in its own session, holding `model`'s weights (fresh Adam state).

    The published meta graph when `meta` (or $SID_REFERENCE_DIR) names it, else the tf_slim
    rebuild of parity_tests/tf1_reference.py (both train only the g_* variables). The weights
    travel through a TF1 checkpoint written by weight_converter.save_tf1_checkpoint, which is
    how a user moves port weights into the original.

    Returns (graph session, description).
    """
    from sid_tf2.tf1_checkpoint import save_tf1_checkpoint

    prefix = save_tf1_checkpoint(model, os.path.join(work_dir, "start", "model.ckpt"))
    meta = published_meta_path(meta)
    if meta:
        from parity_tests.published_graph import PublishedMetaGraph

        graph = PublishedMetaGraph(meta)
        description = f"published meta graph {meta}"
    else:
        from parity_tests.tf1_reference import ReferenceNetwork

        graph = ReferenceNetwork("sony", train_deconv=False)
        description = "tf_slim rebuild (parity_tests/tf1_reference.py; no --meta / $SID_REFERENCE_DIR)"
    graph.restore(prefix)
    return graph, description
