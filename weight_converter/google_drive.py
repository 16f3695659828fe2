"""Fetch one file from Google Drive by its id, the way a browser gets past Drive's pages.

Google Drive answers a request for a large file with an HTML "cannot scan for viruses" page
rather than the file. The forms it has used are followed: a `download_warning*` cookie whose
value is passed back as `confirm=`, a `<form id="download-form">` whose inputs are sent to the
form's action URL, and (older pages) a link carrying `confirm=`. Any other HTML answer (quota
exceeded, file not shared) is an error that names the file id.

The bytes go to `<destination>.part` and reach their final name only when the whole body has
arrived, so an interrupted download never leaves a file that looks complete.

Why not gdown (6.5, evaluated for this): it follows Drive's pages only for URLs on
drive.google.com or docs.google.com (`gdown.parse_url`), builds the confirmed URL on
docs.google.com itself, and handles no download_warning cookie; so it cannot be pointed at the
local server that plays Drive in `tests/test_download.py`, and every way Drive answers would go
untested. It would also bring requests, beautifulsoup4 and tqdm (a second progress display)
and keep cookies in ~/.cache/gdown. The code here uses only the standard library and the
project's progress display.
"""

import dataclasses
import html.parser
import http.client
import http.cookiejar
import logging
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from sid_tf2.atomic import as_write_error, ensure_space, reporting
from sid_tf2.progress import Progress

DEFAULT_BASE_URL = "https://drive.google.com/uc?export=download"
DEFAULT_TIMEOUT = 60.0  # seconds without any bytes before a request is abandoned
CHUNK_SIZE = 1 << 20
MAX_CONFIRMATION_STEPS = 4
MAX_HTML_BYTES = 2 << 20  # an HTML answer is a short page, never the file

_log = logging.getLogger(__name__)


class DownloadError(RuntimeError):
    """A file could not be fetched, or what was fetched is not what was asked for."""


def download_file(
    file_id,
    destination,
    *,
    base_url=DEFAULT_BASE_URL,
    force=False,
    progress=True,
    timeout=DEFAULT_TIMEOUT,
    chunk_size=CHUNK_SIZE,
    progress_stream=None,
):
    """Downloads the Google Drive file `file_id` to `destination`; returns `destination`.

    Requests `{base_url}&id={file_id}` and follows Drive's confirmation page. The bytes go to
    `destination + ".part"`, which is renamed to `destination` only when the whole body has
    arrived; on any failure it is removed, and an existing `destination` is left as it was.
    An existing `destination` is kept without any request unless `force` is true.

    Raises DownloadError naming the file id and what went wrong.
    """
    destination = os.fspath(destination)
    if os.path.exists(destination) and not force:
        _log.info("%s already exists; not downloading it again", destination)
        return destination
    directory = os.path.dirname(os.path.abspath(destination))
    os.makedirs(directory, exist_ok=True)
    part = destination + ".part"
    label = os.path.basename(destination)
    try:
        response = _open_file_response(file_id, base_url, timeout)
        with response:
            _stream_to_file(
                response,
                part,
                label=label,
                file_id=file_id,
                chunk_size=chunk_size,
                progress_stream=(progress_stream or sys.stderr) if progress else None,
            )
        os.replace(part, destination)
    except BaseException:
        _remove_quietly(part)
        raise
    return destination


def _open_file_response(file_id, base_url, timeout):
    """Returns the HTTP response whose body is the file, after any confirmation pages."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    url = _with_query(base_url, {"id": file_id})
    data = None
    used_tokens = set()
    for _ in range(MAX_CONFIRMATION_STEPS):
        response = _request(opener, url, data, file_id, timeout)
        if not _is_html(response):
            return response
        with response:
            page_url = response.geturl()
            page = _read_html(response, file_id)
            token = _cookie_token(jar, response)
        page_info = _parse_page(page)
        if token and token not in used_tokens:
            # Form (a): the token is in a download_warning cookie; the jar sends the cookie back.
            used_tokens.add(token)
            url, data = _with_query(url, {"confirm": token}), None
        elif page_info.form_action is not None:
            # Form (b): <form id="download-form" action=...> with hidden inputs.
            action = urllib.parse.urljoin(page_url, page_info.form_action)
            if page_info.form_method == "post":
                url = action
                data = urllib.parse.urlencode(page_info.form_inputs).encode("ascii")
            else:
                url, data = _with_query(action, page_info.form_inputs), None
        elif page_info.confirm_link is not None:
            # Older pages: a plain link carrying confirm=<token>.
            url, data = urllib.parse.urljoin(page_url, page_info.confirm_link), None
        else:
            raise DownloadError(_html_error_message(file_id, page_info))
    raise DownloadError(
        f"Google Drive file {file_id}: still answering with a confirmation page after "
        f"{MAX_CONFIRMATION_STEPS} requests; {_manual_hint(file_id)}"
    )


def _request(opener, url, data, file_id, timeout):
    request = urllib.request.Request(url, data=data, headers={"User-Agent": "sid-tf2-download/1"})
    try:
        return opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        hint = {
            403: "access denied (the file is not shared publicly, or Drive refuses the download)",
            404: "not found (the file id is wrong or the file was removed)",
            429: "too many requests (Drive's download quota; try again later)",
        }.get(error.code, error.reason)
        raise DownloadError(
            f"Google Drive file {file_id}: HTTP {error.code} from {_short(url)}: {hint}"
        ) from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(
            f"Google Drive file {file_id}: cannot connect to {_short(url)}: {reason}"
        ) from error


def _is_html(response):
    return response.headers.get_content_type() in ("text/html", "application/xhtml+xml")


def _read_html(response, file_id):
    try:
        body = response.read(MAX_HTML_BYTES)
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(
            f"Google Drive file {file_id}: connection failed while reading a page: {error}"
        ) from error
    charset = response.headers.get_content_charset() or "utf-8"
    return body.decode(charset, errors="replace")


def _cookie_token(jar, response):
    for cookie in jar:
        if cookie.name.startswith("download_warning") and cookie.value:
            return cookie.value
    # A cookie the jar refused (e.g. for its domain) still carries the token.
    for header in response.headers.get_all("Set-Cookie") or ():
        match = re.match(r"\s*download_warning[^=]*=([^;\s]+)", header)
        if match:
            return match.group(1)
    return None


@dataclasses.dataclass
class _PageInfo:
    title: str = ""
    text: str = ""
    form_action: str = None
    form_method: str = "get"
    form_inputs: dict = dataclasses.field(default_factory=dict)
    confirm_link: str = None


class _PageParser(html.parser.HTMLParser):
    """Collects what matters in a Drive answer page: the download form, a confirm link, text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.info = _PageInfo()
        self._in_download_form = False
        self._in_title = False
        self._skip_depth = 0
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form" and attrs.get("id") == "download-form":
            self._in_download_form = True
            self.info.form_action = attrs.get("action", "")
            self.info.form_method = attrs.get("method", "get").lower()
        elif tag == "input" and self._in_download_form:
            name = attrs.get("name")
            if name and attrs.get("type", "text").lower() not in ("submit", "button", "image"):
                self.info.form_inputs[name] = attrs.get("value", "")
        elif tag == "a" and self.info.confirm_link is None:
            href = attrs.get("href", "")
            if re.search(r"[?&]confirm=[^&]+", href):
                self.info.confirm_link = href
        elif tag == "title":
            self._in_title = True
        elif tag in ("script", "style"):
            self._skip_depth += 1

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_download_form = False
        elif tag == "title":
            self._in_title = False
        elif tag in ("script", "style") and self._skip_depth:
            self._skip_depth -= 1

    def handle_data(self, data):
        if self._in_title:
            self.info.title += data
        elif not self._skip_depth:
            self._text.append(data)

    def close(self):
        super().close()
        self.info.title = " ".join(self.info.title.split())
        self.info.text = " ".join(" ".join(self._text).split())


def _parse_page(page):
    parser = _PageParser()
    parser.feed(page)
    parser.close()
    return parser.info


def _html_error_message(file_id, page_info):
    text = f"{page_info.title} {page_info.text}".lower()
    if "quota" in text or "too many users" in text:
        reason = "the file's download quota is exceeded (Drive allows this again after a while)"
    elif "sign in" in text or "need access" in text or "request access" in text:
        reason = "the file is not shared publicly (Drive asks to sign in)"
    elif "not found" in text or "does not exist" in text:
        reason = "the file was not found"
    else:
        reason = "an unexpected page instead of the file"
    shown = page_info.title or page_info.text[:120] or "no title"
    return (
        f"Google Drive file {file_id}: answered with an HTML page ({shown!r}) and no download "
        f"confirmation: {reason}; {_manual_hint(file_id)}"
    )


def _manual_hint(file_id):
    return (
        f"it can also be downloaded in a browser from "
        f"https://drive.google.com/file/d/{file_id}/view"
    )


def _stream_to_file(response, part, *, label, file_id, chunk_size, progress_stream):
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.strip().isdigit() else None
    meter = (Progress(label, total, unit="B", stream=progress_stream, log_interval=15.0)
             if progress_stream else None)
    received = 0
    if total is not None:
        ensure_space(part, total)
    with reporting(part, total), open(part, "wb") as out:
        try:
            while True:
                chunk = response.read(chunk_size)
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                if meter:
                    meter.update(received)
        except (OSError, http.client.HTTPException) as error:
            if as_write_error(part, error, total) is not None:
                raise  # the disk, not the connection: a WriteError, by `reporting`
            if isinstance(error, http.client.IncompleteRead):
                received += len(error.partial)
            detail = _received_detail(received, total)
            raise DownloadError(
                f"Google Drive file {file_id} ({label}): the connection failed after {detail}: "
                f"{type(error).__name__}: {error}"
            ) from error
        finally:
            if meter:
                meter.close(received)
        if total is not None and received != total:
            raise DownloadError(
                f"Google Drive file {file_id} ({label}): the connection closed after "
                f"{_received_detail(received, total)}"
            )
        if received == 0:
            raise DownloadError(f"Google Drive file {file_id} ({label}): the server sent no bytes")
        out.flush()
        os.fsync(out.fileno())


def _received_detail(received, total):
    if total is None:
        return f"{received} bytes"
    return f"{received} of {total} bytes"


def _with_query(url, params):
    """`url` with `params` added to its query string (replacing keys already there)."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
             if k not in params]
    query.extend(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _short(url):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(query="", fragment=""))


def _remove_quietly(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
