"""The project's registries: one place per fact, free of TensorFlow.

Cameras, precisions (per backend), purposes and a few numbers are named here once; the flag
choices, the model's checks, the tuner's candidates, the converter's shape checks and the
backends' accepted precisions are all read from these tables. Keeping them free of TensorFlow
lets every command print ``--help`` (and reject a bad flag) without loading it.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Camera:
    """What differs between the Sony (Bayer) and Fuji (X-Trans) networks and their files."""

    name: str
    in_channels: int  # channels of the packed raw input
    block_size: int  # depth_to_space factor: output is block_size times the packed size
    sensor: str  # the mosaic its packing reads
    raw_extension: str  # of the dataset's raw files

    @property
    def first_kernel(self):
        """The shape of g_conv1_1's kernel, by which weights show their camera."""
        return (3, 3, self.in_channels, 32)

    @property
    def out_filters(self):
        """Filters of g_conv10: 3 colour channels for each of block_size**2 output pixels."""
        return 3 * self.block_size**2


CAMERAS = {
    "sony": Camera("sony", in_channels=4, block_size=2, sensor="Bayer", raw_extension=".ARW"),
    "fuji": Camera("fuji", in_channels=9, block_size=3, sensor="X-Trans", raw_extension=".RAF"),
}
CAMERA_NAMES = tuple(CAMERAS)


def get_camera(camera):
    """Return the `Camera` for a name ("sony" or "fuji", any case) or pass one through."""
    if isinstance(camera, Camera):
        return camera
    try:
        return CAMERAS[str(camera).lower()]
    except KeyError:
        raise ValueError(f"Unknown camera {camera!r}: expected one of {sorted(CAMERAS)}.") from None


def first_kernels_text():
    """"[3, 3, 4, 32] (sony) or [3, 3, 9, 32] (fuji)": the first kernels of SID networks."""
    return " or ".join(f"{list(c.first_kernel)} ({c.name})" for c in CAMERAS.values())


def camera_for_channels(channels):
    """The camera whose network takes `channels` packed input channels."""
    for camera in CAMERAS.values():
        if camera.in_channels == channels:
            return camera
    raise ValueError(f"No SID network takes {channels} input channels (expected one of "
                     f"{sorted(c.in_channels for c in CAMERAS.values())}).")


@dataclasses.dataclass(frozen=True)
class Precision:
    """A compute precision of the TensorFlow network: a Keras dtype policy."""

    name: str
    train_loss_rtol: float  # relative loss difference from float32 over a few steps (parity tests)


_PRECISIONS = (Precision("float32", 1e-4), Precision("mixed_float16", 1e-3), Precision("mixed_bfloat16", 1e-2))
PRECISION_TABLE = {precision.name: precision for precision in _PRECISIONS}
PRECISIONS = tuple(PRECISION_TABLE)
"""Compute precisions of the network: Keras dtype policies."""

BACKEND_PRECISIONS = {
    "tensorflow": PRECISIONS,
    "openvino": ("float32", "bfloat16", "int8"),  # bfloat16 pinned by OpenVINO's precision hint
    "litert": ("float32", "float16", "dynamic_int8", "int8"),  # float16: float16 weights
    "onnxruntime": ("float32", "int8"),
}
"""What each inference runtime computes in (`sid_tf2.backends`); the exports' quantisations are
these less float32."""
BACKENDS = tuple(BACKEND_PRECISIONS)
CALIBRATED = ("int8",)
"""Precisions whose conversion needs calibration inputs."""

PURPOSES = ("evaluate", "enhance", "train")
"""What the speed settings are chosen for: test_sony.py, sid-enhance, train_sony.py."""

ALIGNMENT = 16
"""The network's total down-sampling (2^4 max-pools): tile origins and sizes are multiples."""

DEFAULT_TILE_OVERLAP = 128
"""Packed pixels shared by neighbouring tiles in tiled inference."""

RAW_EXTENSIONS = (
    ".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".k25", ".kdc",
    ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw", ".rw2", ".rwl",
    ".sr2", ".srf", ".srw", ".x3f",
)
"""Extensions (lower case) of the raw formats LibRaw reads, which every command takes from a
folder. X-Trans (.raf) and Foveon (.x3f) files are listed too, so that a command that cannot use
them names and refuses them rather than silently passing them over."""
