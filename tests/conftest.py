import sys
from pathlib import Path

import pytest

# Make tests/helpers.py and tests/parity.py importable whatever the rootdir.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="module")
def models():
    """At most one loaded reference model at a time, shared by a test module's parity tests."""
    import parity  # imports mlx_asr: only for the modules that use this fixture

    holder = parity.OneModel()
    yield holder
    holder.clear()
