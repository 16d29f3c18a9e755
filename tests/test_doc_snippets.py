"""Every python code block in README.md and docs/*.md runs, and its printed output is right.

Blocks with ``>>>`` prompts are doctests; other blocks must run without error. Blocks on one
page share a namespace, in order.
"""

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_blocks_run(page):
    text = page.read_text(encoding="utf-8")
    namespace = {"__name__": "__doc__"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for m in BLOCK.finditer(text):
        line = text[: m.start()].count("\n") + 2
        code = m.group(1)
        where = f"{page.name}:{line}"
        if ">>>" in code:
            test = parser.get_doctest(code, namespace, where, str(page), line)
            runner.run(test, clear_globs=False, out=report.append)
            namespace.update(test.globs)
        else:
            exec(compile(code, where, "exec"), namespace)  # a documentation example
    assert not report, "".join(report)
