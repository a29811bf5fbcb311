// G independent multilayer perceptrons evaluated and trained as one batch:
// the neural sources' (A3C, DQN) way of running many single-stream learners
// at the cost of one.
//
// Every parameter has a leading learner dimension ([G, out, in] weights,
// [G, 1, out] biases), so one batched matmul (baddbmm) per layer runs all G
// networks on inputs [G, M, in]. A loss that is the sum over learners of
// each learner's own loss gives each learner exactly its own gradient, and
// Adam is elementwise, so one Adam step over these tensors is G independent
// Adam steps. ClipGradNormPerLearner clips each learner's gradient by its
// own norm. Learner g's weights are drawn from the caller's generator, layer
// by layer and learner by learner (reproducible from the agent's seed).
//
// Layout: a ReLU trunk of `layers` x `hidden`, then one linear head per
// entry of `heads` (each head reads the trunk's output). Thread-compatible;
// LibTorch errors surface as exceptions (callers wrap them in
// learner::TorchCall).
#ifndef AD_ACTORS_GROUPED_MLP_H_
#define AD_ACTORS_GROUPED_MLP_H_

#include <torch/torch.h>

#include <optional>
#include <random>
#include <vector>

namespace ad::actors {

// Scales each learner's gradient so that its own norm over all of `params`
// (each with leading dimension `groups`, learner-major) is at most
// `max_norm`. Parameters without a gradient are skipped.
void ClipGradNormPerLearner(const std::vector<torch::Tensor>& params,
                            int groups, double max_norm);

class GroupedMlp {
 public:
  struct Head {
    int size = 1;       // outputs
    double gain = 1.0;  // init range +-(gain / sqrt(fan_in))
    // When set, every bias of this head starts at this constant instead of
    // the uniform draw (e.g. an optimistic critic). The draw still happens,
    // so the other weights do not depend on it.
    std::optional<double> bias;
  };

  GroupedMlp(int groups, int in, int hidden, int layers,
             const std::vector<Head>& heads, std::mt19937_64& rng);

  int groups() const { return static_cast<int>(groups_); }

  // x: [G, M, in] -> one [G, M, head.size] tensor per head.
  std::vector<torch::Tensor> Forward(torch::Tensor x) const;

  // Every parameter tensor (leading dimension G), trunk first.
  std::vector<torch::Tensor> parameters() const;

  // Scales each learner's gradient so that its own norm over all its
  // parameters is at most `max_norm`.
  void ClipGradNormPerLearner(double max_norm) const;

  // Copies every parameter of `other` (same shapes) into this one.
  void CopyFrom(const GroupedMlp& other);

 private:
  struct Layer {
    torch::Tensor weight;  // [G, out, in]
    torch::Tensor bias;    // [G, 1, out]
  };
  Layer MakeLayer(int in, int out, double gain, std::optional<double> bias,
                  std::mt19937_64& rng) const;
  static torch::Tensor Apply(const Layer& layer, const torch::Tensor& x);

  int64_t groups_;
  std::vector<Layer> trunk_;
  std::vector<Layer> heads_;
};

}  // namespace ad::actors

#endif  // AD_ACTORS_GROUPED_MLP_H_
