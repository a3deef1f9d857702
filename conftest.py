"""Collect rule-author YAML test cases (ntm/rulesets/<id>/tests/*.yaml) as pytest items; add --runslow."""

import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run long fuzz/differential tests")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long fuzz/differential runs (enable with --runslow)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="long run: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_collect_file(parent, file_path):
    if file_path.suffix in (".yaml", ".yml") and file_path.parent.name == "tests" \
            and file_path.parent.parent.parent.name == "rulesets":
        return CaseFileItems.from_parent(parent, path=file_path)


class CaseFileItems(pytest.File):
    def collect(self):
        from ntm.casefile import load_cases

        cf, _ = load_cases(str(self.path))
        for case in cf.cases:
            yield CaseItem.from_parent(self, name=case.name, cf=cf, case=case)


class CaseItem(pytest.Item):
    def __init__(self, *, cf, case, **kw):
        super().__init__(**kw)
        self.cf, self.case = cf, case

    def runtest(self):
        from ntm.casefile import run_case

        result = run_case(self.cf, self.case, str(self.path))
        if result.failures:
            raise CaseFailure(result.failures)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseFailure):
            return "\n".join(excinfo.value.args[0])
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"case: {self.name}"


class CaseFailure(Exception):
    pass
