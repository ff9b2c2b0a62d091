"""Read a page's form as a browser would submit it: every input, select and textarea."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _FormReader(HTMLParser):
    def __init__(self, form_class: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_class = form_class
        self.inside = False
        self.data: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None
        self.text: list[str] = []
        self.inputs: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form_class in a.get("class", "").split():
            self.inside = True
        if not self.inside:
            return
        if tag == "input":
            self.inputs.append(a)
            kind = a.get("type", "text")
            if kind in {"submit", "button", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.data[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select, self.first_option = a["name"], None
            self.data[a["name"]] = ""
        elif tag == "option" and self.select is not None:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.data[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea, self.text = a["name"], []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.data[self.textarea] = "".join(self.text).removeprefix("\n")
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)


def form_data(html: str, form_class: str = "desk") -> dict[str, str]:
    """The values the form with ``class="<form_class>"`` would send as it stands."""
    reader = _FormReader(form_class)
    reader.feed(html)
    return reader.data


def form_inputs(html: str, form_class: str = "desk") -> list[dict[str, Any]]:
    """The attributes of every ``<input>`` of that form."""
    reader = _FormReader(form_class)
    reader.feed(html)
    return reader.inputs
