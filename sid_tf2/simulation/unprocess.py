"""Unprocessing: turn an sRGB photograph into the raw data a camera could have recorded.

The steps invert a simple camera pipeline, as in Brooks et al., "Unprocessing Images for Learned
Raw Denoising" (CVPR 2019): tone curve (smoothstep) -> sRGB gamma -> colour correction
(camera -> linear sRGB) -> white balance -> demosaicking. Inverted, in order:

  1. inverse smoothstep    x = 1/2 - sin(asin(1 - 2y) / 3)
  2. inverse sRGB gamma    linear light
  3. linear sRGB -> camera with `rgb_to_cam`, built from an XYZ->camera matrix M (the DNG
     ColorMatrix1) as M @ RGB_TO_XYZ with each row divided by its sum. This is the convention
     dcraw/LibRaw use to render a DNG, so a file that carries M renders back to sRGB.
  4. divide by the white-balance gains (red, 1, blue) the camera would apply; the file's
     AsShotNeutral is their reciprocal.
  5. keep one colour per pixel in the RGGB Bayer pattern, then scale to DN:
     black + x * (white - black), rounded to uint16 (14-bit Sony: 512 and 16383).
"""

import dataclasses

import numpy as np

from sid_tf2.simulation.profiles import get_profile

# Linear sRGB (D65) -> CIE XYZ.
RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)


@dataclasses.dataclass(frozen=True)
class RawMetadata:
    """What a DNG needs to render the unprocessed mosaic back to the photograph.

    Attributes:
      xyz_to_cam: 3x3 XYZ->camera matrix (DNG ColorMatrix1), nested tuples.
      wb_gains: (red, green, blue) white-balance gains the raw data was divided by; green is 1.
      as_shot_neutral: the DNG AsShotNeutral, 1 / wb_gains normalised to green.
      black_level, white_level: DN levels of the mosaic.
      cfa_pattern: "RGGB".
    """

    xyz_to_cam: tuple
    wb_gains: tuple
    as_shot_neutral: tuple
    black_level: int = 512
    white_level: int = 16383
    cfa_pattern: str = "RGGB"

    def to_dict(self):
        return {
            "xyz_to_cam": [list(row) for row in self.xyz_to_cam],
            "wb_gains": list(self.wb_gains),
            "as_shot_neutral": list(self.as_shot_neutral),
            "black_level": self.black_level,
            "white_level": self.white_level,
            "cfa_pattern": self.cfa_pattern,
        }


def inverse_smoothstep(image):
    """Invert the tone curve y = 3x^2 - 2x^3 on [0, 1]."""
    image = np.clip(image, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * image) / 3.0)


def srgb_to_linear(image):
    """Invert the sRGB transfer function (IEC 61966-2-1)."""
    image = np.clip(image, 0.0, 1.0)
    return np.where(image <= 0.04045, image / 12.92, ((image + 0.055) / 1.055) ** 2.4)


def rgb_to_cam(xyz_to_cam):
    """The linear-sRGB -> camera matrix for an XYZ->camera matrix, rows normalised to sum 1
    (so sRGB white maps to camera (1, 1, 1) before white balance)."""
    matrix = np.asarray(xyz_to_cam, dtype=np.float64).reshape(3, 3) @ RGB_TO_XYZ
    return matrix / matrix.sum(axis=1, keepdims=True)


def sample_xyz_to_cam(rng, profile="sony_a7s2"):
    """A profile's XYZ->camera matrix; with several, a random convex combination of them."""
    matrices = get_profile(profile).matrices()
    if len(matrices) == 1:
        return matrices[0].copy()
    weights = rng.uniform(1e-8, 1.0, len(matrices))
    weights /= weights.sum()
    return np.tensordot(weights, matrices, axes=1)


def sample_wb_gains(rng, profile="sony_a7s2"):
    """Random white-balance gains (red, 1, blue) from the profile's ranges."""
    profile = get_profile(profile)
    red = rng.uniform(*profile.red_gain_range)
    blue = rng.uniform(*profile.blue_gain_range)
    return np.array([red, 1.0, blue])


def mosaic_rggb(image):
    """[H, W, 3] -> [H, W]: R at (0, 0), G at (0, 1) and (1, 0), B at (1, 1)."""
    mosaic = np.empty(image.shape[:2], dtype=image.dtype)
    mosaic[0::2, 0::2] = image[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = image[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = image[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = image[1::2, 1::2, 2]
    return mosaic


def unprocess(image, *, xyz_to_cam, wb_gains, black_level=512, white_level=16383):
    """Unprocess an sRGB photograph into a clean RGGB mosaic in DN.

    Args:
      image: [H, W, 3] sRGB in [0, 1] (float) or uint8; H and W even.
      xyz_to_cam: 3x3 XYZ->camera matrix (e.g. from `sample_xyz_to_cam`).
      wb_gains: (red, green, blue) gains, green 1 and the others >= 1 (`sample_wb_gains`).
      black_level, white_level: DN levels.

    Returns:
      (mosaic, metadata): uint16 [H, W] raw values with the black level included, and the
      `RawMetadata` to write into the file.
    """
    image = np.asarray(image)
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H, W, 3], got shape {image.shape}")
    height, width = image.shape[:2]
    if height % 2 or width % 2 or height == 0 or width == 0:
        raise ValueError(f"image height and width must be even and positive, got {height}x{width}")
    gains = np.asarray(wb_gains, dtype=np.float64).reshape(3)
    if gains[1] != 1.0 or np.any(gains < 1.0):
        raise ValueError(f"wb_gains must be (red >= 1, 1, blue >= 1), got {tuple(gains)}")
    linear = srgb_to_linear(inverse_smoothstep(image.astype(np.float32)))
    # Fold the colour matrix and the white balance into one 3x3 product per pixel.
    transform = (rgb_to_cam(xyz_to_cam) / gains[:, None]).astype(np.float32)
    # Only the colour each photosite keeps is computed (a third of the full product).
    raw = np.empty((height, width), dtype=np.float32)
    for (dy, dx), channel in zip(((0, 0), (0, 1), (1, 0), (1, 1)), (0, 1, 1, 2)):
        raw[dy::2, dx::2] = linear[dy::2, dx::2] @ transform[channel]
    np.clip(raw, 0.0, 1.0, out=raw)
    dn = np.rint(raw * np.float32(white_level - black_level) + np.float32(black_level))
    mosaic = dn.astype(np.uint16)
    neutral = 1.0 / gains
    matrix = np.asarray(xyz_to_cam, dtype=np.float64).reshape(3, 3)
    metadata = RawMetadata(
        xyz_to_cam=tuple(tuple(float(v) for v in row) for row in matrix),
        wb_gains=tuple(float(g) for g in gains),
        as_shot_neutral=tuple(float(n) for n in neutral / neutral[1]),
        black_level=int(black_level),
        white_level=int(white_level),
    )
    return mosaic, metadata
