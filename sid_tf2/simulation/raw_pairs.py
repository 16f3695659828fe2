"""Short exposures simulated in the raw domain from a clean raw file (`raw_sources.RawSource`).

The short exposure of a scene whose clean long exposure is known has, at each photosite, the
expected signal `(long - black) / ratio` DN above that photosite's own black level. The noise is
the physics model of `noise.py` with the chosen camera profile: the pair is taken at one ISO,
as SID's pairs are (each list line carries one ISO for both files), namely the ISO the long
exposure needed - the source's own, read from its metadata, unless the caller names the ISOs to
simulate (`isos`: clean raws are shot at low ISO, dark scenes at high ISO; sid-adapt's --iso) -
and the profile gives the system gain K at that ISO (`profiles.gain_at_iso`, clamped to the
calibrated range). Read, row and bias noise follow K through the profile's log-linear
relations, and rounding to whole DN quantises.
A source without an ISO in its metadata gets a gain drawn from the profile's range, like a
photograph. The result keeps the source's CFA phase, black levels and white level.
"""

import math

from sid_tf2.simulation.noise import simulate_short_exposure
from sid_tf2.simulation.profiles import gain_at_iso, get_profile, nominal_iso
from sid_tf2.simulation.raw_sources import RawSource


def pair_gain(source, rng, profile, isos=()):
    """(K, iso, note) of a raw source's pair: the gain at one of `isos` drawn at random when
    given, else at the source's ISO (see the module docstring), or one drawn from the profile
    when the file has no ISO; `note` says which when it is not simply the ISO asked for, and
    what else the source notes (`RawSource.notes`), in one line naming the file, or is None."""
    profile = get_profile(profile)
    said = list(source.notes)
    chosen = float(isos[rng.integers(len(isos))]) if len(isos) else source.iso
    if chosen is None:
        gain = math.exp(rng.uniform(*profile.log_k_range))
        iso = nominal_iso(gain, profile)
        said.append(f"no ISO in its metadata: gain K = {gain:.3g} drawn from the "
                    f"{profile.name} profile's range")
    else:
        gain, clamped = gain_at_iso(chosen, profile)
        iso = int(round(chosen))
        if clamped:
            said.append(f"ISO {iso} is outside the {profile.name} profile's calibrated range: its "
                        f"gain is clamped to K = {gain:.3g}")
    return gain, iso, (f"{source.path}: " + "; ".join(said) if said else None)


def black_level_of(metadata):
    """What `noise.simulate_short_exposure` takes as black level: an unprocessed photograph's
    one level, or a raw source's four, tiled over its mosaic."""
    if isinstance(metadata, RawSource):
        return metadata.black_mosaic()
    return metadata.black_level


def simulate_raw_short(source, ratio, params, rng):
    """The short exposure of a `RawSource`, `ratio` times shorter, as uint16 raw data with the
    source's levels (see `noise.simulate_short_exposure`)."""
    return simulate_short_exposure(
        source.mosaic, ratio, params, rng, black_level=source.black_mosaic(),
        white_level=source.white_level)
