"""Checks every input in Python before it is sent, so that bad input raises
InvalidArgument naming the field and no RPC is made. The store checks again
(it must: not every client is this one); these checks mirror storage/history.h
and storage/transitions.h, plus a few the store cannot make (dtypes, NaN).
"""

import math
import re

import grpc
import numpy as np

from ad_client._stubs import common_pb2, store_pb2
from ad_client.errors import InvalidArgument, StoreError

HISTORY_ID_RE = re.compile(r"[A-Za-z0-9._:/=,-]+\Z")
MAX_HISTORY_ID_LENGTH = 256
MAX_NAME_LENGTH = 256
SPLITS = ("train", "test")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
UINT32_MAX, UINT64_MAX = 2**32 - 1, 2**64 - 1

# Identity fields of HistoryMeta a writer sets (the rest is the store's).
META_FIELDS = ("history_id", "env", "task_id", "source", "seed", "stream",
               "split", "obs_dim", "num_actions")


def _short(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def history_id(value, field="history_id"):
    if not isinstance(value, str):
        raise InvalidArgument(field, f"must be a str, got {type(value).__name__}")
    if not value:
        raise InvalidArgument(field, "must not be empty")
    if len(value) > MAX_HISTORY_ID_LENGTH:
        raise InvalidArgument(
            field, f"has {len(value)} characters; at most {MAX_HISTORY_ID_LENGTH}")
    if not HISTORY_ID_RE.match(value):
        raise InvalidArgument(
            field, f"{_short(value)} has a character outside [A-Za-z0-9._:/=,-]")
    return value


def name(value, field, allow_empty=False):
    if not isinstance(value, str):
        raise InvalidArgument(field, f"must be a str, got {type(value).__name__}")
    if not value and not allow_empty:
        raise InvalidArgument(field, "must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            field, f"has {len(value)} characters; at most {MAX_NAME_LENGTH}")
    if "\0" in value:
        raise InvalidArgument(field, "must not contain NUL characters")
    return value


def split(value, field="split", allow_empty=False):
    name(value, field, allow_empty=True)
    if value in SPLITS or (allow_empty and value == ""):
        return value
    allowed = "'train' or 'test'" + (" (or empty)" if allow_empty else "")
    raise InvalidArgument(field, f"is {_short(value)}; must be {allowed}")


def integer(value, field, low, high):
    """An int in [low, high]; bool and non-integral numbers are rejected."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, np.integer)):
        raise InvalidArgument(field, f"must be an int, got {_short(value)}")
    value = int(value)
    if not low <= value <= high:
        raise InvalidArgument(field, f"is {value}; must lie in [{low}, {high}]")
    return value


def boolean(value, field):
    """A bool (Python's or numpy's); 0, 1, strings and None are rejected."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgument(field, f"must be a bool, got {_short(value)}")
    return bool(value)


def meta(value, obs_dim=None):
    """HistoryMeta (identity only) from a dict or an ad.v1.HistoryMeta.

    `obs_dim` (from the observations) fills a missing meta obs_dim and must
    match a given one. Summary fields (length, episodes, ...) are the store's
    and are not sent.
    """
    if isinstance(value, common_pb2.HistoryMeta):
        fields = {f: getattr(value, f) for f in META_FIELDS}
        if fields["obs_dim"] == 0:
            fields["obs_dim"] = None
    elif isinstance(value, dict):
        unknown = sorted(set(value) - set(META_FIELDS))
        if unknown:
            raise InvalidArgument(
                f"meta.{unknown[0]}",
                f"is not a field a writer sets; known: {', '.join(META_FIELDS)}")
        fields = dict(value)
    else:
        raise InvalidArgument(
            "meta", f"must be a dict or ad.v1.HistoryMeta, got "
            f"{type(value).__name__}")
    for required in ("history_id", "env", "task_id", "source", "split"):
        if required not in fields:
            raise InvalidArgument(f"meta.{required}", "is required")
    out = common_pb2.HistoryMeta()
    out.history_id = history_id(fields["history_id"], "meta.history_id")
    out.env = name(fields["env"], "meta.env")
    out.task_id = name(fields["task_id"], "meta.task_id")
    out.source = name(fields["source"], "meta.source")
    out.split = split(fields["split"], "meta.split")
    out.seed = integer(fields.get("seed", 0), "meta.seed", 0, UINT64_MAX)
    out.stream = integer(fields.get("stream", 0), "meta.stream", 0, UINT32_MAX)
    out.num_actions = integer(fields.get("num_actions", 0), "meta.num_actions",
                              0, UINT32_MAX)
    given = fields.get("obs_dim")
    if given is None:
        if obs_dim is None:
            raise InvalidArgument("meta.obs_dim",
                                  "is required (or pass observations)")
        given = obs_dim
    out.obs_dim = integer(given, "meta.obs_dim", 1, UINT32_MAX)
    if obs_dim is not None and obs_dim != out.obs_dim:
        raise InvalidArgument(
            "obs", f"has {obs_dim} values per observation; meta.obs_dim is "
            f"{out.obs_dim}")
    return out


def _integer_array(value, field, dtype_name="int32"):
    array = np.asarray(value)
    if array.dtype == object:
        raise InvalidArgument(field, "must be a numeric array (got dtype object: "
                              "ragged or non-numeric input?)")
    if array.size == 0:
        return array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise InvalidArgument(
            field, f"must have an integer dtype (got {array.dtype}); it is "
            f"{dtype_name} on the wire")
    return array


def _check_int32(array, field, low=INT32_MIN, high=INT32_MAX):
    if array.size == 0:
        return
    bad = np.flatnonzero((array < low) | (array > high))
    if bad.size:
        index = np.unravel_index(bad[0], array.shape)
        where = ",".join(str(int(i)) for i in index)
        raise InvalidArgument(
            f"{field}[{where}]",
            f"is {int(array[index])}; must lie in [{low}, {high}]")


def _one_per_action(value, field, n, kinds, what):
    """`value` as an array of n values of a dtype kind in `kinds` (what:
    the kinds in words); InvalidArgument naming `field` otherwise."""
    array = np.asarray(value)
    if array.dtype == object or (array.size and array.dtype.kind not in kinds):
        raise InvalidArgument(
            field, f"must be {what} (got dtype {array.dtype})")
    if array.ndim != 1 or array.shape[0] != n:
        raise InvalidArgument(
            field, f"must be [{n}] (one per action), got shape {array.shape}")
    return array


def obs_dim_of(obs):
    """Values per observation of `obs` shaped [n, ...] (None if unknown)."""
    array = np.asarray(obs)
    if array.ndim < 2:
        return 1 if array.ndim == 1 and array.size else None
    return int(np.prod(array.shape[1:]))


def transitions(obs, actions, rewards, dones, obs_dim, num_actions=0):
    """Validated (obs int32 [n, obs_dim], actions int32 [n], rewards float32
    [n], dones uint8 [n]).

    obs is [n, obs_dim] (or [n, *shape] with prod(shape) == obs_dim, or [n]
    when obs_dim is 1); actions, rewards, dones are [n]. Actions lie in
    [0, num_actions) when num_actions > 0; rewards are finite float32 values;
    dones are bool or 0/1.
    """
    actions = _integer_array(actions, "actions")
    if actions.ndim != 1:
        raise InvalidArgument("actions",
                              f"must be 1-D [n], got shape {actions.shape}")
    n = actions.shape[0]
    high = num_actions - 1 if num_actions > 0 else INT32_MAX
    _check_int32(actions, "actions", 0, high)

    obs = _integer_array(obs, "obs")
    if obs.size == 0 and n == 0:
        obs = obs.reshape(0, obs_dim)
    elif obs.ndim == 1 and obs_dim == 1:
        obs = obs.reshape(-1, 1)
    if obs.ndim < 2:
        raise InvalidArgument(
            "obs", f"must be [n, obs_dim] = [{n}, {obs_dim}], got shape "
            f"{obs.shape}")
    if obs.shape[0] != n:
        raise InvalidArgument(
            "obs", f"has {obs.shape[0]} observations; expected {n} (one per "
            "action)")
    per_obs = int(np.prod(obs.shape[1:]))
    if per_obs != obs_dim:
        raise InvalidArgument(
            "obs", f"has shape {obs.shape}: {per_obs} values per observation; "
            f"obs_dim is {obs_dim}")
    obs = obs.reshape(n, obs_dim)
    _check_int32(obs, "obs")

    rewards = _one_per_action(rewards, "rewards", n, "iuf", "a float array")
    with np.errstate(over="ignore", invalid="ignore"):
        rewards32 = rewards.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(rewards32))
    if bad.size:
        raise InvalidArgument(
            f"rewards[{bad[0]}]",
            f"is {rewards[bad[0]]!r}; must be finite in float32")

    dones = _one_per_action(dones, "dones", n, "biu",
                            "bool or 0/1 integers")
    if dones.dtype.kind != "b" and dones.size:
        bad = np.flatnonzero((dones != 0) & (dones != 1))
        if bad.size:
            raise InvalidArgument(f"dones[{bad[0]}]",
                                  f"is {int(dones[bad[0]])}; must be 0 or 1")

    return (np.ascontiguousarray(obs, dtype=np.int32),
            np.ascontiguousarray(actions, dtype=np.int32),
            np.ascontiguousarray(rewards32),
            np.ascontiguousarray(dones, dtype=np.uint8))


def transition_batch(obs, actions, rewards, dones, obs_dim):
    """ad.v1.TransitionBatch of already validated arrays."""
    batch = common_pb2.TransitionBatch(obs_dim=obs_dim)
    batch.obs.extend(obs.reshape(-1).tolist())
    batch.actions.extend(actions.tolist())
    batch.rewards.extend(rewards.tolist())
    batch.dones = dones.tobytes()
    return batch


def received_obs(batch, count, what):
    """The int32 observations (flat, `count` values) of a TransitionBatch the
    store sent, whichever field carried them: `obs`, or `obs_u8` (one byte per
    value; the store uses it for pixel families such as watermaze). Raises
    StoreError(DATA_LOSS) naming `what` when both fields are set or the one
    used holds the wrong number of values."""
    if len(batch.obs_u8):
        if len(batch.obs):
            raise StoreError(grpc.StatusCode.DATA_LOSS,
                             "transitions.obs and transitions.obs_u8 are "
                             "both set", what)
        if len(batch.obs_u8) != count:
            raise StoreError(grpc.StatusCode.DATA_LOSS,
                             f"transitions.obs_u8 has {len(batch.obs_u8)} "
                             f"bytes; expected {count}", what)
        return np.frombuffer(batch.obs_u8, np.uint8).astype(np.int32)
    if len(batch.obs) != count:
        raise StoreError(grpc.StatusCode.DATA_LOSS,
                         f"transitions.obs has {len(batch.obs)} values; "
                         f"expected {count}", what)
    return np.fromiter(batch.obs, np.int32, count=count)


def window_filter(value):
    """ad.v1.WindowFilter from a dict (or one, passed through checked)."""
    if value is None:
        value = {}
    if isinstance(value, store_pb2.WindowFilter):
        value = {"env": value.env, "task_ids": list(value.task_ids),
                 "source": value.source, "split": value.split,
                 "complete_only": value.complete_only}
    if not isinstance(value, dict):
        raise InvalidArgument(
            "filter", f"must be a dict or ad.v1.WindowFilter, got "
            f"{type(value).__name__}")
    known = ("env", "task_ids", "source", "split", "complete_only")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise InvalidArgument(f"filter.{unknown[0]}",
                              f"is unknown; known: {', '.join(known)}")
    out = store_pb2.WindowFilter()
    out.env = name(value.get("env", ""), "filter.env", allow_empty=True)
    task_ids = value.get("task_ids", [])
    if isinstance(task_ids, str):
        raise InvalidArgument("filter.task_ids",
                              "must be a list of task ids, not one str")
    for i, task in enumerate(task_ids):
        out.task_ids.append(name(task, f"filter.task_ids[{i}]"))
    out.source = name(value.get("source", ""), "filter.source", allow_empty=True)
    out.split = split(value.get("split", ""), "filter.split", allow_empty=True)
    complete_only = value.get("complete_only", False)
    if not isinstance(complete_only, (bool, np.bool_)):
        raise InvalidArgument("filter.complete_only",
                              f"must be a bool, got {_short(complete_only)}")
    out.complete_only = bool(complete_only)
    return out


def positive_seconds(value, field, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value <= 0:
        raise InvalidArgument(field, f"must be a positive number of seconds, "
                              f"got {_short(value)}")
    return float(value)
