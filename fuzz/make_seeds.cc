// Writes the binary seed inputs of the proto-stream targets
// (store_append_fuzz, env_request_fuzz) into fuzz/corpus/<target>/; the text
// targets' seeds are written by hand. The seeds are committed; rerun this
// (scripts/fuzz.sh --seeds) only when the protos or the families change.
//
// Usage: make_seeds <corpus root>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "ad/v1/env.pb.h"
#include "ad/v1/store.pb.h"
#include "envs/registry.h"
#include "fuzz/proto_stream.h"
#include "glog/logging.h"

namespace ad::fuzz {
namespace {

void Write(const std::string& root, const std::string& target,
           const std::string& name, const std::string& bytes) {
  const std::string path = root + "/" + target + "/" + name;
  std::ofstream out(path, std::ios::binary);
  CHECK(out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())))
      << path;
}

const envs::EnvFamily& Family(const std::string& name) {
  auto family = envs::FindFamily(name);
  CHECK(family.ok()) << family.status();
  return **family;
}

// A chunk of `n` valid transitions of `family`: observations cycle through
// the range, actions through the action set, an episode ends every 4 steps.
void FillChunk(const envs::SpaceSpec& space, int n, uint32_t first,
               ad::v1::TransitionBatch* chunk) {
  chunk->set_obs_dim(static_cast<uint32_t>(space.obs_dim));
  for (int t = 0; t < n; ++t) {
    for (int i = 0; i < space.obs_dim; ++i) {
      chunk->add_obs(static_cast<int32_t>((first + t + i) % space.obs_high[i]));
    }
    chunk->add_actions(static_cast<int32_t>((first + t) % space.num_actions));
    chunk->add_rewards(t % 3 == 0 ? 1.0f : 0.0f);
    chunk->mutable_dones()->push_back(t % 4 == 3 ? 1 : 0);
  }
}

ad::v1::AppendRequest First(const std::string& id, const std::string& env,
                            const std::string& task, int n) {
  const envs::SpaceSpec& space = Family(env).space();
  ad::v1::AppendRequest r;
  r.set_history_id(id);
  r.set_seq(0);
  ad::v1::HistoryMeta* meta = r.mutable_meta();
  meta->set_history_id(id);
  meta->set_env(env);
  meta->set_task_id(task);
  meta->set_source("a3c");
  meta->set_seed(7);
  meta->set_split("train");
  meta->set_obs_dim(static_cast<uint32_t>(space.obs_dim));
  meta->set_num_actions(static_cast<uint32_t>(space.num_actions));
  FillChunk(space, n, 0, r.mutable_chunk());
  return r;
}

ad::v1::AppendRequest Next(const std::string& id, const std::string& env,
                           uint64_t seq, int n, bool final) {
  ad::v1::AppendRequest r;
  r.set_history_id(id);
  r.set_seq(seq);
  r.set_final(final);
  FillChunk(Family(env).space(), n, static_cast<uint32_t>(seq * 7),
            r.mutable_chunk());
  return r;
}

void StoreSeeds(const std::string& root) {
  const std::string target = "store_append_fuzz";
  // One valid history per family, three chunks, the last final, then a
  // retried chunk (a duplicate) and one after the end.
  for (const std::string& env : envs::FamilyNames()) {
    const std::string task = Family(env).AllTasks().front();
    if (Family(env).space().obs_dim > 64) {
      // Pixel observations (watermaze): one transition would not fit the
      // runs' -max_len, so a history created empty and final at once.
      ad::v1::AppendRequest r = First("h-" + env, env, task, 0);
      r.set_final(true);
      Write(root, target, "history_" + env, SerializeStream(std::vector{r}));
      continue;
    }
    std::vector<ad::v1::AppendRequest> s = {
        First("h-" + env, env, task, 5), Next("h-" + env, env, 1, 3, false),
        Next("h-" + env, env, 2, 4, true), Next("h-" + env, env, 1, 3, false),
        Next("h-" + env, env, 3, 1, false)};
    Write(root, target, "history_" + env, SerializeStream(s));
  }
  const std::string task = Family("darkroom").AllTasks().front();
  // Two interleaved histories of one env, and a second env with a custom
  // shape that a later history contradicts.
  {
    ad::v1::AppendRequest custom = First("c1", "darkroom", "custom/1", 2);
    custom.mutable_meta()->set_env("custom");
    custom.mutable_meta()->set_obs_dim(3);
    custom.mutable_chunk()->set_obs_dim(3);
    custom.mutable_chunk()->add_obs(1);
    custom.mutable_chunk()->add_obs(2);
    ad::v1::AppendRequest other = custom;
    other.set_history_id("c2");
    other.mutable_meta()->set_history_id("c2");
    other.mutable_meta()->set_num_actions(9);
    std::vector<ad::v1::AppendRequest> s = {First("a", "darkroom", task, 2),
                                            First("b", "darkroom", task, 3),
                                            Next("a", "darkroom", 1, 2, false),
                                            Next("b", "darkroom", 1, 2, true),
                                            custom,
                                            other};
    Write(root, target, "interleaved_and_custom", SerializeStream(s));
  }
  // Values the store must refuse: NaN and infinite rewards, an action out of
  // range, a done byte of 2, an observation out of range, num_actions 0, a
  // meta naming another history, seq > 0 of an unknown history, a gap.
  {
    std::vector<ad::v1::AppendRequest> s;
    ad::v1::AppendRequest r = First("bad", "darkroom", task, 3);
    r.mutable_chunk()->set_rewards(1, std::nanf(""));
    s.push_back(r);
    r = First("bad", "darkroom", task, 3);
    r.mutable_chunk()->set_rewards(0, std::numeric_limits<float>::infinity());
    s.push_back(r);
    r = First("bad", "darkroom", task, 3);
    r.mutable_chunk()->set_actions(2, -5);
    s.push_back(r);
    r = First("bad", "darkroom", task, 3);
    (*r.mutable_chunk()->mutable_dones())[0] = 2;
    s.push_back(r);
    r = First("bad", "darkroom", task, 3);
    r.mutable_chunk()->set_obs(0, 1000000000);
    s.push_back(r);
    r = First("bad", "darkroom", task, 3);
    r.mutable_meta()->set_num_actions(0);
    s.push_back(r);
    r = First("bad", "darkroom", task, 3);
    r.mutable_meta()->set_history_id("other");
    s.push_back(r);
    s.push_back(Next("unknown", "darkroom", 4, 2, false));
    s.push_back(First("gap", "darkroom", task, 2));
    s.push_back(Next("gap", "darkroom", 5, 2, false));
    Write(root, target, "rejected_values", SerializeStream(s));
  }
}

ad::v1::EnvRequest Open(const std::string& family, uint32_t n,
                        bool one_task_each) {
  ad::v1::EnvRequest r;
  ad::v1::OpenSession* open = r.mutable_open();
  open->set_family(family);
  open->set_num_instances(n);
  open->set_seed(3);
  const std::vector<std::string> tasks = Family(family).AllTasks();
  for (uint32_t i = 0; i < (one_task_each ? n : 1); ++i) {
    open->add_task_ids(tasks[i % tasks.size()]);
  }
  return r;
}

ad::v1::EnvRequest Step(uint32_t n, int32_t action) {
  ad::v1::EnvRequest r;
  for (uint32_t i = 0; i < n; ++i) r.mutable_step()->add_actions(action);
  return r;
}

void EnvSeeds(const std::string& root) {
  const std::string target = "env_request_fuzz";
  ad::v1::EnvRequest reset;
  reset.mutable_reset();
  ad::v1::EnvRequest expert;
  expert.mutable_expert();
  for (const std::string& family : envs::FamilyNames()) {
    const int num_actions = Family(family).space().num_actions;
    std::vector<ad::v1::EnvRequest> s = {Open(family, 3, true)};
    for (int a = 0; a < num_actions; ++a) s.push_back(Step(3, a));
    s.push_back(expert);
    s.push_back(reset);
    s.push_back(Step(3, num_actions));  // out of range
    s.push_back(Step(2, 0));            // one action short
    s.push_back(Open(family, 1, false));
    s.push_back(ad::v1::EnvRequest());  // kind not set
    s.push_back(Step(3, 0));
    Write(root, target, "session_" + family, SerializeStream(s));
  }
  // Opens the server must refuse.
  std::vector<ad::v1::EnvRequest> s = {Open("darkroom", 2, false)};
  s[0].mutable_open()->add_task_ids("darkroom/goal=99,99");
  Write(root, target, "open_bad_tasks", SerializeStream(s));
  s = {Open("darkroom", 1, false)};
  s[0].mutable_open()->set_num_instances(100000);
  Write(root, target, "open_too_many", SerializeStream(s));
  s = {Open("darkroom", 1, false)};
  s[0].mutable_open()->set_family("nope");
  Write(root, target, "open_unknown_family", SerializeStream(s));
}

}  // namespace
}  // namespace ad::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds <corpus root>\n";
    return 2;
  }
  ad::fuzz::StoreSeeds(argv[1]);
  ad::fuzz::EnvSeeds(argv[1]);
  return 0;
}
