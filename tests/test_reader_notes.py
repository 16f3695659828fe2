"""sid-enhance's reader thread keeps a file's notes without touching the process's warnings.

The folder pipeline decodes the next file on a thread while the main thread runs the network.
The X-Trans phase note used to be caught there with ``warnings.catch_warnings``, which swaps
the whole process's warning handlers: a warning the main thread raised meanwhile went into the
file's notes instead of reaching the user.
"""

import threading
import warnings

import numpy as np
import pytest

from sid_tf2 import enhance
from sid_tf2 import raw as sid_raw
from sid_tf2.dng import write_dng
from sid_tf2.enhance import decode
from sid_tf2.raw import SID_XTRANS_PATTERN

SHIFTED_PHASE = np.roll(SID_XTRANS_PATTERN, 1, axis=1)


def _shifted_xtrans(path):
    mosaic = 1024 + np.random.default_rng(0).poisson(60, (96, 96))
    write_dng(path, mosaic.astype(np.uint16), cfa_pattern=SHIFTED_PHASE, black_level=1024,
              exposure_time=0.1)
    return str(path)


def test_main_thread_warning_is_not_taken_by_a_file_being_decoded(tmp_path, monkeypatch):
    path = _shifted_xtrans(tmp_path / "shifted.dng")
    packing, warned = threading.Event(), threading.Event()
    real_pack = decode.pack_xtrans

    def pack_while_the_main_thread_warns(raw, **options):
        packing.set()
        assert warned.wait(30)
        return real_pack(raw, **options)

    monkeypatch.setattr(decode, "pack_xtrans", pack_while_the_main_thread_warns)
    decoded = []
    reader = threading.Thread(target=lambda: decoded.append(enhance.decode_file(path, "fuji")))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader.start()
        assert packing.wait(30)
        warnings.warn("the main thread's own warning", UserWarning)
        warned.set()
        reader.join(30)
    assert [str(w.message) for w in caught] == ["the main thread's own warning"]
    (notes,) = [file.notes for file in decoded]
    assert len(notes) == 1 and notes[0].startswith(f"X-Trans phase {SHIFTED_PHASE.tolist()}")
    assert path not in notes[0]  # the note is shown under the file's name already


def test_pack_xtrans_notes_instead_of_warning_when_given_a_list(tmp_path):
    path = _shifted_xtrans(tmp_path / "shifted.dng")
    notes = []
    with sid_raw.read_raw(path) as raw, warnings.catch_warnings():
        warnings.simplefilter("error")
        sid_raw.pack_xtrans(raw, notes=notes)
    assert len(notes) == 1 and "differs from the one SID's packing table assumes" in notes[0]
    with sid_raw.read_raw(path) as raw, pytest.warns(RuntimeWarning, match=f"{path}: X-Trans phase"):
        sid_raw.pack_xtrans(raw)  # other callers keep the warning
