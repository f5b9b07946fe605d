"""Build the compiled kernels (w2v_cli/native) as the extension `w2v_kernel`.

Everything else is in pyproject.toml. The extension is optional: where no C
compiler is found the install still succeeds, and `w2v train` falls back to the
numpy engine (and says so).
"""

import sys

from setuptools import Extension, setup

# The kernel's flags mirror a "fast but honest" float model: reassociation lets
# the dot products vectorise; no finite-math assumption, so a diverging run still
# produces the inf/nan the trainer detects.
FLAGS = [
    "-O3",
    "-funroll-loops",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-fassociative-math",
    "-fno-signed-zeros",
    "-freciprocal-math",
    "-ffp-contract=fast",
    "-fno-loop-unroll-and-jam",
]

kernel = Extension(
    "w2v_kernel",
    sources=["w2v_cli/native/kernel.c", "w2v_cli/native/scan.c", "w2v_cli/native/text.c"],
    depends=["w2v_cli/native/train_impl.h"],
    extra_compile_args=[] if sys.platform == "win32" else FLAGS,
    optional=True,
)

setup(ext_modules=[kernel])
