"""Imports the generated protobuf/gRPC modules of proto/ad/v1.

The stubs are generated at build time (CMake target `ad_python`) into
build/python/ad/v1; put that folder on PYTHONPATH. When it is not there, the
repository's default build folder (../../build/python from this file, or
$AD_PYTHON_STUBS) is tried before giving up with an error that says what to do.
"""

import os
import sys


def _import():
    try:
        from ad.v1 import common_pb2, store_pb2, store_pb2_grpc  # noqa: F401
        return common_pb2, store_pb2, store_pb2_grpc
    except ImportError as first_error:
        candidates = []
        if os.environ.get("AD_PYTHON_STUBS"):
            candidates.append(os.environ["AD_PYTHON_STUBS"])
        here = os.path.dirname(os.path.abspath(__file__))
        candidates.append(os.path.join(here, "..", "..", "build", "python"))
        for folder in candidates:
            folder = os.path.normpath(folder)
            if os.path.isfile(os.path.join(folder, "ad", "v1", "store_pb2.py")):
                sys.path.append(folder)
                from ad.v1 import common_pb2, store_pb2, store_pb2_grpc  # noqa: F811
                return common_pb2, store_pb2, store_pb2_grpc
        raise ImportError(
            "ad_client: the generated stubs (ad.v1.store_pb2) are not importable "
            f"({first_error}). Build them with `scripts/build.sh ad_python` and "
            "add build/python to PYTHONPATH (or set AD_PYTHON_STUBS to that "
            "folder).") from first_error


common_pb2, store_pb2, store_pb2_grpc = _import()
