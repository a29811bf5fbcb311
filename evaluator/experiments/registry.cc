#include "evaluator/experiments/registry.h"

#include <memory>
#include <utility>

namespace ad::evaluator {
namespace {

struct Entry {
  std::string name;
  std::unique_ptr<Experiment> experiment;
};

// The table: an experiment is one file and one line here.
const std::vector<Entry>& Table() {
  static const std::vector<Entry>* const table = [] {
    auto* t = new std::vector<Entry>;
    t->push_back({"incontext", NewInContextExperiment()});
    t->push_back({"prompt", NewPromptExperiment()});
    t->push_back({"context_sweep", NewContextSweepExperiment()});
    t->push_back({"bandit_ood", NewBanditOodExperiment()});
    t->push_back({"transfer", NewTransferExperiment()});
    return t;
  }();
  return *table;
}

}  // namespace

const Experiment* FindExperiment(absl::string_view name) {
  for (const Entry& entry : Table()) {
    if (entry.name == name) return entry.experiment.get();
  }
  return nullptr;
}

std::vector<std::string> ExperimentNames() {
  std::vector<std::string> names;
  for (const Entry& entry : Table()) names.push_back(entry.name);
  return names;
}

}  // namespace ad::evaluator
