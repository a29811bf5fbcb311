"""Errors raised by ad_client.

InvalidArgument is raised before anything is sent: the message names the
field (e.g. "rewards[3] is nan"). StoreError carries the gRPC status of a
call the store (or the network) failed; StoreTimeout is a client-side wait
that ran out (back-pressure, acknowledgements, a batch that did not come).
"""

import grpc


class InvalidArgument(ValueError):
    """Bad input caught in Python before any RPC; `field` names it."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field


class StoreError(RuntimeError):
    """A call failed with a gRPC status (`code`, a grpc.StatusCode)."""

    def __init__(self, code, message, what=""):
        prefix = f"{what}: " if what else ""
        name = code.name if isinstance(code, grpc.StatusCode) else str(code)
        super().__init__(f"{prefix}{name}: {message}")
        self.code = code
        self.details = message

    @classmethod
    def from_rpc_error(cls, error, what=""):
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = error.details() if hasattr(error, "details") else str(error)
        return cls(code, details or "", what)


class StoreTimeout(StoreError):
    """A client-side wait ran out (DEADLINE_EXCEEDED)."""

    def __init__(self, message, what=""):
        super().__init__(grpc.StatusCode.DEADLINE_EXCEEDED, message, what)


# Codes after which resending the same request may succeed (as the C++
# StoreSink: the store restarted, the network broke, a deadline passed).
RETRYABLE_CODES = frozenset({
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
})
