"""The deployment runtimes' chatter is hidden like TensorFlow's, shown on failure and with
--verbose (issue 24, item 9)."""

import logging
import os

import numpy as np
import pytest

import sid_tf2
from sid_tf2.backends.quiet import VERBOSE_ENV, runtime_output_hidden
from sid_tf2.model import build_unet


def _chatter():
    os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")  # as C++ does
    logging.getLogger("tf2onnx").warning("Using opset <onnx, 17>")
    logging.warning("Please consider to run pre-processing before quantization.")


def test_the_chatter_is_hidden(capfd, caplog, monkeypatch):
    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    with runtime_output_hidden():
        _chatter()
    assert capfd.readouterr().err == "" and caplog.records == []
    logging.getLogger("sid_tf2.test").warning("logged again after the block")
    assert [record.message for record in caplog.records] == ["logged again after the block"]


def test_it_is_shown_when_the_conversion_fails(capfd, monkeypatch):
    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    with pytest.raises(RuntimeError), runtime_output_hidden():
        os.write(2, b"converter: unsupported operation\n")
        raise RuntimeError("conversion failed")
    assert capfd.readouterr().err == "converter: unsupported operation\n"


def test_verbose_shows_it(capfd, caplog, monkeypatch):
    monkeypatch.setenv(VERBOSE_ENV, "1")
    with runtime_output_hidden():
        _chatter()
    assert "XNNPACK" in capfd.readouterr().err and len(caplog.records) == 2


@pytest.mark.slow
def test_a_litert_predictor_prints_nothing(capfd, monkeypatch):
    pytest.importorskip("ai_edge_litert", reason="the export extra is not installed")
    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    model = build_unet("sony")
    capfd.readouterr()  # TensorFlow's own start-up lines, when it loads here
    predictor = sid_tf2.make_predictor(model, backend="litert")
    predictor(np.zeros((1, 32, 32, 4), np.float32))
    assert capfd.readouterr().err == ""
