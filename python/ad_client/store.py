"""Store: the Python client of ad-store (ad.v1.StoreService).

    store = Store("127.0.0.1:50052")
    store.append_history(meta, obs, actions, rewards, dones)
    with store.writer(meta) as w: ...            # chunk by chunk, from an RL loop
    for batch in store.sample_windows({"env": "darkroom"}, window_len=80,
                                      batch_size=32, num_batches=100): ...
    store.tasks(); store.histories("darkroom/goal=3,7"); store.history(id)

Every call has a deadline (`timeout`, seconds); unary calls retry UNAVAILABLE
with exponential backoff (as the C++ clients do); every input is checked in
Python first and bad input raises InvalidArgument naming the field before any
RPC. Errors from the store raise StoreError (with the gRPC status code).
One Store (one gRPC channel) may be shared by threads.
"""

import random
import time

import grpc
import numpy as np

from ad_client import _validate
from ad_client._stubs import store_pb2, store_pb2_grpc
from ad_client.errors import InvalidArgument, StoreError
from ad_client.sampler import WindowStream
from ad_client.writer import Backoff, HistoryWriter


class TaskSummary:
    """One task of the store: env, task_id, split, histories, transitions."""

    __slots__ = ("env", "task_id", "split", "histories", "transitions")

    def __init__(self, message):
        for field in self.__slots__:
            setattr(self, field, getattr(message, field))

    def __repr__(self):
        return (f"TaskSummary(env={self.env!r}, task_id={self.task_id!r}, "
                f"split={self.split!r}, histories={self.histories}, "
                f"transitions={self.transitions})")


class HistoryInfo:
    """Identity and summary of one history (ad.v1.HistoryMeta): history_id,
    env, task_id, source, seed, stream, split, obs_dim, num_actions, length
    (transitions stored), episodes (completed), episode_returns (float32
    array, one per completed episode), complete (final chunk stored)."""

    __slots__ = ("history_id", "env", "task_id", "source", "seed", "stream",
                 "split", "obs_dim", "num_actions", "length", "episodes",
                 "episode_returns", "complete")

    def __init__(self, message):
        for field in self.__slots__:
            if field == "episode_returns":
                self.episode_returns = np.asarray(message.episode_returns,
                                                  np.float32)
            else:
                setattr(self, field, getattr(message, field))

    def as_meta(self):
        """The identity fields, as a dict for Store.writer / append_history."""
        return {f: getattr(self, f) for f in _validate.META_FIELDS}

    def __repr__(self):
        return (f"HistoryInfo(history_id={self.history_id!r}, "
                f"task_id={self.task_id!r}, source={self.source!r}, "
                f"length={self.length}, episodes={self.episodes}, "
                f"complete={self.complete})")


class History:
    """A history's transitions: meta (HistoryInfo), obs int32 [n, obs_dim],
    actions int32 [n], rewards float32 [n], dones uint8 [n], begin (index of
    the first transition in the history)."""

    __slots__ = ("meta", "obs", "actions", "rewards", "dones", "begin")

    def __init__(self, meta, obs, actions, rewards, dones, begin):
        self.meta = meta
        self.obs = obs
        self.actions = actions
        self.rewards = rewards
        self.dones = dones
        self.begin = begin

    def __len__(self):
        return self.actions.shape[0]

    def __repr__(self):
        return (f"History({self.meta.history_id!r}, transitions "
                f"[{self.begin}, {self.begin + len(self)}))")


class Store:
    """A connection to one ad-store. Connects lazily; see the module doc."""

    def __init__(self, address="127.0.0.1:50052", *, timeout=30.0,
                 max_message_bytes=64 << 20, retries=10, backoff=None):
        if not isinstance(address, str) or ":" not in address:
            raise InvalidArgument("address",
                                  f"must be 'host:port', got {address!r}")
        self.address = address
        self.timeout = _validate.positive_seconds(timeout, "timeout")
        self.retries = _validate.integer(retries, "retries", 1, 1000)
        self.backoff = backoff if backoff is not None else Backoff()
        limit = _validate.integer(max_message_bytes, "max_message_bytes",
                                  1024, 2**31 - 1)
        self._max_message_bytes = limit
        self._channel = grpc.insecure_channel(address, options=[
            ("grpc.max_send_message_length", limit),
            ("grpc.max_receive_message_length", limit),
            ("grpc.keepalive_time_ms", 20000),
            # Reconnect within seconds of a restarted store (gRPC's default
            # backoff grows to 2 minutes).
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.min_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ])
        self._stub = store_pb2_grpc.StoreServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def stub(self):
        """The generated StoreServiceStub, for RPCs this class does not wrap."""
        return self._stub

    def wait_ready(self, timeout=None):
        """Blocks until the channel is connected; StoreError(UNAVAILABLE)
        naming the address after `timeout` (default: the Store's)."""
        timeout = self.timeout if timeout is None else _validate.positive_seconds(
            timeout, "timeout")
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise StoreError(grpc.StatusCode.UNAVAILABLE,
                             f"no connection to {self.address} within "
                             f"{timeout:g} s") from None

    # ---- queries -------------------------------------------------------
    def _unary(self, method, request, what, timeout):
        """Calls a unary RPC with a deadline, retrying UNAVAILABLE."""
        timeout = self.timeout if timeout is None else _validate.positive_seconds(
            timeout, "timeout")
        rng = random.Random()
        for attempt in range(1, self.retries + 1):
            try:
                return method(request, timeout=timeout)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE or \
                        attempt == self.retries:
                    suffix = f" (after {attempt} attempts)" if attempt > 1 else ""
                    raise StoreError(e.code(), (e.details() or "") + suffix,
                                     what=what) from None
            time.sleep(self.backoff.delay(attempt, rng))

    def tasks(self, env="", split="", timeout=None):
        """TaskSummary of every task (of `env`, of `split` if given)."""
        request = store_pb2.ListTasksRequest(
            env=_validate.name(env, "env", allow_empty=True),
            split=_validate.split(split, "split", allow_empty=True))
        response = self._unary(self._stub.ListTasks, request, "ListTasks",
                               timeout)
        return [TaskSummary(t) for t in response.tasks]

    def histories(self, task_id, env="", timeout=None):
        """HistoryInfo of every history of `task_id` (in any env unless
        `env` is given)."""
        request = store_pb2.QueryTaskRequest(
            env=_validate.name(env, "env", allow_empty=True),
            task_id=_validate.name(task_id, "task_id"))
        response = self._unary(self._stub.QueryTask, request, "QueryTask",
                               timeout)
        return [HistoryInfo(h) for h in response.histories]

    def history_meta(self, history_id, timeout=None):
        """HistoryInfo of one history (no transitions)."""
        request = store_pb2.GetHistoryRequest(
            history_id=_validate.history_id(history_id), meta_only=True)
        return HistoryInfo(self._unary(self._stub.GetHistory, request,
                                       "GetHistory", timeout).meta)

    def history(self, history_id, begin=0, end=None, page_transitions=None,
                timeout=None):
        """Transitions [begin, end) of one history as NumPy arrays (end None:
        the length when the call starts), read in pages of at most
        `page_transitions` (default: what fits a quarter of the message
        size limit)."""
        _validate.history_id(history_id)
        begin = _validate.integer(begin, "begin", 0, _validate.UINT64_MAX)
        if end is not None:
            end = _validate.integer(end, "end", 0, _validate.UINT64_MAX)
            if end < begin:
                raise InvalidArgument("end", f"is {end}; must be >= begin "
                                      f"({begin})")
        if page_transitions is not None:
            _validate.integer(page_transitions, "page_transitions", 1, 1 << 24)
        meta = self.history_meta(history_id, timeout)
        # The store caps a GetHistory reply; a varint int32 takes <= 5 bytes.
        page = page_transitions or max(
            1, (self._max_message_bytes // 4) // (meta.obs_dim * 5 + 10))
        stop = meta.length if end is None else end
        if stop > meta.length:
            raise InvalidArgument(
                "end", f"is {stop}; history '{history_id}' holds "
                f"{meta.length} transitions")
        if begin > stop:
            raise InvalidArgument("begin", f"is {begin}; history "
                                  f"'{history_id}' holds {meta.length}")
        parts = []
        at = begin
        while at < stop:
            upto = min(stop, at + page)
            request = store_pb2.GetHistoryRequest(history_id=history_id,
                                                  begin=at, end=upto)
            response = self._unary(self._stub.GetHistory, request,
                                   "GetHistory", timeout)
            parts.append(response.transitions)
            at = upto
        def cat(arrays, dtype):
            return np.concatenate(arrays) if arrays else np.zeros(0, dtype)
        def ints(values):
            return np.fromiter(values, np.int32, count=len(values))
        obs = cat([_validate.received_obs(p, len(p.actions) * meta.obs_dim,
                                          "GetHistory") for p in parts],
                  np.int32).reshape(-1, meta.obs_dim)
        actions = cat([ints(p.actions) for p in parts], np.int32)
        rewards = cat([np.fromiter(p.rewards, np.float32, count=len(p.rewards))
                       for p in parts], np.float32)
        dones = cat([np.frombuffer(p.dones, np.uint8) for p in parts],
                    np.uint8)
        return History(meta, obs, actions, rewards, dones, begin)

    def stats(self, timeout=None):
        """histories, complete_histories, transitions, tasks, db_bytes."""
        r = self._unary(self._stub.Stats, store_pb2.StatsRequest(), "Stats",
                        timeout)
        return {f: getattr(r, f) for f in ("histories", "complete_histories",
                                           "transitions", "tasks", "db_bytes")}

    # ---- appending -----------------------------------------------------
    def writer(self, meta, **options):
        """A HistoryWriter for one new history (see ad_client.writer).

        meta: dict (or ad.v1.HistoryMeta) with history_id, env, task_id,
        source, split, and optionally seed, stream, obs_dim (else from the
        first observation), num_actions (0: actions unchecked).
        options: chunk_transitions=4096, ack_timeout=30, stream_timeout=600,
        append_timeout=60, flush_timeout=60, max_unacked_bytes=64 MiB,
        backoff=Backoff(), on_ack=callable(ad.v1.AppendAck).
        """
        return HistoryWriter(self._stub, self.address, meta, **options)

    def append_history(self, meta, obs, actions, rewards, dones, *,
                       complete=True, chunk_transitions=4096, timeout=60.0,
                       **options):
        """Appends a whole history (obs [n, obs_dim], actions [n], rewards
        [n], dones [n]) and waits until the store acknowledged all of it.
        Everything is checked before anything is sent. Returns the history's
        HistoryInfo as stored."""
        obs_dim = _validate.obs_dim_of(obs)
        checked_meta = _validate.meta(meta, obs_dim=obs_dim)
        arrays = _validate.transitions(obs, actions, rewards, dones,
                                       checked_meta.obs_dim,
                                       checked_meta.num_actions)
        writer = HistoryWriter(self._stub, self.address, checked_meta,
                               chunk_transitions=chunk_transitions,
                               flush_timeout=timeout, **options)
        try:
            writer._extend_checked(*arrays)
            writer.close(complete=complete)
        except BaseException:
            writer.abort()
            raise
        return self.history_meta(checked_meta.history_id)

    # ---- sampling ------------------------------------------------------
    def sample_windows(self, filter, window_len, batch_size, *,
                       num_batches=0, seed=0, episode_stride=1,
                       discovery_episodes=0, random_phase=False,
                       min_transitions=0, first_batch=0, prefetch=4,
                       tensors="numpy", device=None, batch_timeout=60.0,
                       first_batch_timeout=None, stream_timeout=600.0,
                       max_attempts=10):
        """An iterator (WindowStream) of WindowBatch: uniform windows of
        `window_len` transitions from the histories matching `filter`
        (dict: env, task_ids, source, split ('' = train), complete_only).

        num_batches: 0 streams until close(). seed / first_batch: batch i is
        drawn from (seed, i). episode_stride k keeps every k-th episode;
        discovery_episodes m also keeps the m episodes up to each history's
        first reward; random_phase draws each window from any phase of the
        stride (episodes p, p + k, ...), not only episode 0's.
        min_transitions: the store waits until the filter matches that many
        (up to first_batch_timeout, default the Store's timeout). prefetch:
        batches decoded ahead on a thread. tensors: "numpy" or "torch"
        (torch tensors on `device`).
        """
        request = store_pb2.SampleWindowsRequest(
            filter=_validate.window_filter(filter),
            window_len=_validate.integer(window_len, "window_len", 1,
                                         _validate.UINT32_MAX),
            batch_size=_validate.integer(batch_size, "batch_size", 1,
                                         _validate.UINT32_MAX),
            num_batches=_validate.integer(num_batches, "num_batches", 0,
                                          _validate.UINT64_MAX),
            seed=_validate.integer(seed, "seed", 0, _validate.UINT64_MAX),
            episode_stride=_validate.integer(episode_stride, "episode_stride",
                                             0, _validate.UINT32_MAX),
            discovery_episodes=_validate.integer(
                discovery_episodes, "discovery_episodes", 0,
                _validate.UINT32_MAX),
            random_phase=_validate.boolean(random_phase, "random_phase"),
            min_transitions=_validate.integer(min_transitions,
                                              "min_transitions", 0,
                                              _validate.UINT64_MAX),
            first_batch=_validate.integer(first_batch, "first_batch", 0,
                                          _validate.UINT64_MAX))
        prefetch = _validate.integer(prefetch, "prefetch", 1, 1024)
        if tensors not in ("numpy", "torch"):
            raise InvalidArgument("tensors", f"is {tensors!r}; must be "
                                  "'numpy' or 'torch'")
        if tensors == "torch":
            try:
                import torch  # noqa: F401
            except ImportError as e:
                raise InvalidArgument(
                    "tensors", "is 'torch' but torch is not importable "
                    f"({e}); install python3-torch") from None
        elif device is not None:
            raise InvalidArgument("device", "needs tensors='torch'")
        batch_timeout = _validate.positive_seconds(batch_timeout,
                                                   "batch_timeout")
        if first_batch_timeout is None:
            first_batch_timeout = max(self.timeout, batch_timeout)
        first_batch_timeout = _validate.positive_seconds(
            first_batch_timeout, "first_batch_timeout")
        stream_timeout = _validate.positive_seconds(stream_timeout,
                                                    "stream_timeout")
        max_attempts = _validate.integer(max_attempts, "max_attempts", 1, 1000)
        return WindowStream(self._stub, request, prefetch=prefetch,
                            tensors=tensors, device=device,
                            batch_timeout=batch_timeout,
                            first_batch_timeout=first_batch_timeout,
                            stream_timeout=stream_timeout,
                            backoff=self.backoff, max_attempts=max_attempts)
