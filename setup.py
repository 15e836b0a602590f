"""Packaging beyond pyproject.toml: the packages under src/, and the default models kept in the repository's models/
folder installed inside the package as ``openbook/default_models`` (pyproject's package finder cannot map a folder
outside src/ into the package)."""

from setuptools import find_packages, setup

DEFAULT_MODELS = ("retriever-minilm-squad11-int8", "reader-minilm-squad11-int8")  # openbook.config's defaults

setup(
    packages=[*find_packages("src"), "openbook.default_models"],
    package_dir={"": "src", "openbook.default_models": "models"},
    package_data={
        "openbook.default_models": [
            f"{name}/{pattern}"
            for name in DEFAULT_MODELS
            for pattern in ("*.xml", "*.bin", "vocab.txt", "manifest.json")
        ]
    },
    include_package_data=False,
)
