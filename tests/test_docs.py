"""The user's guide cannot rot: its code runs, its printed output is what it shows, its
pictures are made by a script, and the site builds in strict mode.

Every ```python block of a page in docs/ runs, in order, in one namespace per page, with a
fresh default graph and a temporary folder as working directory. A python block followed
by a ```text title="Output" block must print exactly that text. Blocks that are not meant to
run use other fences (```text, ```bash). A ```python title="microflow/..." block is an excerpt
of that file: it does not run, and its lines must appear in the file, in order. A ```console
block is a terminal session with the ``microflow`` command: each ``$ microflow ...`` line
runs (in the same folder as the page's python), and must print the lines that follow it.
"""

import contextlib
import importlib.util
import io
import os
import pathlib
import re
import shlex
import subprocess
import sys
import textwrap

import pytest

import microflow as mf
from microflow.core.ops.base import REGISTRY

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
OUTPUT_HEADER = re.compile(r'^text\s+title="Output"\s*$')
EXCERPT_HEADER = re.compile(r'^python\s+title="([\w./-]+\.py)"\s*$')
PICTURE = re.compile(r"images/(concept_[\w-]+\.svg)")


def code_blocks(text):
    """``(language and header, code, first line number)`` for each fenced block of ``text``,
    in order; fences may be indented (inside admonitions or lists)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        stripped = lines[i].lstrip(" ")
        if not stripped.startswith("```"):
            i += 1
            continue
        indent, header, start = len(lines[i]) - len(stripped), stripped[3:].strip(), i + 1
        i += 1
        while i < len(lines) and not (lines[i].strip() == "```" and
                                      len(lines[i]) - len(lines[i].lstrip(" ")) == indent):
            i += 1
        if i == len(lines):
            raise AssertionError(f"line {start}: a ``` fence that is never closed")
        body = "\n".join(line[indent:] for line in lines[start:i])
        blocks.append((header, textwrap.dedent(body), start + 1))
        i += 1
    return blocks


def normalized(text):
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A page's surroundings: an empty default graph, a temporary working directory, no
    windows for plots, and the op registry as it was (pages may register their own ops)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    mf.reset_default_graph()
    registry = dict(REGISTRY)
    yield tmp_path
    REGISTRY.clear()
    REGISTRY.update(registry)
    mf.reset_default_graph()


def test_the_guide_has_pages():
    assert {"index.md", "quickstart.md", "concepts.md", "math.md", "ops.md", "training.md",
            "practice.md"} <= {page.name for page in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_python_block_runs_and_prints_what_the_page_shows(page, isolated):
    blocks = code_blocks(page.read_text(encoding="utf-8"))
    namespace = {"__name__": "__docs__"}
    for index, (header, code, line) in enumerate(blocks):
        if OUTPUT_HEADER.match(header):
            previous = blocks[index - 1][0] if index else ""
            assert previous == "python", f"{page.name}:{line}: an Output block follows no python block"
        if header == "console":
            run_console(page, code, line)
            continue
        if header != "python":
            continue
        # Padding with blank lines makes tracebacks point at the page's own line numbers.
        compiled = compile("\n" * (line - 1) + code, str(page), "exec")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compiled, namespace)
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is not None and OUTPUT_HEADER.match(following[0]):
            assert normalized(printed.getvalue()) == normalized(following[1]), (
                f"{page.name}:{line}: the block prints\n{printed.getvalue()}\nbut the page "
                f"shows (line {following[2]})\n{following[1]}")


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_excerpts_of_the_source_are_in_the_source(page):
    """An excerpt's lines (``...`` stands for lines left out) appear in its file, in order."""
    for header, code, line in code_blocks(page.read_text(encoding="utf-8")):
        match = EXCERPT_HEADER.match(header)
        if not match:
            continue
        source = [text.strip() for text in (ROOT / match.group(1)).read_text().splitlines()]
        position = 0
        for offset, text in enumerate(code.splitlines()):
            wanted = text.strip()
            if not wanted or wanted == "...":
                continue
            try:
                position = source.index(wanted, position) + 1
            except ValueError:
                raise AssertionError(
                    f"{page.name}:{line + offset}: {wanted!r} is not in {match.group(1)} (after "
                    "the excerpt's previous line): update the excerpt") from None


def run_console(page, session, line):
    """Run each ``$ microflow ...`` command of a console block; compare what it prints
    (stdout and stderr, as a terminal shows them) with the lines that follow it."""
    from microflow.apps.cli import main
    commands = []
    for offset, text in enumerate(session.splitlines()):
        if text.startswith("$ "):
            commands.append((line + offset, text[2:], []))
        else:
            assert commands, f"{page.name}:{line + offset}: console output before any $ command"
            commands[-1][2].append(text)
    for number, command, expected in commands:
        words = shlex.split(command)
        assert words[0] == "microflow", (
            f"{page.name}:{number}: a console block runs microflow commands only; use ```bash "
            "for other shell commands")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            main(words[1:])
        assert normalized(printed.getvalue()) == normalized("\n".join(expected)), (
            f"{page.name}:{number}: `{command}` prints\n{printed.getvalue()}\nbut the page "
            "shows\n" + "\n".join(expected))


def test_python_fences_are_spelled_python():
    """A block fenced ```py or ```Python would silently escape the test above."""
    for page in PAGES:
        for header, _, line in code_blocks(page.read_text(encoding="utf-8")):
            language = header.split()[0] if header else ""
            assert language in ("python", "text", "bash", "toml", "yaml", "dot", "console"), (
                f"{page.name}:{line}: fence ```{header}: use ```python for code that runs, "
                "```text or ```bash for the rest")
            assert language != "python" or header == "python" or EXCERPT_HEADER.match(header), (
                f"{page.name}:{line}: ```{header} would neither run nor be checked: write "
                '```python, or ```python title="microflow/FILE.py" for an excerpt')


def load(script):
    """A Python file of docs/, imported as a module."""
    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), DOCS / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _has_dot():
    import shutil
    return shutil.which("dot") is not None


@pytest.mark.skipif(not _has_dot(), reason="Graphviz's dot is not installed")
def test_the_concept_pictures_are_the_scripts(tmp_path):
    """docs/make_pictures.py draws every concept picture the pages show, and the concept
    pictures in docs/images are exactly those it draws."""
    made = {pathlib.Path(path).name
            for path in load("make_pictures.py").draw_concept_pictures(tmp_path)}
    committed = {path.name for path in (DOCS / "images").glob("concept_*.svg")}
    shown = {name for page in PAGES for name in PICTURE.findall(page.read_text(encoding="utf-8"))}
    assert made == committed, "run `python docs/make_pictures.py concepts` and commit docs/images"
    assert shown <= made, f"pages show pictures the script does not draw: {shown - made}"
    for name in made:
        assert (tmp_path / name).read_text().lstrip().startswith(("<?xml", "<svg"))


def _docs_tools_installed():
    return all(importlib.util.find_spec(name) is not None for name in
               ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers", "latex2mathml"))


@pytest.mark.skipif(not _docs_tools_installed(),
                    reason='the docs tools are not installed: pip install -e ".[docs]"')
def test_the_site_builds_in_strict_mode(tmp_path):
    """A broken link, a missing page or an unresolved API reference fails the build."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "index.html").exists()


@pytest.mark.skipif(not _docs_tools_installed(),
                    reason='the docs tools are not installed: pip install -e ".[docs]"')
def test_the_build_hooks_make_mathml_code_and_fenced_examples():
    hooks = load("hooks.py")
    page = ('<p><span class="arithmatex">\\(t_k \\log y_k &lt; 1\\)</span> and '
            ':func:<code>microflow.core.random.set_seed</code> or :class:<code>Graph</code>::</p>')
    html = hooks.on_page_content(page)
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in html
    assert '<annotation encoding="application/x-tex">t_k \\log y_k &lt; 1</annotation>' in html
    assert f"{hooks._THIN}<mi>log</mi>{hooks._THIN}" in html
    assert '<autoref identifier="microflow.core.random.set_seed" optional><code>set_seed</code>' in html
    assert " or <code>Graph</code>:</p>" in html
    docstring = "Intro.\n\n>>> a = 1\n>>> a\n1\n\nExamples\n--------\n>>> b"
    assert hooks.fence_doctests(docstring) == (
        "Intro.\n\n```python\n>>> a = 1\n>>> a\n1\n```\n\nExamples\n--------\n>>> b")
