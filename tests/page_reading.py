"""Reading report.html's data back in Python: its JSON block and its blobs."""

from __future__ import annotations

import json
import re

from pcagmm.report import html


def page_meta(text: str) -> dict:
    """The page's JSON block."""
    found = re.search(r'<script type="application/json" id="pcagmm-meta">(.*?)</script>', text)
    return json.loads(found.group(1))


def page_blob(text: str, meta: dict, name: str) -> bytes:
    """A blob's bytes: its parts decoded and joined."""
    parts = []
    for i, deflated in enumerate(meta["blobs"][name]["parts"]):
        pattern = rf'<script type="application/x-pcagmm-base85" id="blob-{name}-{i}">(.*?)<'
        parts.append(html.decode(re.search(pattern, text).group(1), deflated))
    return b"".join(parts)
