#include "services/evaluator/eval_cli.h"

#include <cstdio>
#include <functional>
#include <iostream>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/overrides.h"
#include "common/progress.h"
#include "evaluator/demo_checkpoints.h"
#include "glog/logging.h"
#include "services/store/store_history_source.h"

namespace ad::services {

using evaluator::DemoTrainOptions;
using evaluator::EvalSpec;
using evaluator::ExperimentHooks;
using evaluator::Report;
using evaluator::TrainDemoCheckpoint;
namespace {

using Setter = std::function<absl::Status(const std::string& value)>;

absl::Status Bad(const std::string& flag, const std::string& value,
                 const std::string& want) {
  return absl::InvalidArgumentError(
      absl::StrFormat("--%s=%s: want %s", flag, value, want));
}

// absl's parser of a T: SimpleAtoi for integers, SimpleAtod for double.
template <typename T>
bool ParseNumber(absl::string_view text, T* out) {
  return absl::SimpleAtoi(text, out);
}
template <>
bool ParseNumber<double>(absl::string_view text, double* out) {
  return absl::SimpleAtod(text, out);
}

// One number; `want` names its kind in the error.
template <typename T>
Setter Number(const std::string& flag, T* out, const char* want) {
  return [flag, out, want](const std::string& v) {
    return ParseNumber(v, out) ? absl::OkStatus() : Bad(flag, v, want);
  };
}

// Comma-separated numbers (empty pieces skipped); `want` names the format
// in the error.
template <typename T>
Setter NumberList(const std::string& flag, std::vector<T>* out,
                  const char* want) {
  return [flag, out, want](const std::string& v) {
    out->clear();
    for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipEmpty())) {
      T n;
      if (!ParseNumber(part, &n)) return Bad(flag, v, want);
      out->push_back(n);
    }
    return absl::OkStatus();
  };
}

Setter Int(const std::string& flag, int* out) {
  return Number(flag, out, "an integer");
}
Setter Uint64(const std::string& flag, uint64_t* out) {
  return Number(flag, out, "a non-negative integer");
}
Setter Double(const std::string& flag, double* out) {
  return Number(flag, out, "a number");
}
Setter String(std::string* out) {
  return [out](const std::string& v) {
    *out = v;
    return absl::OkStatus();
  };
}
Setter List(std::vector<std::string>* out) {
  return [out](const std::string& v) {
    *out = absl::StrSplit(v, ',', absl::SkipEmpty());
    return absl::OkStatus();
  };
}
Setter IntList(const std::string& flag, std::vector<int>* out) {
  return NumberList(flag, out, "integers a,b,c");
}
Setter DoubleList(const std::string& flag, std::vector<double>* out) {
  return NumberList(flag, out, "numbers a,b,c");
}
Setter Bool(const std::string& flag, bool* out) {
  return [flag, out](const std::string& v) {
    return absl::SimpleAtob(v, out) ? absl::OkStatus()
                                    : Bad(flag, v, "true or false");
  };
}

struct FlagDoc {
  const char* name;
  const char* help;
};

constexpr FlagDoc kFlagDocs[] = {
    {"checkpoint", "AD checkpoint file (learner ckpt-*.pt)"},
    {"ed_checkpoint", "ED checkpoint: same preset trained on expert data"},
    {"sweep_checkpoints", "context_sweep: label=path,... one per window"},
    {"context_lens", "context_sweep with one checkpoint: N,... transitions"},
    {"env",
     "family evaluated on (darkroom, darkroom_hard, key_to_door, "
     "bandit)"},
    {"train_env", "transfer: the family the checkpoint was trained on"},
    {"tasks",
     "test | train | all | task ids, e.g. "
     "darkroom/goal=3,7,darkroom/goal=1,2 (default test)"},
    {"train_fraction", "split the data was generated with (default 0.75)"},
    {"split_seed", "seed of that split (default 0)"},
    {"max_tasks", "evenly spaced subset of the tasks; 0 all"},
    {"seeds", "evaluation seeds per task (default 20)"},
    {"episodes", "episodes per row (default 40)"},
    {"context_len", "past transitions in context; 0 the model's window"},
    {"temperature", "0 greedy (default), > 0 sampling"},
    {"window", "slide (default: last c, full recompute) | chunk (cached)"},
    {"baselines", "random,optimal,heuristic,ed,source"},
    {"store", "ad-store address for source histories"},
    {"histories_dir", "actors' FileSink directory for source histories"},
    {"source", "keep histories of this source algorithm only"},
    {"demo_source",
     "no store: run noisy_expert:EPISODES or "
     "q_learning:EPISODES on the tasks as the source curve"},
    {"demo_streams", "histories per task of --demo_source (default 4)"},
    {"prompt_levels",
     "prompt: competence fractions (default "
     "0,0.25,0.5,0.75,1)"},
    {"prompt_len", "prompt: transitions; 0 the context size"},
    {"out", "output directory (required)"},
    {"x", "episodes | env_steps"},
    {"seed", "environment seed (default 1)"},
    {"threads", "LibTorch threads (default 2)"},
    {"plot", "write the PNG (default true)"},
    {"python", "python3 with matplotlib (default /usr/bin/python3)"},
    {"plot_script", "path of plot_curves.py"},
};

std::map<std::string, Setter> Setters(EvalSpec& spec) {
  return {
      {"checkpoint", String(&spec.checkpoint)},
      {"ed_checkpoint", String(&spec.ed_checkpoint)},
      {"sweep_checkpoints", List(&spec.sweep_checkpoints)},
      {"context_lens", IntList("context_lens", &spec.context_lens)},
      {"env", String(&spec.env)},
      {"train_env", String(&spec.train_env)},
      {"tasks", String(&spec.tasks)},
      {"train_fraction", Double("train_fraction", &spec.train_fraction)},
      {"split_seed", Uint64("split_seed", &spec.split_seed)},
      {"max_tasks", Int("max_tasks", &spec.max_tasks)},
      {"seeds", Int("seeds", &spec.seeds)},
      {"episodes", Int("episodes", &spec.episodes)},
      {"context_len", Int("context_len", &spec.context_len)},
      {"temperature", Double("temperature", &spec.temperature)},
      {"window", String(&spec.window)},
      {"baselines", List(&spec.baselines)},
      {"store", String(&spec.store)},
      {"histories_dir", String(&spec.histories_dir)},
      {"source", String(&spec.source)},
      {"demo_source", String(&spec.demo_source)},
      {"demo_streams", Int("demo_streams", &spec.demo_streams)},
      {"prompt_levels", DoubleList("prompt_levels", &spec.prompt_levels)},
      {"prompt_len", Int("prompt_len", &spec.prompt_len)},
      {"out", String(&spec.out_dir)},
      {"x", String(&spec.x_axis)},
      {"seed", Uint64("seed", &spec.seed)},
      {"threads", Int("threads", &spec.threads)},
      {"plot", Bool("plot", &spec.plot)},
      {"python", String(&spec.plot_options.python)},
      {"plot_script", String(&spec.plot_options.script)},
  };
}

}  // namespace

std::string EvalUsage() {
  std::string out =
      "usage: adctl eval EXPERIMENT --out DIR [flags]\n"
      "experiments:\n"
      "  incontext      Fig. 4: AD on held-out tasks vs ED, source, random,\n"
      "                 optimal and the critique's heuristic\n"
      "  prompt         Fig. 5: prompted with partial demonstrations\n"
      "  context_sweep  Fig. 7: in-context curves per context size\n"
      "  bandit_ood     Fig. 3: bandit, in vs out of distribution\n"
      "  transfer       critique: train on one family, evaluate on another\n"
      "  make_checkpoint --kind ad|ed --out DIR [--steps N --preset P]\n"
      "                 train a demo AD (Q-learning histories) or ED (expert\n"
      "                 histories) checkpoint in-process on the train split\n"
      "flags (--name=value or --name value):\n";
  for (const FlagDoc& doc : kFlagDocs) {
    absl::StrAppendFormat(&out, "  --%-18s %s\n", doc.name, doc.help);
  }
  return out;
}

absl::StatusOr<EvalSpec> ParseEvalArgs(const std::vector<std::string>& args) {
  EvalSpec spec;
  if (args.empty() || absl::StartsWith(args[0], "-")) {
    return absl::InvalidArgumentError(
        "missing experiment: adctl eval EXPERIMENT [flags]");
  }
  spec.experiment = args[0];
  std::map<std::string, Setter> setters = Setters(spec);
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view word = args[i];
    if (!absl::ConsumePrefix(&word, "--")) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "unexpected argument '%s' (flags are --name=value)", args[i]));
    }
    std::string name(word), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (name == "no_plot") {
      spec.plot = false;
      continue;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrFormat("--%s needs a value", name));
    }
    auto it = setters.find(name);
    if (it == setters.end()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown flag --%s (see adctl eval help)", name));
    }
    if (absl::Status s = it->second(value); !s.ok()) return s;
  }
  if (absl::Status s = spec.Validate(); !s.ok()) return s;
  return spec;
}

// `adctl eval make_checkpoint --kind ad|ed --out DIR [--steps N]
// [--preset P] [--streams N] [--episodes N] [--threads N] [--set k=v ...]`
int RunMakeCheckpoint(const std::vector<std::string>& args) {
  DemoTrainOptions options;
  std::string kind = "ad";
  int steps = 0;
  std::map<std::string, Setter> setters = {
      {"kind", String(&kind)},
      {"source", String(&options.data.source)},
      {"out", String(&options.out_dir)},
      {"preset", String(&options.preset)},
      {"env", String(&options.data.env)},
      {"streams", Int("streams", &options.data.streams_per_task)},
      {"episodes", Int("episodes", &options.data.episodes)},
      {"train_fraction",
       Double("train_fraction", &options.data.train_fraction)},
      {"split_seed", Uint64("split_seed", &options.data.split_seed)},
      {"seed", Uint64("seed", &options.data.seed)},
      {"threads", Int("threads", &options.threads)},
      {"steps", Int("steps", &steps)},
      {"epsilon", Double("epsilon", &options.data.epsilon)},
      {"alpha", Double("alpha", &options.data.alpha)},
      {"gamma", Double("gamma", &options.data.gamma)},
      {"initial_q", Double("initial_q", &options.data.initial_q)},
      {"set", [&](const std::string& v) {
         for (std::string& piece : SplitOverrides(v)) {
           options.overrides.push_back(std::move(piece));
         }
         return absl::OkStatus();
       }}};
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view word = args[i];
    if (!absl::ConsumePrefix(&word, "--")) {
      std::cerr << "adctl eval make_checkpoint: unexpected " << args[i] << "\n";
      return 2;
    }
    std::string name(word), value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    }
    auto it = setters.find(name);
    absl::Status s =
        it == setters.end()
            ? absl::InvalidArgumentError(absl::StrCat("unknown flag --", name))
            : it->second(value);
    if (!s.ok()) {
      std::cerr << "adctl eval make_checkpoint: " << s.message() << "\n";
      return 2;
    }
  }
  if (kind != "ad" && kind != "ed") {
    std::cerr << "adctl eval make_checkpoint: --kind is '" << kind
              << "', want ad or ed (expert histories)\n";
    return 2;
  }
  if (kind == "ed") {
    options.data.source = "expert";
  } else if (options.data.source == "expert") {
    std::cerr << "adctl eval make_checkpoint: --kind ad wants learning "
                 "histories, --source q_learning or noisy_expert\n";
    return 2;
  }
  if (steps > 0) {
    options.overrides.push_back(absl::StrCat("train.steps=", steps));
  }
  absl::StatusOr<std::string> path = TrainDemoCheckpoint(options);
  if (!path.ok()) {
    std::cerr << "adctl eval make_checkpoint: " << path.status() << "\n";
    return 1;
  }
  std::cout << *path << "\n";
  return 0;
}

int RunEvalCommand(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (!args.empty() && args[0] == "eval") args.erase(args.begin());
  if (!args.empty() && args[0] == "make_checkpoint") {
    return RunMakeCheckpoint(args);
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help") {
    std::cout << EvalUsage();
    return args.empty() ? 2 : 0;
  }
  absl::StatusOr<EvalSpec> spec = ParseEvalArgs(args);
  if (!spec.ok()) {
    std::cerr << "adctl eval: " << spec.status().message() << "\n\n"
              << EvalUsage();
    return 2;
  }
  // The checkpoints against the env families, the tasks, the output
  // directory: a spec that cannot run fails now, not after a rollout.
  if (absl::Status s = ValidateExperiment(*spec); !s.ok()) {
    std::cerr << "adctl eval " << spec->experiment << ": " << s.message()
              << "\n";
    return 2;
  }
  Progress progress(absl::StrCat("eval ", spec->experiment), "episodes", 0);
  ExperimentHooks hooks;
  hooks.open_store = store::StoreHistoryOpener();
  hooks.on_progress = [&](const std::string& stage, int done, int total,
                          int stages_done, int stages_total) {
    progress.Update(done,
                    absl::StrFormat("%s (%d/%d) of %d", stage, stages_done + 1,
                                    stages_total, total));
  };
  absl::StatusOr<Report> report = RunExperiment(*spec, hooks);
  progress.Finish();
  if (!report.ok()) {
    std::cerr << "adctl eval " << spec->experiment << ": " << report.status()
              << "\n";
    return 1;
  }
  absl::Status written = WriteExperimentOutputs(*spec, *report);
  std::cout << report->title << "\n" << SummaryTable(*report);
  for (const std::string& note : report->notes) {
    std::cout << "note: " << note << "\n";
  }
  std::cout << "wrote " << spec->out_dir << "/{curves.csv,returns.csv,"
            << "report.json"
            << (written.ok() && spec->plot
                    ? absl::StrCat(",", report->experiment, ".png}")
                    : std::string("}"))
            << "\n";
  if (!written.ok()) {
    std::cerr << "adctl eval: " << written << "\n";
    return written.code() == absl::StatusCode::kFailedPrecondition ? 0 : 1;
  }
  return 0;
}

}  // namespace ad::services
