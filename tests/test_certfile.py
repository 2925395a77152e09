"""Reading certificate files a line at a time (exactregions.exact.certfile) against the oracle
``json.loads``: the same document on every file both read, a FormatError on every file
``json.loads`` refuses, whatever the layout and however the file was damaged."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings, strategies as st

import exactregions as er
from exactregions.cli import main
from exactregions.errors import FormatError
from exactregions.exact.certfile import FileEntries, read_certificate
from exactregions.exact.summary import LazyEntries

_scalars = st.one_of(st.integers(-10**30, 10**30), st.text(max_size=6), st.booleans(), st.none())
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)
_entries = st.lists(st.dictionaries(st.sampled_from(["a", "b", "c\n", "\\"]), _values,
                                    min_size=1, max_size=3), max_size=4)
_documents = st.dictionaries(st.sampled_from(["n", "regions", "pieces", "vertices", "k"]),
                             st.one_of(_values, _entries), min_size=1)


def _read(text: str, tmp_path) -> dict:
    """read_certificate on the text, its line entries expanded (each parsed as the checker
    would read it)."""
    f = tmp_path / "c.json"
    f.write_text(text)
    doc = read_certificate(f)
    return {k: list(v) if isinstance(v, FileEntries) else v for k, v in doc.items()}


def _oracle(text: str):
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _agree(text: str, tmp_path) -> None:
    want = _oracle(text)
    if want is None:
        with pytest.raises(FormatError):
            _read(text, tmp_path)
    else:
        assert _read(text, tmp_path) == want


@settings(max_examples=150, deadline=None)
@given(doc=_documents, lazy=st.booleans())
def test_written_documents_read_back_as_json_reads_them(tmp_path_factory, doc, lazy):
    """write_document's layout (the regions and pieces a line each, lazy or not) and other
    layouts (json.dumps with and without indentation) all read as json.loads reads them."""
    tmp = tmp_path_factory.mktemp("c")
    if lazy:
        doc = {k: LazyEntries(len(v), v.__getitem__) if k in ("regions", "pieces")
               and isinstance(v, list) else v for k, v in doc.items()}
    out = io.StringIO()
    er.write_document(doc, out)
    _agree(out.getvalue(), tmp)
    plain = json.loads(out.getvalue())
    for indent in (None, 1, 2):
        _agree(json.dumps(plain, indent=indent), tmp)


_HEAD = '{\n "n": 2,\n "regions": [\n  {"i": 0},\n  {"i": 1}\n ],\n'


@pytest.mark.parametrize("text", [
    _HEAD + ' "pieces": [\n  {"p": 0}\n ]\n}\n',                    # the layout itself
    _HEAD + ' "k": 3\n}\n',                                            # a member after
    '{\n "regions": [\n  {"i": 0}\n ],\n "n": 1\n}\n',                  # regions first
    '{\n "n": 2,\n "regions": [\n  {"i": 0}\n ]\n}',                    # no final newline
    '{\n "n": 2,\n "regions": [\n  {"i": 0},\n  {"i": 1},\n ]\n}\n',      # comma after the last
    '{\n "n": 2,\n "regions": [\n  {"i": 0}\n  {"i": 1}\n ]\n}\n',       # no comma between
    _HEAD + '}\n',                                                      # " ]," and no member
    '{\n "regions": [\n  {"i": 0}\n ]\n "n": 1\n}\n',                   # " ]" and one more
    '{\n "regions": [\n  {"i":\n  0}\n ]\n}\n',                         # an entry on 2 lines
    '{\n "regions": [\n  {"i": 0}, {"i": 1}\n ]\n}\n',                  # 2 entries on a line
    '{\n "regions": 1,\n "regions": [\n  {"i": 0}\n ]\n}\n',             # the key twice
    '{\n "regions": [\n  {"i": 0}\n ],\n "regions": 1\n}\n',             # the key twice
    '{\n "regions": [\n  {"i": 0}\n ],\n "regions": [\n  {"i": 1}\n ]\n}\n',  # twice: the last
    '{\n "regions": [\n  {"i": 0}\n ],\n}\n',                           # " ]," first and alone
    '{\n "regions": [\n  {"i": [\n  {"j": 1}]}\n ]\n}\n',                 # valid, not by lines
    '{\n "regions": [\n  {"i": [1,\n  {"j": 1}]}\n ]\n}\n',               # valid, not by lines
    '{\n "regions": [\n  {"i": 0}\n ]\n}\n{}\n',                        # more after the end
    '{\n "regions": [\n  {"i": 0}\n ]\n',                               # no closing brace
    '{\n "regions": [\n  {"i": 0}\n',                                   # cut short
    '{\n "regions": [\n  {"i": "}"\n ]\n}\n',                           # a brace in a string
    '{\n "n": 1,\n "regions": [\n  {"i": 0}\n ]\n,}\n',                  # a stray comma
    '{\n "n": 1\n "regions": [\n  {"i": 0}\n ]\n}\n',                   # no comma before a
    '{\n "k": [\n  {"a": []}\n ]\n "pieces": [\n  {"a": []}\n ]\n}\n',  # line member
])
def test_odd_and_damaged_files_are_read_as_json_reads_them_or_refused(tmp_path, text):
    """Hand-made files around each rule of the line reading: the same document as json.loads
    where the layout is read by lines or the file is valid JSON in another layout; a
    FormatError where json.loads refuses the file, or (a valid file only) on reading an entry
    that is not one value on its line."""
    want = _oracle(text)
    try:
        got = _read(text, tmp_path)
    except FormatError:
        assert want is None or '}, {' in text, "a valid file refused"
        return
    assert want is not None and got == want


@settings(max_examples=300, deadline=None)
@given(doc=_documents, data=st.data())
def test_damaged_files_are_read_as_json_reads_them_or_refused(tmp_path_factory, doc, data):
    """A written file with a line's first or last character removed, or a newline, comma,
    brace or bracket put at the start or end of a line: the line reading gives json.loads'
    document or refuses the file, and refuses it whenever json.loads does."""
    tmp = tmp_path_factory.mktemp("c")
    out = io.StringIO()
    er.write_document(doc, out)
    lines = out.getvalue().split("\n")
    at = data.draw(st.integers(0, len(lines) - 1))
    line, end = lines[at], data.draw(st.booleans())
    if data.draw(st.booleans()):
        line = line[:-1] if end else line[1:]
    else:
        c = data.draw(st.sampled_from(["\n", ",", "{", "}", "]", " "]))
        line = line + c if end else c + line
    lines[at] = line
    damaged = "\n".join(lines)
    want = _oracle(damaged)
    try:
        got = _read(damaged, tmp)
    except FormatError:
        return   # refused: allowed for any file (a valid one in a layout it does not read)
    assert want is not None and got == want


def test_enumerate_writes_a_file_certify_reads_by_lines(tmp_path, capsys):
    """`enumerate --regions --json` writes the line layout: `certify` reads its regions and
    pieces as FileEntries (one line each when read), shows its progress when asked, and still
    refuses a piece whose recorded volume was changed."""
    net = tmp_path / "n.json"
    assert main(["net", "random", "--widths", "2,6,6,1", "--seed", "3", "-o", str(net)]) == 0
    out = tmp_path / "c.json"
    assert main(["enumerate", str(net), "--box", "-1:1", "--regions", "--json", str(out),
                 "--no-independent-check"]) == 0
    doc = read_certificate(out)
    assert isinstance(doc["regions"], FileEntries) and isinstance(doc["pieces"], FileEntries)
    assert doc["regions"][-1] == json.loads(out.read_text())["regions"][-1]
    assert er.certify(out)["ok"]
    capsys.readouterr()
    assert main(["certify", str(out), "--progress"]) == 0   # a bar: the regions, the pieces
    err = capsys.readouterr().err
    assert "independent check: regions" in err and "independent check: pieces" in err
    lines = out.read_text().split("\n")
    at = next(i for i, line in enumerate(lines) if '"volume_squared"' in line)
    lines[at] = lines[at].replace('"volume_squared": "', '"volume_squared": "1', 1)
    out.write_text("\n".join(lines))
    with pytest.raises(er.CertificateError, match="volume squared"):
        er.certify(out)
