"""Package data: the repository's models/ and assets/ ship in the wheel as studio/_bundled/.

The folders stay at the root (trainings write there); setuptools maps the packages
`studio._bundled.models` and `studio._bundled.assets` onto them, and studio/core/bundled.py
finds them again through importlib.resources. Everything else is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

BUNDLED = {"studio._bundled.models": "models", "studio._bundled.assets": "assets"}

setup(
    packages=[*find_namespace_packages(include=["studio", "studio.*"]), *BUNDLED],
    package_dir=BUNDLED,
    package_data={package: ["**/*"] for package in BUNDLED},
    include_package_data=False,  # only what package_data names (assets/styles is no package)
)
