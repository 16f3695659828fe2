"""`atomic.publish` replaces a directory so that a crash at any moment keeps a whole copy.

Two paths: Linux's renameat2 exchange (the name holds the old copy, then the new one), and the
fallback for systems and file systems without it, where the old copy steps aside under a
retired name that `remove_leftovers` puts back when the crash came before the new one was in
place.  Crashes are simulated by raising from the rename or removal that would come next.
"""

import ctypes
import errno
import os
import shutil

import pytest

from sid_tf2 import atomic


class Killed(BaseException):
    """The process dying at this point (nothing catches it on the way out)."""


def _directory(path, text):
    os.mkdir(path)
    (path / "content.txt").write_text(text)
    return path


def _content(path):
    return (path / "content.txt").read_text()


@pytest.fixture(name="replacement")
def replacement_fixture(tmp_path):
    """(final, staged): `final` holds "old", the staged directory beside it "new"."""
    final = _directory(tmp_path / "epoch-000001", "old")
    staged = _directory(tmp_path / f"{atomic.STAGING_PREFIX}1a2b3c4d-epoch-000001", "new")
    return final, staged


@pytest.fixture(name="exchange")
def exchange_fixture(tmp_path):
    """Skip where this system or tmp_path's file system cannot exchange two names."""
    probe = tmp_path / "probe"
    os.mkdir(probe)
    first, second = _directory(probe / "a", "a"), _directory(probe / "b", "b")
    if not atomic._exchange(first, second):  # pylint: disable=protected-access
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert _content(first) == "b"
    shutil.rmtree(probe)


def _without_exchange(monkeypatch, code):
    """Make renameat2 fail with `code`, as an old kernel (ENOSYS) or a file system without
    RENAME_EXCHANGE (EINVAL) does; code None: no renameat2 in libc at all."""
    def failing_renameat2(*_):
        ctypes.set_errno(code)
        return -1

    monkeypatch.setattr(atomic, "_renameat2", lambda: None if code is None else failing_renameat2)


def test_publish_into_a_new_name(tmp_path):
    staged = _directory(tmp_path / f"{atomic.STAGING_PREFIX}1a2b3c4d-model", "new")
    atomic.publish(staged, tmp_path / "model")
    assert os.listdir(tmp_path) == ["model"] and _content(tmp_path / "model") == "new"


def test_exchange_replaces_without_renaming_the_old_copy_aside(exchange, replacement, monkeypatch):
    final, staged = replacement
    renamed = []
    monkeypatch.setattr(os, "replace", lambda *paths: renamed.append(paths))
    atomic.publish(staged, final)
    assert renamed == []
    assert os.listdir(final.parent) == [final.name] and _content(final) == "new"


def test_crash_after_the_exchange_leaves_the_new_copy_and_a_removable_old_one(
        exchange, replacement, monkeypatch):
    final, staged = replacement

    def killed(*_, **__):
        raise Killed

    monkeypatch.setattr(atomic.shutil, "rmtree", killed)
    with pytest.raises(Killed):
        atomic.publish(staged, final)
    assert _content(final) == "new" and _content(staged) == "old"
    monkeypatch.undo()
    assert atomic.remove_leftovers(final.parent) == [staged.name]
    assert os.listdir(final.parent) == [final.name] and _content(final) == "new"


@pytest.mark.parametrize("code", [errno.ENOSYS, errno.EINVAL, None],
                         ids=["old kernel", "file system", "no renameat2"])
def test_fallback_replaces_and_leaves_nothing(replacement, monkeypatch, code):
    final, staged = replacement
    _without_exchange(monkeypatch, code)
    atomic.publish(staged, final)
    assert os.listdir(final.parent) == [final.name] and _content(final) == "new"


def test_an_exchange_error_that_is_not_about_support_is_raised(replacement, monkeypatch):
    final, staged = replacement
    _without_exchange(monkeypatch, errno.EXDEV)
    with pytest.raises(OSError) as raised:
        atomic.publish(staged, final)
    assert raised.value.errno == errno.EXDEV
    assert _content(final) == "old" and _content(staged) == "new"


def _crash_at_rename(monkeypatch, number):
    """Let the first `number` - 1 calls of os.replace through, then die at the next."""
    real_replace, done = os.replace, []

    def replace(source, target):
        if len(done) == number - 1:
            raise Killed
        done.append((source, target))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)


def test_fallback_crash_between_the_renames_is_undone_by_remove_leftovers(replacement, monkeypatch):
    final, staged = replacement
    _without_exchange(monkeypatch, errno.EINVAL)
    _crash_at_rename(monkeypatch, 2)  # the old copy is aside, the new one not yet in place
    with pytest.raises(Killed):
        atomic.publish(staged, final)
    monkeypatch.undo()
    assert not final.exists()
    (retired,) = [name for name in os.listdir(final.parent) if name.startswith(atomic.RETIRED_PREFIX)]
    assert retired.endswith(f"-{final.name}")

    assert atomic.remove_leftovers(final.parent) == [staged.name]  # the old copy is put back
    assert os.listdir(final.parent) == [final.name] and _content(final) == "old"


def test_fallback_crash_after_the_new_copy_is_in_place_removes_the_old_one(replacement, monkeypatch):
    final, staged = replacement
    _without_exchange(monkeypatch, errno.ENOSYS)
    _crash_at_rename(monkeypatch, 3)  # the new one is in place, the old one still retired
    with pytest.raises(Killed):
        atomic.publish(staged, final)
    monkeypatch.undo()
    (retired,) = [name for name in os.listdir(final.parent) if name != final.name]
    assert retired.startswith(atomic.RETIRED_PREFIX) and _content(final) == "new"

    assert atomic.remove_leftovers(final.parent) == [retired]
    assert os.listdir(final.parent) == [final.name] and _content(final) == "new"


def test_remove_leftovers_tells_retired_copies_from_staging_names(tmp_path):
    # A staging name is `.tmp-` and eight hex digits; `old-` is none, so the two never mix.
    staged = _directory(tmp_path / f"{atomic.STAGING_PREFIX}0123abcd-old-1a2b3c4d-x", "partial")
    assert atomic.remove_leftovers(tmp_path) == [staged.name]
    assert os.listdir(tmp_path) == []
