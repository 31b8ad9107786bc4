"""Builds the grammar's C sources into ``tree_sitter_openprose._binding``.

PEP 621 metadata cannot name sources outside the package tree, so the root
build compiles ``tree-sitter-openprose/src`` here; the grammar directory keeps
its own standalone packaging for people who want only the parser.
"""

from setuptools import Extension, setup

GRAMMAR = "tree-sitter-openprose"

setup(
    ext_modules=[
        Extension(
            name="tree_sitter_openprose._binding",
            sources=[
                f"{GRAMMAR}/bindings/python/tree_sitter_openprose/binding.c",
                f"{GRAMMAR}/src/parser.c",
                f"{GRAMMAR}/src/scanner.c",
            ],
            include_dirs=[f"{GRAMMAR}/src"],
            extra_compile_args=["-std=c11", "-fvisibility=hidden"],
            define_macros=[("Py_LIMITED_API", "0x030B0000"), ("PY_SSIZE_T_CLEAN", None)],
            py_limited_api=True,
        )
    ],
)
