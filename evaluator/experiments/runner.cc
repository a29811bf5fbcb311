#include "evaluator/experiments/runner.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "evaluator/experiments/experiment.h"
#include "evaluator/file_history_source.h"
#include "evaluator/policies/baselines.h"
#include "glog/logging.h"

namespace ad::evaluator {
namespace {

// A comma-separated list of task ids, whose ids hold commas themselves
// ("darkroom/goal=3,7,darkroom/goal=1,2"): a new id starts at each piece
// that names a family ("family/..."); other pieces continue the id before.
std::vector<std::string> SplitTaskList(const std::string& list) {
  std::vector<std::string> ids;
  for (absl::string_view piece : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    if (ids.empty() || absl::StrContains(piece, '/')) {
      ids.emplace_back(piece);
    } else {
      absl::StrAppend(&ids.back(), ",", piece);
    }
  }
  return ids;
}

}  // namespace

bool Has(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// The tasks named by `which` for `family`: a split name or a list of ids.
absl::StatusOr<std::vector<std::string>> ResolveTasks(
    const EvalSpec& spec, const envs::EnvFamily& family,
    const std::string& which) {
  std::vector<std::string> tasks;
  if (which == "test" || which == "train") {
    const envs::TaskSplit split =
        family.Split(spec.train_fraction, spec.split_seed);
    tasks = which == "test" ? split.test : split.train;
  } else if (which == "all") {
    tasks = family.AllTasks();
  } else {
    for (std::string& task : SplitTaskList(which)) {
      if (absl::Status s = family.ValidateTask(task); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("tasks: ", s.message()));
      }
      tasks.push_back(std::move(task));
    }
  }
  if (tasks.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tasks '%s' selects no task of %s (train_fraction %g)",
                        which, family.space().family, spec.train_fraction));
  }
  return envs::EvenlySpacedTasks(std::move(tasks), spec.max_tasks);
}

// spec.demo_source, "SOURCE:EPISODES", into options.source and .episodes.
absl::Status ParseDemoSource(const std::string& demo_source,
                             DemoDataOptions& options) {
  const std::vector<std::string> parts = absl::StrSplit(demo_source, ':');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &options.episodes) ||
      options.episodes < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "demo_source is '%s', want SOURCE:EPISODES with EPISODES >= 1 (e.g. "
        "q_learning:60)",
        demo_source));
  }
  options.source = parts[0];
  if (options.source != "q_learning" && options.source != "noisy_expert" &&
      options.source != "expert") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "demo_source has source '%s', want q_learning, noisy_expert or expert",
        options.source));
  }
  return absl::OkStatus();
}

std::vector<RowSpec> MakeRows(const std::vector<std::string>& tasks,
                              int seeds) {
  std::vector<RowSpec> rows;
  rows.reserve(tasks.size() * seeds);
  for (const std::string& task : tasks) {
    for (int s = 0; s < seeds; ++s) {
      rows.push_back(RowSpec{task, static_cast<uint64_t>(s)});
    }
  }
  return rows;
}

absl::StatusOr<double> MeanOptimal(const envs::EnvFamily& family,
                                   const std::vector<std::string>& tasks) {
  double sum = 0;
  for (const std::string& task : tasks) {
    AD_ASSIGN_OR_RETURN(double r, family.OptimalReturn(task));
    sum += r;
  }
  return sum / tasks.size();
}

int CountBaselineStages(const EvalSpec& spec) {
  int n = 0;
  for (const std::string name : {"heuristic", "random", "optimal"}) {
    n += Has(spec.baselines, name);
  }
  n += Has(spec.baselines, "ed") && !spec.ed_checkpoint.empty();
  return n;
}

Report Runner::NewReport() const {
  Report report;
  report.experiment = spec_.experiment;
  report.env = spec_.env;
  report.x_axis = spec_.x_axis;
  return report;
}

absl::StatusOr<TaskRows> Runner::SelectTasks(const envs::EnvFamily& family,
                                             const std::string& which) const {
  TaskRows selected;
  selected.family = &family;
  AD_ASSIGN_OR_RETURN(selected.tasks, ResolveTasks(spec_, family, which));
  selected.rows = MakeRows(selected.tasks, spec_.seeds);
  AD_ASSIGN_OR_RETURN(selected.optimal, MeanOptimal(family, selected.tasks));
  return selected;
}

absl::StatusOr<TaskRows> Runner::SelectTasks() const {
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                      envs::FindFamily(spec_.env));
  return SelectTasks(*family, spec_.tasks);
}

absl::StatusOr<const learner::Checkpoint*> Runner::LoadCheckpoint(
    const std::string& path) {
  auto it = checkpoints_.find(path);
  if (it == checkpoints_.end()) {
    torch::set_num_threads(spec_.threads);
    absl::StatusOr<learner::Checkpoint> checkpoint =
        learner::LoadCheckpoint(path);
    if (!checkpoint.ok()) {
      return absl::Status(checkpoint.status().code(),
                          absl::StrFormat("checkpoint %s: %s", path,
                                          checkpoint.status().message()));
    }
    it = checkpoints_.emplace(path, *std::move(checkpoint)).first;
  }
  return &it->second;
}

absl::StatusOr<std::unique_ptr<ModelPolicy>> Runner::LoadModel(
    const std::string& path, const std::string& name, int max_past) {
  ModelPolicy::Options options;
  options.name = name;
  options.temperature = spec_.temperature;
  options.max_past = max_past;
  options.threads = spec_.threads;
  options.window = spec_.window;
  AD_ASSIGN_OR_RETURN(const learner::Checkpoint* checkpoint,
                      LoadCheckpoint(path));
  AD_ASSIGN_OR_RETURN(
      std::unique_ptr<ModelPolicy> policy,
      ModelPolicy::FromModel(checkpoint->model, options, checkpoint->step));
  LOG(INFO) << name << ": " << path << " (step " << policy->step()
            << ", window " << policy->model_options().context_len
            << " transitions)";
  return policy;
}

int Runner::ContextLen(const ModelPolicy* model,
                       const envs::SpaceSpec& space) const {
  if (spec_.context_len > 0) return spec_.context_len;
  if (model != nullptr) return model->max_past();
  return 4 * space.episode_len;
}

absl::StatusOr<Curve> Runner::Run(const envs::EnvFamily& family,
                                  const std::vector<RowSpec>& rows,
                                  InContextPolicy& policy, int context_len,
                                  const std::string& stage,
                                  const Prompt* prompt,
                                  const std::string& method) {
  RolloutOptions options;
  options.episodes = spec_.episodes;
  options.context_len = context_len;
  options.env_seed = spec_.seed;
  RolloutHooks hooks;
  hooks.cancelled = hooks_.cancelled;
  const int stages_done = stages_done_;
  if (hooks_.on_progress) {
    hooks.on_episode = [&, stages_done](int done) {
      hooks_.on_progress(stage, done, spec_.episodes, stages_done,
                         stages_total_);
    };
  }
  AD_ASSIGN_OR_RETURN(RolloutResult result,
                      RunRollout(family, rows, policy, options, prompt, hooks));
  ++stages_done_;
  LOG(INFO) << stage << ": " << rows.size() << " rows x " << spec_.episodes
            << " episodes in " << absl::StrFormat("%.1f", result.total_seconds)
            << " s ("
            << absl::StrFormat("%.0f", result.env_steps /
                                           std::max(1e-9, result.total_seconds))
            << " env steps/s, context " << context_len << ")";
  return CurveFromRollout(method.empty() ? policy.name() : method, result);
}

absl::Status Runner::AddCurve(const TaskRows& selected, InContextPolicy& policy,
                              int context_len, const std::string& stage,
                              Panel& panel, const Prompt* prompt,
                              const std::string& method) {
  AD_ASSIGN_OR_RETURN(Curve curve, Run(*selected.family, selected.rows, policy,
                                       context_len, stage, prompt, method));
  panel.curves.push_back(std::move(curve));
  return absl::OkStatus();
}

absl::Status Runner::AddHeuristic(const TaskRows& selected, int context_len,
                                  const std::string& stage, Panel& panel,
                                  const Prompt* prompt) {
  if (!Has(spec_.baselines, "heuristic")) return absl::OkStatus();
  HeuristicPolicy heuristic;
  return AddCurve(selected, heuristic, context_len, stage, panel, prompt);
}

absl::StatusOr<std::unique_ptr<HistorySource>> Runner::OpenHistories() const {
  // RunExperiment checked that a spec with a store has an opener.
  if (!spec_.store.empty()) return hooks_.open_store(spec_.store);
  if (!spec_.histories_dir.empty()) {
    return MakeFileHistorySource(spec_.histories_dir);
  }
  return std::unique_ptr<HistorySource>();
}

absl::StatusOr<std::unique_ptr<HistorySource>> Runner::DemoHistories(
    const std::string& env, const std::vector<std::string>& tasks) const {
  DemoDataOptions options;
  AD_RETURN_IF_ERROR(ParseDemoSource(spec_.demo_source, options));
  options.env = env;
  options.tasks = tasks;
  options.streams_per_task = spec_.demo_streams;
  options.seed = spec_.seed + 7;
  AD_ASSIGN_OR_RETURN(std::vector<learner::History> histories,
                      MakeDemoHistories(options));
  auto memory = std::make_unique<InMemoryHistorySource>();
  for (const learner::History& h : histories) {
    ad::v1::HistoryMeta meta;
    meta.set_history_id(h.history_id);
    meta.set_env(env);
    meta.set_task_id(h.task_id);
    meta.set_source(options.source);
    ad::v1::TransitionBatch batch;
    batch.set_obs_dim(h.obs_dim);
    batch.mutable_obs()->Add(h.obs.begin(), h.obs.end());
    batch.mutable_actions()->Add(h.actions.begin(), h.actions.end());
    batch.mutable_rewards()->Add(h.rewards.begin(), h.rewards.end());
    batch.set_dones(std::string(h.dones.begin(), h.dones.end()));
    AD_RETURN_IF_ERROR(memory->Add(std::move(meta), std::move(batch)));
  }
  return std::unique_ptr<HistorySource>(std::move(memory));
}

absl::Status Runner::AddBaselines(const TaskRows& selected, int context_len,
                                  const std::string& prefix, Panel& panel,
                                  std::vector<std::string>& notes) {
  const envs::EnvFamily& family = *selected.family;
  if (Has(spec_.baselines, "ed")) {
    if (spec_.ed_checkpoint.empty()) {
      notes.push_back(
          "ed: skipped, no --ed_checkpoint (train the same preset on "
          "source=expert histories to make one)");
    } else {
      AD_ASSIGN_OR_RETURN(
          std::unique_ptr<ModelPolicy> ed,
          LoadModel(spec_.ed_checkpoint, "ed", spec_.context_len));
      AD_RETURN_IF_ERROR(AddCurve(selected, *ed,
                                  ContextLen(ed.get(), family.space()),
                                  prefix + "ed", panel));
    }
  }
  for (const std::string name : {"heuristic", "random", "optimal"}) {
    if (!Has(spec_.baselines, name)) continue;
    AD_ASSIGN_OR_RETURN(std::unique_ptr<InContextPolicy> policy,
                        MakeBaseline(name));
    absl::StatusOr<Curve> curve =
        Run(family, selected.rows, *policy, context_len, prefix + name);
    if (!curve.ok() && name == "heuristic" &&
        curve.status().code() == absl::StatusCode::kInvalidArgument) {
      notes.push_back(absl::StrCat("heuristic: ", curve.status().message()));
      continue;
    }
    if (!curve.ok()) return curve.status();
    panel.curves.push_back(*std::move(curve));
  }
  if (Has(spec_.baselines, "source")) {
    AD_ASSIGN_OR_RETURN(std::unique_ptr<HistorySource> histories,
                        OpenHistories());
    if (histories == nullptr && !spec_.demo_source.empty()) {
      AD_ASSIGN_OR_RETURN(histories,
                          DemoHistories(family.space().family, selected.tasks));
      notes.push_back(absl::StrFormat(
          "source: demo source %s run from scratch on the evaluated "
          "tasks, %d streams per task",
          spec_.demo_source, spec_.demo_streams));
    }
    if (histories == nullptr) {
      notes.push_back(
          "source: skipped, give --store HOST:PORT, --histories_dir DIR or "
          "--demo_source noisy_expert:EPISODES");
    } else {
      SourceCurveOptions options;
      options.source = spec_.source;
      options.max_episodes = 0;
      options.steps_per_episode = family.space().episode_len;
      absl::StatusOr<Curve> curve = SourceCurve(
          *histories, family.space().family, selected.tasks, options);
      if (curve.ok()) {
        notes.push_back(absl::StrFormat(
            "source: %d recorded histories from %s, one curve row per "
            "actor stream (x = that stream's episodes)",
            curve->returns.size(), histories->Describe()));
        panel.curves.push_back(*std::move(curve));
      } else if (curve.status().code() == absl::StatusCode::kNotFound) {
        notes.push_back(
            absl::StrCat("source: skipped, ", curve.status().message()));
      } else {
        return curve.status();
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Runner::CheckInputs(const Experiment& experiment) {
  std::vector<const envs::EnvFamily*> families;
  for (const std::string& name : experiment.Families(spec_)) {
    // EvalSpec::Validate has checked that each name is registered.
    families.push_back(*envs::FindFamily(name));
  }
  // Every task selection resolves on every family it is used on.
  for (const envs::EnvFamily* family : families) {
    AD_RETURN_IF_ERROR(experiment.CheckTasks(spec_, *family));
  }

  // Every checkpoint the experiment uses, with the context lengths it is
  // given: it loads, fits every family, and has positions for them.
  const std::vector<ModelUse> uses = experiment.Models(spec_);
  for (const ModelUse& use : uses) {
    absl::StatusOr<const learner::Checkpoint*> checkpoint =
        LoadCheckpoint(use.path);
    if (!checkpoint.ok()) {
      return absl::Status(
          checkpoint.status().code(),
          absl::StrCat(use.field, ": ", checkpoint.status().message()));
    }
    const learner::ModelOptions& model = (*checkpoint)->model->options();
    for (const envs::EnvFamily* family : families) {
      if (absl::Status fits = CheckModelFitsSpace(model, family->space());
          !fits.ok()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s %s does not fit the %s experiment's env: %s", use.field,
            use.path, spec_.experiment, fits.message()));
      }
    }
    for (int c : use.context_lens) {
      if (c > model.context_len - 1) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s is %d past transitions, but %s %s has a window of %d tokens "
            "(at most %d past transitions plus the current observation)",
            use.lens_field, c, use.field, use.path, model.context_len,
            model.context_len - 1));
      }
    }
  }

  // The source baseline's data.
  const bool source_baseline =
      experiment.RunsSourceBaseline() && Has(spec_.baselines, "source");
  if (source_baseline && spec_.store.empty() && spec_.histories_dir.empty() &&
      !spec_.demo_source.empty()) {
    for (const envs::EnvFamily* family : families) {
      if (family->space().obs_dim != 2) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "demo_source is '%s', but env %s is not a grid family (the demo "
            "sources walk (x, y) grids); give --store or --histories_dir",
            spec_.demo_source, family->space().family));
      }
    }
  }
  if (!spec_.histories_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(spec_.histories_dir, ec)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("histories_dir is '%s', which is not a directory",
                          spec_.histories_dir));
    }
  }

  // The output directory can be made: it is a directory or does not exist,
  // and its nearest existing ancestor is a writable directory.
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(spec_.out_dir, ec);
  if (std::filesystem::exists(dir, ec) &&
      !std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "out_dir is '%s', which exists and is not a directory", spec_.out_dir));
  }
  while (!dir.empty() && !std::filesystem::exists(dir, ec) &&
         dir.has_parent_path() && dir.parent_path() != dir) {
    dir = dir.parent_path();
  }
  if (!std::filesystem::is_directory(dir, ec) ||
      access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("out_dir is '%s', but %s is not a writable directory",
                        spec_.out_dir, dir.string()));
  }
  return absl::OkStatus();
}

}  // namespace ad::evaluator
