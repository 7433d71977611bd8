#!/usr/bin/env python3
"""Writes every ```cpp block of the given Markdown files as a translation unit.

Usage: extract_snippets.py OUTPUT_DIR ROOT FILE.md...
Prints the name of each snippet, one a line; its file is OUTPUT_DIR/<name>.cpp.

Where a block goes in its translation unit (see snippet_prelude.hpp) is chosen by an
HTML comment on the line just before its fence, invisible on GitHub:
  (none)                          the body of a function
  <!-- snippet: coroutine -->     the body of a coroutine, where `cache` is an AsyncCache
  <!-- snippet: namespace -->     namespace scope (types, BOOST_DESCRIBE_STRUCT, globals)
  <!-- snippet: global -->        the global namespace (#include, codec specializations)
"""
import pathlib
import re
import sys

PLACEMENTS = {"function", "coroutine", "namespace", "global"}
MARKER = re.compile(r"^<!--\s*snippet:\s*(\w+)\s*-->\s*$")


def blocks(text):
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```cpp":
            start = i + 1
            marker = MARKER.match(lines[i - 1].strip()) if i > 0 else None
            placement = marker.group(1) if marker else "function"
            end = start
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            yield start + 1, placement, "\n".join(lines[start:end])
            i = end
        i += 1


def translation_unit(source, line, placement, code):
    where = f'#line {line} "{source}"\n{code}\n'
    head = '#include "snippet_prelude.hpp"\n\n'
    if placement == "global":
        return head + where
    if placement == "coroutine":
        return (head + "namespace docs_snippet {\nboost::asio::awaitable<void> snippet() {\n"
                "  gencache::AsyncCache& cache = async_cache;\n" + where +
                "}\n}  // namespace docs_snippet\n")
    if placement == "namespace":
        return head + "namespace docs_snippet {\n" + where + "}  // namespace docs_snippet\n"
    return (head + "namespace docs_snippet {\nvoid snippet() {\n" + where +
            "}\n}  // namespace docs_snippet\n")


def main():
    out_dir = pathlib.Path(sys.argv[1])
    root = pathlib.Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[3:]:
        path = root / name
        for line, placement, code in blocks(path.read_text()):
            if placement not in PLACEMENTS:
                sys.exit(f"{name}:{line - 1}: unknown snippet placement '{placement}'; "
                         f"expected one of {sorted(PLACEMENTS)}")
            test = re.sub(r"[^A-Za-z0-9]+", "_", name) + f"_{line}"
            target = out_dir / f"{test}.cpp"
            text = translation_unit(path, line, placement, code)
            if not target.exists() or target.read_text() != text:
                target.write_text(text)
            print(test)


if __name__ == "__main__":
    main()
