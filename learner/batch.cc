#include "learner/batch.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/torch_status.h"

namespace ad::learner {

absl::Status Windows::ValidateShape() const {
  if (batch_size < 1 || window_len < 1 || obs_dim < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "windows: batch_size = ", batch_size, ", window_len = ", window_len,
        ", obs_dim = ", obs_dim, "; each must be >= 1"));
  }
  const size_t n = static_cast<size_t>(batch_size) * window_len;
  auto check = [](const char* field, size_t got, size_t want,
                  const char* shape) {
    if (got == want) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "windows.", field, " has ", got, " values; ", shape, " = ", want));
  };
  AD_RETURN_IF_ERROR(check("obs", obs.size(), n * obs_dim,
                           "batch_size x window_len x obs_dim"));
  AD_RETURN_IF_ERROR(
      check("actions", actions.size(), n, "batch_size x window_len"));
  AD_RETURN_IF_ERROR(
      check("rewards", rewards.size(), n, "batch_size x window_len"));
  AD_RETURN_IF_ERROR(
      check("dones", dones.size(), n, "batch_size x window_len"));
  return absl::OkStatus();
}

absl::Status WindowRequest::Validate() const {
  if (window_len < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("window_len = ", window_len, ": must be >= 1"));
  }
  if (batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size = ", batch_size, ": must be >= 1"));
  }
  if (first_batch < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("first_batch = ", first_batch, ": must be >= 0"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWindows(const Windows& w, const ModelOptions& options) {
  AD_RETURN_IF_ERROR(w.ValidateShape());
  if (w.obs_dim != options.obs_dim) {
    return absl::InvalidArgumentError(
        absl::StrCat("windows.obs_dim = ", w.obs_dim,
                     "; the model takes model.obs_dim = ", options.obs_dim));
  }
  if (w.window_len > options.context_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "windows.window_len = ", w.window_len,
        "; the model takes at most model.context_len = ", options.context_len));
  }
  const int t_len = w.window_len;
  auto where = [&](size_t i) {
    return absl::StrCat(" (window ", i / t_len, ", position ", i % t_len, ")");
  };
  for (size_t i = 0; i < w.actions.size(); ++i) {
    if (w.actions[i] < 0 || w.actions[i] >= options.num_actions) {
      return absl::InvalidArgumentError(
          absl::StrCat("windows.actions = ", w.actions[i], where(i),
                       "; must be in [0, ", options.num_actions, ")"));
    }
    if (!std::isfinite(w.rewards[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("windows.rewards is not finite", where(i)));
    }
    if (w.dones[i] > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "windows.dones = ", int{w.dones[i]}, where(i), "; must be 0 or 1"));
    }
    for (int k = 0; k < w.obs_dim; ++k) {
      int32_t o = w.obs[i * w.obs_dim + k];
      if (o < 0 || o >= options.obs_high[k]) {
        return absl::InvalidArgumentError(
            absl::StrCat("windows.obs[", k, "] = ", o, where(i),
                         "; must be in [0, ", options.obs_high[k], ")"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainingBatch> MakeTrainingBatch(const Windows& w,
                                                const ModelOptions& options,
                                                const torch::Device& device) {
  AD_RETURN_IF_ERROR(ValidateWindows(w, options));
  return TorchCall(
      [&] {
        const int64_t b = w.batch_size;
        const int64_t t = w.window_len;
        auto from = [](const auto& v, torch::IntArrayRef shape,
                       torch::ScalarType type) {
          // from_blob borrows; clone() copies into tensor-owned memory.
          using V = typename std::decay_t<decltype(v)>::value_type;
          return torch::from_blob(const_cast<V*>(v.data()), shape, type)
              .clone();
        };
        // Pixel frames go to the model as bytes (ValidateWindows held every
        // value below obs_high <= 256): a quarter of int32's memory, an
        // eighth of int64's.
        torch::Tensor obs;
        if (options.obs_encoder == "pixel") {
          obs = torch::empty({b, t, w.obs_dim}, torch::kByte);
          std::copy(w.obs.begin(), w.obs.end(), obs.data_ptr<uint8_t>());
        } else {
          obs = from(w.obs, {b, t, w.obs_dim}, torch::kInt);
        }
        torch::Tensor actions = from(w.actions, {b, t}, torch::kInt);
        torch::Tensor rewards = from(w.rewards, {b, t}, torch::kFloat);
        torch::Tensor dones = from(w.dones, {b, t}, torch::kUInt8);
        TrainingBatch batch;
        batch.input =
            TransitionsToInput(obs, actions, rewards, dones).To(device);
        batch.targets = actions.to(torch::kLong).to(device);
        batch.tokens = b * t;
        batch.history_ids = w.history_ids;
        return batch;
      },
      "MakeTrainingBatch");
}

}  // namespace ad::learner
