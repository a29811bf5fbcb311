#include "services/adctl/store_commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <numeric>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/text_escape.h"
#include "glog/logging.h"
#include "services/adctl/flags.h"
#include "services/adctl/npy_writer.h"
#include "services/store/store_client.h"

ABSL_FLAG(std::string, store, "127.0.0.1:50052",
          "Address of ad-store (host:port)");
ABSL_FLAG(std::string, split, "", "Split filter: train, test or empty (any)");
ABSL_FLAG(std::string, range, "",
          "Transitions A:B of a history (B exclusive; empty B: to the end)");
ABSL_FLAG(std::string, reason, "",
          "Why a history is deleted (store delete; goes to the audit log)");

namespace ad::adctl {
namespace {

using services::store::StoreClient;

// Transitions fetched per GetHistory call by paging commands.
constexpr uint64_t kPage = 1 << 16;

absl::StatusOr<std::unique_ptr<StoreClient>> Connect() {
  StoreClient::Options options;
  options.address = absl::GetFlag(FLAGS_store);
  options.rpc_timeout = absl::GetFlag(FLAGS_timeout);
  return StoreClient::Create(options);
}

// Reads [begin, end) of a history page by page, calling `fn` per page.
absl::Status ForEachPage(
    StoreClient& client, const std::string& id, uint64_t begin, uint64_t end,
    const std::function<absl::Status(uint64_t first,
                                     const ad::v1::TransitionBatch&)>& fn) {
  for (uint64_t at = begin; at < end; at += kPage) {
    const uint64_t to = std::min(end, at + kPage);
    AD_ASSIGN_OR_RETURN(ad::v1::GetHistoryResponse page,
                        client.GetHistory(id, at, to));
    AD_RETURN_IF_ERROR(fn(at, page.transitions()));
  }
  return absl::OkStatus();
}

std::string ObsString(const ad::v1::TransitionBatch& t, int i,
                      const char* separator) {
  std::string out;
  for (uint32_t d = 0; d < t.obs_dim(); ++d) {
    if (d > 0) out += separator;
    absl::StrAppend(&out, t.obs(i * static_cast<int>(t.obs_dim()) + d));
  }
  return out;
}

absl::Status Tasks(const std::vector<std::string>& args) {
  if (!args.empty()) return UsageError("tasks takes no arguments");
  AD_ASSIGN_OR_RETURN(auto client, Connect());
  AD_ASSIGN_OR_RETURN(
      ad::v1::ListTasksResponse response,
      client->ListTasks(absl::GetFlag(FLAGS_env), absl::GetFlag(FLAGS_split)));
  std::printf("%-12s %-28s %-6s %10s %14s\n", "ENV", "TASK", "SPLIT",
              "HISTORIES", "TRANSITIONS");
  for (const auto& t : response.tasks()) {
    std::printf("%-12s %-28s %-6s %10llu %14llu\n", t.env().c_str(),
                t.task_id().c_str(), t.split().c_str(),
                static_cast<unsigned long long>(t.histories()),
                static_cast<unsigned long long>(t.transitions()));
  }
  return absl::OkStatus();
}

absl::Status Histories(const std::vector<std::string>& args) {
  const std::string task = absl::GetFlag(FLAGS_task);
  if (!args.empty() || task.empty()) {
    return UsageError("histories needs --task=ID and no arguments");
  }
  AD_ASSIGN_OR_RETURN(auto client, Connect());
  AD_ASSIGN_OR_RETURN(auto histories,
                      client->QueryTask(absl::GetFlag(FLAGS_env), task));
  std::printf("%-32s %-12s %8s %6s %-5s %10s %8s %-8s %12s %12s\n", "HISTORY",
              "SOURCE", "SEED", "STREAM", "SPLIT", "LENGTH", "EPISODES",
              "COMPLETE", "FIRST_RET", "LAST10_RET");
  for (const auto& h : histories) {
    const auto& r = h.episode_returns();
    const double first = r.empty() ? 0 : r[0];
    const int n = std::min(10, r.size());
    const double last =
        n == 0 ? 0 : std::accumulate(r.end() - n, r.end(), 0.0) / n;
    std::printf("%-32s %-12s %8llu %6u %-5s %10llu %8llu %-8s %12.3f %12.3f\n",
                h.history_id().c_str(), h.source().c_str(),
                static_cast<unsigned long long>(h.seed()), h.stream(),
                h.split().c_str(), static_cast<unsigned long long>(h.length()),
                static_cast<unsigned long long>(h.episodes()),
                h.complete() ? "yes" : "no", first, last);
  }
  return absl::OkStatus();
}

// "A:B", "A:" or "" -> [begin, end) within `length`.
absl::Status ParseRange(const std::string& range, uint64_t length,
                        uint64_t* begin, uint64_t* end) {
  *begin = 0;
  *end = std::min<uint64_t>(length, 20);
  if (range.empty()) return absl::OkStatus();
  std::vector<std::string> parts = absl::StrSplit(range, ':');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], begin) ||
      (!parts[1].empty() && !absl::SimpleAtoi(parts[1], end))) {
    return UsageError(
        absl::StrCat("--range is '", range, "'; expected A:B or A:"));
  }
  if (parts[1].empty()) *end = length;
  if (*begin > *end || *end > length) {
    return absl::OutOfRangeError(absl::StrCat(
        "--range ", range, " is outside the history's [0, ", length, ")"));
  }
  return absl::OkStatus();
}

absl::Status Show(const std::vector<std::string>& args) {
  if (args.size() != 1) return UsageError("show needs one HISTORY id");
  AD_ASSIGN_OR_RETURN(auto client, Connect());
  AD_ASSIGN_OR_RETURN(const ad::v1::HistoryMeta m,
                      client->GetHistoryMeta(args[0]));
  uint64_t begin = 0, end = 0;
  AD_RETURN_IF_ERROR(
      ParseRange(absl::GetFlag(FLAGS_range), m.length(), &begin, &end));
  std::printf(
      "history %s\n  env %s  task %s  split %s\n  source %s  seed %llu  "
      "stream %u\n  obs_dim %u  actions %u\n  length %llu  episodes %llu  "
      "complete %s\n",
      m.history_id().c_str(), m.env().c_str(), m.task_id().c_str(),
      m.split().c_str(), m.source().c_str(),
      static_cast<unsigned long long>(m.seed()), m.stream(), m.obs_dim(),
      m.num_actions(), static_cast<unsigned long long>(m.length()),
      static_cast<unsigned long long>(m.episodes()),
      m.complete() ? "yes" : "no");
  std::printf("transitions [%llu, %llu):\n%10s  %-16s %6s %8s %4s\n",
              static_cast<unsigned long long>(begin),
              static_cast<unsigned long long>(end), "T", "OBS", "ACTION",
              "REWARD", "DONE");
  return ForEachPage(*client, args[0], begin, end,
                     [](uint64_t first, const ad::v1::TransitionBatch& t) {
                       for (int i = 0; i < t.actions_size(); ++i) {
                         std::printf("%10llu  %-16s %6d %8.3f %4d\n",
                                     static_cast<unsigned long long>(first + i),
                                     ObsString(t, i, ",").c_str(), t.actions(i),
                                     t.rewards(i),
                                     static_cast<int>(t.dones()[i]));
                       }
                       return absl::OkStatus();
                     });
}

absl::Status ExportCsv(StoreClient& client,
                       const std::vector<ad::v1::HistoryMeta>& histories) {
  const std::string out = absl::GetFlag(FLAGS_out);
  std::FILE* file = out.empty() ? stdout : std::fopen(out.c_str(), "w");
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("cannot open ", out));
  }
  std::string header = "history_id,t,episode";
  for (uint32_t d = 0; d < histories[0].obs_dim(); ++d) {
    absl::StrAppend(&header, ",obs_", d);
  }
  std::fprintf(file, "%s,action,reward,done\n", header.c_str());
  absl::Status status;
  for (const auto& h : histories) {
    const std::string id_field = CsvField(h.history_id());
    uint64_t episode = 0;
    status = ForEachPage(
        client, h.history_id(), 0, h.length(),
        [&](uint64_t first, const ad::v1::TransitionBatch& t) {
          for (int i = 0; i < t.actions_size(); ++i) {
            std::fprintf(file, "%s,%llu,%llu,%s,%d,%g,%d\n", id_field.c_str(),
                         static_cast<unsigned long long>(first + i),
                         static_cast<unsigned long long>(episode),
                         ObsString(t, i, ",").c_str(), t.actions(i),
                         t.rewards(i), static_cast<int>(t.dones()[i]));
            if (t.dones()[i]) ++episode;
          }
          return absl::OkStatus();
        });
    if (!status.ok()) break;
  }
  if (file != stdout && std::fclose(file) != 0 && status.ok()) {
    status = absl::InternalError(absl::StrCat("closing ", out));
  }
  return status;
}

absl::Status ExportNpy(StoreClient& client,
                       const std::vector<ad::v1::HistoryMeta>& histories) {
  const std::string dir = absl::GetFlag(FLAGS_out);
  if (dir.empty()) return UsageError("--format=npy needs --out=DIRECTORY");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("creating ", dir, ": ", error.message()));
  }
  uint64_t total = 0;
  const uint32_t obs_dim = histories[0].obs_dim();
  for (const auto& h : histories) total += h.length();
  NpyWriter obs, actions, rewards, dones, index;
  AD_RETURN_IF_ERROR(
      obs.Open(dir + "/obs.npy", "<i4", 4, {total, uint64_t{obs_dim}}));
  AD_RETURN_IF_ERROR(actions.Open(dir + "/actions.npy", "<i4", 4, {total}));
  AD_RETURN_IF_ERROR(rewards.Open(dir + "/rewards.npy", "<f4", 4, {total}));
  AD_RETURN_IF_ERROR(dones.Open(dir + "/dones.npy", "|u1", 1, {total}));
  AD_RETURN_IF_ERROR(index.Open(dir + "/history_index.npy", "<i4", 4, {total}));
  std::FILE* table = std::fopen((dir + "/histories.csv").c_str(), "w");
  if (table == nullptr) return absl::InternalError("cannot write histories");
  std::fprintf(table,
               "index,history_id,env,task_id,source,seed,stream,split,length,"
               "episodes,complete\n");
  for (size_t k = 0; k < histories.size(); ++k) {
    const auto& h = histories[k];
    std::fprintf(table, "%zu,%s,%s,%s,%s,%llu,%u,%s,%llu,%llu,%d\n", k,
                 CsvField(h.history_id()).c_str(), CsvField(h.env()).c_str(),
                 CsvField(h.task_id()).c_str(), CsvField(h.source()).c_str(),
                 static_cast<unsigned long long>(h.seed()), h.stream(),
                 CsvField(h.split()).c_str(),
                 static_cast<unsigned long long>(h.length()),
                 static_cast<unsigned long long>(h.episodes()),
                 h.complete() ? 1 : 0);
    if (h.obs_dim() != obs_dim) {
      std::fclose(table);
      return absl::FailedPreconditionError(
          "histories of the task disagree on obs_dim");
    }
    AD_RETURN_IF_ERROR(ForEachPage(
        client, h.history_id(), 0, h.length(),
        [&](uint64_t, const ad::v1::TransitionBatch& t) -> absl::Status {
          const size_t n = t.actions_size();
          AD_RETURN_IF_ERROR(obs.Write(t.obs().data(), t.obs_size()));
          AD_RETURN_IF_ERROR(actions.Write(t.actions().data(), n));
          AD_RETURN_IF_ERROR(rewards.Write(t.rewards().data(), n));
          AD_RETURN_IF_ERROR(dones.Write(t.dones().data(), n));
          const std::vector<int32_t> ids(n, static_cast<int32_t>(k));
          return index.Write(ids.data(), n);
        }));
  }
  std::fclose(table);
  for (NpyWriter* w : {&obs, &actions, &rewards, &dones, &index}) {
    AD_RETURN_IF_ERROR(w->Close());
  }
  std::printf("wrote %llu transitions of %zu histories to %s\n",
              static_cast<unsigned long long>(total), histories.size(),
              dir.c_str());
  return absl::OkStatus();
}

absl::Status Export(const std::vector<std::string>& args) {
  const std::string task = absl::GetFlag(FLAGS_task);
  const std::string format = absl::GetFlag(FLAGS_format);
  if (!args.empty() || task.empty()) {
    return UsageError("export needs --task=ID and no arguments");
  }
  if (format != "csv" && format != "npy") {
    return UsageError(
        absl::StrCat("--format is '", format, "'; must be csv or npy"));
  }
  AD_ASSIGN_OR_RETURN(auto client, Connect());
  // Lengths are fixed here: histories still growing export what they held.
  AD_ASSIGN_OR_RETURN(auto histories,
                      client->QueryTask(absl::GetFlag(FLAGS_env), task));
  return format == "csv" ? ExportCsv(*client, histories)
                         : ExportNpy(*client, histories);
}

absl::Status Stats(const std::vector<std::string>& args) {
  if (!args.empty()) return UsageError("stats takes no arguments");
  AD_ASSIGN_OR_RETURN(auto client, Connect());
  AD_ASSIGN_OR_RETURN(ad::v1::StatsResponse s, client->Stats());
  std::printf(
      "histories %llu (complete %llu)\ntransitions %llu\ntasks %llu\n"
      "db_bytes %llu\n",
      static_cast<unsigned long long>(s.histories()),
      static_cast<unsigned long long>(s.complete_histories()),
      static_cast<unsigned long long>(s.transitions()),
      static_cast<unsigned long long>(s.tasks()),
      static_cast<unsigned long long>(s.db_bytes()));
  return absl::OkStatus();
}

// "user@host" of whoever runs adctl, for the store's audit log.
std::string RequestedBy() {
  const char* user = std::getenv("USER");
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return absl::StrCat(user != nullptr && *user != '\0' ? user : "unknown", "@",
                      host[0] != '\0' ? host : "unknown");
}

absl::Status Delete(const std::vector<std::string>& args) {
  if (args.size() != 1) return UsageError("delete needs one HISTORY id");
  const std::string reason = absl::GetFlag(FLAGS_reason);
  const std::string who = RequestedBy();
  AD_ASSIGN_OR_RETURN(auto client, Connect());
  absl::StatusOr<ad::v1::HistoryMeta> deleted =
      client->DeleteHistory(args[0], who, reason);
  if (!deleted.ok()) {
    LOG(WARNING) << "audit: store delete '" << BoundedEcho(args[0]) << "' by "
                 << who << " at " << absl::GetFlag(FLAGS_store)
                 << " failed: " << deleted.status();
    return deleted.status();
  }
  LOG(WARNING) << "audit: store delete '" << BoundedEcho(args[0]) << "' by "
               << who << " at " << absl::GetFlag(FLAGS_store) << ", reason '"
               << BoundedEcho(reason, 256) << "': removed env '"
               << BoundedEcho(deleted->env()) << "' task '"
               << BoundedEcho(deleted->task_id()) << "', " << deleted->length()
               << " transitions";
  std::printf("deleted %s (env %s, task %s, %llu transitions, %llu episodes)\n",
              deleted->history_id().c_str(), deleted->env().c_str(),
              deleted->task_id().c_str(),
              static_cast<unsigned long long>(deleted->length()),
              static_cast<unsigned long long>(deleted->episodes()));
  return absl::OkStatus();
}

absl::Status Checkpoint(const std::vector<std::string>& args) {
  if (args.size() != 1) return UsageError("checkpoint needs one NAME");
  AD_ASSIGN_OR_RETURN(auto client, Connect());
  AD_ASSIGN_OR_RETURN(std::string directory, client->Checkpoint(args[0]));
  std::printf("%s\n", directory.c_str());
  return absl::OkStatus();
}

}  // namespace

void RegisterStoreCommands(CommandRegistry* registry) {
  registry->Add({"store", "tasks", "[--env=E] [--split=train|test]",
                 "Tasks with their split, history and transition counts",
                 Tasks});
  registry->Add({"store", "histories", "--task=ID [--env=E]",
                 "Histories of a task with their metadata", Histories});
  registry->Add({"store", "show", "HISTORY [--range=A:B]",
                 "A history's metadata and transitions [A, B) (default 0:20)",
                 Show});
  registry->Add({"store", "export",
                 "--task=ID --format=csv|npy [--out=FILE|DIR] [--env=E]",
                 "Every transition of a task's histories as CSV or .npy "
                 "arrays (obs, actions, rewards, dones, history_index)",
                 Export});
  registry->Add({"store", "stats", "", "Store totals", Stats});
  registry->Add({"store", "delete", "HISTORY [--reason=TEXT]",
                 "Delete a history for good (e.g. one written by a faulty "
                 "client); audited in adctl's and the store's logs",
                 Delete});
  registry->Add({"store", "checkpoint", "NAME",
                 "Consistent RocksDB checkpoint under the store's "
                 "--checkpoint_dir; prints its path",
                 Checkpoint});
}

}  // namespace ad::adctl
