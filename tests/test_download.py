"""Tests of weight_converter.download against a local HTTP server that plays Google Drive.

Nothing here reaches the internet: every URL points to 127.0.0.1.
"""

import functools
import html
import http.server
import io
import os
import re
import socket
import threading
import time
import urllib.parse

import numpy as np
import pytest
from helpers import run_command

from weight_converter import download

SONY = download.PUBLISHED["sony"]
TOKEN = "t0k3n-Xy"
FORM_UUID = "6d1a8a1e-0000-4000-8000-000000000000"


# ------------------------------------------------------------------------------------------------
# A local stand-in for Google Drive


class FakeDrive:
    """Serves files by id in the ways Drive does. `routes[id] = (kind, body)`; kinds:

    direct      the file itself
    cookie      an HTML warning page with a download_warning cookie; the file once
                `confirm=<token>` and the cookie come back
    form        an HTML page with <form id="download-form"> pointing to /download here
    link        an older HTML page with a link carrying confirm=
    html_error  an HTML page with no way forward (body is the page)
    truncated   Content-Length of the whole body, half the body, then the connection closes
    stall       half the body, then silence longer than the client's timeout
    """

    def __init__(self):
        self.routes = {}
        self.requests = []  # (path, query dict, Cookie header)
        drive = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):  # pylint: disable=invalid-name
                try:
                    drive.handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root}/uc?export=download"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request):
        parts = urllib.parse.urlsplit(request.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        cookie = request.headers.get("Cookie", "")
        self.requests.append((parts.path, query, cookie))
        file_id = query.get("id", "")
        if file_id not in self.routes or parts.path not in ("/uc", "/download"):
            self.send(request, b"<html><title>Not Found</title></html>", "text/html", status=404)
            return
        kind, body = self.routes[file_id]
        if kind == "direct":
            self.send(request, body)
        elif kind == "cookie":
            sent_back = f"download_warning_1305_{file_id}={TOKEN}" in cookie
            if query.get("confirm") == TOKEN and sent_back:
                self.send(request, body)
            else:
                page = b"<html><head><title>Google Drive - Virus scan warning</title></head></html>"
                self.send(request, page, "text/html; charset=utf-8", cookies=[
                    f"download_warning_1305_{file_id}={TOKEN}; Path=/uc; HttpOnly"])
        elif kind == "form":
            expected = {"id": file_id, "export": "download", "confirm": "t", "uuid": FORM_UUID}
            if parts.path == "/download" and query == expected:
                self.send(request, body)
            else:
                self.send(request, self.form_page(file_id), "text/html; charset=utf-8")
        elif kind == "link":
            if query.get("confirm") == "AbCd":
                self.send(request, body)
            else:
                href = html.escape(f"/uc?export=download&confirm=AbCd&id={file_id}")
                page = f'<html><body><a id="uc-download-link" href="{href}">Download anyway</a>'
                self.send(request, page.encode(), "text/html")
        elif kind == "html_error":
            self.send(request, body, "text/html; charset=utf-8")
        elif kind in ("truncated", "stall"):
            request.send_response(200)
            request.send_header("Content-Type", "application/octet-stream")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body[: len(body) // 2])
            request.wfile.flush()
            if kind == "stall":
                time.sleep(1.5)
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
        else:
            raise AssertionError(kind)

    def form_page(self, file_id):
        return f"""<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title>
<style>.x {{ color: red }}</style></head><body>
<p>Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="{self.root}/download" method="get">
<input type="submit" id="uc-download-link" class="goog-inline-block" value="Download anyway">
<input type="hidden" name="id" value="{file_id}">
<input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t">
<input type="hidden" name="uuid" value="{FORM_UUID}">
</form></body></html>""".encode()

    @staticmethod
    def send(request, body, content_type="application/octet-stream", status=200, cookies=()):
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for cookie in cookies:
            request.send_header("Set-Cookie", cookie)
        request.end_headers()
        request.wfile.write(body)


@pytest.fixture(scope="module")
def drive_server():
    server = FakeDrive()
    yield server
    server.close()


@pytest.fixture
def drive(drive_server):
    drive_server.routes.clear()
    drive_server.requests.clear()
    return drive_server


@pytest.fixture(autouse=True)
def _local_only(monkeypatch):
    """No proxy for 127.0.0.1, and no reference directory unless a test sets one."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv(download.REFERENCE_DIR_ENV, raising=False)


def _payload(size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


# ------------------------------------------------------------------------------------------------
# A small real TF1-format checkpoint shaped like Sony's


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tensorflow.core.protobuf import meta_graph_pb2  # pylint: disable=import-outside-toplevel

    rng = np.random.default_rng(7)
    shapes = {
        "g_conv1_1/weights": [3, 3, 4, 32],
        "g_conv1_1/biases": [32],
        "g_conv1_1/weights/Adam": [3, 3, 4, 32],
        "g_conv10/weights": [1, 1, 32, 12],
        "g_conv10/biases": [12],
        "Variable": [2, 2, 256, 512],
        "beta1_power": [],
    }
    values = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
    directory = tmp_path_factory.mktemp("published")
    prefix = str(directory / "model.ckpt")
    names = sorted(values)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[values[name] for name in names])

    meta = meta_graph_pb2.MetaGraphDef()
    meta.meta_info_def.tensorflow_version = "1.3.0"
    for name in ("g_conv1_1/weights", "g_conv10/weights"):
        node = meta.graph_def.node.add(name=name, op="VariableV2")
        node.attr["shape"].shape.CopyFrom(tf.TensorShape(shapes[name]).as_proto())
        node.attr["dtype"].type = tf.float32.as_datatype_enum

    with open(prefix + ".data-00000-of-00001", "rb") as f:
        data = f.read()
    return {
        "index": prefix + ".index",
        "data": data,
        "meta": meta.SerializeToString(),
        "values": values,
    }


def _serve_sony(drive, ckpt, data_kind="cookie", meta_kind="form", data=None):
    drive.routes[SONY.data_id] = (data_kind, ckpt["data"] if data is None else data)
    drive.routes[SONY.meta_id] = (meta_kind, ckpt["meta"])


def _corrupt(data):
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


def _read_dir(path):
    return {name: (path / name).read_bytes() for name in sorted(os.listdir(path))}


# ------------------------------------------------------------------------------------------------
# download_file


@pytest.mark.parametrize("kind", ["direct", "cookie", "form", "link"])
def test_download_file_follows_each_kind_of_answer(drive, tmp_path, kind):
    body = _payload(300_000, seed=1)
    drive.routes["FILE1"] = (kind, body)
    destination = tmp_path / "file.bin"

    result = download.download_file("FILE1", destination, base_url=drive.base_url,
                                     progress=False, chunk_size=4096)

    assert result == str(destination)
    assert destination.read_bytes() == body
    assert os.listdir(tmp_path) == ["file.bin"]
    first_path, first_query, _ = drive.requests[0]
    assert (first_path, first_query) == ("/uc", {"export": "download", "id": "FILE1"})


def test_cookie_confirmation_sends_token_and_cookie_back(drive, tmp_path):
    drive.routes["FILE2"] = ("cookie", b"payload")
    download.download_file("FILE2", tmp_path / "f", base_url=drive.base_url, progress=False)
    assert len(drive.requests) == 2
    _, query, cookie = drive.requests[1]
    assert query["confirm"] == TOKEN
    assert f"download_warning_1305_FILE2={TOKEN}" in cookie


def test_form_confirmation_requests_the_form_action_with_its_inputs(drive, tmp_path):
    drive.routes["FILE3"] = ("form", b"payload")
    download.download_file("FILE3", tmp_path / "f", base_url=drive.base_url, progress=False)
    path, query, _ = drive.requests[-1]
    assert path == "/download"
    assert query == {"id": "FILE3", "export": "download", "confirm": "t", "uuid": FORM_UUID}


def test_html_error_page_is_a_clear_error(drive, tmp_path):
    page = (b"<html><head><title>Google Drive - Quota exceeded</title></head><body>"
            b"<p>Too many users have viewed or downloaded this file recently.</p></body></html>")
    drive.routes["QUOTA"] = ("html_error", page)
    destination = tmp_path / "file.bin"
    with pytest.raises(download.DownloadError) as error:
        download.download_file("QUOTA", destination, base_url=drive.base_url, progress=False)
    message = str(error.value)
    assert "QUOTA" in message and "quota" in message.lower()
    assert "https://drive.google.com/file/d/QUOTA/view" in message
    assert os.listdir(tmp_path) == []


def test_sign_in_page_says_the_file_is_not_shared(drive, tmp_path):
    page = b"<title>Google Drive</title><p>Sign in to continue</p>"
    drive.routes["PRIVATE"] = ("html_error", page)
    with pytest.raises(download.DownloadError, match="PRIVATE.*not shared publicly"):
        download.download_file("PRIVATE", tmp_path / "f", base_url=drive.base_url, progress=False)


def test_http_error_names_the_file(drive, tmp_path):
    with pytest.raises(download.DownloadError, match=r"MISSING: HTTP 404 .*not found"):
        download.download_file("MISSING", tmp_path / "f", base_url=drive.base_url, progress=False)
    assert os.listdir(tmp_path) == []


def test_connection_refused_is_a_clear_error(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(download.DownloadError, match="FILE: cannot connect"):
        download.download_file("FILE", tmp_path / "f", progress=False,
                               base_url=f"http://127.0.0.1:{port}/uc?export=download")


@pytest.mark.parametrize("kind", ["truncated", "stall"])
def test_broken_transfer_leaves_no_file(drive, tmp_path, kind):
    drive.routes["BROKEN"] = (kind, _payload(200_000))
    with pytest.raises(download.DownloadError) as error:
        download.download_file("BROKEN", tmp_path / "file.bin", base_url=drive.base_url,
                               progress=False, timeout=0.3)
    message = str(error.value)
    assert "BROKEN" in message and "file.bin" in message
    if kind == "truncated":
        assert "100000 of 200000 bytes" in message
    assert os.listdir(tmp_path) == []


def test_failed_download_keeps_the_existing_file(drive, tmp_path):
    destination = tmp_path / "file.bin"
    destination.write_bytes(b"good old bytes")
    drive.routes["BROKEN"] = ("truncated", _payload(10_000))
    with pytest.raises(download.DownloadError):
        download.download_file("BROKEN", destination, base_url=drive.base_url, force=True,
                               progress=False)
    assert _read_dir(tmp_path) == {"file.bin": b"good old bytes"}


def test_existing_file_is_skipped_unless_forced(drive, tmp_path):
    destination = tmp_path / "file.bin"
    destination.write_bytes(b"old")
    drive.routes["FILE"] = ("direct", b"new")
    download.download_file("FILE", destination, base_url=drive.base_url, progress=False)
    assert destination.read_bytes() == b"old" and drive.requests == []
    download.download_file("FILE", destination, base_url=drive.base_url, progress=False,
                           force=True)
    assert destination.read_bytes() == b"new"


def test_progress_lines_when_not_a_terminal(drive, tmp_path):
    drive.routes["FILE"] = ("direct", _payload(100_000))
    stream = io.StringIO()
    download.download_file("FILE", tmp_path / "file.bin", base_url=drive.base_url,
                           chunk_size=1000, progress_stream=stream)
    lines = stream.getvalue().splitlines()
    assert 2 <= len(lines) <= 12  # the first and the last, not one per chunk
    assert "\r" not in stream.getvalue()
    assert lines[-1].startswith("file.bin 100.0 KB/100.0 KB (100.0%)")
    assert sum("(100.0%)" in line for line in lines) == 1
    assert "/s" in lines[-1]


# ------------------------------------------------------------------------------------------------
# download_published_checkpoint


def test_published_checkpoint_end_to_end(drive, small_checkpoint, tmp_path):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    _serve_sony(drive, small_checkpoint)
    out = tmp_path / "checkpoint" / "Sony"

    prefix = download.download_published_checkpoint(
        "sony", out, base_url=drive.base_url, progress=False,
        index_source=small_checkpoint["index"])

    assert prefix == str(out / "model.ckpt")
    assert sorted(os.listdir(out)) == [
        "checkpoint", "model.ckpt.data-00000-of-00001", "model.ckpt.index", "model.ckpt.meta"]
    assert (out / "checkpoint").read_text() == download.STATE_CONTENT
    assert (out / "model.ckpt.meta").read_bytes() == small_checkpoint["meta"]
    assert tf.train.latest_checkpoint(str(out)) == prefix
    reader = tf.train.load_checkpoint(prefix)
    for name, value in small_checkpoint["values"].items():
        np.testing.assert_array_equal(reader.get_tensor(name), value)

    # A second run finds everything in place (the index now from the output directory) and
    # only checks it.
    requests = len(drive.requests)
    assert download.download_published_checkpoint(
        "sony", out, base_url=drive.base_url, progress=False) == prefix
    assert len(drive.requests) == requests


def test_index_from_reference_dir(drive, small_checkpoint, tmp_path, monkeypatch):
    reference = tmp_path / "sid-reference"
    (reference / "checkpoint" / "Sony").mkdir(parents=True)
    with open(small_checkpoint["index"], "rb") as f:
        (reference / "checkpoint" / "Sony" / "model.ckpt.index").write_bytes(f.read())
    monkeypatch.setenv(download.REFERENCE_DIR_ENV, str(reference))
    _serve_sony(drive, small_checkpoint, data_kind="direct", meta_kind="direct")
    out = tmp_path / "out"
    download.download_published_checkpoint("sony", out, base_url=drive.base_url, progress=False)
    assert (out / "model.ckpt.index").exists()
    # A directory holding checkpoint/<Camera>/model.ckpt.index also works as index_source.
    assert download.find_index("sony", tmp_path / "elsewhere", reference) == str(
        reference / "checkpoint" / "Sony" / "model.ckpt.index")


def test_corrupt_data_fails_the_check_and_leaves_nothing(drive, small_checkpoint, tmp_path):
    _serve_sony(drive, small_checkpoint, data=_corrupt(small_checkpoint["data"]))
    out = tmp_path / "out"
    with pytest.raises(download.CheckpointVerificationError) as error:
        download.download_published_checkpoint(
            "sony", out, base_url=drive.base_url, progress=False,
            index_source=small_checkpoint["index"])
    message = str(error.value)
    assert "model.ckpt.data-00000-of-00001" in message and SONY.data_id in message
    assert "cannot be read" in message and ".download-" not in message
    assert os.listdir(out) == []


def test_corrupt_download_does_not_replace_a_good_checkpoint(drive, small_checkpoint, tmp_path):
    _serve_sony(drive, small_checkpoint, data_kind="direct", meta_kind="direct")
    out = tmp_path / "out"
    download.download_published_checkpoint("sony", out, base_url=drive.base_url, progress=False,
                                           index_source=small_checkpoint["index"])
    before = _read_dir(out)
    _serve_sony(drive, small_checkpoint, data_kind="direct", meta_kind="direct",
                data=_corrupt(small_checkpoint["data"]))
    with pytest.raises(download.CheckpointVerificationError):
        download.download_published_checkpoint("sony", out, base_url=drive.base_url,
                                               progress=False, force=True)
    assert _read_dir(out) == before


def test_corrupt_existing_data_is_reported_with_its_path(small_checkpoint, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.ckpt.data-00000-of-00001").write_bytes(_corrupt(small_checkpoint["data"]))
    (out / "model.ckpt.meta").write_bytes(small_checkpoint["meta"])
    with pytest.raises(download.CheckpointVerificationError,
                       match=r"out/model.ckpt.data-00000-of-00001 \(existing file; --force"):
        download.download_published_checkpoint(
            "sony", out, base_url="http://127.0.0.1:9/unused", progress=False,
            index_source=small_checkpoint["index"])
    assert sorted(os.listdir(out)) == ["model.ckpt.data-00000-of-00001", "model.ckpt.meta"]


def test_failed_meta_download_leaves_nothing(drive, small_checkpoint, tmp_path):
    _serve_sony(drive, small_checkpoint, data_kind="direct", meta_kind="truncated")
    out = tmp_path / "out"
    with pytest.raises(download.DownloadError, match=SONY.meta_id):
        download.download_published_checkpoint("sony", out, base_url=drive.base_url,
                                               progress=False,
                                               index_source=small_checkpoint["index"])
    assert os.listdir(out) == []


def test_meta_of_the_wrong_kind_is_rejected(drive, small_checkpoint, tmp_path):
    drive.routes[SONY.data_id] = ("direct", small_checkpoint["data"])
    drive.routes[SONY.meta_id] = ("direct", b"\x00\x01 not a meta graph \xff")
    out = tmp_path / "out"
    with pytest.raises(download.CheckpointVerificationError, match="model.ckpt.meta"):
        download.download_published_checkpoint("sony", out, base_url=drive.base_url,
                                               progress=False,
                                               index_source=small_checkpoint["index"])
    assert os.listdir(out) == []


def test_wrong_camera_fails_before_downloading(drive, small_checkpoint, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(download.CheckpointVerificationError,
                       match=r"g_conv1_1/weights.*\[3, 3, 4, 32\].*Fuji.*\[3, 3, 9, 32\]"):
        download.download_published_checkpoint("fuji", out, base_url=drive.base_url,
                                               progress=False,
                                               index_source=small_checkpoint["index"])
    assert drive.requests == [] and os.listdir(out) == []


def test_missing_index_says_where_to_get_it(drive, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(download.IndexNotFoundError) as error:
        download.download_published_checkpoint("sony", out, base_url=drive.base_url,
                                               progress=False)
    message = str(error.value)
    assert os.path.join("checkpoint", "Sony", "model.ckpt.index") in message
    assert download.ORIGINAL_REPOSITORY in message and "--index_source" in message
    assert drive.requests == [] and not out.exists()


def test_unknown_camera():
    with pytest.raises(ValueError, match="unknown camera 'canon'"):
        download.get_published("canon")


# ------------------------------------------------------------------------------------------------
# The command line


@pytest.fixture
def run_cli(monkeypatch):
    """The download command, run in this process without a reference folder, the test server
    reached directly."""
    monkeypatch.delenv(download.REFERENCE_DIR_ENV, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return functools.partial(run_command, "weight_converter.download")


def test_cli_success(drive, small_checkpoint, tmp_path, run_cli):
    _serve_sony(drive, small_checkpoint)
    out = tmp_path / "Sony"
    result = run_cli("--camera=sony", f"--output_dir={out}", f"--base_url={drive.base_url}",
                     f"--index_source={small_checkpoint['index']}")
    assert result.returncode == 0, result.stderr
    assert f"Checkpoint ready: {out / 'model.ckpt'}" in result.stdout
    assert "model.ckpt.data-00000-of-00001 " in result.stderr and "(100.0%)" in result.stderr
    assert "Downloading " in result.stderr  # the library's log lines, without absl's prefix
    assert not re.search(r"^[IWE]\d{4} ", result.stderr, re.M), result.stderr
    assert sorted(os.listdir(out)) == [
        "checkpoint", "model.ckpt.data-00000-of-00001", "model.ckpt.index", "model.ckpt.meta"]


def test_cli_error_exits_non_zero_with_a_message(drive, small_checkpoint, tmp_path, run_cli):
    drive.routes[SONY.data_id] = ("html_error", b"<title>Google Drive - Quota exceeded</title>")
    out = tmp_path / "Sony"
    result = run_cli("--camera=sony", f"--output_dir={out}", f"--base_url={drive.base_url}",
                     f"--index_source={small_checkpoint['index']}", "--noprogress")
    assert result.returncode == 1
    assert f"error: Google Drive file {SONY.data_id}" in result.stderr
    assert "quota" in result.stderr and "Traceback" not in result.stderr
    assert os.listdir(out) == []

    result = run_cli("--camera=sony", f"--output_dir={out}", f"--base_url={drive.base_url}")
    assert result.returncode == 1
    assert "error: no checkpoint index for camera Sony" in result.stderr
