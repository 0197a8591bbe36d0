"""MkDocs hooks for the user's guide, applied to each page's HTML as the site is built.

- Formulas: the TeX that pymdownx.arithmatex marks becomes MathML. Browsers render MathML
  themselves, so the pages need no JavaScript and no CDN and read the same offline. In the
  Markdown the formulas stay TeX (``$...$`` inline, ``$$...$$`` on their own lines), which
  GitHub also renders.
- Docstrings: some use Sphinx roles (``:func:`name` ``) and end a paragraph with ``::``
  before an example. The roles become code, linked when the name is a full dotted path;
  ``::`` becomes ``:``.
- Docstring examples outside an ``Examples`` section (``>>>`` lines in a module's
  description, say) would read as nested Markdown quotes: :class:`DoctestBlocks`, a griffe
  extension that mkdocs.yml gives to mkdocstrings, fences them as Python code.
"""

import html
import re

import griffe
from latex2mathml.converter import convert

_MATH = re.compile(r'<(div|span) class="arithmatex">\\[\[(](.*?)\\[\])]</\1>', re.S)
# \log, \exp...: TeX sets a thin space around a function name (none between it and a
# parenthesis); latex2mathml writes a bare <mi>, which browsers set tight against its neighbours.
_FUNCTION = re.compile(r'<mi>(log|exp|tanh|sin|cos)</mi>(<mo stretchy="false">(?:\(|&#x00028;))?')
_THIN = '<mspace width="0.1667em"/>'


def _to_mathml(match):
    tag, tex = match.group(1), html.unescape(match.group(2)).strip()
    mathml = convert(tex, display="block" if tag == "div" else "inline")
    mathml = _FUNCTION.sub(
        lambda m: f"{_THIN}<mi>{m.group(1)}</mi>{m.group(2) or _THIN}", mathml)
    # Keep the TeX as an annotation, for copy and paste and for screen readers.
    head, _, rest = mathml.partition(">")
    body = rest.rsplit("</math>", 1)[0]
    return (f'<{tag} class="arithmatex">{head}><semantics>{body}'
            f'<annotation encoding="application/x-tex">{html.escape(tex)}</annotation>'
            f'</semantics></math></{tag}>')


_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):<code>~?([\w.]+)(\(\))?</code>")
_DOUBLE_COLON = re.compile(r"::</p>")


def _role(match):
    name, call = match.group(1), match.group(2) or ""
    code = f"<code>{name.rsplit('.', 1)[-1] if '.' in name else name}{call}</code>"
    if "." not in name:
        return code
    # An optional reference: mkdocs-autorefs links it if the name is documented, and leaves
    # the code alone (without a warning) if not.
    return f'<autoref identifier="{name}" optional>{code}</autoref>'


def on_page_content(html_text, **_):
    html_text = _MATH.sub(_to_mathml, html_text)
    html_text = _ROLE.sub(_role, html_text)
    return _DOUBLE_COLON.sub(":</p>", html_text)


_SECTION_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def fence_doctests(text):
    """``text`` with each run of ``>>>`` lines (and the output under them, up to a blank
    line) outside an ``Examples`` section put in a ```python fence."""
    lines, out, section, i = text.splitlines(), [], "", 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and line.strip() and _SECTION_UNDERLINE.match(lines[i + 1]):
            section = line.strip().lower()
        if line.lstrip().startswith(">>>") and section not in ("examples", "example"):
            indent = line[:len(line) - len(line.lstrip())]
            out.append(f"{indent}```python")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append(f"{indent}```")
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Fence the ``>>>`` examples that numpy-style parsing would leave as plain text."""

    def on_instance(self, *, obj, **_):
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
