"""Package metadata for sid-tf2: Learning to See in the Dark on TensorFlow 2 / Keras 3."""

from setuptools import find_packages, setup

# Deployment: LiteRT and ONNX exports, and the OpenVINO, LiteRT and ONNX Runtime backends
# (sid_tf2.backends). Checked with TensorFlow 2.21, Keras 3.15, NumPy 2.4, protobuf 7.
EXPORT = [
    "ai-edge-litert>=2.0",
    "onnx>=1.17",
    "onnxruntime>=1.20",
    "openvino>=2025.0",
    "nncf>=2.16",  # OpenVINO's int8 quantiser (sid_tf2.backends.openvino_int8)
    "tf2onnx>=1.17",
]

setup(
    name="sid-tf2",
    version="0.1.0",
    description=(
        "Learning to See in the Dark (CVPR 2018) ported to TensorFlow 2 and Keras 3, "
        "in numerical parity with the original TF1 graph."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["sid_tf2", "sid_tf2.*", "weight_converter", "weight_converter.*"]),
    package_data={"sid_tf2.simulation": ["shipped_profiles/*.json"]},
    py_modules=["train_sony", "train_fuji", "test_sony"],
    install_requires=[
        # Tested against TensorFlow 2.21 and the Keras 3 it ships; tensorflow-addons is
        # deliberately absent (end-of-life, fails to import on TF >= 2.16).
        "tensorflow>=2.21,<2.22",
        "keras>=3.12,<4",
        "rawpy>=0.24",
        "numpy>=1.26",
        "absl-py>=2.0",
        # The simulator's default photographs ship inside scikit-image (no download).
        "scikit-image>=0.24",
        # TF 2.21 no longer pulls TensorBoard in; training writes its logs.
        "tensorboard>=2.21",
        # Reading raw files' TIFF structure and metadata (tifffile), and encoding TIFF/DNG tag
        # directories, PNG/JPEG Exif and JPEG (Pillow); both come with scikit-image too.
        "tifffile>=2024.1",
        "Pillow>=10",
        # The tuner's cache: the platform's user cache directory, and a lock that lets two
        # processes measuring at once merge their tables.
        "platformdirs>=3",
        "filelock>=3.12",
    ],
    extras_require={
        # The export runtimes are in the tests' extra too: their round trips are part of CI
        # (about 120 MB of wheels, installed in seconds).
        "test": ["pytest>=8", "ruff>=0.6", *EXPORT],
        "parity": ["tf-slim==1.1.0"],
        "gpu": ["tensorflow[and-cuda]>=2.21,<2.22"],
        "export": EXPORT,
    },
    # Each command's run() (`python -m` runs the same modules).
    entry_points={"console_scripts": [
        "sid-train = sid_tf2.train:run",
        "sid-test = sid_tf2.evaluate:run",
        "sid-enhance = sid_tf2.enhance:run",
        "sid-convert = weight_converter.__main__:run",
        "sid-tune = sid_tf2.tune:run",
        "sid-simulate = sid_tf2.simulate:run",
        "sid-data = sid_tf2.data.__main__:run",
        "sid-adapt = sid_tf2.adapt.command:run",
    ]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
        "Topic :: Scientific/Engineering :: Image Processing",
    ],
)
