"""Low-light raw simulation: unprocessing photographs, a physics-based noise model, and
synthetic datasets in SID's layout. `sid_tf2.simulate` is the entry module (CLI and API)."""

from sid_tf2.simulation.dataset import (
    SimulationSummary,
    assign_photos,
    exposure_from_name,
    format_exposure,
    scene_ids,
    split_counts,
    write_synthetic_dataset,
)
from sid_tf2.simulation.noise import (
    NoiseParams,
    raw_noise_dn,
    sample_noise_params,
    sample_ratio,
    simulate_short_exposure,
    tukey_lambda,
)
from sid_tf2.simulation.profiles import PROFILES, CameraProfile, LogLinear, get_profile, nominal_iso
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
    "PhotoError",
    "RawMetadata",
    "SimulationSummary",
    "assign_photos",
    "default_photo_paths",
    "exposure_from_name",
    "format_exposure",
    "get_profile",
    "inverse_smoothstep",
    "list_photo_paths",
    "mosaic_rggb",
    "nominal_iso",
    "raw_noise_dn",
    "read_photo",
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
