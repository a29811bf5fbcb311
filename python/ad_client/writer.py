"""HistoryWriter: appends one learning history to the store chunk by chunk,
from inside an RL loop, with the exactly-once guarantee of the C++ StoreSink
(services/store/store_sink.h).

    with store.writer(meta, chunk_transitions=1000) as w:
        obs = env.reset()
        for t in range(steps):
            action = agent.act(obs)
            next_obs, reward, done = env.step(action)
            w.append(obs, action, reward, done)   # buffered; returns at once
            obs = next_obs
    # leaving the block sends the last chunk (final) and waits for its ack

Transitions are buffered; every `chunk_transitions` of them become one chunk
(sequence numbers 0, 1, 2, ...; chunk 0 carries the meta) queued for a
background thread that owns one bidirectional Append stream. It writes
queued chunks without waiting for acks; the store acknowledges each chunk,
in order, once it is in its write-ahead log, and the thread pops it then.

Retries: when the stream breaks (store restarted or unreachable, the stream's
deadline, no ack within `ack_timeout`) the thread reconnects with exponential
backoff and jitter and resends every unacknowledged chunk from the oldest.
The store's Append is idempotent on (history id, seq): a chunk it already has
is acknowledged as a duplicate and nothing is written, so every chunk is
stored exactly once. A rejection (INVALID_ARGUMENT, NOT_FOUND,
FAILED_PRECONDITION, ALREADY_EXISTS, ...) fails the writer: its queued
chunks are dropped and every later call raises that StoreError.

Back-pressure: queuing a chunk blocks while more than `max_unacked_bytes`
are queued and unacknowledged, for at most `append_timeout` (StoreTimeout).

Ending: close() sends what is buffered as the final chunk (the history is
complete) and waits for every ack; close(complete=False) leaves the history
open (incomplete). abort() -- and leaving a `with` block by an exception --
stops at once: acknowledged chunks stay, the rest is dropped, the history
stays incomplete. A process killed mid-history leaves the same: an
incomplete history holding the acknowledged chunks.

Thread safety: one writer is driven by one thread (the RL loop); its
background thread is internal. Properties may be read from any thread.
"""

import math
import random
import threading
import time

import grpc
import numpy as np

from ad_client import _validate
from ad_client._stubs import store_pb2
from ad_client.errors import (InvalidArgument, RETRYABLE_CODES, StoreError,
                              StoreTimeout)


class Backoff:
    """Sleeps between reconnects: initial * multiplier**(failures-1), capped at
    max_backoff, scaled by U[1-jitter, 1+jitter]. Seconds."""

    def __init__(self, initial=0.05, multiplier=2.0, max_backoff=2.0,
                 jitter=0.2):
        _validate.positive_seconds(initial, "backoff.initial")
        _validate.positive_seconds(max_backoff, "backoff.max_backoff")
        if not isinstance(multiplier, (int, float)) or multiplier < 1:
            raise InvalidArgument("backoff.multiplier",
                                  f"is {multiplier!r}; must be >= 1")
        if not isinstance(jitter, (int, float)) or not 0 <= jitter < 1:
            raise InvalidArgument("backoff.jitter",
                                  f"is {jitter!r}; must lie in [0, 1)")
        self.initial = float(initial)
        self.multiplier = float(multiplier)
        self.max_backoff = float(max_backoff)
        self.jitter = float(jitter)

    def delay(self, failures, rng=random):
        scale = self.multiplier ** min(max(failures - 1, 0), 30)
        scale *= rng.uniform(1 - self.jitter, 1 + self.jitter)
        return min(self.initial * scale, self.max_backoff)


class _Pending:
    __slots__ = ("request", "bytes")

    def __init__(self, request):
        self.request = request
        self.bytes = request.ByteSize()


class _Stream:
    """State of one Append stream (one connection attempt)."""

    __slots__ = ("call", "done", "overdue", "protocol_error")

    def __init__(self):
        self.call = None
        self.done = False
        self.overdue = False
        self.protocol_error = None


class HistoryWriter:
    """Streams one history into the store. Create with Store.writer(meta)."""

    def __init__(self, stub, address, meta, *, chunk_transitions=4096,
                 ack_timeout=30.0, stream_timeout=600.0, append_timeout=60.0,
                 flush_timeout=60.0, max_unacked_bytes=64 << 20, backoff=None,
                 on_ack=None):
        self.chunk_transitions = _validate.integer(
            chunk_transitions, "chunk_transitions", 1, 1 << 20)
        self.ack_timeout = _validate.positive_seconds(ack_timeout, "ack_timeout")
        self.stream_timeout = _validate.positive_seconds(stream_timeout,
                                                         "stream_timeout")
        self.append_timeout = _validate.positive_seconds(append_timeout,
                                                         "append_timeout")
        self.flush_timeout = _validate.positive_seconds(flush_timeout,
                                                        "flush_timeout")
        self.max_unacked_bytes = _validate.integer(
            max_unacked_bytes, "max_unacked_bytes", 1, 1 << 40)
        self.backoff = backoff if backoff is not None else Backoff()
        if on_ack is not None and not callable(on_ack):
            raise InvalidArgument("on_ack", "must be callable")
        self._on_ack_callback = on_ack
        self._stub = stub
        self._address = address

        # Meta: checked now if it names obs_dim, else at the first append
        # (obs_dim then comes from the observations).
        self._raw_meta = meta
        self._meta = None
        if isinstance(meta, dict) and meta.get("obs_dim") is None:
            _validate.meta(dict(meta, obs_dim=1))  # everything but obs_dim
        else:
            self._meta = _validate.meta(meta)
        self._obs_dim = self._meta.obs_dim if self._meta else None

        # Buffer of the chunk being filled (RL-loop thread only).
        self._buf_obs = []
        self._buf_actions = []
        self._buf_rewards = []
        self._buf_dones = []
        self._next_seq = 0
        self._transitions = 0  # appended (buffered or queued)
        self._finished = False  # close()/abort() called

        self._cv = threading.Condition()
        # Guarded by _cv:
        self._queue = []       # unacknowledged _Pending, in seq order
        self._sent = 0         # queue[:sent] written on the current stream
        self._queued_bytes = 0
        self._stopping = False
        self._error = None     # StoreError that failed the history
        self._last_stream_error = None
        self._last_progress = time.monotonic()
        self._stream = None
        self._acked_length = 0
        self._acked_seq = -1
        self._complete = False
        self._counters = {"acked": 0, "duplicates": 0, "reconnects": 0}

        self._thread = threading.Thread(
            target=self._run, name=f"HistoryWriter({self.history_id})",
            daemon=True)
        self._thread.start()

    # ---- properties ----------------------------------------------------
    @property
    def history_id(self):
        if self._meta is not None:
            return self._meta.history_id
        return self._raw_meta["history_id"]

    @property
    def transitions(self):
        """Transitions appended so far (buffered, queued or acknowledged)."""
        return self._transitions

    @property
    def acked_length(self):
        """Transitions the store has acknowledged as durable."""
        with self._cv:
            return self._acked_length

    @property
    def acked_seq(self):
        """Sequence number of the last acknowledged chunk (-1: none)."""
        with self._cv:
            return self._acked_seq

    @property
    def complete(self):
        """True once the final chunk was acknowledged."""
        with self._cv:
            return self._complete

    @property
    def counters(self):
        """acked (chunks, duplicates included), duplicates (acked as already
        stored: a resend after a reconnect), reconnects (streams after the
        first)."""
        with self._cv:
            return dict(self._counters)

    @property
    def error(self):
        """The StoreError that failed this history, or None."""
        with self._cv:
            return self._error

    # ---- the RL loop's side --------------------------------------------
    def append(self, obs, action, reward, done):
        """Records one transition: the agent saw `obs`, took `action`, got
        `reward`; `done` if the step ended the episode. Sends a chunk when
        `chunk_transitions` are buffered."""
        self._check_usable()
        o = np.asarray(obs)
        if o.dtype.kind not in "iu":
            raise InvalidArgument(
                "obs", f"must have an integer dtype (got {o.dtype}); it is "
                "int32 on the wire")
        if self._obs_dim is None:
            self._set_obs_dim(max(int(o.size), 1) if o.ndim else 1)
        if o.size != self._obs_dim:
            raise InvalidArgument(
                "obs", f"has {o.size} values (shape {o.shape}); obs_dim is "
                f"{self._obs_dim}")
        o = o.reshape(self._obs_dim)
        if o.size and (o.min() < _validate.INT32_MIN or
                       o.max() > _validate.INT32_MAX):
            raise InvalidArgument("obs", "has a value outside int32")
        num_actions = self._meta.num_actions
        action = _validate.integer(
            action, "action", 0,
            num_actions - 1 if num_actions else _validate.INT32_MAX)
        if isinstance(reward, (bool, np.bool_)) or not isinstance(
                reward, (int, float, np.integer, np.floating)):
            raise InvalidArgument("reward",
                                  f"must be a number, got {reward!r}")
        reward32 = np.float32(reward)
        if not math.isfinite(reward32):
            raise InvalidArgument("reward",
                                  f"is {reward!r}; must be finite in float32")
        if done not in (0, 1) or isinstance(done, float):
            raise InvalidArgument("done", f"is {done!r}; must be bool or 0/1")
        self._buf_obs.append(o.astype(np.int32))
        self._buf_actions.append(action)
        self._buf_rewards.append(reward32)
        self._buf_dones.append(1 if done else 0)
        self._transitions += 1
        if len(self._buf_actions) >= self.chunk_transitions:
            self._send_buffer(final=False)

    def extend(self, obs, actions, rewards, dones):
        """Records many transitions at once (arrays as in
        Store.append_history); checked whole before any is buffered."""
        self._check_usable()
        if self._obs_dim is None:
            dim = _validate.obs_dim_of(obs)
            if dim is None:
                raise InvalidArgument(
                    "obs", "must be [n, obs_dim] (meta has no obs_dim)")
            self._set_obs_dim(dim)
        arrays = _validate.transitions(obs, actions, rewards, dones,
                                       self._obs_dim, self._meta.num_actions)
        self._extend_checked(*arrays)

    def flush(self, timeout=None):
        """Sends what is buffered (as an ordinary chunk) and waits until
        every chunk is acknowledged. Raises StoreError / StoreTimeout."""
        self._check_usable()
        if self._buf_actions:
            self._send_buffer(final=False)
        self._wait_acked(self.flush_timeout if timeout is None else timeout)

    def close(self, timeout=None, complete=True):
        """Sends the buffered rest as the final chunk (complete=True; the
        history is then whole) or as an ordinary chunk (complete=False: the
        history stays open), waits for every ack, and stops the thread.
        Idempotent after success."""
        if self._finished:
            if self._error is not None:
                raise self._error
            return
        self._check_usable()
        timeout = self.flush_timeout if timeout is None else timeout
        try:
            if complete:
                self._send_buffer(final=True)
            elif self._buf_actions:
                self._send_buffer(final=False)
            self._wait_acked(timeout)
        except BaseException:
            self.abort()
            raise
        self._finished = True
        self._stop(graceful=True)

    def abort(self):
        """Stops now: the acknowledged chunks stay in the store, the rest is
        dropped, the history stays incomplete."""
        self._finished = True
        self._stop()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    # ---- internals: RL-loop thread -------------------------------------
    def _check_usable(self):
        with self._cv:
            if self._error is not None:
                raise self._error
        if self._finished:
            raise StoreError(grpc.StatusCode.FAILED_PRECONDITION,
                             f"history '{self.history_id}': the writer was "
                             "closed")

    def _set_obs_dim(self, obs_dim):
        self._meta = _validate.meta(self._raw_meta, obs_dim=obs_dim)
        self._obs_dim = self._meta.obs_dim

    def _extend_checked(self, obs, actions, rewards, dones):
        n = actions.shape[0]
        start = 0
        while start < n:
            room = self.chunk_transitions - len(self._buf_actions)
            stop = min(n, start + room)
            self._buf_obs.extend(obs[start:stop])
            self._buf_actions.extend(actions[start:stop].tolist())
            self._buf_rewards.extend(rewards[start:stop].tolist())
            self._buf_dones.extend(dones[start:stop].tolist())
            self._transitions += stop - start
            start = stop
            if len(self._buf_actions) >= self.chunk_transitions:
                self._send_buffer(final=False)

    def _send_buffer(self, final):
        n = len(self._buf_actions)
        if n:
            obs = np.stack(self._buf_obs).astype(np.int32, copy=False)
        else:
            obs = np.zeros((0, self._obs_dim or 1), np.int32)
        chunk = _validate.transition_batch(
            obs, np.asarray(self._buf_actions, np.int32),
            np.asarray(self._buf_rewards, np.float32),
            np.asarray(self._buf_dones, np.uint8), self._obs_dim or 1)
        self._buf_obs, self._buf_actions = [], []
        self._buf_rewards, self._buf_dones = [], []
        self._enqueue_chunk(chunk, final)

    def _enqueue_chunk(self, chunk, final):
        if self._meta is None:
            self._set_obs_dim(chunk.obs_dim)
        request = store_pb2.AppendRequest(history_id=self.history_id,
                                          seq=self._next_seq, final=final)
        if self._next_seq == 0:
            request.meta.CopyFrom(self._meta)
        request.chunk.CopyFrom(chunk)
        pending = _Pending(request)
        deadline = time.monotonic() + self.append_timeout
        with self._cv:
            self._wait_while(
                lambda: (self._queue and self._queued_bytes + pending.bytes >
                         self.max_unacked_bytes),
                deadline,
                lambda: (f"{self._queued_bytes} bytes unacknowledged for "
                         f"{self.append_timeout:g} s"))
            if self._error is not None:
                raise self._error
            if self._stopping:
                raise StoreError(grpc.StatusCode.FAILED_PRECONDITION,
                                 "the writer is stopping",
                                 what=f"history '{self.history_id}'")
            self._queue.append(pending)
            self._queued_bytes += pending.bytes
            self._next_seq += 1
            self._cv.notify_all()

    def _wait_acked(self, timeout):
        _validate.positive_seconds(timeout, "timeout")
        deadline = time.monotonic() + timeout
        with self._cv:
            self._wait_while(
                lambda: self._queue, deadline,
                lambda: (f"{len(self._queue)} chunk(s) unacknowledged after "
                         f"{timeout:g} s"))
            if self._error is not None:
                raise self._error

    def _wait_while(self, blocked, deadline, what_timed_out):
        """With self._cv held: waits while blocked() is true and there is
        no failure and no _stop(); at `deadline` (time.monotonic()) raises
        StoreTimeout with what_timed_out() and the last stream error."""
        # Woken by acks (the queue shrinks), a failure or _stop().
        while blocked() and self._error is None and not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreTimeout(
                    f"{what_timed_out()}; last stream error: "
                    f"{self._last_stream_error}",
                    what=f"history '{self.history_id}'")
            self._cv.wait(left)

    def _stop(self, graceful=False):
        """Stops the thread. graceful: everything is acknowledged, so the
        stream is half-closed and ends OK; else it is cancelled."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if threading.current_thread() is self._thread:
            return
        if graceful:
            self._thread.join(timeout=min(self.ack_timeout, 5.0))
        with self._cv:
            stream = self._stream
        if stream is not None and stream.call is not None:
            stream.call.cancel()
        self._thread.join()

    # ---- internals: the writer thread ----------------------------------
    def _run(self):
        failures = 0  # consecutive broken streams without progress
        first = True
        rng = random.Random()
        while True:
            with self._cv:
                # Woken by a queued chunk or _stop().
                while not self._stopping and (not self._queue or
                                              self._error is not None):
                    self._cv.wait()
                if self._stopping:
                    return
                if not first:
                    self._counters["reconnects"] += 1
                first = False
                acked_before = self._counters["acked"]
            code, details = self._run_stream()
            with self._cv:
                if self._stopping:
                    return
                progress = self._counters["acked"] > acked_before
                if code is not None:
                    self._last_stream_error = f"{code.name}: {details}"
                if code is None or code == grpc.StatusCode.OK:
                    failures = 0
                    continue
                if code not in RETRYABLE_CODES:
                    self._fail(code, details)
                    failures = 0
                    continue
                failures = 1 if progress else failures + 1
                delay = self.backoff.delay(failures, rng)
                # Woken by _stop(), else sleeps out the backoff.
                self._cv.wait_for(lambda: self._stopping, delay)

    def _fail(self, code, details):
        """Drops the queue after a rejection; holds _cv."""
        seq = self._queue[0].request.seq if self._queue else self._next_seq
        self._error = StoreError(
            code, details, what=f"history '{self.history_id}' seq {seq} "
            "rejected")
        self._queue.clear()
        self._queued_bytes = 0
        self._sent = 0
        self._cv.notify_all()

    def _requests(self, stream):
        """The request iterator of one stream (runs on a gRPC thread)."""
        poll = min(self.ack_timeout / 4, 1.0)
        while True:
            with self._cv:
                # Woken by a queued chunk, the stream ending or _stop(); the
                # timeout checks for an overdue ack.
                self._cv.wait_for(
                    lambda: (self._stopping or stream.done or
                             self._error is not None or
                             self._sent < len(self._queue)), poll)
                if stream.done or self._stopping or self._error is not None:
                    return
                if self._sent < len(self._queue):
                    if self._sent == 0:
                        self._last_progress = time.monotonic()
                    request = self._queue[self._sent].request
                    self._sent += 1
                elif (self._sent > 0 and time.monotonic() -
                      self._last_progress > self.ack_timeout):
                    stream.overdue = True
                    request = None
                else:
                    continue
            if request is None:
                if stream.call is not None:
                    stream.call.cancel()
                return
            yield request

    def _run_stream(self):
        """Runs one Append stream until it ends; returns (code, details)."""
        stream = _Stream()
        with self._cv:
            self._sent = 0
            self._stream = stream
            self._last_progress = time.monotonic()
        code, details = grpc.StatusCode.OK, ""
        try:
            call = self._stub.Append(self._requests(stream),
                                     timeout=self.stream_timeout)
            stream.call = call
            with self._cv:
                stopping = self._stopping
            if stopping:
                call.cancel()
            for ack in call:
                if not self._on_ack(ack):
                    stream.protocol_error = (
                        f"unexpected ack for '{ack.history_id}' seq {ack.seq}")
                    call.cancel()
                    break
        except grpc.RpcError as e:
            code, details = e.code(), e.details() or ""
        finally:
            with self._cv:
                stream.done = True
                self._stream = None
                self._sent = 0
                self._cv.notify_all()
        if stream.overdue:
            return (grpc.StatusCode.UNAVAILABLE,
                    f"no acknowledgement from {self._address} for "
                    f"{self.ack_timeout:g} s")
        if stream.protocol_error:
            return grpc.StatusCode.UNAVAILABLE, stream.protocol_error
        return code, details

    def _on_ack(self, ack):
        with self._cv:
            if (not self._queue or self._sent == 0 or
                    self._queue[0].request.history_id != ack.history_id or
                    self._queue[0].request.seq != ack.seq):
                return False
            pending = self._queue.pop(0)
            self._sent -= 1
            self._queued_bytes -= pending.bytes
            self._acked_length = ack.length
            self._acked_seq = ack.seq
            if pending.request.final:
                self._complete = True
            self._counters["acked"] += 1
            if ack.duplicate:
                self._counters["duplicates"] += 1
            self._last_progress = time.monotonic()
            self._cv.notify_all()
        if self._on_ack_callback is not None:
            self._on_ack_callback(ack)
        return True
