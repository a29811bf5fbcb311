// A raw TCP client connection to a loopback port, for tests that speak to
// a server below its client library: half-sent requests, idle connections,
// reading until the server closes (the /metrics HTTP server's tests).
//
// The connection is made in the constructor and closed by the destructor.
// ReadAll and WaitClosed block up to their timeout; nothing else blocks
// beyond the kernel's send. Not thread-safe.
#ifndef AD_TESTS_TESTING_RAW_CONNECTION_H_
#define AD_TESTS_TESTING_RAW_CONNECTION_H_

#include <string>

#include "absl/time/time.h"

namespace ad::testing {

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; connected() says whether it did.
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  // Sends all of `data`; false if the server closed or reset.
  bool Send(const std::string& data);

  // Reads until the server closes or `timeout` passes; what arrived.
  std::string ReadAll(absl::Duration timeout);

  // True once the server has closed the connection (EOF or reset), polling
  // for at most `timeout`; input is discarded.
  bool WaitClosed(absl::Duration timeout);

  // Non-blocking: true if the server has closed the connection by now.
  bool ClosedNow();

 private:
  const int fd_;
  bool connected_ = false;
};

}  // namespace ad::testing

#endif  // AD_TESTS_TESTING_RAW_CONNECTION_H_
