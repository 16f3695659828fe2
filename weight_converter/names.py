"""The TF1 <-> Keras name table, where the converter's users first found it.

It lives in `sid_tf2.tf1_names`, beside the checkpoint reader that checks bundles against it;
these names keep `weight_converter.names` imports working.
"""

from sid_tf2.tf1_names import (  # noqa: F401  (re-exported)
    ADAM_SLOTS,
    BETA_POWERS,
    LAYOUTS,
    Entry,
    adam_slot_names,
    checkpoint_shapes,
    weight_table,
)
