"""Standalone build of the OpenProse grammar binding (the repository root builds it too)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            name="tree_sitter_openprose._binding",
            sources=["bindings/python/tree_sitter_openprose/binding.c", "src/parser.c", "src/scanner.c"],
            include_dirs=["src"],
            extra_compile_args=["-std=c11", "-fvisibility=hidden"],
            define_macros=[("Py_LIMITED_API", "0x030A0000"), ("PY_SSIZE_T_CLEAN", None)],
            py_limited_api=True,
        )
    ],
)
