"""Every link in README.md and docs/, and every document the scripts cite
(their --help and the report's text), resolves to a file in the tree."""
import glob
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")
# A project document named in prose: MEASURING.md, docs/MEASURING.md, ...
DOC_NAME = re.compile(r"(?<![\w/.-])((?:docs/)?[A-Z][A-Z0-9_]*\.md)\b")


def docs():
    return [os.path.join(ROOT, "README.md")] + sorted(
        glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))


def script_sources():
    return sorted(glob.glob(os.path.join(ROOT, "scripts", "**", "*.py"),
                            recursive=True))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def broken_links(path, text):
    out = []
    for target in MD_LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue        # http:, mailto:, an anchor in the same page
        rel = target.split("#", 1)[0]
        if not os.path.exists(os.path.join(os.path.dirname(path), rel)):
            out.append(target)
    return out


def unresolved_names(text):
    return sorted({n for n in DOC_NAME.findall(text)
                   if not os.path.exists(os.path.join(ROOT, n))})


class LinkTest(unittest.TestCase):
    def test_markdown_links_resolve(self):
        for path in docs():
            with self.subTest(doc=os.path.relpath(path, ROOT)):
                self.assertEqual(broken_links(path, read(path)), [])

    def test_cited_documents_exist(self):
        for path in docs() + script_sources():
            with self.subTest(file=os.path.relpath(path, ROOT)):
                self.assertEqual(unresolved_names(read(path)), [])

    def test_measuring_notes_are_in_the_tree(self):
        self.assertTrue(os.path.isfile(os.path.join(ROOT, "docs",
                                                    "MEASURING.md")))
        self.assertIn("docs/MEASURING.md", read(os.path.join(ROOT,
                                                             "README.md")))

    def test_the_checker_can_fail(self):
        here = os.path.join(ROOT, "README.md")
        self.assertEqual(broken_links(here, "[x](no/such.md) [y](#a) "
                                      "[z](https://e.org) [d](docs/)"),
                         ["no/such.md"])
        self.assertEqual(unresolved_names("see CONTRACT.md and "
                                          "docs/MEASURING.md, seed.md"),
                         ["CONTRACT.md"])


if __name__ == "__main__":
    unittest.main()
