"""The explicit name table between the original TF1 checkpoint and the Keras model.

Every tensor of the published checkpoints is listed here with its shape, derived from the
architecture in one place, so that the reader (`tf1_checkpoint`) can check a checkpoint
completely before it assigns anything, and the parity tests can compare this table with the
published index files.
"""

import dataclasses

from sid_tf2.constants import get_camera

# (scope, output channels) of every 3x3 convolution, in the original's order.
_CONV3X3 = (
    ("g_conv1_1", 32), ("g_conv1_2", 32),
    ("g_conv2_1", 64), ("g_conv2_2", 64),
    ("g_conv3_1", 128), ("g_conv3_2", 128),
    ("g_conv4_1", 256), ("g_conv4_2", 256),
    ("g_conv5_1", 512), ("g_conv5_2", 512),
    ("g_conv6_1", 256), ("g_conv6_2", 256),
    ("g_conv7_1", 128), ("g_conv7_2", 128),
    ("g_conv8_1", 64), ("g_conv8_2", 64),
    ("g_conv9_1", 32), ("g_conv9_2", 32),
)  # fmt: skip

# The unnamed tf.Variable filters of the four upsampling steps, in creation order, with the
# Keras layer that holds each and its [2, 2, out, in] shape.
_UPSAMPLE = (
    ("Variable", "up6", (2, 2, 256, 512)),
    ("Variable_1", "up7", (2, 2, 128, 256)),
    ("Variable_2", "up8", (2, 2, 64, 128)),
    ("Variable_3", "up9", (2, 2, 32, 64)),
)

ADAM_SLOTS = ("Adam", "Adam_1")  # first and second moment, as TF1's AdamOptimizer names them
BETA_POWERS = ("beta1_power", "beta2_power")
LAYOUTS = ("release", "full")  # 120 tensors (g_* trained only) / 128 (all variables trained)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One model variable: its TF1 name, its Keras layer and attribute, and its shape."""

    tf1_name: str
    layer: str
    attribute: str  # "kernel" or "bias"
    shape: tuple

    @property
    def is_upsample(self):
        return not self.tf1_name.startswith("g_")


def weight_table(camera="sony"):
    """The 42 model variables of a camera's network, in the original's creation order."""
    camera = get_camera(camera)
    entries = []
    in_channels = camera.in_channels
    upsample = iter(_UPSAMPLE)
    for scope, out_channels in _CONV3X3:
        if scope.endswith("_1") and scope >= "g_conv6":
            # g_conv6_1 .. g_conv9_1 read concat([upsampled, skip]): twice their width.
            tf1_name, layer, shape = next(upsample)
            entries.append(Entry(tf1_name, layer, "kernel", shape))
            in_channels = 2 * out_channels
        entries.append(Entry(f"{scope}/weights", scope, "kernel", (3, 3, in_channels, out_channels)))
        entries.append(Entry(f"{scope}/biases", scope, "bias", (out_channels,)))
        in_channels = out_channels
    entries.append(Entry("g_conv10/weights", "g_conv10", "kernel", (1, 1, 32, camera.out_filters)))
    entries.append(Entry("g_conv10/biases", "g_conv10", "bias", (camera.out_filters,)))
    return entries


def adam_slot_names(entry):
    """`<var>/Adam` and `<var>/Adam_1` of one variable."""
    return tuple(f"{entry.tf1_name}/{slot}" for slot in ADAM_SLOTS)


def checkpoint_shapes(camera="sony", layout="release"):
    """Every tensor name of a TF1 checkpoint with its shape.

    layout "release": the published checkpoints (120 tensors; the upsampling filters were not
    trained, so they have no Adam slots). layout "full": the later code that trains every
    variable (128 tensors).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown layout {layout!r}: expected one of {LAYOUTS}.")
    shapes = {}
    for entry in weight_table(camera):
        shapes[entry.tf1_name] = entry.shape
        if not entry.is_upsample or layout == "full":
            for slot in adam_slot_names(entry):
                shapes[slot] = entry.shape
    for name in BETA_POWERS:
        shapes[name] = ()
    return shapes
