#include "evaluator/curves.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace ad::evaluator {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A JSON string literal.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// A JSON number (null for NaN / inf).
std::string Number(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.6g", v);
}

// A CSV field, quoted when it holds a comma or quote.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

absl::Status WriteFile(const std::filesystem::path& path,
                       const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    return absl::InternalError(absl::StrFormat(
        "cannot write %s: %s", path.string(), std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

int Curve::Episodes() const {
  size_t n = 0;
  for (const auto& row : returns) n = std::max(n, row.size());
  return static_cast<int>(n);
}

int Curve::Count(int e) const {
  int n = 0;
  for (const auto& row : returns) n += e < static_cast<int>(row.size());
  return n;
}

double Curve::Mean(int e) const {
  double sum = 0;
  int n = 0;
  for (const auto& row : returns) {
    if (e < static_cast<int>(row.size())) {
      sum += row[e];
      ++n;
    }
  }
  return n == 0 ? kNaN : sum / n;
}

double Curve::Std(int e) const {
  const double mean = Mean(e);
  double sum = 0;
  int n = 0;
  for (const auto& row : returns) {
    if (e < static_cast<int>(row.size())) {
      sum += (row[e] - mean) * (row[e] - mean);
      ++n;
    }
  }
  return n == 0 ? kNaN : std::sqrt(sum / n);
}

double Curve::WindowMean(int first, int last) const {
  first = std::max(first, 1);
  last = std::min(last, Episodes());
  if (last < first) return kNaN;
  double sum = 0;
  for (int e = first; e <= last; ++e) sum += Mean(e - 1);
  return sum / (last - first + 1);
}

int Curve::EpisodesToReach(double level) const {
  for (int e = 0; e < Episodes(); ++e) {
    if (Mean(e) >= level) return e + 1;
  }
  return 0;
}

Curve CurveFromRollout(const std::string& method, const RolloutResult& result) {
  Curve curve;
  curve.method = method;
  const int rows = static_cast<int>(result.rows.size());
  double steps = 0;
  for (int r = 0; r < rows; ++r) {
    curve.row_labels.push_back(
        absl::StrCat(result.rows[r].task_id, "#seed=", result.rows[r].seed));
    curve.returns.emplace_back(
        result.returns.begin() + static_cast<size_t>(r) * result.episodes,
        result.returns.begin() + static_cast<size_t>(r + 1) * result.episodes);
    steps += result.end_steps[static_cast<size_t>(r + 1) * result.episodes - 1];
  }
  if (rows > 0 && result.episodes > 0) {
    curve.steps_per_episode = steps / rows / result.episodes;
  }
  return curve;
}

std::string ReportJson(const Report& report) {
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"experiment\": ", Quote(report.experiment), ",\n",
                  "  \"title\": ", Quote(report.title), ",\n",
                  "  \"env\": ", Quote(report.env), ",\n",
                  "  \"x_axis\": ", Quote(report.x_axis), ",\n");
  std::vector<std::string> notes;
  for (const auto& n : report.notes) notes.push_back(Quote(n));
  absl::StrAppend(&out, "  \"notes\": [", absl::StrJoin(notes, ", "), "],\n");
  absl::StrAppend(&out, "  \"panels\": [");
  for (size_t p = 0; p < report.panels.size(); ++p) {
    const Panel& panel = report.panels[p];
    absl::StrAppend(
        &out, p == 0 ? "\n" : ",\n", "    {\"title\": ", Quote(panel.title),
        ", \"optimal\": ", panel.optimal < 0 ? "null" : Number(panel.optimal),
        ", \"random\": ", panel.random < 0 ? "null" : Number(panel.random),
        ", \"curves\": [");
    for (size_t c = 0; c < panel.curves.size(); ++c) {
      const Curve& curve = panel.curves[c];
      std::vector<std::string> mean, std, count, steps;
      const int reach =
          panel.optimal > 0
              ? curve.EpisodesToReach(kReachFraction * panel.optimal)
              : 0;
      for (int e = 0; e < curve.Episodes(); ++e) {
        mean.push_back(Number(curve.Mean(e)));
        std.push_back(Number(curve.Std(e)));
        count.push_back(absl::StrCat(curve.Count(e)));
        steps.push_back(Number(curve.steps_per_episode * (e + 1)));
      }
      absl::StrAppend(
          &out, c == 0 ? "\n" : ",\n",
          "      {\"method\": ", Quote(curve.method),
          ", \"rows\": ", curve.returns.size(), ",\n       \"mean\": [",
          absl::StrJoin(mean, ", "), "],\n       \"std\": [",
          absl::StrJoin(std, ", "), "],\n       \"n\": [",
          absl::StrJoin(count, ", "), "],\n       \"env_steps\": [",
          absl::StrJoin(steps, ", "), "],\n       \"episodes_to_80pct\": ",
          reach > 0 ? absl::StrCat(reach) : "null",
          ", \"env_steps_to_80pct\": ",
          reach > 0 ? Number(curve.steps_per_episode * reach) : "null", "}");
    }
    absl::StrAppend(&out, "]}");
  }
  absl::StrAppend(&out, "\n  ]\n}\n");
  return out;
}

absl::Status WriteReport(const Report& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrFormat("cannot create output dir %s: %s", dir, ec.message()));
  }
  const std::filesystem::path root(dir);
  std::string curves = "panel,method,episode,env_steps,mean,std,n\n";
  std::string raw = "panel,method,row,episode,return\n";
  for (const Panel& panel : report.panels) {
    for (const Curve& curve : panel.curves) {
      for (int e = 0; e < curve.Episodes(); ++e) {
        absl::StrAppend(&curves, CsvField(panel.title), ",",
                        CsvField(curve.method), ",", e + 1, ",",
                        Number(curve.steps_per_episode * (e + 1)), ",",
                        Number(curve.Mean(e)), ",", Number(curve.Std(e)), ",",
                        curve.Count(e), "\n");
      }
      for (size_t r = 0; r < curve.returns.size(); ++r) {
        const std::string label =
            r < curve.row_labels.size() ? curve.row_labels[r] : "";
        for (size_t e = 0; e < curve.returns[r].size(); ++e) {
          absl::StrAppend(&raw, CsvField(panel.title), ",",
                          CsvField(curve.method), ",", CsvField(label), ",",
                          e + 1, ",", Number(curve.returns[r][e]), "\n");
        }
      }
    }
  }
  if (absl::Status s = WriteFile(root / "curves.csv", curves); !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFile(root / "returns.csv", raw); !s.ok()) {
    return s;
  }
  return WriteFile(root / "report.json", ReportJson(report));
}

namespace {

// "data efficiency: ..." comparing AD with one source stream, or "" when
// the panel lacks either curve or an optimal return.
std::string DataEfficiencyLine(const Panel& panel) {
  const Curve* ad = nullptr;
  const Curve* source = nullptr;
  for (const Curve& c : panel.curves) {
    if (c.method == "ad") ad = &c;
    if (absl::StartsWith(c.method, "source")) source = &c;
  }
  if (ad == nullptr || source == nullptr || !(panel.optimal > 0)) return "";
  const double level = kReachFraction * panel.optimal;
  const int a = ad->EpisodesToReach(level);
  const int s = source->EpisodesToReach(level);
  auto where = [](const Curve& c, int e) {
    return e > 0 ? absl::StrFormat("episode %d (%.0f env steps)", e,
                                   c.steps_per_episode * e)
                 : absl::StrFormat("not within %d episodes", c.Episodes());
  };
  std::string line = absl::StrFormat(
      "data efficiency (%.0f%% of optimal): AD %s; one %s stream %s",
      100 * kReachFraction, where(*ad, a), source->method, where(*source, s));
  if (a > 0 && s > 0 && s >= a) {
    absl::StrAppendFormat(&line, ": AD needs %.1fx fewer episodes",
                          static_cast<double>(s) / a);
  } else if (a > 0 && s > 0) {
    // AD is the slower one: say so rather than "0.2x fewer".
    absl::StrAppendFormat(&line, ": AD needs %.1fx more episodes",
                          static_cast<double>(a) / s);
  } else if (a > 0) {
    absl::StrAppendFormat(&line, ": AD needs > %.1fx fewer episodes",
                          static_cast<double>(source->Episodes()) / a);
  }
  return line + "\n";
}

}  // namespace

std::string SummaryTable(const Report& report) {
  std::string out;
  for (const Panel& panel : report.panels) {
    absl::StrAppendFormat(&out, "== %s", panel.title);
    if (panel.optimal >= 0) {
      absl::StrAppendFormat(&out, "  (optimal %.2f)", panel.optimal);
    }
    absl::StrAppend(&out, "\n");
    absl::StrAppendFormat(&out, "%-22s %5s %5s %9s %7s %9s %7s %9s %7s\n",
                          "method", "rows", "eps", "ep1-3", "%opt", "last10",
                          "%opt", "best", "ep@80%");
    const double level = kReachFraction * panel.optimal;
    for (const Curve& curve : panel.curves) {
      const int episodes = curve.Episodes();
      const double early = curve.WindowMean(1, 3);
      const double late = curve.WindowMean(episodes - 9, episodes);
      double best = -std::numeric_limits<double>::infinity();
      for (int e = 0; e < episodes; ++e) best = std::max(best, curve.Mean(e));
      auto pct = [&](double v) {
        return panel.optimal > 0 && std::isfinite(v)
                   ? absl::StrFormat("%6.0f%%", 100.0 * v / panel.optimal)
                   : std::string("      -");
      };
      const int reach = panel.optimal > 0 ? curve.EpisodesToReach(level) : 0;
      absl::StrAppendFormat(
          &out, "%-22s %5d %5d %9.2f %7s %9.2f %7s %9.2f %7s\n", curve.method,
          curve.returns.size(), episodes, early, pct(early), late, pct(late),
          best, reach > 0 ? absl::StrCat(reach) : std::string("-"));
    }
    out += DataEfficiencyLine(panel);
  }
  return out;
}

}  // namespace ad::evaluator
