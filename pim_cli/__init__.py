"""`pim`: the PIM portal from a terminal. Standard library and httpx only, so that it runs from a clean
clone (`scripts/pim`) or installed on its own (`pip install .` gives the `pim` entry point); it talks to
the portal's REST API and never imports Django or the portal's apps."""

__version__ = "0.1.0"
