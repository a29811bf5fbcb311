#include "services/common/status_convert.h"

#include "gtest/gtest.h"

namespace ad::services {
namespace {

TEST(StatusConvertTest, RoundTripKeepsCodeAndMessage) {
  for (int code = 0; code <= 16; ++code) {
    const absl::Status original(static_cast<absl::StatusCode>(code),
                                code == 0 ? "" : "field `actions[3]` is 9");
    const grpc::Status wire = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(FromGrpcStatus(wire), original) << "code " << code;
  }
}

TEST(StatusConvertTest, InvalidArgumentMapsToGrpcInvalidArgument) {
  const grpc::Status wire =
      ToGrpcStatus(absl::InvalidArgumentError("num_instances is 0"));
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(wire.error_message(), "num_instances is 0");
}

TEST(StatusConvertTest, OkIsOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace ad::services
