"""The TF1 checkpoint reader and writer, where the converter's users first found them.

They live in `sid_tf2.tf1_checkpoint` (the library loads published checkpoints itself, and
`sid_tf2` never imports this package); these names keep `weight_converter.tf1_checkpoint`
imports working.
"""

from sid_tf2.tf1_checkpoint import (  # noqa: F401  (re-exported)
    CheckpointError,
    LoadSummary,
    adam_step_from_beta_powers,
    check_layout,
    detect_camera,
    load_tf1_checkpoint,
    model_camera,
    read_shapes,
    read_tensors,
    resolve_prefix,
    save_tf1_checkpoint,
    tf1_beta_power,
    write_tf1_checkpoint,
)
