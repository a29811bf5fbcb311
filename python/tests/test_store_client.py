"""The client against a real ad-store: appends read back byte-identical,
retried chunks are stored once, a writer killed mid-history leaves an
incomplete history, rejections fail the writer, queries, and sampling."""

import os
import signal
import subprocess
import sys
import textwrap
import unittest

import grpc
import numpy as np

from ad_client import Store, StoreError, _validate
from ad_client._stubs import store_pb2
from tests.store_process import StoreProcess, TcpProxy, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))


def make_meta(name, task="darkroom/goal=1,2", split="train", **extra):
    meta = {"history_id": f"py_test:{task}:{name}", "env": "darkroom",
            "task_id": task, "source": "py_test", "split": split,
            "obs_dim": 2, "num_actions": 5}
    meta.update(extra)
    return meta


def random_history(n, seed=0, episode_len=20):
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 9, size=(n, 2), dtype=np.int32)
    actions = rng.integers(0, 5, size=n, dtype=np.int32)
    rewards = rng.random(n, dtype=np.float32) * (rng.random(n) < 0.3)
    dones = ((np.arange(n) + 1) % episode_len == 0).astype(np.uint8)
    return obs, actions, rewards.astype(np.float32), dones


class StoreClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = StoreProcess().__enter__()
        cls.store = Store(cls.server.address, timeout=20)

    @classmethod
    def tearDownClass(cls):
        cls.store.close()
        cls.server.__exit__(None, None, None)

    def assertSameHistory(self, history, obs, actions, rewards, dones):
        self.assertEqual(history.obs.dtype, np.int32)
        self.assertEqual(history.obs.shape, obs.shape)
        self.assertEqual(history.obs.tobytes(), obs.astype(np.int32).tobytes())
        self.assertEqual(history.actions.tobytes(),
                         actions.astype(np.int32).tobytes())
        self.assertEqual(history.rewards.dtype, np.float32)
        self.assertEqual(history.rewards.tobytes(),
                         rewards.astype(np.float32).tobytes())
        self.assertEqual(history.dones.tobytes(),
                         dones.astype(np.uint8).tobytes())

    def test_append_history_reads_back_byte_identical(self):
        arrays = random_history(10_000, seed=1)
        info = self.store.append_history(make_meta("whole", seed=7, stream=3),
                                         *arrays, chunk_transitions=999)
        self.assertEqual(info.length, 10_000)
        self.assertTrue(info.complete)
        self.assertEqual((info.seed, info.stream), (7, 3))
        history = self.store.history(info.history_id)
        self.assertSameHistory(history, *arrays)
        self.assertEqual(history.meta.episodes, 500)
        sums = arrays[2].reshape(500, 20).sum(axis=1, dtype=np.float64)
        np.testing.assert_allclose(history.meta.episode_returns, sums,
                                   rtol=1e-5)
        # Paged reads and sub-ranges give the same bytes.
        paged = self.store.history(info.history_id, page_transitions=777)
        self.assertSameHistory(paged, *arrays)
        part = self.store.history(info.history_id, begin=1234, end=5678)
        self.assertEqual(part.begin, 1234)
        self.assertSameHistory(part, *(a[1234:5678] for a in arrays))

    def test_writer_step_by_step_reads_back_byte_identical(self):
        obs, actions, rewards, dones = random_history(1000, seed=2)
        acks = []
        with self.store.writer(make_meta("steps"), chunk_transitions=64,
                               on_ack=acks.append) as writer:
            for t in range(1000):
                writer.append(obs[t], int(actions[t]), float(rewards[t]),
                              bool(dones[t]))
            self.assertEqual(writer.transitions, 1000)
        self.assertTrue(writer.complete)
        self.assertEqual(writer.acked_length, 1000)
        # 15 full chunks of 64, then the final chunk with the other 40.
        self.assertEqual([a.seq for a in acks], list(range(16)))
        self.assertEqual(writer.counters["duplicates"], 0)
        history = self.store.history(writer.history_id)
        self.assertTrue(history.meta.complete)
        self.assertSameHistory(history, obs, actions, rewards, dones)

    def test_flush_waits_for_acknowledgement(self):
        arrays = random_history(300, seed=3)
        writer = self.store.writer(make_meta("flush", obs_dim=None),
                                   chunk_transitions=1000)
        try:
            writer.extend(*arrays)
            self.assertEqual(writer.acked_length, 0)  # still buffered
            writer.flush(timeout=20)
            self.assertEqual(writer.acked_length, 300)
            meta = self.store.history_meta(writer.history_id)
            self.assertEqual(meta.length, 300)
            self.assertFalse(meta.complete)
            self.assertEqual(meta.obs_dim, 2)  # from the observations
            writer.close()
        finally:
            writer.abort()
        self.assertTrue(self.store.history_meta(writer.history_id).complete)

    def test_retried_chunk_is_not_duplicated(self):
        # The client talks to the store through a proxy. Chunk 1 reaches the
        # store, which makes it durable and acks it, but the proxy holds the
        # ack and then cuts the connection: the writer must reconnect and
        # resend chunk 1, and the store must acknowledge it as a duplicate.
        proxy = TcpProxy(self.server.port)
        proxied = Store(proxy.address, timeout=20)
        obs, actions, rewards, dones = random_history(300, seed=4)
        try:
            writer = proxied.writer(make_meta("retry"), chunk_transitions=100,
                                    ack_timeout=30)
            writer.extend(obs[:100], actions[:100], rewards[:100],
                          dones[:100])
            writer.flush(timeout=20)
            proxy.hold()
            writer.extend(obs[100:200], actions[100:200], rewards[100:200],
                          dones[100:200])
            wait_until(lambda: self.store.history_meta(
                writer.history_id).length == 200, what="chunk 1 durable")
            self.assertEqual(writer.acked_length, 100)  # its ack is held
            proxy.cut()
            proxy.release()
            writer.extend(obs[200:], actions[200:], rewards[200:], dones[200:])
            writer.close(timeout=30)
            counters = writer.counters
            self.assertGreaterEqual(counters["reconnects"], 1)
            self.assertGreaterEqual(counters["duplicates"], 1)
            self.assertGreaterEqual(proxy.connections, 2)
        finally:
            proxied.close()
            proxy.close()
        history = self.store.history(writer.history_id)
        self.assertEqual(history.meta.length, 300)
        self.assertTrue(history.meta.complete)
        self.assertSameHistory(history, obs, actions, rewards, dones)

    def test_resent_seq_is_acknowledged_as_duplicate(self):
        # The store's side of the guarantee, on the wire: the same
        # (history id, seq) twice is written once; a resend that chunks
        # the history differently is refused, not taken for a duplicate.
        meta = make_meta("raw")
        obs, actions, rewards, dones = random_history(50, seed=5)
        info = self.store.append_history(meta, obs, actions, rewards, dones,
                                         complete=False)
        self.assertEqual(info.length, 50)

        def seq0(n):
            request = store_pb2.AppendRequest(history_id=meta["history_id"],
                                              seq=0)
            request.meta.CopyFrom(_validate.meta(meta))
            request.chunk.obs_dim = 2
            request.chunk.obs.extend(int(v) for v in obs[:n].reshape(-1))
            request.chunk.actions.extend(int(a) for a in actions[:n])
            request.chunk.rewards.extend(float(r) for r in rewards[:n])
            request.chunk.dones = bytes(dones[:n])
            return request

        acks = list(self.store.stub.Append(iter([seq0(50)]), timeout=20))
        self.assertEqual(len(acks), 1)
        self.assertTrue(acks[0].duplicate)
        self.assertEqual(acks[0].length, 50)
        with self.assertRaises(grpc.RpcError) as raised:
            list(self.store.stub.Append(iter([seq0(1)]), timeout=20))
        self.assertEqual(raised.exception.code(),
                         grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("different chunking", raised.exception.details())
        self.assertEqual(self.store.history_meta(meta["history_id"]).length,
                         50)

    def test_killed_writer_leaves_incomplete_history(self):
        # A Python RL process appends 3 chunks, flushes, appends a 4th
        # (buffered, never sent), then is killed with SIGKILL.
        script = textwrap.dedent(f"""
            import sys
            import numpy as np
            from ad_client import Store
            store = Store({self.server.address!r})
            w = store.writer({make_meta("killed")!r}, chunk_transitions=40)
            for t in range(150):
                w.append(np.array([t % 9, t % 7]), t % 5, float(t % 3 == 0),
                         (t + 1) % 20 == 0)
            w.flush()
            for t in range(30):
                w.append(np.array([1, 1]), 0, 0.0, False)
            print("flushed", w.acked_length, flush=True)
            sys.stdin.read()  # until killed
        """)
        child = subprocess.Popen([sys.executable, "-c", script],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 env=os.environ.copy(), text=True)
        try:
            line = child.stdout.readline()
            self.assertEqual(line.split(), ["flushed", "150"])
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdin.close()
            child.stdout.close()
        meta = self.store.history_meta(make_meta("killed")["history_id"])
        self.assertFalse(meta.complete)
        self.assertEqual(meta.length, 150)
        self.assertEqual(meta.episodes, 7)

    def test_abort_leaves_incomplete_history(self):
        arrays = random_history(100, seed=6)
        with self.assertRaises(KeyError):
            with self.store.writer(make_meta("aborted"),
                                   chunk_transitions=50) as writer:
                writer.extend(*arrays)
                writer.flush()
                raise KeyError("the RL loop crashed")
        meta = self.store.history_meta(writer.history_id)
        self.assertFalse(meta.complete)
        self.assertEqual(meta.length, 100)

    def test_rejected_history_fails_the_writer(self):
        # The store pins a task's split: a 'test' history of a 'train' task
        # is INVALID_ARGUMENT, reported by flush and by every later call.
        self.store.append_history(make_meta("split-a", task="darkroom/goal=5,5"),
                                  *random_history(20))
        writer = self.store.writer(make_meta("split-b", task="darkroom/goal=5,5",
                                             split="test"))
        writer.extend(*random_history(20))
        with self.assertRaises(StoreError) as raised:
            writer.flush(timeout=20)
        self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("split", str(raised.exception))
        with self.assertRaises(StoreError):
            writer.append([0, 0], 0, 0.0, False)
        writer.abort()

    def test_store_restart_mid_history(self):
        # The store is killed (SIGKILL) and restarted on the same port and db
        # while a writer has unacknowledged chunks; the writer reconnects and
        # the history is whole and identical.
        with StoreProcess() as server:
            store = Store(server.address, timeout=20)
            arrays = random_history(2000, seed=8)
            writer = store.writer(make_meta("restart"), chunk_transitions=100,
                                  ack_timeout=10)
            writer.extend(*(a[:1000] for a in arrays))
            writer.flush(timeout=20)
            server.kill()
            writer.extend(*(a[1000:] for a in arrays))  # queued, unacked
            server.start()
            writer.close(timeout=60)
            self.assertGreaterEqual(writer.counters["reconnects"], 1)
            history = store.history(writer.history_id)
            self.assertTrue(history.meta.complete)
            self.assertSameHistory(history, *arrays)
            store.close()

    def test_sample_windows_resumes_after_store_restart(self):
        # Batch i depends on (seed, i): after the store restarts the stream
        # reconnects at the next index and goes on with the same batches.
        with StoreProcess() as server:
            store = Store(server.address, timeout=20)
            task = "darkroom/goal=3,3"
            store.append_history(make_meta("resume", task=task),
                                 *random_history(500, seed=13))
            filt = {"task_ids": [task]}
            expected = list(store.sample_windows(filt, 25, 4, num_batches=8,
                                                 seed=5))
            # Endless, so the kill surely breaks the stream.
            stream = store.sample_windows(filt, 25, 4, seed=5, prefetch=1)
            got = [next(stream) for _ in range(3)]
            server.kill()
            server.start()
            with stream:
                got += [next(stream) for _ in range(5)]
            self.assertGreaterEqual(stream.reconnects, 1)
            self.assertEqual([b.batch_index for b in got], list(range(8)))
            for a, b in zip(got, expected):
                np.testing.assert_array_equal(a.starts, b.starts)
                np.testing.assert_array_equal(a.obs, b.obs)
            store.close()

    def test_queries(self):
        task = "darkroom/goal=7,0"
        for stream in range(3):
            self.store.append_history(
                make_meta(f"q{stream}", task=task, stream=stream),
                *random_history(40 * (stream + 1), seed=stream))
        tasks = {t.task_id: t for t in self.store.tasks(env="darkroom")}
        self.assertIn(task, tasks)
        self.assertEqual(tasks[task].histories, 3)
        self.assertEqual(tasks[task].transitions, 40 + 80 + 120)
        self.assertEqual(tasks[task].split, "train")
        self.assertNotIn(task, {t.task_id for t in
                                self.store.tasks(split="test")})
        infos = sorted(self.store.histories(task), key=lambda h: h.stream)
        self.assertEqual([h.length for h in infos], [40, 80, 120])
        self.assertEqual([h.episodes for h in infos], [2, 4, 6])
        self.assertEqual(infos[0].as_meta()["task_id"], task)
        with self.assertRaises(StoreError) as raised:
            self.store.histories("darkroom/goal=8,8")
        self.assertEqual(raised.exception.code, grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(StoreError) as raised:
            self.store.history("py_test:no-such-history")
        self.assertEqual(raised.exception.code, grpc.StatusCode.NOT_FOUND)
        self.assertGreaterEqual(self.store.stats()["histories"], 3)

    def test_sample_windows_numpy(self):
        task = "darkroom/goal=2,6"
        arrays = random_history(400, seed=9)
        info = self.store.append_history(make_meta("sample", task=task),
                                         *arrays)
        filt = {"env": "darkroom", "task_ids": [task]}
        batches = list(self.store.sample_windows(filt, window_len=30,
                                                 batch_size=8, num_batches=5,
                                                 seed=11, prefetch=2))
        self.assertEqual([b.batch_index for b in batches], [0, 1, 2, 3, 4])
        for batch in batches:
            self.assertEqual(batch.obs.shape, (8, 30, 2))
            self.assertEqual(batch.obs.dtype, np.int32)
            self.assertEqual(batch.actions.shape, (8, 30))
            self.assertEqual(batch.rewards.dtype, np.float32)
            self.assertEqual(batch.dones.dtype, np.uint8)
            for i, start in enumerate(batch.starts):
                self.assertEqual(batch.history_ids[i], info.history_id)
                window = slice(start, start + 30)
                np.testing.assert_array_equal(batch.obs[i], arrays[0][window])
                np.testing.assert_array_equal(batch.actions[i],
                                              arrays[1][window])
                np.testing.assert_array_equal(batch.rewards[i],
                                              arrays[2][window])
                np.testing.assert_array_equal(batch.dones[i],
                                              arrays[3][window])
        # Batch i depends on (seed, i) only: resuming at first_batch=3
        # gives batches 3 and 4 again.
        again = list(self.store.sample_windows(filt, 30, 8, num_batches=2,
                                               seed=11, first_batch=3))
        for a, b in zip(again, batches[3:]):
            self.assertEqual(a.batch_index, b.batch_index)
            np.testing.assert_array_equal(a.starts, b.starts)

    def test_sample_windows_random_phase_covers_every_phase(self):
        # 20 episodes of 20 steps, stride 4: phase 0 alone keeps episodes
        # 0, 4, ..., 16; random_phase draws windows from every phase, each
        # window still one phase's every-4th episodes in order.
        task = "darkroom/goal=3,6"
        arrays = random_history(400, seed=4)
        self.store.append_history(make_meta("phase", task=task), *arrays)
        filt = {"env": "darkroom", "task_ids": [task]}

        def episodes_of(random_phase):
            seen = set()
            for batch in self.store.sample_windows(
                    filt, 30, 64, num_batches=2, seed=3, episode_stride=4,
                    random_phase=random_phase):
                for start in batch.starts:
                    # 30 steps from `start` cover its episode and the
                    # next kept one, 4 episodes later.
                    first = int(start) // 20
                    offset = int(start) % 20
                    seen.add(first)
                    if offset + 30 > 20:
                        seen.add(first + 4)
            return seen

        self.assertEqual({e % 4 for e in episodes_of(False)}, {0})
        self.assertEqual({e % 4 for e in episodes_of(True)}, {0, 1, 2, 3})
        with self.assertRaises(_validate.InvalidArgument):
            self.store.sample_windows(filt, 30, 4, random_phase=1)

    def test_pixel_histories_read_back_from_obs_u8(self):
        # Watermaze frames (72 x 96 x 3 values in [0, 256)): this client
        # appends them as int32 obs; the store keeps one byte per value and
        # answers reads in obs_u8, which history() and sample_windows()
        # widen back to int32.
        dim = 72 * 96 * 3
        n = 60
        rng = np.random.default_rng(5)
        obs = rng.integers(0, 256, size=(n, 72, 96, 3), dtype=np.int32)
        actions = rng.integers(0, 8, size=n, dtype=np.int32)
        rewards = (rng.random(n) < 0.2).astype(np.float32)
        dones = ((np.arange(n) + 1) % 50 == 0).astype(np.uint8)
        task = "watermaze/platform=20,15"
        meta = {"history_id": f"py_test:{task}:pixels", "env": "watermaze",
                "task_id": task, "source": "py_test", "split": "train",
                "obs_dim": dim, "num_actions": 8}
        info = self.store.append_history(meta, obs, actions, rewards, dones,
                                         chunk_transitions=25)
        self.assertEqual(info.length, n)
        history = self.store.history(info.history_id, page_transitions=16)
        self.assertSameHistory(history, obs.reshape(n, dim), actions, rewards,
                               dones)
        # The wire really carries bytes.
        raw = self.store._stub.GetHistory(
            store_pb2.GetHistoryRequest(history_id=info.history_id, end=3),
            timeout=20)
        self.assertEqual(len(raw.transitions.obs), 0)
        self.assertEqual(raw.transitions.obs_u8,
                         obs[:3].astype(np.uint8).tobytes())
        filt = {"env": "watermaze", "task_ids": [task]}
        batches = list(self.store.sample_windows(filt, window_len=10,
                                                 batch_size=3, num_batches=2,
                                                 seed=3))
        for batch in batches:
            self.assertEqual(batch.obs.shape, (3, 10, dim))
            self.assertEqual(batch.obs.dtype, np.int32)
            for i, start in enumerate(batch.starts):
                np.testing.assert_array_equal(
                    batch.obs[i], obs.reshape(n, dim)[start:start + 10])

    def test_sample_windows_endless_stream_closes(self):
        task = "darkroom/goal=0,3"
        self.store.append_history(make_meta("endless", task=task),
                                  *random_history(100, seed=10))
        stream = self.store.sample_windows({"task_ids": [task]}, 10, 4)
        with stream:
            for i, batch in zip(range(20), stream):
                self.assertEqual(batch.batch_index, i)
        with self.assertRaises(StopIteration):
            next(stream)

    def test_sample_windows_errors(self):
        # A task of another split is INVALID_ARGUMENT from the store.
        self.store.append_history(
            make_meta("held-out", task="darkroom/goal=8,0", split="test"),
            *random_history(40))
        stream = self.store.sample_windows(
            {"task_ids": ["darkroom/goal=8,0"], "split": "train"}, 10, 2)
        with self.assertRaises(StoreError) as raised:
            next(stream)
        self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        # min_transitions never reached: the first batch times out.
        stream = self.store.sample_windows(
            {"task_ids": ["darkroom/goal=8,0"], "split": "test"}, 10, 2,
            min_transitions=10**9, first_batch_timeout=0.5)
        with self.assertRaises(StoreError) as raised:
            next(stream)
        self.assertEqual(raised.exception.code,
                         grpc.StatusCode.DEADLINE_EXCEEDED)

    def test_sample_windows_torch(self):
        try:
            import torch
        except ImportError:
            self.skipTest("no python3-torch")
        task = "darkroom/goal=4,1"
        self.store.append_history(make_meta("torch", task=task),
                                  *random_history(200, seed=12))
        stream = self.store.sample_windows({"task_ids": [task]}, 20, 4,
                                           num_batches=2, tensors="torch")
        batches = list(stream)
        self.assertEqual(len(batches), 2)
        self.assertIsInstance(batches[0].obs, torch.Tensor)
        self.assertEqual(batches[0].obs.dtype, torch.int64)
        self.assertEqual(tuple(batches[0].obs.shape), (4, 20, 2))
        self.assertEqual(batches[0].dones.dtype, torch.float32)


if __name__ == "__main__":
    unittest.main()
