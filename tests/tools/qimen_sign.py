#!/usr/bin/env python3
"""An independent Qimen SPI request signer (Python 3 standard library only).

End-to-end tests use it to prove that Busgate accepts requests signed by code that is not
Busgate's. It is written from the protocol notes (qimen-top.md, sections 2.2 and 1.4), not
from the Rust code, and mirrors what the signing side must produce for the official verifier
(`SpiUtils.checkSign`) to accept the request:

    sign = HEX_UPPER(MD5(secret + k1 v1 k2 v2 ... + body + secret))

* the parameters are every query parameter sent (decoded values, empty values kept as a bare
  key), plus the headers named in a `top-sign-list` header (URL-decoded values; blank -> ""),
  plus, for a form body, the form fields whose names are not in the query;
* names are sorted like Java's `Arrays.sort` on `String` (UTF-16 code units);
* the body is appended verbatim for text content types (JSON, XML, plain text); a form body
  is not appended (its fields are signed instead);
* everything is encoded as UTF-8.

Command line:

    python3 tests/tools/qimen_sign.py --secret S --body-file F \
        [--param k=v ...] [--header 'Name: v' ...] [--content-type T]

prints the full query string, URL-encoded with urllib.parse.quote_plus, in the order the
parameters were given, followed by `&sign=...`. Header values are taken as they appear on the
wire (already URL-encoded); headers are only signed when a `top-sign-list` header names them,
exactly as on the receiving side. `--body-file -` reads standard input.

As a module: `sign(secret, params, body_bytes, headers=(), content_type=...)` returns the sign
and `signed_query(...)` the query string with the sign appended.
"""

import argparse
import hashlib
import sys
import unicodedata
import urllib.parse

DEFAULT_CONTENT_TYPE = "application/json;charset=utf-8"
TEXT_TYPES = ("application/json", "text/xml", "application/xml", "text/plain")
FORM_TYPE = "application/x-www-form-urlencoded"

__all__ = ["sign", "signed_query", "DEFAULT_CONTENT_TYPE"]


def _java_is_whitespace(ch):
    """java.lang.Character.isWhitespace (not str.isspace: that one also accepts U+00A0, U+0085...)."""
    if ch in "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f":
        return True
    if ch in "\u00a0\u2007\u202f":
        return False
    return unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def _is_blank(value):
    """The SDK's StringUtils.isEmpty: None, empty, or whitespace only."""
    return value is None or all(_java_is_whitespace(c) for c in value)


def _java_sort_key(name):
    """Java String.compareTo order: lexicographic over UTF-16 code units."""
    return name.encode("utf-16-be")


def _pairs(params):
    if params is None:
        return []
    if hasattr(params, "items"):
        return list(params.items())
    return [tuple(p) for p in params]


def _mode(content_type):
    ctype = content_type or ""
    if ctype.startswith(TEXT_TYPES):
        return "text"
    if ctype.startswith(FORM_TYPE):
        return "form"
    raise ValueError("unsupported content type %r (the official verifier rejects it)" % ctype)


def _header(headers, name):
    """First header of that name, compared case-insensitively like a servlet container."""
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def sign(secret, params, body_bytes, headers=(), content_type=DEFAULT_CONTENT_TYPE):
    """The sign Qimen sends for this request.

    secret: the app secret (str). params: the query parameters as (name, value) pairs or a dict,
    values not URL-encoded; the key `sign` is not allowed. body_bytes: the raw body. headers:
    (name, wire value) pairs; only those named by a `top-sign-list` header are signed.
    """
    mode = _mode(content_type)
    headers = [(str(k), str(v)) for k, v in _pairs(headers)]
    signed = {}

    sign_list = _header(headers, "top-sign-list")
    if not _is_blank(sign_list):
        for name in sign_list.split(","):
            value = _header(headers, name)
            signed[name] = "" if _is_blank(value) else urllib.parse.unquote_plus(value, encoding="utf-8")

    query = {}
    for name, value in _pairs(params):
        if name == "sign":
            raise ValueError("`sign` is computed, do not pass it as a parameter")
        query[name] = "" if value is None else str(value)  # a later duplicate wins, as in a map
    signed.update(query)

    if mode == "form":
        text = body_bytes.decode("utf-8", errors="replace")
        seen = set()
        for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="utf-8"):
            if name in seen:  # getParameter returns the first value
                continue
            seen.add(name)
            if name not in query:
                signed[name] = "" if _is_blank(value) else value

    data = bytearray(secret.encode("utf-8"))
    for name in sorted(signed, key=_java_sort_key):
        if name == "sign":
            continue
        data += name.encode("utf-8")
        data += signed[name].encode("utf-8")
    if mode == "text":
        data += body_bytes
    data += secret.encode("utf-8")
    return hashlib.md5(bytes(data)).hexdigest().upper()


def signed_query(secret, params, body_bytes, headers=(), content_type=DEFAULT_CONTENT_TYPE):
    """The URL query string (values encoded with quote_plus) ending with `&sign=...`."""
    pairs = _pairs(params)
    value = sign(secret, pairs, body_bytes, headers, content_type)
    parts = [
        "%s=%s" % (urllib.parse.quote_plus(k), urllib.parse.quote_plus("" if v is None else str(v)))
        for k, v in pairs
    ]
    parts.append("sign=" + value)
    return "&".join(parts)


def _parse_param(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError("expected NAME=VALUE, got %r" % text)
    name, value = text.split("=", 1)
    if not name:
        raise argparse.ArgumentTypeError("empty parameter name in %r" % text)
    return (name, value)


def _parse_header(text):
    if ":" not in text:
        raise argparse.ArgumentTypeError("expected 'Name: value', got %r" % text)
    name, value = text.split(":", 1)
    name = name.strip()
    if not name:
        raise argparse.ArgumentTypeError("empty header name in %r" % text)
    return (name, value.strip(" \t"))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Sign a Qimen SPI request (independent reference signer); prints the query string with &sign=."
    )
    parser.add_argument("--secret", required=True, help="app secret (use --secret=VALUE if it starts with '-')")
    parser.add_argument("--body-file", required=True, help="raw request body, '-' for standard input")
    parser.add_argument("--param", action="append", default=[], type=_parse_param, metavar="NAME=VALUE",
                        help="a query parameter, not URL-encoded; repeatable, order kept")
    parser.add_argument("--header", action="append", default=[], type=_parse_header, metavar="'Name: value'",
                        help="a request header as on the wire; signed only if named in a top-sign-list header")
    parser.add_argument("--content-type", default=DEFAULT_CONTENT_TYPE,
                        help="request Content-Type (default %(default)s)")
    args = parser.parse_args(argv)

    try:
        if args.body_file == "-":
            body = sys.stdin.buffer.read()
        else:
            with open(args.body_file, "rb") as f:
                body = f.read()
    except OSError as e:
        print("error: cannot read body file %r: %s" % (args.body_file, e), file=sys.stderr)
        return 1

    if args.header and _header(args.header, "top-sign-list") is None:
        print("note: no top-sign-list header, so no header is signed", file=sys.stderr)

    try:
        print(signed_query(args.secret, args.param, body, args.header, args.content_type))
    except ValueError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
