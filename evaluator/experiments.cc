#include "evaluator/experiments.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "evaluator/demo_checkpoints.h"
#include "evaluator/file_history_source.h"
#include "evaluator/history_source.h"
#include "evaluator/policies/baselines.h"
#include "evaluator/policies/model_policy.h"
#include "evaluator/rollout.h"
#include "glog/logging.h"
#include "learner/checkpoint.h"

namespace ad::evaluator {
namespace {

constexpr const char* kExperiments[] = {"incontext", "prompt", "context_sweep",
                                        "bandit_ood", "transfer"};
constexpr const char* kBaselines[] = {"random", "optimal", "heuristic", "ed",
                                      "source"};

bool Has(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

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

// Shared state of one experiment run: the spec, hooks and progress count.
class Runner {
 public:
  Runner(const EvalSpec& spec, const ExperimentHooks& hooks)
      : spec_(spec), hooks_(hooks) {}

  void set_stages(int n) { stages_total_ = n; }

  // The checkpoint at `path`, loaded once per experiment and shared by
  // the policies made from it (the weights are frozen).
  absl::StatusOr<const learner::Checkpoint*> LoadCheckpoint(
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

  absl::StatusOr<std::unique_ptr<ModelPolicy>> LoadModel(
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

  // Everything that can be checked before the first rollout (see
  // ValidateExperiment in the header). Loads the checkpoints it checks.
  absl::Status CheckInputs();

  // The context size for a run with `model` (nullptr: baselines only).
  int ContextLen(const ModelPolicy* model, const envs::SpaceSpec& space) const {
    if (spec_.context_len > 0) return spec_.context_len;
    if (model != nullptr) return model->max_past();
    return 4 * space.episode_len;
  }

  // Rolls `policy` out and returns its curve; the rollout's stage counts
  // towards progress.
  absl::StatusOr<Curve> Run(const envs::EnvFamily& family,
                            const std::vector<RowSpec>& rows,
                            InContextPolicy& policy, int context_len,
                            const std::string& stage,
                            const Prompt* prompt = nullptr,
                            const std::string& method = "") {
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
    AD_ASSIGN_OR_RETURN(
        RolloutResult result,
        RunRollout(family, rows, policy, options, prompt, hooks));
    ++stages_done_;
    LOG(INFO) << stage << ": " << rows.size() << " rows x " << spec_.episodes
              << " episodes in "
              << absl::StrFormat("%.1f", result.total_seconds) << " s ("
              << absl::StrFormat(
                     "%.0f",
                     result.env_steps / std::max(1e-9, result.total_seconds))
              << " env steps/s, context " << context_len << ")";
    return CurveFromRollout(method.empty() ? policy.name() : method, result);
  }

  // The history source named by the spec, or nullptr when none is.
  absl::StatusOr<std::unique_ptr<HistorySource>> OpenHistories() const {
    // RunExperiment checked that a spec with a store has an opener.
    if (!spec_.store.empty()) return hooks_.open_store(spec_.store);
    if (!spec_.histories_dir.empty()) {
      return MakeFileHistorySource(spec_.histories_dir);
    }
    return std::unique_ptr<HistorySource>();
  }

  // The demo source run from scratch on `tasks` (spec.demo_source).
  absl::StatusOr<std::unique_ptr<HistorySource>> DemoHistories(
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

  // Baseline curves on `rows` (random, optimal, heuristic; ed and source
  // when asked and available) appended to `panel`.
  absl::Status AddBaselines(const envs::EnvFamily& family,
                            const std::vector<std::string>& tasks,
                            const std::vector<RowSpec>& rows, int context_len,
                            const std::string& prefix, Panel& panel,
                            std::vector<std::string>& notes) {
    if (Has(spec_.baselines, "ed")) {
      if (spec_.ed_checkpoint.empty()) {
        notes.push_back(
            "ed: skipped, no --ed_checkpoint (train the same preset on "
            "source=expert histories to make one)");
      } else {
        AD_ASSIGN_OR_RETURN(
            std::unique_ptr<ModelPolicy> ed,
            LoadModel(spec_.ed_checkpoint, "ed", spec_.context_len));
        AD_ASSIGN_OR_RETURN(
            Curve curve,
            Run(family, rows, *ed, ContextLen(ed.get(), family.space()),
                prefix + "ed"));
        panel.curves.push_back(std::move(curve));
      }
    }
    for (const std::string name : {"heuristic", "random", "optimal"}) {
      if (!Has(spec_.baselines, name)) continue;
      AD_ASSIGN_OR_RETURN(std::unique_ptr<InContextPolicy> policy,
                          MakeBaseline(name));
      absl::StatusOr<Curve> curve =
          Run(family, rows, *policy, context_len, prefix + name);
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
                            DemoHistories(family.space().family, tasks));
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
        absl::StatusOr<Curve> curve =
            SourceCurve(*histories, family.space().family, tasks, options);
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

 private:
  const EvalSpec& spec_;
  const ExperimentHooks& hooks_;
  int stages_done_ = 0;
  int stages_total_ = 1;
  std::map<std::string, learner::Checkpoint> checkpoints_;  // by path
};

// The env families the experiment of `spec` rolls out on, in order.
std::vector<const envs::EnvFamily*> TouchedFamilies(const EvalSpec& spec) {
  std::vector<std::string> names = {spec.env};
  if (spec.experiment == "bandit_ood") names = {"bandit"};
  if (spec.experiment == "transfer") names = {spec.train_env, spec.env};
  std::vector<const envs::EnvFamily*> families;
  for (const std::string& name : names) {
    // EvalSpec::Validate has checked that each name is registered.
    families.push_back(*envs::FindFamily(name));
  }
  return families;
}

absl::Status Runner::CheckInputs() {
  const std::vector<const envs::EnvFamily*> families = TouchedFamilies(spec_);
  // Every task selection resolves on every family it is used on.
  for (const envs::EnvFamily* family : families) {
    if (spec_.experiment == "bandit_ood") {
      for (const std::string which : {"train", "test"}) {
        AD_RETURN_IF_ERROR(ResolveTasks(spec_, *family, which).status());
      }
    } else {
      absl::StatusOr<std::vector<std::string>> tasks =
          ResolveTasks(spec_, *family, spec_.tasks);
      if (!tasks.ok()) {
        return absl::Status(
            tasks.status().code(),
            absl::StrFormat("env %s: %s", family->space().family,
                            tasks.status().message()));
      }
    }
  }

  // Every checkpoint the experiment uses, with the context lengths it is
  // given: it loads, fits every family, and has positions for them.
  struct ModelUse {
    std::string field;  // the spec field naming the checkpoint
    std::string path;
    std::vector<int> context_lens;  // past transitions asked for; 0: window
    const char* lens_field;         // the spec field giving them
  };
  std::vector<ModelUse> uses;
  const bool sweep_one =
      spec_.experiment == "context_sweep" && spec_.sweep_checkpoints.empty();
  const bool uses_ad = spec_.experiment != "context_sweep" || sweep_one;
  if (uses_ad && !spec_.checkpoint.empty()) {
    if (sweep_one) {
      uses.push_back(
          {"checkpoint", spec_.checkpoint, spec_.context_lens, "context_lens"});
    } else {
      uses.push_back(
          {"checkpoint", spec_.checkpoint, {spec_.context_len}, "context_len"});
    }
  }
  const bool uses_ed =
      !spec_.ed_checkpoint.empty() &&
      (spec_.experiment == "prompt" ||
       (spec_.experiment != "context_sweep" && Has(spec_.baselines, "ed")));
  if (uses_ed) {
    uses.push_back({"ed_checkpoint",
                    spec_.ed_checkpoint,
                    {spec_.context_len},
                    "context_len"});
  }
  if (spec_.experiment == "context_sweep") {
    for (const std::string& entry : spec_.sweep_checkpoints) {
      uses.push_back({"sweep_checkpoints",
                      entry.substr(entry.find('=') + 1),
                      {0},
                      "context_len"});
    }
  }
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
  const bool source_baseline = spec_.experiment != "prompt" &&
                               spec_.experiment != "context_sweep" &&
                               Has(spec_.baselines, "source");
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

int CountBaselineStages(const EvalSpec& spec) {
  int n = 0;
  for (const std::string name : {"heuristic", "random", "optimal"}) {
    n += Has(spec.baselines, name);
  }
  n += Has(spec.baselines, "ed") && !spec.ed_checkpoint.empty();
  return n;
}

absl::StatusOr<Report> InContext(const EvalSpec& spec, Runner& runner) {
  runner.set_stages(CountBaselineStages(spec) + !spec.checkpoint.empty());
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                      envs::FindFamily(spec.env));
  AD_ASSIGN_OR_RETURN(std::vector<std::string> tasks,
                      ResolveTasks(spec, *family, spec.tasks));
  const std::vector<RowSpec> rows = MakeRows(tasks, spec.seeds);
  Report report;
  report.experiment = "incontext";
  report.env = spec.env;
  report.x_axis = spec.x_axis;
  report.title = absl::StrFormat(
      "In-context RL on %d %s %s tasks x %d seeds (weights frozen)",
      tasks.size(),
      spec.tasks.find(',') == std::string::npos ? spec.tasks : "listed",
      spec.env, spec.seeds);
  Panel panel;
  panel.title = absl::StrFormat(
      "%s, %s tasks", spec.env,
      spec.tasks.find(',') == std::string::npos ? spec.tasks : "listed");
  AD_ASSIGN_OR_RETURN(panel.optimal, MeanOptimal(*family, tasks));
  int context_len = runner.ContextLen(nullptr, family->space());
  if (!spec.checkpoint.empty()) {
    AD_ASSIGN_OR_RETURN(
        std::unique_ptr<ModelPolicy> ad,
        runner.LoadModel(spec.checkpoint, "ad", spec.context_len));
    context_len = runner.ContextLen(ad.get(), family->space());
    AD_ASSIGN_OR_RETURN(Curve curve,
                        runner.Run(*family, rows, *ad, context_len, "ad"));
    panel.curves.push_back(std::move(curve));
    report.notes.push_back(absl::StrFormat(
        "ad: %s (step %d), context %d past transitions (%s window), %s",
        spec.checkpoint, ad->step(), context_len, spec.window,
        spec.temperature == 0
            ? "greedy"
            : absl::StrFormat("temperature %g", spec.temperature)));
  }
  AD_RETURN_IF_ERROR(runner.AddBaselines(*family, tasks, rows, context_len, "",
                                         panel, report.notes));
  report.panels.push_back(std::move(panel));
  return report;
}

absl::StatusOr<Report> PromptExperiment(const EvalSpec& spec, Runner& runner) {
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                      envs::FindFamily(spec.env));
  AD_ASSIGN_OR_RETURN(std::vector<std::string> tasks,
                      ResolveTasks(spec, *family, spec.tasks));
  const std::vector<RowSpec> rows = MakeRows(tasks, spec.seeds);
  AD_ASSIGN_OR_RETURN(
      std::unique_ptr<ModelPolicy> ad,
      runner.LoadModel(spec.checkpoint, "ad", spec.context_len));
  std::unique_ptr<ModelPolicy> ed;
  if (!spec.ed_checkpoint.empty()) {
    AD_ASSIGN_OR_RETURN(
        ed, runner.LoadModel(spec.ed_checkpoint, "ed", spec.context_len));
  }
  const int context_len = runner.ContextLen(ad.get(), family->space());
  const int prompt_len = spec.prompt_len > 0 ? spec.prompt_len : context_len;
  const bool with_heuristic = Has(spec.baselines, "heuristic");
  runner.set_stages(static_cast<int>(spec.prompt_levels.size()) *
                    (1 + (ed != nullptr) + with_heuristic));
  AD_ASSIGN_OR_RETURN(std::unique_ptr<HistorySource> histories,
                      runner.OpenHistories());
  AD_ASSIGN_OR_RETURN(const double optimal, MeanOptimal(*family, tasks));

  Report report;
  report.experiment = "prompt";
  report.env = spec.env;
  report.x_axis = spec.x_axis;
  report.title = absl::StrFormat(
      "Prompted with partial demonstrations (%d transitions) on held-out %s",
      prompt_len, spec.env);
  report.notes.push_back(
      histories != nullptr
          ? absl::StrFormat("prompts: source histories from %s, cut at the "
                            "given fraction of each history's episodes",
                            histories->Describe())
          : std::string("prompts: no source histories given; synthesised "
                        "from a noisy expert with epsilon = 1 - level "
                        "(a stand-in for a source history at that "
                        "competence)"));
  for (double level : spec.prompt_levels) {
    Prompt prompt;
    double prompt_return = 0;
    if (histories != nullptr) {
      AD_ASSIGN_OR_RETURN(
          prompt, PromptFromHistories(*histories, spec.env, rows, spec.source,
                                      level, prompt_len, &prompt_return));
    } else {
      // Record a noisy expert's transitions and keep the last prompt_len,
      // which end at an episode boundary.
      NoisyExpertPolicy noisy(1.0 - level);
      const int episode_len = family->space().episode_len;
      RolloutOptions options;
      options.episodes = (prompt_len + episode_len - 1) / episode_len;
      options.context_len = 1;
      options.env_seed = spec.seed ^ 0x9e3779b97f4a7c15ULL;
      const int n = static_cast<int>(rows.size());
      const int obs_dim = family->space().obs_dim;
      const int total = options.episodes * episode_len;
      Prompt recorded;
      recorded.length = total;
      recorded.obs.resize(static_cast<size_t>(n) * total * obs_dim);
      recorded.actions.resize(static_cast<size_t>(n) * total);
      recorded.rewards.resize(recorded.actions.size());
      recorded.dones.resize(recorded.actions.size());
      int t = 0;
      RolloutHooks hooks;
      hooks.on_transition = [&](absl::Span<const int32_t> obs,
                                absl::Span<const int32_t> actions,
                                absl::Span<const float> rewards,
                                absl::Span<const uint8_t> dones) {
        if (t >= total) return;
        for (int r = 0; r < n; ++r) {
          const size_t at = static_cast<size_t>(r) * total + t;
          std::copy_n(obs.begin() + static_cast<size_t>(r) * obs_dim, obs_dim,
                      recorded.obs.begin() + at * obs_dim);
          recorded.actions[at] = actions[r];
          recorded.rewards[at] = rewards[r];
          recorded.dones[at] = dones[r];
        }
        ++t;
      };
      AD_ASSIGN_OR_RETURN(
          RolloutResult demo,
          RunRollout(*family, rows, noisy, options, nullptr, hooks));
      double sum = 0;
      for (int r = 0; r < n; ++r) sum += demo.Return(r, options.episodes - 1);
      prompt_return = sum / n;
      prompt.length = prompt_len;
      for (int r = 0; r < n; ++r) {
        const size_t from = static_cast<size_t>(r) * total + total - prompt_len;
        prompt.obs.insert(prompt.obs.end(),
                          recorded.obs.begin() + from * obs_dim,
                          recorded.obs.begin() + (from + prompt_len) * obs_dim);
        prompt.actions.insert(prompt.actions.end(),
                              recorded.actions.begin() + from,
                              recorded.actions.begin() + from + prompt_len);
        prompt.rewards.insert(prompt.rewards.end(),
                              recorded.rewards.begin() + from,
                              recorded.rewards.begin() + from + prompt_len);
        prompt.dones.insert(prompt.dones.end(), recorded.dones.begin() + from,
                            recorded.dones.begin() + from + prompt_len);
      }
    }
    Panel panel;
    panel.title = absl::StrFormat("prompt at %.0f%% (its last episode: %.1f)",
                                  100 * level, prompt_return);
    panel.optimal = optimal;
    const std::string stage = absl::StrFormat("prompt %.0f%% / ", 100 * level);
    AD_ASSIGN_OR_RETURN(Curve curve, runner.Run(*family, rows, *ad, context_len,
                                                stage + "ad", &prompt));
    panel.curves.push_back(std::move(curve));
    if (ed != nullptr) {
      AD_ASSIGN_OR_RETURN(
          Curve ed_curve,
          runner.Run(*family, rows, *ed,
                     runner.ContextLen(ed.get(), family->space()), stage + "ed",
                     &prompt));
      panel.curves.push_back(std::move(ed_curve));
    }
    if (with_heuristic) {
      HeuristicPolicy heuristic;
      AD_ASSIGN_OR_RETURN(Curve h,
                          runner.Run(*family, rows, heuristic, context_len,
                                     stage + "heuristic", &prompt));
      panel.curves.push_back(std::move(h));
    }
    report.panels.push_back(std::move(panel));
  }
  return report;
}

absl::StatusOr<Report> ContextSweep(const EvalSpec& spec, Runner& runner) {
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                      envs::FindFamily(spec.env));
  AD_ASSIGN_OR_RETURN(std::vector<std::string> tasks,
                      ResolveTasks(spec, *family, spec.tasks));
  const std::vector<RowSpec> rows = MakeRows(tasks, spec.seeds);
  Report report;
  report.experiment = "context_sweep";
  report.env = spec.env;
  report.x_axis = spec.x_axis;
  Panel panel;
  AD_ASSIGN_OR_RETURN(panel.optimal, MeanOptimal(*family, tasks));
  const bool with_heuristic = Has(spec.baselines, "heuristic");
  if (!spec.sweep_checkpoints.empty()) {
    runner.set_stages(static_cast<int>(spec.sweep_checkpoints.size()) +
                      with_heuristic);
    report.title = absl::StrFormat(
        "Context size: AD variants trained with different windows, %s",
        spec.env);
    panel.title = "one checkpoint per training context size";
    for (const std::string& entry : spec.sweep_checkpoints) {
      const size_t eq = entry.find('=');
      const std::string label = entry.substr(0, eq);
      const std::string path = entry.substr(eq + 1);
      AD_ASSIGN_OR_RETURN(std::unique_ptr<ModelPolicy> ad,
                          runner.LoadModel(path, "ad " + label, 0));
      AD_ASSIGN_OR_RETURN(
          Curve curve,
          runner.Run(*family, rows, *ad, ad->max_past(), "ad " + label, nullptr,
                     absl::StrFormat("ad c=%s", label)));
      panel.curves.push_back(std::move(curve));
    }
  } else {
    runner.set_stages(static_cast<int>(spec.context_lens.size()) +
                      with_heuristic);
    report.title = absl::StrFormat(
        "Context size: one AD checkpoint given %s past transitions, %s",
        absl::StrJoin(spec.context_lens, "/"), spec.env);
    panel.title = "context truncated at evaluation";
    report.notes.push_back(
        "context_sweep without --sweep_checkpoints truncates one model's "
        "context at evaluation; the paper's Fig. 7 trains one model per "
        "context size (pass them as --sweep_checkpoints c20=PATH,...)");
    report.notes.push_back(
        spec.window == "chunk"
            ? "ctx=L, chunk window: the model sees a chunk of consecutive "
              "past transitions that grows to L, then restarts from its "
              "last floor(L/2) (between L/2 and L once filled)"
            : "ctx=L, slide window: the model sees the last L past "
              "transitions at every step");
    for (int c : spec.context_lens) {
      AD_ASSIGN_OR_RETURN(std::unique_ptr<ModelPolicy> ad,
                          runner.LoadModel(spec.checkpoint, "ad", c));
      AD_ASSIGN_OR_RETURN(
          Curve curve,
          runner.Run(*family, rows, *ad, c, absl::StrFormat("ad ctx=%d", c),
                     nullptr, absl::StrFormat("ad ctx=%d", c)));
      panel.curves.push_back(std::move(curve));
    }
  }
  if (with_heuristic) {
    HeuristicPolicy heuristic;
    AD_ASSIGN_OR_RETURN(
        Curve h,
        runner.Run(*family, rows, heuristic,
                   runner.ContextLen(nullptr, family->space()), "heuristic"));
    panel.curves.push_back(std::move(h));
  }
  report.panels.push_back(std::move(panel));
  return report;
}

absl::StatusOr<Report> BanditOod(const EvalSpec& spec, Runner& runner) {
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                      envs::FindFamily("bandit"));
  std::unique_ptr<ModelPolicy> ad;
  if (!spec.checkpoint.empty()) {
    AD_ASSIGN_OR_RETURN(
        ad, runner.LoadModel(spec.checkpoint, "ad", spec.context_len));
  }
  const int context_len = runner.ContextLen(ad.get(), family->space());
  runner.set_stages(2 * (CountBaselineStages(spec) + (ad != nullptr)));
  Report report;
  report.experiment = "bandit_ood";
  report.env = "bandit";
  report.x_axis = "episodes";
  report.title =
      "Adversarial bandit: train regime (odd arms) vs out-of-distribution "
      "test regime (even arms); x = pull";
  for (const std::string which : {"train", "test"}) {
    AD_ASSIGN_OR_RETURN(std::vector<std::string> tasks,
                        ResolveTasks(spec, *family, which));
    const std::vector<RowSpec> rows = MakeRows(tasks, spec.seeds);
    Panel panel;
    panel.title = which == "train" ? absl::StrFormat(
                                         "in distribution (odd regime, %d "
                                         "tasks)",
                                         tasks.size())
                                   : absl::StrFormat(
                                         "out of distribution (even regime, "
                                         "%d tasks)",
                                         tasks.size());
    AD_ASSIGN_OR_RETURN(panel.optimal, MeanOptimal(*family, tasks));
    const std::string prefix = which + " / ";
    if (ad != nullptr) {
      AD_ASSIGN_OR_RETURN(Curve curve, runner.Run(*family, rows, *ad,
                                                  context_len, prefix + "ad"));
      panel.curves.push_back(std::move(curve));
    }
    AD_RETURN_IF_ERROR(runner.AddBaselines(*family, tasks, rows, context_len,
                                           prefix, panel, report.notes));
    // The paper's normalised score (r - r_random) / (r_ref - r_random), with
    // the optimal arm as reference, and, when the source baseline ran (UCB
    // histories of these tasks), also the paper's own reference, the source.
    const Curve* random = nullptr;
    const Curve* source = nullptr;
    for (const Curve& c : panel.curves) {
      if (c.method == "random") random = &c;
      if (absl::StartsWith(c.method, "source")) source = &c;
    }
    if (random != nullptr) {
      const double r_random = random->WindowMean(1, random->Episodes());
      const int pulls = random->Episodes();
      for (const Curve& c : panel.curves) {
        if (c.method == "random" || c.method == "optimal") continue;
        // Over the pulls every method was evaluated for (a source history
        // may be longer than the evaluation).
        const double r = c.WindowMean(1, std::min(pulls, c.Episodes()));
        std::string note = absl::StrFormat(
            "%s %s: mean reward per pull %.3f, normalised (r - random) / "
            "(optimal - random) = %.2f",
            which, c.method, r,
            (r - r_random) / std::max(1e-9, panel.optimal - r_random));
        if (source != nullptr && &c != source) {
          const double r_source =
              source->WindowMean(1, std::min(pulls, source->Episodes()));
          absl::StrAppendFormat(
              &note, ", (r - random) / (%s - random) = %.2f", source->method,
              (r - r_random) / std::max(1e-9, r_source - r_random));
        }
        report.notes.push_back(std::move(note));
      }
    }
    report.panels.push_back(std::move(panel));
  }
  return report;
}

absl::StatusOr<Report> Transfer(const EvalSpec& spec, Runner& runner) {
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* train_family,
                      envs::FindFamily(spec.train_env));
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* eval_family,
                      envs::FindFamily(spec.env));
  AD_ASSIGN_OR_RETURN(
      std::unique_ptr<ModelPolicy> ad,
      runner.LoadModel(spec.checkpoint, "ad", spec.context_len));
  runner.set_stages(2 * (1 + CountBaselineStages(spec)));
  Report report;
  report.experiment = "transfer";
  report.env = spec.env;
  report.x_axis = spec.x_axis;
  report.title = absl::StrFormat(
      "Transfer: AD trained on %s, evaluated on %s (held-out) and on %s",
      spec.train_env, spec.train_env, spec.env);
  for (const envs::EnvFamily* family : {train_family, eval_family}) {
    AD_ASSIGN_OR_RETURN(std::vector<std::string> tasks,
                        ResolveTasks(spec, *family, spec.tasks));
    const std::vector<RowSpec> rows = MakeRows(tasks, spec.seeds);
    const std::string name = family->space().family;
    Panel panel;
    panel.title = absl::StrFormat(
        "%s %s tasks%s", name, spec.tasks,
        family == train_family ? " (trained family)" : " (never trained on)");
    AD_ASSIGN_OR_RETURN(panel.optimal, MeanOptimal(*family, tasks));
    const int context_len = runner.ContextLen(ad.get(), family->space());
    absl::StatusOr<Curve> curve =
        runner.Run(*family, rows, *ad, context_len, name + " / ad");
    if (!curve.ok()) {
      return absl::Status(
          curve.status().code(),
          absl::StrCat("transfer to ", name, ": ", curve.status().message()));
    }
    panel.curves.push_back(*std::move(curve));
    AD_RETURN_IF_ERROR(runner.AddBaselines(*family, tasks, rows, context_len,
                                           name + " / ", panel, report.notes));
    report.panels.push_back(std::move(panel));
  }
  return report;
}

}  // namespace

absl::Status EvalSpec::Validate() const {
  if (std::find(std::begin(kExperiments), std::end(kExperiments), experiment) ==
      std::end(kExperiments)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("experiment is '%s', want one of %s", experiment,
                        absl::StrJoin(kExperiments, ", ")));
  }
  if (absl::StatusOr<const envs::EnvFamily*> f = envs::FindFamily(env);
      !f.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("env: ", f.status().message()));
  }
  if (tasks.empty()) {
    return absl::InvalidArgumentError(
        "tasks is empty, want test, train, all or a list of task ids");
  }
  if (!(train_fraction > 0.0 && train_fraction < 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "train_fraction is %g, want a fraction in (0, 1)", train_fraction));
  }
  if (max_tasks < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("max_tasks is %d, want >= 0 (0: all)", max_tasks));
  }
  if (seeds < 1 || seeds > 10000) {
    return absl::InvalidArgumentError(
        absl::StrFormat("seeds is %d, want 1..10000", seeds));
  }
  if (episodes < 1 || episodes > 100000) {
    return absl::InvalidArgumentError(
        absl::StrFormat("episodes is %d, want 1..100000", episodes));
  }
  if (context_len < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "context_len is %d, want >= 0 (0: the model's window)", context_len));
  }
  if (!(temperature >= 0.0) || !std::isfinite(temperature)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "temperature is %g, want >= 0 (0: greedy)", temperature));
  }
  for (const std::string& b : baselines) {
    if (std::find(std::begin(kBaselines), std::end(kBaselines), b) ==
        std::end(kBaselines)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("baselines has '%s', want any of %s", b,
                          absl::StrJoin(kBaselines, ", ")));
    }
  }
  if (window != "slide" && window != "chunk") {
    return absl::InvalidArgumentError(
        absl::StrFormat("window is '%s', want slide or chunk", window));
  }
  if (!demo_source.empty()) {
    DemoDataOptions parsed;
    AD_RETURN_IF_ERROR(ParseDemoSource(demo_source, parsed));
  }
  if (demo_streams < 1 || demo_streams > 1000) {
    return absl::InvalidArgumentError(
        absl::StrFormat("demo_streams is %d, want 1..1000", demo_streams));
  }
  if (!store.empty() && !histories_dir.empty()) {
    return absl::InvalidArgumentError(
        "store and histories_dir are both set, want at most one");
  }
  if (out_dir.empty()) {
    return absl::InvalidArgumentError("out_dir is empty, want a directory");
  }
  if (x_axis != "episodes" && x_axis != "env_steps") {
    return absl::InvalidArgumentError(
        absl::StrFormat("x_axis is '%s', want episodes or env_steps", x_axis));
  }
  if (threads < 1 || threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrFormat("threads is %d, want 1..256", threads));
  }
  if (prompt_len < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "prompt_len is %d, want >= 0 (0: the context size)", prompt_len));
  }
  const bool needs_checkpoint =
      experiment == "prompt" || experiment == "transfer" ||
      (experiment == "context_sweep" && sweep_checkpoints.empty());
  if (needs_checkpoint && checkpoint.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint is empty, the %s experiment needs an AD checkpoint",
        experiment));
  }
  if (experiment == "prompt") {
    if (prompt_levels.empty()) {
      return absl::InvalidArgumentError("prompt_levels is empty");
    }
    for (double level : prompt_levels) {
      if (!(level >= 0.0 && level <= 1.0)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "prompt_levels has %g, want fractions in [0, 1]", level));
      }
    }
  }
  if (experiment == "context_sweep") {
    if (sweep_checkpoints.empty() && context_lens.empty()) {
      return absl::InvalidArgumentError(
          "context_sweep needs sweep_checkpoints (label=path,...) or "
          "context_lens (N,...)");
    }
    for (const std::string& entry : sweep_checkpoints) {
      const size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "sweep_checkpoints has '%s', want label=path", entry));
      }
    }
    for (int c : context_lens) {
      if (c < 1) {
        return absl::InvalidArgumentError(
            absl::StrFormat("context_lens has %d, want >= 1", c));
      }
    }
  }
  if (experiment == "bandit_ood" && env != "bandit") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "env is '%s', the bandit_ood experiment runs on bandit", env));
  }
  if (experiment == "transfer") {
    if (train_env.empty() || train_env == env) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "train_env is '%s', the transfer experiment wants the checkpoint's "
          "family, different from env '%s'",
          train_env, env));
    }
    if (absl::StatusOr<const envs::EnvFamily*> f = envs::FindFamily(train_env);
        !f.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("train_env: ", f.status().message()));
    }
  }
  return plot_options.Validate();
}

absl::Status ValidateExperiment(const EvalSpec& spec) {
  AD_RETURN_IF_ERROR(spec.Validate());
  const ExperimentHooks no_hooks;
  Runner runner(spec, no_hooks);
  return runner.CheckInputs();
}

absl::StatusOr<Report> RunExperiment(const EvalSpec& spec,
                                     const ExperimentHooks& hooks) {
  AD_RETURN_IF_ERROR(spec.Validate());
  if (!spec.store.empty() && !hooks.open_store) {
    return absl::FailedPreconditionError(
        absl::StrCat("store ", spec.store,
                     " given, but this program cannot open a store (no "
                     "ExperimentHooks::open_store); use histories_dir"));
  }
  Runner runner(spec, hooks);
  // The whole spec is checked before the first rollout: a mistake costs
  // seconds, not a finished panel.
  AD_RETURN_IF_ERROR(runner.CheckInputs());
  if (spec.experiment == "incontext") return InContext(spec, runner);
  if (spec.experiment == "prompt") return PromptExperiment(spec, runner);
  if (spec.experiment == "context_sweep") return ContextSweep(spec, runner);
  if (spec.experiment == "bandit_ood") return BanditOod(spec, runner);
  return Transfer(spec, runner);
}

absl::Status WriteExperimentOutputs(const EvalSpec& spec,
                                    const Report& report) {
  AD_RETURN_IF_ERROR(WriteReport(report, spec.out_dir));
  if (!spec.plot) return absl::OkStatus();
  const std::string png =
      (std::filesystem::path(spec.out_dir) / (report.experiment + ".png"))
          .string();
  absl::Status plotted = PlotReport(
      spec.plot_options,
      (std::filesystem::path(spec.out_dir) / "report.json").string(), png);
  if (!plotted.ok()) LOG(WARNING) << "no plot: " << plotted;
  return plotted;
}

}  // namespace ad::evaluator
