"""sid-enhance: SID networks on anyone's raw files (the user's manual is docs/enhancing.md).

The path of one file, top to bottom:
  `sid_tf2.photo_inputs`  which files the arguments name, and the automatic ratio
  `decode`   read a raw file, check its sensor against the network, pack and amplify it
  `folder`   `enhance_file` (one file through the network) and `FolderRun` (sid-enhance's run
             over many: decoding, the network and writing overlap; a line per file in order)
  `output`   the images of one file (`OutputOptions`: format, bit depth, compare, orientation),
             all written or none, with the raw file's metadata
  `command`  the flags, `main` (exit status 0, 1 or 2) and `run`, the console script

Nothing here imports TensorFlow at import time, so `sid-enhance --help` and usage errors answer
at once; `main` loads it once the flags are checked.
"""

from absl import flags  # noqa: F401  (`sid_tf2.enhance.flags.FlagValues()` in tests/test_faults.py)

from sid_tf2.enhance.command import DEFAULT_TILE_SIZE, define_flags, main, run
from sid_tf2.enhance.decode import DecodedFile, decode_file
from sid_tf2.enhance.folder import FolderRun, enhance_file, run_network
from sid_tf2.enhance.output import (
                                    FORMAT_EXTENSIONS,
                                    EnhanceResult,
                                    OutputOptions,
                                    apply_orientation,
                                    compare_image,
                                    output_paths,
                                    software_tag,
                                    write_output,
                                    write_results,
)
from sid_tf2.photo_inputs import AUTO_PERCENTILE, AUTO_TARGET, RAW_EXTENSIONS, auto_ratio, collect_inputs

__all__ = [
    "AUTO_PERCENTILE",
    "AUTO_TARGET",
    "DEFAULT_TILE_SIZE",
    "FORMAT_EXTENSIONS",
    "RAW_EXTENSIONS",
    "DecodedFile",
    "EnhanceResult",
    "FolderRun",
    "OutputOptions",
    "apply_orientation",
    "auto_ratio",
    "collect_inputs",
    "compare_image",
    "decode_file",
    "define_flags",
    "enhance_file",
    "main",
    "output_paths",
    "run",
    "run_network",
    "software_tag",
    "write_output",
    "write_results",
]
