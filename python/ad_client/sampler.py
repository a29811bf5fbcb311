"""Window batches streamed from the store's SampleWindows, decoded to NumPy
(or torch) on a prefetch thread so that a training loop never waits on the
network for a batch that could have been fetched already.

Batch i of a stream is drawn from its own random stream derived from
(seed, i) (store.proto), so when the stream breaks (store restarted,
UNAVAILABLE, the RPC deadline) the prefetch thread reconnects with
first_batch = the next index and the caller sees the same sequence of
batches an unbroken stream would have produced (given the same stored data).
"""

import queue
import random
import threading
import time

import grpc
import numpy as np

from ad_client import _validate
from ad_client.errors import StoreError, StoreTimeout

_END = object()  # sentinel: the stream is finished


class WindowBatch:
    """batch_size windows of window_len transitions, [batch][time].

    obs [B, T, obs_dim], actions [B, T], rewards [B, T], dones [B, T]
    (int32 / int32 / float32 / uint8 as NumPy arrays; after to_torch():
    int64 / int64 / float32 / float32 tensors), history_ids (B str), starts
    [B] (index of each window's first transition in its history),
    batch_index (position in the seeded stream).
    """

    __slots__ = ("obs", "actions", "rewards", "dones", "history_ids",
                 "starts", "batch_index")

    def __init__(self, obs, actions, rewards, dones, history_ids, starts,
                 batch_index):
        self.obs = obs
        self.actions = actions
        self.rewards = rewards
        self.dones = dones
        self.history_ids = history_ids
        self.starts = starts
        self.batch_index = batch_index

    @property
    def batch_size(self):
        return self.actions.shape[0]

    @property
    def window_len(self):
        return self.actions.shape[1]

    @classmethod
    def from_proto(cls, message):
        b, t = message.batch_size, message.window_len
        tr = message.transitions
        d = tr.obs_dim
        obs = _validate.received_obs(tr, b * t * d,
                                     "SampleWindows").reshape(b, t, d)
        actions = np.fromiter(tr.actions, np.int32, count=b * t).reshape(b, t)
        rewards = np.fromiter(tr.rewards, np.float32,
                              count=b * t).reshape(b, t)
        dones = np.frombuffer(tr.dones, np.uint8).reshape(b, t).copy()
        starts = np.fromiter(message.starts, np.int64, count=b)
        return cls(obs, actions, rewards, dones, list(message.history_ids),
                   starts, message.batch_index)

    def to_torch(self, device=None):
        """The same batch as torch tensors (obs/actions int64, rewards and
        dones float32), on `device` if given."""
        import torch
        def move(array, dtype):
            tensor = torch.from_numpy(np.ascontiguousarray(array)).to(dtype)
            return tensor if device is None else tensor.to(device)
        return WindowBatch(move(self.obs, torch.int64),
                           move(self.actions, torch.int64),
                           move(self.rewards, torch.float32),
                           move(self.dones, torch.float32),
                           self.history_ids, move(self.starts, torch.int64),
                           self.batch_index)

    def __repr__(self):
        return (f"WindowBatch(batch_index={self.batch_index}, "
                f"batch_size={self.batch_size}, window_len={self.window_len})")


class WindowStream:
    """Iterator of WindowBatch. Created by Store.sample_windows.

    A prefetch thread reads the SampleWindows stream and keeps up to
    `prefetch` decoded batches ready. next() waits at most `batch_timeout`
    seconds (`first_batch_timeout` for the first, which may wait for the
    store to hold min_transitions) and raises StoreTimeout after that. The
    stream ends (StopIteration) after num_batches (never when 0). close()
    (or leaving a `with` block) cancels the RPC and joins the thread.
    """

    def __init__(self, stub, request, *, prefetch, tensors, device,
                 batch_timeout, first_batch_timeout, stream_timeout, backoff,
                 max_attempts):
        self._stub = stub
        self._request = request
        self._tensors = tensors
        self._device = device
        self._batch_timeout = batch_timeout
        self._first_batch_timeout = first_batch_timeout
        self._stream_timeout = stream_timeout
        self._backoff = backoff
        self._max_attempts = max_attempts
        self._queue = queue.Queue(maxsize=prefetch)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._call = None  # guarded by _lock
        self._delivered = 0
        self._finished = False
        self.reconnects = 0
        self._thread = threading.Thread(target=self._run, name="WindowStream",
                                        daemon=True)
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        timeout = (self._first_batch_timeout if self._delivered == 0 else
                   self._batch_timeout)
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise StoreTimeout(
                f"no window batch within {timeout:g} s (batch "
                f"{self._request.first_batch + self._delivered})",
                what="SampleWindows") from None
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, BaseException):
            self.close()
            raise item
        self._delivered += 1
        return item

    def close(self):
        """Cancels the stream; next() then raises StopIteration."""
        self._finished = True
        self._stopping.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()
        # Unblock a producer waiting on a full queue.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- the prefetch thread -------------------------------------------
    def _put(self, item):
        """Blocks until there is room (or close()); False when closing."""
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self):
        request = type(self._request)()
        request.CopyFrom(self._request)
        total = request.num_batches  # 0: endless
        next_index = request.first_batch
        failures = 0
        rng = random.Random()
        while not self._stopping.is_set():
            request.first_batch = next_index
            if total:
                request.num_batches = total - (next_index -
                                               self._request.first_batch)
            progress = False
            try:
                call = self._stub.SampleWindows(request,
                                                timeout=self._stream_timeout)
                with self._lock:
                    self._call = call
                if self._stopping.is_set():
                    call.cancel()
                for message in call:
                    batch = WindowBatch.from_proto(message)
                    if self._tensors == "torch":
                        batch = batch.to_torch(self._device)
                    next_index = message.batch_index + 1
                    progress = True
                    if not self._put(batch):
                        return
                self._put(_END)
                return
            except grpc.RpcError as e:
                if self._stopping.is_set():
                    return
                code = e.code()
                retryable = code == grpc.StatusCode.UNAVAILABLE or (
                    code == grpc.StatusCode.DEADLINE_EXCEEDED and progress)
                failures = 1 if progress else failures + 1
                if not retryable or failures >= self._max_attempts:
                    suffix = (f" (after {failures} attempts)"
                              if failures > 1 else "")
                    self._put(StoreError(code, (e.details() or "") + suffix,
                                         what="SampleWindows"))
                    return
            except BaseException as e:  # decoding / torch errors
                self._put(e)
                return
            finally:
                with self._lock:
                    self._call = None
            self.reconnects += 1
            self._stopping.wait(self._backoff.delay(failures, rng))
