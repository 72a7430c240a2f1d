"""pytest plugins of the ServiceDesk test suite (loaded with ``-p`` from pyproject.toml)."""
