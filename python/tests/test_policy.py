"""load_policy / Policy.act / rollout.

A probe TorchScript module with the exported policy's interface checks the
token layout act() feeds (previous action/reward/done shifted by one, "none"
on the first token, a sliding window of context_len transitions). When
ad-learner is built, a real export (learner/export.h) of a model trained on
the Python tabular-Q example's histories is loaded and rolled out.
"""

import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

try:
    import torch
    from torch import Tensor
    from typing import Optional
except ImportError:  # the whole module skips
    torch = None

from ad_client import InvalidArgument, Store
from ad_client.darkroom import DarkRoom
from tests.store_process import REPO, StoreProcess, bin_dir

if torch is not None:

    class Probe(torch.nn.Module):
        """Logits one-hot at (prev_action + 1 + 2 * prev_reward) mod A of
        the last token; records nothing, so the test reads the choice."""

        def __init__(self, context_len: int, num_actions: int, y_high: int):
            super().__init__()
            self.obs_table = torch.nn.Parameter(torch.zeros(9 + y_high, 1))
            self.register_buffer("obs_offsets", torch.tensor([0, 9]))
            self.action_table = torch.nn.Parameter(
                torch.zeros(num_actions + 1, 1))
            self.pos = torch.nn.Parameter(torch.zeros(context_len, 1))
            self.num_actions = num_actions

        def forward(self, obs: Tensor, prev_action: Tensor,
                    prev_reward: Tensor,
                    prev_done: Optional[Tensor] = None) -> Tensor:
            choice = (prev_action + 1 + 2 * prev_reward.long()) % \
                self.num_actions
            return torch.nn.functional.one_hot(
                choice, self.num_actions).float()

        @torch.jit.export
        def next_action_logits(self, obs: Tensor, prev_action: Tensor,
                               prev_reward: Tensor,
                               prev_done: Optional[Tensor] = None) -> Tensor:
            return self.forward(obs, prev_action, prev_reward,
                                prev_done)[:, -1]


@unittest.skipIf(torch is None, "no python3-torch")
class PolicyTest(unittest.TestCase):

    def setUp(self):
        torch.set_num_threads(1)
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "probe.ts")
        # obs_high (9, 7), to see it read back; (9, 9) for Dark Room.
        torch.jit.save(torch.jit.script(Probe(4, 5, y_high=7)), self.path)
        self.darkroom_path = os.path.join(self.tmp.name, "probe99.ts")
        torch.jit.save(torch.jit.script(Probe(4, 5, y_high=9)),
                       self.darkroom_path)

    def tearDown(self):
        self.tmp.cleanup()

    def test_reads_the_interface(self):
        from ad_client import load_policy
        policy = load_policy(self.path)
        self.assertEqual(policy.num_actions, 5)
        self.assertEqual(policy.context_len, 4)
        self.assertEqual(policy.obs_dim, 2)
        self.assertEqual(policy.obs_high, (9, 7))

    def test_token_layout_and_sliding_window(self):
        from ad_client import load_policy
        policy = load_policy(self.path)
        context = policy.context()
        obs, pa, pr, pd = policy.inputs(context, [1, 2])
        self.assertEqual(obs.tolist(), [[[1, 2]]])
        self.assertEqual(pa.tolist(), [[-1]])  # "none"
        self.assertEqual(pr.tolist(), [[0.0]])
        for t in range(5):
            context.add([t, t], t % 5, float(t == 1), t == 2)
        obs, pa, pr, pd = policy.inputs(context, [8, 6])
        # 3 = context_len - 1 past transitions (t = 2, 3, 4) + the current.
        self.assertEqual(obs[0].tolist(), [[2, 2], [3, 3], [4, 4], [8, 6]])
        self.assertEqual(pa[0].tolist(), [-1, 2, 3, 4])
        self.assertEqual(pr[0].tolist(), [0.0, 0.0, 0.0, 0.0])
        self.assertEqual(pd[0].tolist(), [0.0, 1.0, 0.0, 0.0])
        # The probe picks (last action + 1 + 2 * last reward) mod 5.
        self.assertEqual(policy.act(context, [8, 6]), 0)
        context.add([0, 0], 1, 1.0, False)
        self.assertEqual(policy.act(context, [0, 0]), 4)
        with self.assertRaises(InvalidArgument) as raised:
            policy.act(context, [9, 0])
        self.assertEqual(raised.exception.field, "obs[0]")
        with self.assertRaises(InvalidArgument):
            policy.act(context, [1, 2], temperature=-1)

    def test_rollout_fills_the_context(self):
        from ad_client import load_policy
        policy = load_policy(self.darkroom_path)
        context = policy.context()
        returns = policy.rollout(DarkRoom("darkroom/goal=4,5"), episodes=3,
                                 context=context, temperature=0.5, seed=1)
        self.assertEqual(len(returns), 3)
        self.assertEqual(len(context), 4)  # kept to the window
        self.assertTrue(all(0 <= r <= 20 for r in returns))

    def test_not_a_policy(self):
        from ad_client import load_policy
        path = os.path.join(self.tmp.name, "linear.ts")
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), path)
        with self.assertRaises(InvalidArgument):
            load_policy(path)


@unittest.skipIf(torch is None, "no python3-torch")
@unittest.skipUnless(os.access(os.path.join(bin_dir(), "ad-learner"), os.X_OK),
                     "ad-learner is not built")
class ExportedPolicyTest(unittest.TestCase):

    def test_policy_trained_on_python_histories(self):
        from ad_client import load_policy
        with StoreProcess() as server, tempfile.TemporaryDirectory() as tmp:
            example = os.path.join(REPO, "python", "examples",
                                   "tabular_q_darkroom.py")
            subprocess.run([sys.executable, example, f"--store={server.address}",
                            "--goals=3", "--episodes=40", "--quiet"],
                           check=True)
            policy_path = os.path.join(tmp, "policy.ts")
            subprocess.run(
                [os.path.join(bin_dir(), "ad-learner"),
                 f"--store={server.address}", "--preset=test", "--steps=20",
                 f"--checkpoint_dir={tmp}/ckpt", "--threads=1",
                 "--metrics_port=-1", "--port=0", "--progress=false",
                 f"--export_torchscript={policy_path}", "--exit_when_done"],
                check=True, timeout=240)
            policy = load_policy(policy_path)
            self.assertEqual(policy.num_actions, 5)
            self.assertEqual(policy.context_len, 16)
            self.assertEqual(policy.obs_high, (9, 9))
            context = policy.context()
            returns = policy.rollout(DarkRoom("darkroom/goal=2,2"),
                                     episodes=2, temperature=1.0,
                                     context=context)
            self.assertEqual(len(returns), 2)
            # next_action_logits is forward's last position.
            inputs = policy.inputs(context, [4, 4])
            with torch.no_grad():
                full = policy.module(*inputs)
                last = policy.module.next_action_logits(*inputs)
            torch.testing.assert_close(full[:, -1], last, rtol=1e-4,
                                       atol=1e-4)


if __name__ == "__main__":
    unittest.main()
