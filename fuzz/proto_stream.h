// Fuzz input as a stream of protobuf messages: each one is a varint length
// followed by that many bytes of the serialized message (protobuf's
// "delimited" framing). Used by the targets whose real input is a gRPC
// stream (store Append, env Session), so one input is one conversation.
//
// Header-only; used by fuzz/*_fuzz.cc and fuzz/make_seeds.cc only.
#ifndef AD_FUZZ_PROTO_STREAM_H_
#define AD_FUZZ_PROTO_STREAM_H_

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ad::fuzz {

// The first `max_messages` messages of `data`, stopping at the first frame
// that is truncated or does not parse as a `Message`.
template <typename Message>
std::vector<Message> ParseStream(const uint8_t* data, size_t size,
                                 size_t max_messages) {
  std::vector<Message> messages;
  google::protobuf::io::CodedInputStream in(data, static_cast<int>(size));
  while (messages.size() < max_messages) {
    uint32_t length = 0;
    if (!in.ReadVarint32(&length) || length > size) break;
    const auto limit = in.PushLimit(static_cast<int>(length));
    Message message;
    if (!message.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage() ||
        in.BytesUntilLimit() != 0) {
      break;
    }
    in.PopLimit(limit);
    messages.push_back(std::move(message));
  }
  return messages;
}

// `messages` in the framing ParseStream reads.
template <typename Message>
std::string SerializeStream(const std::vector<Message>& messages) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    for (const Message& message : messages) {
      coded.WriteVarint32(static_cast<uint32_t>(message.ByteSizeLong()));
      message.SerializeWithCachedSizes(&coded);
    }
  }
  return out;
}

}  // namespace ad::fuzz

#endif  // AD_FUZZ_PROTO_STREAM_H_
