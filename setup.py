"""The compiled part of factoryos; everything else (metadata, dependencies) is in pyproject.toml.

An extension declared in pyproject.toml makes setuptools warn that the table is experimental, on
every install; here it does not.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "factoryos.ingest._spcolumns",
            ["src/factoryos/ingest/_spcolumns.c"],
            extra_compile_args=["-O2"],
            # without a C compiler the install goes on, and factoryos.ingest.spdata decodes in
            # Python and says so at start-up
            optional=True,
        )
    ]
)
