"""How Python values become the payload bytes of a cache entry and back.

The mapping (docs/PROTOCOL.md, "Python values") is chosen so that a C++ service reads
the same entries with its natural types, and so that every supported Python value comes
back as what was stored:

- ``str``: its UTF-8 bytes, exactly as ``codec<std::string>`` stores a std::string;
- ``dict`` and ``list``: compact JSON text, as the C++ JSON codec stores a described struct;
- ``None``: an "absent" entry, an empty ``std::optional`` in C++;
- ``bytes``, ``int``, ``float``, ``bool``: the byte 0xFF, a tag letter, then the value as
  the C++ codecs write it (raw bytes; 8 bytes little-endian). No UTF-8 text starts with
  0xFF, so these never read back as ``str``.
- A ``str`` that is itself JSON object or array text would read back as a ``dict`` or
  ``list``, so it alone is tagged too (0xFF ``s``).

A payload this module did not write is read as a dict or list when it is JSON object or
array text, else as ``str`` when it is UTF-8, else as ``bytes``.
"""

import json
import struct

_TAG = b"\xff"
_BYTES, _INT, _FLOAT, _BOOL, _TEXT = b"b", b"i", b"f", b"t", b"s"
_INT64 = struct.Struct("<q")
_DOUBLE = struct.Struct("<d")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

SUPPORTED = "str, bytes, int, float, bool, None, or a JSON-serialisable dict or list"


def _json_container(text):
    """The dict or list `text` is the JSON of, or None."""
    if text[:1] not in ("{", "[", b"{", b"["):
        return None
    try:
        value = json.loads(text)
    except ValueError:  # includes UnicodeDecodeError
        return None
    return value if isinstance(value, (dict, list)) else None


def encode(value):
    """The payload of `value` (bytes), or None for None (stored as an absent entry).

    Raises TypeError for a type outside the mapping and ValueError for an int outside
    64 bits or a dict or list that is not JSON-serialisable (NaN, say).
    """
    if value is None:
        return None
    if isinstance(value, str):
        payload = value.encode("utf-8")
        if _json_container(value) is not None:
            return _TAG + _TEXT + payload
        return payload
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _TAG + _BYTES + bytes(value)
    if isinstance(value, bool):  # before int: bool is an int
        return _TAG + _BOOL + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(
                f"gencache cannot store the int {value}: it does not fit in 64 bits "
                "(store it as a str)")
        return _TAG + _INT + _INT64.pack(value)
    if isinstance(value, float):
        return _TAG + _FLOAT + _DOUBLE.pack(value)
    if isinstance(value, (dict, list)):
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise type(error)(f"gencache cannot store this {type(value).__name__} as JSON: "
                              f"{error}") from error
        return text.encode("utf-8")
    raise TypeError(f"gencache cannot store a value of type {type(value).__name__}: "
                    f"expected {SUPPORTED}")


def _decode_tagged(tag, body):
    if tag == _BYTES:
        return body
    if tag == _TEXT:
        return body.decode("utf-8")
    if tag == _INT and len(body) == _INT64.size:
        return _INT64.unpack(body)[0]
    if tag == _FLOAT and len(body) == _DOUBLE.size:
        return _DOUBLE.unpack(body)[0]
    if tag == _BOOL and body in (b"\x00", b"\x01"):
        return body == b"\x01"
    raise ValueError("not a tagged payload")


def decode(payload):
    """The Python value of `payload` (bytes, or None for an absent entry)."""
    if payload is None:
        return None
    if payload[:1] == _TAG:
        try:
            return _decode_tagged(payload[1:2], payload[2:])
        except ValueError:
            return payload  # bytes written by someone else that happen to start with 0xFF
    container = _json_container(payload)
    if container is not None:
        return container
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload
