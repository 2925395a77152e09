"""Reading a certificate file for the checker without holding all of it as Python objects.

``exactregions enumerate --regions --json`` writes the top level one member a line group and
every region and piece on a line of its own.  On such a file :func:`read_certificate` maps the
file and parses everything but the regions and the pieces at once; those two come as
:class:`FileEntries`, a read-only list whose entry i is parsed from its line each time it is
read (the checker reads each once).  On 3-16-16-16-1's 425 MB certificate the whole check
peaked at 1.07 GB this way; checking the 464 MB indented file of before, parsed whole, at 1.67 GB.

Any other layout (an older file, one written by hand or by another tool) is parsed whole with
``json.loads``, as before.  The line reading gives the same document as ``json.loads`` wherever
both succeed: a JSON text has newlines only between tokens (a string cannot hold a raw one), so
cutting at newlines never cuts a token; a region line must be one whole JSON value, and the
checker reads every region and piece (a line that is not one value is refused as a format
error when it is read).

>>> import json, tempfile, os
>>> text = ('{\\n "n": 2,\\n "regions": [\\n  {"i": 0},\\n  {"i": 1}\\n ],\\n'
...         ' "k": [\\n  1\\n ]\\n}\\n')
>>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
...     _ = f.write(text)
>>> doc = read_certificate(f.name)
>>> type(doc["regions"]).__name__, list(doc["regions"]), doc["n"], doc["k"]
('FileEntries', [{'i': 0}, {'i': 1}], 2, [1])
>>> json.loads(text) == {**doc, "regions": list(doc["regions"])}
True
>>> os.unlink(f.name)
"""

from __future__ import annotations

import json
import mmap
import os
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exactregions.errors import FormatError

__all__ = ["read_certificate", "FileEntries", "LINE_KEYS"]

LINE_KEYS = ("regions", "pieces")   # the members read an entry at a time


class FileEntries(Sequence):
    """Entries of a top-level array of a mapped file, one a line, each parsed when read."""

    __slots__ = ("_buf", "_starts", "_ends", "_key")

    def __init__(self, buf: Any, starts: array, ends: array, key: str):
        self._buf, self._starts, self._ends, self._key = buf, starts, ends, key

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        j = i + len(self) if i < 0 else i
        if not 0 <= j < len(self):
            raise IndexError(f"entry {i} of {len(self)}")
        try:
            return json.loads(self._buf[self._starts[j]:self._ends[j]])
        except ValueError:
            raise FormatError(f"entry {j} of {self._key!r} is not one JSON value on its line"
                              ) from None


def read_certificate(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object in the file: regions and pieces read line by line where the file is laid
    out as ``enumerate --regions --json`` writes it, the whole file parsed at once otherwise.

    Raises FormatError when the file cannot be read or is not a JSON object.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fp:
            try:
                buf = mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:      # an empty file cannot be mapped
                buf = b""
    except OSError as exc:
        raise FormatError(f"cannot read certificate {str(p)!r}: {exc.strerror}") from None
    data = _by_lines(buf)
    if data is None:
        try:
            data = json.loads(bytes(buf).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{p}: not a JSON certificate file ({exc.__class__.__name__})"
                              ) from None
    if not isinstance(data, dict):
        raise FormatError(f"{p}: a certificate file holds a JSON object")
    return data


def _by_lines(buf: Any) -> dict[str, Any] | None:
    """The document if the file has the line layout (see the module docstring), else None."""
    size = len(buf)
    first = buf.find(b"\n")
    if first < 0 or buf[:first] != b"{":
        return None
    header: list[bytes] = [b"{"]
    lazy: dict[str, FileEntries] = {}
    pos, closed = first + 1, False
    promised = False   # a region or piece array closed with " ],": another member follows
    final = False      # one closed with " ]": it was the last member
    prev = b"{"        # the line before, at the top level
    while pos < size:
        end = buf.find(b"\n", pos)
        end = size if end < 0 else end
        line = buf[pos:end]
        pos = end + 1
        if closed:
            if line.strip():
                return None        # anything after the closing brace
            continue
        if line == b"}":
            if promised:
                return None        # " ]," and no member after it
            closed = True
            continue
        if final:
            return None            # " ]" closed the last member, yet more follows
        promised = False
        key = _array_key(line)
        if key is None:
            header.append(line)
            prev = line
            continue
        if prev != b"{" and not prev.endswith(b","):
            return None            # the member before does not promise this one
        starts, ends = array("q"), array("q")
        while True:                # the entries, up to " ]" (last member) or " ]," (more follow)
            if pos >= size:
                return None
            end = buf.find(b"\n", pos)
            end = size if end < 0 else end
            if buf[pos:pos + 3] != b"  {":
                break
            stop = end - 1 if buf[end - 1:end] == b"," else end
            if buf[stop - 1:stop] != b"}":
                return None        # an entry over several lines: another layout
            starts.append(pos + 2)
            ends.append(stop)
            pos = end + 1
        closer = buf[pos:end]
        pos = end + 1
        if closer not in (b" ]", b" ],") or not starts:
            return None
        if buf[ends[-1]:ends[-1] + 1] == b"," or any(buf[e:e + 1] != b"," for e in ends[:-1]):
            return None            # commas between entries, none after the last
        lazy[key] = FileEntries(buf, starts, ends, key)
        prev = closer
        promised, final = closer == b" ],", closer == b" ]"
        if final and header[-1].endswith(b","):
            header[-1] = header[-1][:-1]   # the member before promised this one
    if not closed:
        return None
    try:
        data = json.loads(b"\n".join(header) + b"\n}")
    except ValueError:
        return None
    if not isinstance(data, dict) or any(k in data for k in lazy):
        return None
    data.update(lazy)
    return data


def _array_key(line: bytes) -> str | None:
    """The key of a line ``' "regions": ['`` that opens one of :data:`LINE_KEYS`, else None."""
    for key in LINE_KEYS:
        if line == b' "' + key.encode() + b'": [':
            return key
    return None
