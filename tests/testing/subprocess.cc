#include "tests/testing/subprocess.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ad::testing {

std::string BinaryPath(const std::string& name) {
  const char* dir = std::getenv("AD_BIN_DIR");
  return absl::StrCat(dir != nullptr ? dir : "bin", "/", name);
}

absl::StatusOr<Subprocess> StartStore(const std::string& db, int port,
                                      const std::string& log,
                                      const std::vector<std::string>& flags,
                                      absl::Duration timeout) {
  std::vector<std::string> argv = {
      BinaryPath("ad-store"),        "--db=" + db,
      absl::StrCat("--port=", port), "--metrics_port=-1",
      "--block_cache_mb=16",         "--write_buffer_mb=4"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  absl::StatusOr<Subprocess> store = Subprocess::Start(argv, log);
  if (!store.ok()) return store.status();
  if (absl::Status up = WaitForPort(port, timeout); !up.ok()) {
    return absl::Status(up.code(),
                        absl::StrCat("ad-store did not come up (", up.message(),
                                     "); ", log, ":\n", ReadFile(log)));
  }
  return store;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::string ScrapeMetrics(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    timeval timeout = {/*tv_sec=*/5, /*tv_usec=*/0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    const std::string request =
        "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
    }
  }
  close(fd);
  return response;
}

double MetricValue(const std::string& exposition, const std::string& series) {
  size_t pos = 0;
  while (pos < exposition.size()) {
    size_t end = exposition.find('\n', pos);
    if (end == std::string::npos) end = exposition.size();
    const std::string_view line(exposition.data() + pos, end - pos);
    pos = end + 1;
    if (line.size() > series.size() + 1 &&
        line.substr(0, series.size()) == series && line[series.size()] == ' ') {
      const std::string value(line.substr(series.size() + 1));
      char* parsed_end = nullptr;
      const double v = std::strtod(value.c_str(), &parsed_end);
      if (parsed_end == value.c_str()) return -1;
      return v;
    }
  }
  return -1;
}

}  // namespace ad::testing
