"""Low-light raw simulation: unprocessing photographs, clean raw files of any Bayer camera, a
physics-based noise model with camera profiles (built in, from JSON or calibrated), and synthetic
datasets in SID's layout. `sid_tf2.simulate` is the entry module (CLI and API)."""

from sid_tf2.simulation.camera_profiles import PROFILES, CameraProfile, LogLinear
from sid_tf2.simulation.dataset import (
    SimulationSummary,
    write_synthetic_dataset,
)
from sid_tf2.simulation.layout import (
    assign_photos,
    format_exposure,
    original_exposure_from_name,
    scene_ids,
    split_counts,
)
from sid_tf2.simulation.noise import (
    NoiseParams,
    raw_noise_dn,
    sample_noise_params,
    sample_ratio,
    simulate_short_exposure,
    tukey_lambda,
)
from sid_tf2.simulation.noise_profile import NoiseProfileError, load_noise_profile
from sid_tf2.simulation.profiles import gain_at_iso, get_profile, nominal_iso
from sid_tf2.simulation.raw_sources import RawSource, RawSourceError, list_raw_paths, read_raw_source
from sid_tf2.simulation.sources import (
    SKIMAGE_PHOTOS,
    PhotoError,
    default_photo_paths,
    list_photo_paths,
    read_photo,
    scene_from_photo,
)
from sid_tf2.simulation.unprocess import (
    RawMetadata,
    inverse_smoothstep,
    mosaic_rggb,
    rgb_to_cam,
    sample_wb_gains,
    sample_xyz_to_cam,
    srgb_to_linear,
    unprocess,
)

__all__ = [
    "PROFILES",
    "SKIMAGE_PHOTOS",
    "CameraProfile",
    "LogLinear",
    "NoiseParams",
    "NoiseProfileError",
    "PhotoError",
    "RawMetadata",
    "RawSource",
    "RawSourceError",
    "SimulationSummary",
    "assign_photos",
    "default_photo_paths",
    "format_exposure",
    "gain_at_iso",
    "get_profile",
    "inverse_smoothstep",
    "list_photo_paths",
    "list_raw_paths",
    "load_noise_profile",
    "mosaic_rggb",
    "nominal_iso",
    "original_exposure_from_name",
    "raw_noise_dn",
    "read_photo",
    "read_raw_source",
    "rgb_to_cam",
    "sample_noise_params",
    "sample_ratio",
    "sample_wb_gains",
    "sample_xyz_to_cam",
    "scene_from_photo",
    "scene_ids",
    "simulate_short_exposure",
    "split_counts",
    "srgb_to_linear",
    "tukey_lambda",
    "unprocess",
    "write_synthetic_dataset",
]
