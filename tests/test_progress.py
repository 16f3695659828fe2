"""sid_tf2.progress.Progress: the one progress display, on a terminal and in a log."""

import io

from sid_tf2.progress import Progress, format_bytes, format_duration


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bytes_on_a_terminal_update_one_line():
    stream = Terminal()
    meter = Progress("data", 2_000_000, unit="B", stream=stream, tty_interval=0.0)
    meter.update(500_000)
    meter.update(2_000_000)
    meter.close(2_000_000)  # already shown: not again
    text = stream.getvalue()
    assert text.startswith("\r") and text.endswith("\n") and text.count("\n") == 1
    assert "500.0 KB/2.0 MB (25.0%)" in text and "ETA" in text
    assert text.count("2.0 MB/2.0 MB (100.0%)") == 1


def test_counts_in_a_log_print_the_first_and_the_last_line():
    stream = io.StringIO()
    meter = Progress("decoding raw files", 30, unit="file", stream=stream, log_interval=3600)
    for done in range(1, 31):
        meter.update(done, file=f"{done:05d}_00_10s.ARW")
    meter.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("decoding raw files 1/30 file 00001_00_10s.ARW")
    assert lines[1].startswith("decoding raw files 30/30 file 00030_00_10s.ARW")
    assert "file/s" in lines[1] and lines[1].endswith("ETA 0s")


def test_close_shows_an_amount_of_unknown_total():
    stream = io.StringIO()
    meter = Progress("file.bin", None, unit="B", stream=stream, log_interval=3600)
    meter.update(10)
    meter.update(5_000)
    meter.close(12_345)
    assert stream.getvalue().splitlines()[-1].startswith("file.bin 12.3 KB ")


def test_disabled_and_formats():
    stream = io.StringIO()
    meter = Progress("x", 2, stream=stream, enabled=False)
    meter.update(2)
    meter.close(2)
    assert stream.getvalue() == ""
    assert [format_bytes(n) for n in (999, 1000, 84_300_000, 2e9)] == [
        "999 B", "1.0 KB", "84.3 MB", "2.0 GB"]
    assert [format_duration(s) for s in (None, 5, 185, 7620)] == ["--", "5s", "3m05s", "2h07m"]
