#include "storage/keyspace.h"

#include <glog/logging.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/obs_bytes.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the store's value encoding assumes a little-endian host");

namespace ad::storage::keyspace {
namespace {

constexpr uint8_t kRecordVersion = 1;
// version u8, pad u8[3], obs_dim u32, seq u64, count u64.
constexpr size_t kChunkHeaderBytes = 24;

template <typename T>
void PutRaw(std::string* out, const T& value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

void PutString(std::string* out, absl::string_view s) {
  PutRaw<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s.data(), s.size());
}

// Reads fixed-width little-endian values and length-prefixed strings from a
// byte string; every read reports whether enough bytes were left.
class Reader {
 public:
  explicit Reader(absl::string_view bytes) : bytes_(bytes) {}

  template <typename T>
  bool Raw(T* value) {
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(value, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return true;
  }
  bool String(std::string* s) {
    uint32_t n = 0;
    if (!Raw(&n) || bytes_.size() < n) return false;
    s->assign(bytes_.data(), n);
    bytes_.remove_prefix(n);
    return true;
  }
  bool empty() const { return bytes_.empty(); }

 private:
  absl::string_view bytes_;
};

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt ", what, " in the store"));
}

// The value of an entry holding two fixed-width fields, `a` then `b`.
template <typename A, typename B>
std::string EncodePair(A a, B b) {
  std::string out;
  PutRaw<A>(&out, a);
  PutRaw<B>(&out, b);
  return out;
}

// The two fields EncodePair wrote; DATA_LOSS naming `what` when `value` is
// not exactly that long.
template <typename A, typename B>
absl::Status DecodePair(absl::string_view value, A* a, B* b,
                        absl::string_view what) {
  Reader in(value);
  if (!in.Raw(a) || !in.Raw(b) || !in.empty()) return Corrupt(what);
  return absl::OkStatus();
}

}  // namespace

void PutBigEndian64(std::string* out, uint64_t value) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out->append(buf, 8);
}

uint64_t GetBigEndian64(absl::string_view bytes) {
  CHECK_GE(bytes.size(), 8u);
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return value;
}

std::string HistoryKey(absl::string_view history_id, uint64_t index) {
  std::string key = HistoryPrefix(history_id);
  PutBigEndian64(&key, index);
  return key;
}

std::string HistoryPrefix(absl::string_view history_id) {
  std::string key;
  key.reserve(history_id.size() + 9);
  key.append(history_id.data(), history_id.size());
  key.push_back('\0');
  return key;
}

std::string HistoryPrefixEnd(absl::string_view history_id) {
  std::string key(history_id);
  key.push_back('\x01');
  return key;
}

absl::Status ParseHistoryKey(absl::string_view key,
                             absl::string_view* history_id, uint64_t* index) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') {
    return Corrupt("history key");
  }
  *history_id = key.substr(0, key.size() - 9);
  *index = GetBigEndian64(key.substr(key.size() - 8));
  return absl::OkStatus();
}

std::string TaskKey(absl::string_view env, absl::string_view task_id,
                    absl::string_view history_id) {
  std::string key = TaskPrefix(env, task_id);
  key.append(history_id.data(), history_id.size());
  return key;
}

std::string TaskPrefix(absl::string_view env, absl::string_view task_id) {
  std::string key;
  key.reserve(env.size() + task_id.size() + 2);
  key.append(env.data(), env.size());
  key.push_back('\0');
  key.append(task_id.data(), task_id.size());
  key.push_back('\0');
  return key;
}

absl::Status ParseTaskKey(absl::string_view key, absl::string_view* env,
                          absl::string_view* task_id,
                          absl::string_view* history_id) {
  const size_t a = key.find('\0');
  if (a == absl::string_view::npos) return Corrupt("task key");
  const size_t b = key.find('\0', a + 1);
  if (b == absl::string_view::npos) return Corrupt("task key");
  *env = key.substr(0, a);
  *task_id = key.substr(a + 1, b - a - 1);
  *history_id = key.substr(b + 1);
  return absl::OkStatus();
}

std::string EncodeRecord(const HistoryRecord& r) {
  std::string out;
  PutRaw<uint8_t>(&out, kRecordVersion);
  PutString(&out, r.history_id);
  PutString(&out, r.env);
  PutString(&out, r.task_id);
  PutString(&out, r.source);
  PutString(&out, r.split);
  PutRaw<uint64_t>(&out, r.seed);
  PutRaw<uint32_t>(&out, r.stream);
  PutRaw<uint32_t>(&out, r.obs_dim);
  PutRaw<uint32_t>(&out, r.num_actions);
  PutRaw<uint64_t>(&out, r.length);
  PutRaw<uint64_t>(&out, r.episodes);
  PutRaw<uint8_t>(&out, r.complete ? 1 : 0);
  PutRaw<uint64_t>(&out, r.next_seq);
  PutRaw<float>(&out, r.open_return);
  return out;
}

absl::Status DecodeRecord(absl::string_view value, HistoryRecord* r) {
  Reader in(value);
  uint8_t version = 0, complete = 0;
  if (!in.Raw(&version) || version != kRecordVersion) {
    return Corrupt("history record (unknown version)");
  }
  if (!in.String(&r->history_id) || !in.String(&r->env) ||
      !in.String(&r->task_id) || !in.String(&r->source) ||
      !in.String(&r->split) || !in.Raw(&r->seed) || !in.Raw(&r->stream) ||
      !in.Raw(&r->obs_dim) || !in.Raw(&r->num_actions) || !in.Raw(&r->length) ||
      !in.Raw(&r->episodes) || !in.Raw(&complete) || !in.Raw(&r->next_seq) ||
      !in.Raw(&r->open_return) || !in.empty()) {
    return Corrupt("history record");
  }
  r->complete = complete != 0;
  return absl::OkStatus();
}

// Bytes per observation component of a chunk version; 0 if unknown.
uint64_t ObsWidth(uint8_t version) {
  switch (version) {
    case static_cast<uint8_t>(ChunkObs::kInt32):
      return 4;
    case static_cast<uint8_t>(ChunkObs::kBytes):
      return 1;
    default:
      return 0;
  }
}

std::string EncodeChunk(uint64_t seq, const TransitionsView& t, ChunkObs obs) {
  const uint64_t n = t.size();
  const uint8_t version = static_cast<uint8_t>(obs);
  const size_t obs_bytes = t.obs.size() * ObsWidth(version);
  std::string out;
  out.reserve(kChunkHeaderBytes + obs_bytes + n * 9);
  PutRaw<uint8_t>(&out, version);
  out.append(3, '\0');
  PutRaw<uint32_t>(&out, t.obs_dim);
  PutRaw<uint64_t>(&out, seq);
  PutRaw<uint64_t>(&out, n);
  if (obs == ChunkObs::kBytes) {
    const size_t at = out.size();
    out.resize(at + obs_bytes);
    ObsToBytes(t.obs, reinterpret_cast<uint8_t*>(out.data() + at));
  } else {
    out.append(reinterpret_cast<const char*>(t.obs.data()), obs_bytes);
  }
  out.append(reinterpret_cast<const char*>(t.actions.data()), n * 4);
  out.append(reinterpret_cast<const char*>(t.rewards.data()), n * 4);
  out.append(reinterpret_cast<const char*>(t.dones.data()), n);
  return out;
}

absl::Status DecodeChunk(absl::string_view value, uint64_t* seq,
                         Transitions* t) {
  const uint64_t width =
      value.empty() ? 0 : ObsWidth(static_cast<uint8_t>(value[0]));
  if (value.size() < kChunkHeaderBytes || width == 0) {
    return Corrupt("chunk header");
  }
  uint32_t obs_dim = 0;
  uint64_t n = 0;
  std::memcpy(&obs_dim, value.data() + 4, 4);
  std::memcpy(seq, value.data() + 8, 8);
  std::memcpy(&n, value.data() + 16, 8);
  // Bounds n before multiplying, so a corrupt count cannot overflow.
  const uint64_t body = value.size() - kChunkHeaderBytes;
  if (obs_dim == 0 || n > body / 9 ||
      body != n * static_cast<uint64_t>(obs_dim) * width + n * 9) {
    return Corrupt("chunk body");
  }
  t->Resize(obs_dim, n);
  const char* p = value.data() + kChunkHeaderBytes;
  const size_t obs_bytes = t->obs.size() * width;
  if (width == 1) {
    ObsFromBytes(absl::string_view(p, obs_bytes), absl::MakeSpan(t->obs));
  } else {
    std::memcpy(t->obs.data(), p, obs_bytes);
  }
  p += obs_bytes;
  std::memcpy(t->actions.data(), p, n * 4);
  p += n * 4;
  std::memcpy(t->rewards.data(), p, n * 4);
  p += n * 4;
  std::memcpy(t->dones.data(), p, n);
  return absl::OkStatus();
}

std::string EncodeChunkIndex(uint64_t count, uint64_t seq) {
  return EncodePair(count, seq);
}

absl::Status DecodeChunkIndex(absl::string_view value, uint64_t* count,
                              uint64_t* seq) {
  return DecodePair(value, count, seq, "chunk index entry");
}

std::string EncodeEpisode(uint64_t end, float episode_return) {
  return EncodePair(end, episode_return);
}

absl::Status DecodeEpisode(absl::string_view value, uint64_t* end,
                           float* episode_return) {
  return DecodePair(value, end, episode_return, "episode entry");
}

std::string EncodeEnvShape(uint32_t obs_dim, uint32_t num_actions) {
  return EncodePair(obs_dim, num_actions);
}

absl::Status DecodeEnvShape(absl::string_view value, uint32_t* obs_dim,
                            uint32_t* num_actions) {
  return DecodePair(value, obs_dim, num_actions, "env shape");
}

}  // namespace ad::storage::keyspace
