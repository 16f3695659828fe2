"""The quality an int8 network keeps, measured on the network the user runs, for the first line.

Why measured per run: how much int8 costs depends on the weights (a network trained longer has
other activation ranges), so a recorded figure from other weights would be a guess. The input
is one the calibration did not see (`backends.calibration.check_input`: a simulated Sony frame
of another seed, or for Fuji a smooth random field), and the reference is TensorFlow's float32.
"""

from sid_tf2.backends.calibration import check_input
from sid_tf2.backends.common import agreement_measures
from sid_tf2.inference import make_predictor
from sid_tf2.tuning.ranking import FLOOR_DB

CHECK_SIDE = 512  # packed pixels: about a tenth of a Sony frame, a second of float32 here


def int8_quality(predictor, model, camera):
    """One line: how the int8 `predictor` was made and how close it comes to float32."""
    check = check_input(camera, (CHECK_SIDE, CHECK_SIDE))
    measures = agreement_measures(predictor(check), make_predictor(model, "float32")(check))
    made = f"{predictor.note}; " if predictor.note else ""
    return (f"{made}{measures['psnr']:.1f} dB against float32 (darkest tenth {measures['dark_tenth_psnr']:.1f} dB, "
            f"worst 1 % of pixels off by {measures['worst_1pct_levels']:.1f} of 255 levels) on a held-out input; "
            f"the automatic choice needs {FLOOR_DB['enhance']:.0f} dB")
