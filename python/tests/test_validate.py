"""Bad input raises InvalidArgument naming the field before any RPC.

The Store here points at a stub that fails the test on any call, so "no RPC
was made" is checked, not assumed.
"""

import unittest

import numpy as np

from ad_client import InvalidArgument, Store, StoreError, _validate
from ad_client._stubs import common_pb2


class _NoRpcStub:
    """Stands in for StoreServiceStub: any RPC is a test failure."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            raise AssertionError(f"RPC {name} was made")
        return call


def good_meta(**overrides):
    meta = {"history_id": "py:darkroom/goal=1,2:seed=0:stream=0",
            "env": "darkroom", "task_id": "darkroom/goal=1,2",
            "source": "py_test", "split": "train", "obs_dim": 2,
            "num_actions": 5}
    meta.update(overrides)
    return meta


def good_arrays(n=6):
    return (np.zeros((n, 2), np.int32), np.arange(n) % 5,
            np.ones(n, np.float32), np.arange(n) % 2 == 1)


class BadInputTest(unittest.TestCase):

    def setUp(self):
        # Nothing listens on this address: a real RPC would be UNAVAILABLE.
        self.store = Store("127.0.0.1:1")
        self.stub = _NoRpcStub()
        self.store._stub = self.stub

    def tearDown(self):
        self.assertEqual(self.stub.calls, [])
        self.store.close()

    def assertField(self, field, fn, *args, **kwargs):
        with self.assertRaises(InvalidArgument) as raised:
            fn(*args, **kwargs)
        self.assertEqual(raised.exception.field, field,
                         str(raised.exception))
        self.assertIn(field, str(raised.exception))
        return raised.exception

    def test_meta_fields_are_checked(self):
        obs, actions, rewards, dones = good_arrays()
        append = self.store.append_history
        for field, meta in [
                ("meta.history_id", good_meta(history_id="")),
                ("meta.history_id", good_meta(history_id="has space")),
                ("meta.history_id", good_meta(history_id="x" * 257)),
                ("meta.env", good_meta(env="")),
                ("meta.task_id", good_meta(task_id=7)),
                ("meta.split", good_meta(split="validation")),
                ("meta.seed", good_meta(seed=-1)),
                ("meta.stream", good_meta(stream=2**32)),
                ("meta.obs_dim", good_meta(obs_dim=0)),
                ("meta.num_actions", good_meta(num_actions=True)),
                ("meta.colour", good_meta(colour="red")),
                ("meta.source", {k: v for k, v in good_meta().items()
                                 if k != "source"}),
        ]:
            with self.subTest(field=field):
                self.assertField(field, append, meta, obs, actions, rewards,
                                 dones)
        self.assertField("meta", append, ["not", "a", "dict"], obs, actions,
                         rewards, dones)

    def test_array_shapes_dtypes_and_values(self):
        obs, actions, rewards, dones = good_arrays()
        meta = good_meta()
        append = self.store.append_history
        cases = [
            ("obs", (obs[:5], actions, rewards, dones)),
            ("obs", (obs.astype(np.float32), actions, rewards, dones)),
            ("obs", (np.zeros((6, 3), np.int32), actions, rewards, dones)),
            ("obs[2,1]", (np.where(np.arange(12).reshape(6, 2) == 5, 2**31,
                                   0), actions, rewards, dones)),
            ("actions", (obs, actions.astype(float), rewards, dones)),
            ("actions", (obs, actions.reshape(2, 3), rewards, dones)),
            ("actions[3]", (obs, np.array([0, 1, 2, 5, 0, 0]), rewards,
                            dones)),
            ("actions[0]", (obs, np.array([-1, 1, 2, 3, 0, 0]), rewards,
                            dones)),
            ("rewards", (obs, actions, rewards[:4], dones)),
            ("rewards", (obs, actions, np.array(["a"] * 6), dones)),
            ("rewards[1]", (obs, actions, np.array([0, np.nan, 0, 0, 0, 0]),
                            dones)),
            ("rewards[0]", (obs, actions, np.array([1e39, 0, 0, 0, 0, 0]),
                            dones)),
            ("dones", (obs, actions, rewards, dones[:5])),
            ("dones", (obs, actions, rewards, np.ones(6, np.float32))),
            ("dones[4]", (obs, actions, rewards, np.array([0, 1, 0, 1, 2, 0]))),
        ]
        for field, arrays in cases:
            with self.subTest(field=field):
                self.assertField(field, append, meta, *arrays)
        # obs_dim may come from the observations, but must agree with meta.
        self.assertField("obs", append, good_meta(obs_dim=3), *good_arrays())

    def test_writer_checks_each_transition(self):
        writer = self.store.writer(good_meta(), chunk_transitions=4)
        try:
            self.assertField("obs", writer.append, [1, 2, 3], 0, 0.0, False)
            self.assertField("obs", writer.append, [1.5, 2], 0, 0.0, False)
            self.assertField("action", writer.append, [1, 2], 5, 0.0, False)
            self.assertField("action", writer.append, [1, 2], 1.0, 0.0, False)
            self.assertField("reward", writer.append, [1, 2], 0, float("inf"),
                             False)
            self.assertField("reward", writer.append, [1, 2], 0, "1", False)
            self.assertField("done", writer.append, [1, 2], 0, 0.0, 2)
            self.assertField("actions[1]", writer.extend, np.zeros((2, 2),
                             np.int32), [0, 9], [0, 0], [0, 0])
            self.assertEqual(writer.transitions, 0)
        finally:
            writer.abort()

    def test_writer_options_and_meta(self):
        self.assertField("chunk_transitions", self.store.writer, good_meta(),
                         chunk_transitions=0)
        self.assertField("ack_timeout", self.store.writer, good_meta(),
                         ack_timeout=-1)
        self.assertField("meta.split", self.store.writer,
                         good_meta(split="", obs_dim=None))

    def test_proto_meta_is_accepted_and_checked(self):
        meta = common_pb2.HistoryMeta(**good_meta(history_id="bad id"))
        self.assertField("meta.history_id", self.store.append_history, meta,
                         *good_arrays())

    def test_sample_windows_arguments(self):
        sample = self.store.sample_windows
        self.assertField("window_len", sample, {}, 0, 4)
        self.assertField("batch_size", sample, {}, 8, -1)
        self.assertField("filter.split", sample, {"split": "dev"}, 8, 4)
        self.assertField("filter.task_ids", sample,
                         {"task_ids": "darkroom/goal=1,2"}, 8, 4)
        self.assertField("filter.task_ids[1]", sample,
                         {"task_ids": ["darkroom/goal=1,2", ""]}, 8, 4)
        self.assertField("filter.colour", sample, {"colour": 1}, 8, 4)
        self.assertField("filter", sample, "darkroom", 8, 4)
        self.assertField("tensors", sample, {}, 8, 4, tensors="jax")
        self.assertField("prefetch", sample, {}, 8, 4, prefetch=0)
        self.assertField("seed", sample, {}, 8, 4, seed=1.5)

    def test_queries(self):
        self.assertField("task_id", self.store.histories, "")
        self.assertField("split", self.store.tasks, split="dev")
        self.assertField("history_id", self.store.history, "a b")
        self.assertField("begin", self.store.history, "a", begin=-1)
        self.assertField("end", self.store.history, "a", begin=5, end=2)
        self.assertField("timeout", self.store.tasks, timeout=0)

    def test_address(self):
        with self.assertRaises(InvalidArgument):
            Store("localhost")



class ReceivedObsTest(unittest.TestCase):
    """Observations the store sends come in obs or obs_u8 (pixel families);
    both or a wrong count is a malformed answer (DATA_LOSS)."""

    def test_either_field_reads_as_int32(self):
        ints = common_pb2.TransitionBatch(obs_dim=2, obs=[4, 200])
        self.assertEqual(_validate.received_obs(ints, 2, "w").tolist(),
                         [4, 200])
        packed = common_pb2.TransitionBatch(obs_dim=2, obs_u8=bytes([4, 200]))
        obs = _validate.received_obs(packed, 2, "w")
        self.assertEqual(obs.dtype, np.int32)
        self.assertEqual(obs.tolist(), [4, 200])

    def test_malformed_answers_are_data_loss(self):
        both = common_pb2.TransitionBatch(obs_dim=2, obs=[1, 2],
                                          obs_u8=bytes([1, 2]))
        with self.assertRaisesRegex(StoreError, "DATA_LOSS.*both set"):
            _validate.received_obs(both, 2, "SampleWindows")
        short = common_pb2.TransitionBatch(obs_dim=2, obs_u8=bytes([1]))
        with self.assertRaisesRegex(StoreError, "obs_u8 has 1 bytes"):
            _validate.received_obs(short, 2, "GetHistory")


if __name__ == "__main__":
    unittest.main()
