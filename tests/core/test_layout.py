"""Guards for the test tree itself: every plugin's tests must collect together in one pytest run."""

from __future__ import annotations

from tests.conftest import REPO


def test_test_folders_are_packages_and_conftest_imports_are_qualified():
    tests = REPO / "tests"
    for folder in [tests, *(p for p in tests.iterdir() if p.is_dir() and p.name not in ("plugins", "__pycache__"))]:
        assert (folder / "__init__.py").is_file(), f"{folder} needs an __init__.py (same-named modules collide)"
    for module in tests.rglob("test_*.py"):
        if "plugins" in module.relative_to(tests).parts:
            continue
        for line in module.read_text().splitlines():
            assert not line.startswith(("from conftest import", "import conftest")), \
                f"{module}: import from tests.<folder>.conftest (or .conftest), not the ambiguous 'conftest'"
