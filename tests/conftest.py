import sys
from pathlib import Path

# Make tests/helpers.py importable as `helpers` whatever the rootdir.
sys.path.insert(0, str(Path(__file__).resolve().parent))
