"""Special files and unreachable paths among sid-enhance's inputs: refused or skipped by their
type, never opened (a FIFO would block the reader forever), each with its real cause (issue 24,
items 4 and 7)."""

import os
import socket

import pytest

from sid_tf2.photo_inputs import collect_inputs


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "a.dng").write_bytes(b"raw")
    os.mkfifo(tmp_path / "pipe.dng")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "socket.arw"))
    return tmp_path


def test_a_fifo_given_by_name_is_refused_without_opening_it(folder):
    files, problems, skipped = collect_inputs([folder / "pipe.dng"])  # would block if opened
    assert files == [] and skipped == []
    assert problems == [(folder / "pipe.dng", "a FIFO, not a regular file: refused without opening it")]


def test_a_folder_scan_skips_special_files_with_a_note(folder):
    files, problems, skipped = collect_inputs([folder])
    assert [os.path.basename(f) for f in files] == ["a.dng"] and problems == []
    assert skipped == [(str(folder / "pipe.dng"), "a FIFO, not a regular file: skipped"),
                       (str(folder / "socket.arw"), "a socket, not a regular file: skipped")]


def test_a_device_is_refused(folder):
    _, problems, _ = collect_inputs(["/dev/null"])
    assert problems == [("/dev/null", "a character device, not a regular file: refused without opening it")]


@pytest.mark.parametrize("error, reason", [
    (FileNotFoundError(2, "No such file or directory"), "no such file or folder"),
    (PermissionError(13, "Permission denied"), "permission denied (a folder on its path cannot be entered)"),
    (NotADirectoryError(20, "Not a directory"), "no such file or folder (a part of its path is a file)"),
])
def test_an_unreachable_path_is_reported_by_its_real_cause(tmp_path, monkeypatch, error, reason):
    """As root no folder is out of reach, so the stat's error is injected."""

    def failing_stat(path, *args, **kwargs):
        raise error

    monkeypatch.setattr(os, "stat", failing_stat)
    assert collect_inputs([tmp_path / "locked" / "photo.dng"]).problems == [(tmp_path / "locked" / "photo.dng",
                                                                              reason)]
