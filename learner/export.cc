#include "learner/export.h"

#include <torch/script.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "learner/torch_status.h"

namespace ad::learner {
namespace {

// TorchScript source of one block; names of the layer's parameters are
// `p_<name>` attributes passed as arguments.
constexpr char kBlockSource[] = R"(
def block(self, x: Tensor, bias: Tensor, last_only: bool,
          qkv_w: Tensor, qkv_b: Tensor, proj_w: Tensor, proj_b: Tensor,
          fc1_w: Tensor, fc1_b: Tensor, fc2_w: Tensor, fc2_b: Tensor,
          n1_w: Tensor, n1_b: Tensor, n2_w: Tensor, n2_b: Tensor) -> Tensor:
    b = x.size(0)
    t = x.size(1)
    d = x.size(2)
    h = $HEADS
    hd = d // h
    if $POST_NORM:
        src = x
    else:
        src = torch.layer_norm(x, [d], n1_w, n1_b, 1e-5)
    tq = t
    if last_only:
        tq = 1
        bias = bias[t - 1:t]
    kqv = torch.linear(src, qkv_w, qkv_b)
    q = kqv[:, t - tq:t, 0:d]
    k = kqv[:, :, d:2 * d]
    v = kqv[:, :, 2 * d:3 * d]
    q = q.reshape(b, tq, h, hd).transpose(1, 2).reshape(b * h, tq, hd)
    k = k.reshape(b, t, h, hd).transpose(1, 2).reshape(b * h, t, hd)
    v = v.reshape(b, t, h, hd).transpose(1, 2).reshape(b * h, t, hd)
    scores = torch.baddbmm(bias.expand(b * h, tq, t), q, k.transpose(1, 2),
                           beta=1.0, alpha=$SCALE)
    probs = torch.softmax(scores, -1)
    att = torch.bmm(probs, v).reshape(b, h, tq, hd).transpose(1, 2)
    att = torch.linear(att.reshape(b, tq, d), proj_w, proj_b)
    xq = x[:, t - tq:t]
    if $POST_NORM:
        y = torch.layer_norm(xq + att, [d], n1_w, n1_b, 1e-5)
        m = torch.linear(
            torch.gelu(
                torch.linear(y, fc1_w, fc1_b)), fc2_w, fc2_b)
        return torch.layer_norm(y + m, [d], n2_w, n2_b, 1e-5)
    y = xq + att
    z = torch.layer_norm(y, [d], n2_w, n2_b, 1e-5)
    m = torch.linear(
        torch.gelu(
            torch.linear(z, fc1_w, fc1_b)), fc2_w, fc2_b)
    return y + m
)";

constexpr char kEmbedSource[] = R"(
def embed(self, obs: Tensor, prev_action: Tensor, prev_reward: Tensor,
          prev_done: Optional[Tensor]) -> Tensor:
    obs = obs.long()
    prev_action = prev_action.long()
    x = torch.embedding(self.obs_table, obs + self.obs_offsets).sum(2)
    none = torch.full_like(prev_action, $NUM_ACTIONS)
    x = x + torch.embedding(self.action_table,
                            torch.where(prev_action < 0, none, prev_action))
    x = x + torch.linear(prev_reward.float().unsqueeze(-1),
                                       self.reward_w, self.reward_b)
    if prev_done is not None:
        x = x + prev_done.float().unsqueeze(-1) * self.boundary
    t = obs.size(1)
    return x + self.pos[0:t]
)";

std::string BlockCall(int i, bool last_only) {
  return absl::StrReplaceAll(
      "    x = self.block(x, bias, $LAST, self.b$I_qkv_w, self.b$I_qkv_b, "
      "self.b$I_proj_w, self.b$I_proj_b, self.b$I_fc1_w, self.b$I_fc1_b, "
      "self.b$I_fc2_w, self.b$I_fc2_b, self.b$I_n1_w, self.b$I_n1_b, "
      "self.b$I_n2_w, self.b$I_n2_b)\n",
      {{"$I", absl::StrCat(i)}, {"$LAST", last_only ? "True" : "False"}});
}

std::string ModuleSource(const ModelOptions& o) {
  auto run = [&](bool last_only) {
    std::string body =
        "    x = self.embed(obs, prev_action, prev_reward, prev_done)\n"
        "    t = x.size(1)\n"
        "    bias = self.causal[0:t, 0:t]\n";
    for (int i = 0; i < o.num_layers; ++i) {
      body += BlockCall(i, last_only && i + 1 == o.num_layers);
    }
    if (!o.post_norm) {
      body +=
          "    x = torch.layer_norm(x, [x.size(2)], self.final_norm_w, "
          "self.final_norm_b, 1e-5)\n";
    }
    body +=
        "    return torch.linear(x, self.head_w, "
        "self.head_b)";
    return body + (last_only ? ".squeeze(1)\n" : "\n");
  };
  const char* signature =
      "(self, obs: Tensor, prev_action: Tensor, prev_reward: Tensor, "
      "prev_done: Optional[Tensor] = None) -> Tensor:\n";
  std::string source = absl::StrCat(
      kEmbedSource, kBlockSource, "\ndef forward", signature, run(false),
      "\ndef next_action_logits", signature, run(true));
  return absl::StrReplaceAll(
      source,
      {{"$HEADS", absl::StrCat(o.num_heads)},
       {"$POST_NORM", o.post_norm ? "True" : "False"},
       {"$NUM_ACTIONS", absl::StrCat(o.num_actions)},
       {"$SCALE",
        absl::StrFormat("%.17g", 1.0 / std::sqrt(static_cast<double>(
                                           o.embed_dim / o.num_heads)))}});
}

torch::Tensor Copy(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU).clone();
}

}  // namespace

absl::Status ExportTorchScript(const ADModel& policy, const std::string& path) {
  ADModel model = policy;  // a non-const handle to the same module
  const ModelOptions& o = model->options();
  if (o.obs_encoder != "discrete") {
    return absl::UnimplementedError(absl::StrCat(
        "TorchScript export supports model.obs_encoder = discrete, not '",
        o.obs_encoder, "'"));
  }
  return TorchCall(
      [&] {
        torch::jit::Module m("ADPolicy");
        auto param = [&](const std::string& name, const torch::Tensor& t) {
          m.register_parameter(name, Copy(t), /*is_buffer=*/false);
        };
        // A Linear's or LayerNorm's weight and bias, as NAME_w and NAME_b.
        auto weight_and_bias = [&](const std::string& name,
                                   const auto& module) {
          param(name + "_w", module->weight);
          param(name + "_b", module->bias);
        };
        auto named = model->named_parameters();
        auto buffers = model->named_buffers();
        param("obs_table", named["obs_encoder.table.weight"]);
        m.register_buffer("obs_offsets", Copy(buffers["obs_encoder.offsets"]));
        param("action_table", model->action_embed->weight);
        weight_and_bias("reward", model->reward_proj);
        param("boundary", model->boundary_embed);
        param("pos", model->pos_embed->weight);
        m.register_buffer("causal", Copy(buffers["causal_bias"]));
        for (int i = 0; i < o.num_layers; ++i) {
          auto block = model->blocks[i]->as<TransformerBlock>();
          const std::string p = absl::StrCat("b", i, "_");
          weight_and_bias(p + "qkv", block->qkv);
          weight_and_bias(p + "proj", block->proj);
          weight_and_bias(p + "fc1", block->fc1);
          weight_and_bias(p + "fc2", block->fc2);
          weight_and_bias(p + "n1", block->norm1);
          weight_and_bias(p + "n2", block->norm2);
        }
        if (!o.post_norm) {
          weight_and_bias("final_norm", model->final_norm);
        }
        weight_and_bias("head", model->head);
        m.define(ModuleSource(o));
        m.eval();
        const std::string tmp = path + ".tmp";
        m.save(tmp);
        if (std::rename(tmp.c_str(), path.c_str()) != 0) {
          std::remove(tmp.c_str());
          throw std::runtime_error("cannot rename " + tmp + " to " + path);
        }
      },
      "ExportTorchScript");
}

}  // namespace ad::learner
