import importlib
import os
import pkgutil
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings


def _import_every_local_module() -> None:
    """Hypothesis draws some of its values from the constants in the *local* modules loaded so
    far (its "local constants" pool), so the examples of a derandomised test would depend on
    which tests ran before it and imported what.  Every module of the repository is imported
    here, first, so each test sees the same pool whatever is selected and in whatever order."""
    root = Path(__file__).resolve().parent.parent
    for package in ("exactregions", "proofs_check"):
        top = importlib.import_module(package)
        for info in pkgutil.walk_packages(top.__path__, package + "."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:  # pytest's default (prepend) import mode puts it there too
        sys.path.insert(0, here)
    for path in sorted((root / "tests").glob("*.py")):
        if path.stem != "conftest":
            importlib.import_module(path.stem)


# Exact arithmetic is slow per example: no deadline.  Derandomised: same seed, same examples.
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# After the profile: the settings of a test module's decorators fall back to the profile
# loaded when the module is imported.
_import_every_local_module()
