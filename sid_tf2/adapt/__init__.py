"""`sid-adapt`: adapt the published network to another camera from its own raw files.

`command.py` (the flags and the run), `noise_source.py` (which noise the camera gets: a profile,
a calibration, an estimate from the raws, or a stated fallback), `plan.py` (real pairs in either
form, the held-out pairs, the training stages and the budget they share), `report.py` (the
Markdown report and its chart).
"""
